/**
 * An in-memory identity store with the same conditional-write semantics the Mongo adapter
 * must have (model.ts `GraphWrite`). Documents are copied in and out, so callers can never
 * change stored state by mutating what they read. For the domain's and the service's tests.
 */
import type { AuditRecord, GraphView, GraphWrite, IdentifierRecord, ProcessedRecord, ProfileRecord, WriteResult } from './model';
import type { IdentityStore } from './ports';

export interface IdentityStoreSnapshot {
  identifiers: IdentifierRecord[];
  profiles: ProfileRecord[];
}

export class InMemoryIdentityStore implements IdentityStore {
  private readonly identifiers = new Map<string, IdentifierRecord>();
  private readonly profiles = new Map<string, ProfileRecord>();
  private readonly processed = new Map<string, ProcessedRecord>();
  private readonly auditLog = new Map<string, AuditRecord>();
  /** Counts of operations, for tests and benchmarks. */
  readonly stats = { reads: 0, writes: 0, conflicts: 0, skipped: 0 };

  async getIdentifiers(keys: readonly string[]): Promise<IdentifierRecord[]> {
    this.stats.reads += 1;
    return keys.flatMap((key) => {
      const record = this.identifiers.get(key);
      return record ? [clone(record)] : [];
    });
  }

  async getProfiles(ids: readonly string[]): Promise<ProfileRecord[]> {
    this.stats.reads += 1;
    return ids.flatMap((id) => {
      const profile = this.profiles.get(id);
      return profile ? [clone(profile)] : [];
    });
  }

  async applyWrite(write: GraphWrite): Promise<WriteResult> {
    const result = this.applySync(write);
    if (result === 'applied') this.stats.writes += 1;
    else if (result === 'conflict') this.stats.conflicts += 1;
    else this.stats.skipped += 1;
    return result;
  }

  /** The write itself, synchronously (one document, atomic by construction). */
  applySync(write: GraphWrite): WriteResult {
    switch (write.op) {
      case 'insertProfile': {
        if (this.profiles.has(write.profile._id)) return 'conflict';
        this.profiles.set(write.profile._id, clone(write.profile));
        return 'applied';
      }
      case 'replaceProfile': {
        const current = this.profiles.get(write.profile._id);
        if (!current || current.version !== write.expectedVersion) return 'conflict';
        this.profiles.set(write.profile._id, clone(write.profile));
        return 'applied';
      }
      case 'insertIdentifier': {
        if (this.identifiers.has(write.identifier._id)) return 'conflict';
        this.identifiers.set(write.identifier._id, clone(write.identifier));
        return 'applied';
      }
      case 'replaceIdentifier': {
        const current = this.identifiers.get(write.identifier._id);
        if (!current || current.version !== write.expectedVersion) return 'conflict';
        this.identifiers.set(write.identifier._id, clone(write.identifier));
        return 'applied';
      }
      case 'repointIdentifier': {
        const current = this.identifiers.get(write.key);
        if (!current || current.profileId !== write.fromProfileId) return 'skipped';
        this.identifiers.set(write.key, { ...current, profileId: write.toProfileId, version: current.version + 1, updatedAt: write.at, updatedBy: write.by });
        return 'applied';
      }
      case 'retargetRedirect': {
        const current = this.profiles.get(write.profileId);
        if (!current || current.status !== 'merged' || current.mergedInto !== write.fromMergedInto) return 'skipped';
        this.profiles.set(write.profileId, {
          ...current,
          mergedInto: write.toMergedInto,
          version: current.version + 1,
          updatedAt: write.at,
          updatedBy: write.by,
        });
        return 'applied';
      }
    }
  }

  async getProcessed(messageId: string): Promise<ProcessedRecord | null> {
    const record = this.processed.get(messageId);
    return record ? clone(record) : null;
  }

  async putProcessed(record: ProcessedRecord): Promise<void> {
    this.processed.set(record._id, clone(record));
  }

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    for (const record of records) if (!this.auditLog.has(record.id)) this.auditLog.set(record.id, clone(record));
  }

  /** Removes merged profiles whose `expiresAt` has passed (what a TTL index does). */
  expireRedirects(nowMs: number): string[] {
    const removed: string[] = [];
    for (const [id, profile] of this.profiles) {
      if (profile.status === 'merged' && profile.expiresAt !== undefined && Date.parse(profile.expiresAt) <= nowMs) {
        this.profiles.delete(id);
        removed.push(id);
      }
    }
    return removed;
  }

  /** Forgets a processed-message record (simulates its TTL, or a crash before it was written). */
  forgetProcessed(messageId: string): void {
    this.processed.delete(messageId);
  }

  /** A deep copy of the graph, documents sorted by `_id`. */
  snapshot(): IdentityStoreSnapshot {
    return {
      identifiers: [...this.identifiers.values()].sort(byId).map(clone),
      profiles: [...this.profiles.values()].sort(byId).map(clone),
    };
  }

  /** The whole graph as a `GraphView` (copies). */
  view(): GraphView {
    const snapshot = this.snapshot();
    return { identifiers: new Map(snapshot.identifiers.map((r) => [r._id, r])), profiles: new Map(snapshot.profiles.map((p) => [p._id, p])) };
  }

  auditRecords(): AuditRecord[] {
    return [...this.auditLog.values()].map(clone);
  }

  processedRecords(): ProcessedRecord[] {
    return [...this.processed.values()].map(clone);
  }
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function byId(a: { _id: string }, b: { _id: string }): number {
  return a._id < b._id ? -1 : a._id > b._id ? 1 : 0;
}
