import {
  MAX_REDIRECT_HOPS,
  extractIdentifiers,
  extractionKeys,
  identifierKey,
  type AuditRecord,
  type GraphWrite,
  type IdentifierRecord,
  type IdentityEventInput,
  type IdentityRules,
  type IdentityStore,
  type ProcessedRecord,
  type ProfileRecord,
  type WriteResult,
} from '@mosaic/identity-domain';
import type { BatchIdentityStore, IdentifierCache, ProfileCache } from '@mosaic/identity-data-access';
import { ProfileSnapshot, type ProfileReadCounters } from './profile-snapshot';

/** The store traffic of one batch (`BatchStats` adds the message count and timings). */
export interface BatchCounters extends ProfileReadCounters {
  /** Identity documents served from the cache (confirmed by fresh profiles). */
  cacheHits: number;
  /** Identity documents read from MongoDB (not cached, or absent). */
  cacheMisses: number;
  /** Cached identity documents the fresh profiles did not confirm (re-read). */
  cacheStale: number;
  /** Store reads (each one round trip). */
  reads: number;
  writes: { applied: number; conflict: number; skipped: number };
}

/**
 * The batch-scoped `IdentityStore` the domain's loop runs against: the snapshot the batch is
 * planned with, its prefetch and consistency checks, and the buffered records (see
 * batch-resolver.ts for the reasoning).
 */
export class BatchSession implements IdentityStore {
  private readonly identifiers = new Map<string, IdentifierRecord | null>();
  private readonly processed = new Map<string, ProcessedRecord | null>();
  private readonly processedToWrite = new Map<string, ProcessedRecord>();
  /** Messages past the partition's checkpoint whose processed record was not read (`confirmProcessed` reads it). */
  private readonly presumedNew = new Set<string>();
  private readonly auditToWrite = new Map<string, AuditRecord>();
  private readKeys = new Set<string>();
  private readProfileIds = new Set<string>();
  private conflicts = 0;
  readonly stats: BatchCounters = {
    cacheHits: 0,
    cacheMisses: 0,
    cacheStale: 0,
    profileCacheHits: 0,
    profileCacheMisses: 0,
    reads: 0,
    writes: { applied: 0, conflict: 0, skipped: 0 },
  };
  private readonly profiles: ProfileSnapshot;

  constructor(
    private readonly store: BatchIdentityStore,
    private readonly cache: IdentifierCache,
    profileCache: ProfileCache,
    private readonly maxBackoffMs: number,
    private readonly random: () => number,
  ) {
    this.profiles = new ProfileSnapshot(store, profileCache, this.stats);
  }

  /** Profiles this batch changed in the store, not counting creations (other instances drop them from their caches). */
  get writtenProfiles(): ReadonlySet<string> {
    return this.profiles.written;
  }

  // ---- prefetch ----------------------------------------------------------------------------

  /**
   * `redelivered(i)`: whether event i was delivered before (at or below its partition's checkpoint): the
   * processed records of those are read up front; the others are presumed new until a plan writes (`confirmProcessed`).
   */
  async prefetch(events: readonly IdentityEventInput[], rules: IdentityRules, redelivered: (index: number) => boolean = () => true): Promise<void> {
    const toRead = new Set<string>();
    events.forEach((e, i) => (redelivered(i) ? toRead.add(e.messageId) : this.presumedNew.add(e.messageId)));
    for (const id of toRead) this.presumedNew.delete(id);
    const found = toRead.size > 0 ? await this.read(() => this.store.getProcessedMany([...toRead])) : [];
    for (const id of [...toRead, ...this.presumedNew]) this.processed.set(id, null);
    for (const record of found) this.processed.set(record._id, record);

    const keys = new Set<string>();
    const keysOf = new Map<string, string[]>();
    for (const event of events) {
      if (this.processed.get(event.messageId)) continue;
      const eventKeys = extractionKeys(extractIdentifiers(event, rules));
      keysOf.set(event.messageId, eventKeys);
      for (const key of eventKeys) keys.add(key);
    }
    if (keys.size === 0) return;
    await this.fetchPointers(keys);
    await this.confirmLikelyWriters(keysOf);
  }

  private async fetchPointers(keys: ReadonlySet<string>): Promise<void> {
    const hits: IdentifierRecord[] = [];
    const misses: string[] = [];
    for (const key of keys) {
      const cached = this.cache.get(key);
      if (cached) hits.push(cached);
      else misses.push(key);
    }
    await this.fetchIdentifiers(misses);
    this.stats.cacheMisses += misses.length;
    for (const record of hits) this.identifiers.set(record._id, record);
    const changed = await this.ensureConsistent([...keys]);
    const stale = hits.filter((h) => changed.has(h._id)).length;
    this.stats.cacheHits += hits.length - stale;
    this.stats.cacheStale += stale;
  }

  /**
   * Reads, in one go, the processed records of the presumed-new messages whose plan will most
   * likely write (an identifier not known yet, or identifiers on different profiles: a creation, an
   * addition or a merge), rather than one at a time in the message loop (`confirmProcessed`).
   * A message none of whose identifiers had a pointer in the store when the batch began needs no
   * record at all (`knownNew`): resolving a message leaves a pointer for at least one of its
   * identifiers, and pointers are repointed but never deleted, so it was never resolved before.
   * That is a new visitor's first event, the usual creation.
   */
  private async confirmLikelyWriters(keysOf: ReadonlyMap<string, string[]>): Promise<void> {
    const likely: string[] = [];
    for (const id of this.presumedNew) {
      const keys = keysOf.get(id) ?? [];
      if (this.knownNew(keys)) {
        this.presumedNew.delete(id);
        continue;
      }
      const owners = new Set(keys.map((k) => this.identifiers.get(k)?.profileId ?? null));
      if (owners.has(null) || owners.size > 1) likely.push(id);
    }
    if (likely.length === 0) return;
    for (const id of likely) this.presumedNew.delete(id);
    for (const record of await this.read(() => this.store.getProcessedMany(likely))) this.processed.set(record._id, record);
  }

  /** Identifiers all read from the store by this batch and found without a pointer (a cache hit is never absent). */
  private knownNew(keys: readonly string[]): boolean {
    return keys.length > 0 && keys.every((k) => this.identifiers.has(k) && this.identifiers.get(k) === null);
  }

  /**
   * Makes the pointers of `keys` safe to plan with against the snapshot's profiles. A pointer
   * whose chain (fetched first, if not in the snapshot) ends at a live profile listing it with
   * no claim is consistent whatever the ages of the two reads. Any other pointer must not be
   * older than those profiles — otherwise a move that happened in between would make the
   * planner re-list the identifier on its old owner — so it is read again *after* them; if its
   * version did not change, pointer and profiles agree; if it did, its new chain is fetched and
   * it is checked again. Returns the keys whose pointer turned out to have changed.
   */
  private async ensureConsistent(keys: readonly string[]): Promise<Set<string>> {
    const changed = new Set<string>();
    let pending = [...new Set(keys)];
    for (let round = 0; pending.length > 0 && round < 4; round += 1) {
      await this.profiles.fetchChains(this.pointedAt(pending));
      let unconfirmed = pending.filter((k) => this.unconfirmed(k));
      // A cached profile may be what disagrees (another instance's change not received yet): read those fresh first.
      if (this.profiles.dropCached(unconfirmed.flatMap((k) => this.chainOf(k)))) {
        await this.profiles.fetchChains(this.pointedAt(unconfirmed));
        unconfirmed = unconfirmed.filter((k) => this.unconfirmed(k));
      }
      if (unconfirmed.length === 0) break;
      const before = new Map(unconfirmed.map((k) => [k, this.identifiers.get(k)?.version]));
      for (const key of unconfirmed) this.cache.delete(key);
      await this.fetchIdentifiers(unconfirmed);
      pending = unconfirmed.filter((k) => this.identifiers.get(k)?.version !== before.get(k));
      for (const key of pending) changed.add(key);
      // A pointer whose chain profiles were read before it changed: those profiles may be older
      // than the move that changed it; read them again with the new chain.
      for (const key of pending) {
        const record = this.identifiers.get(key);
        if (record) for (const id of this.profiles.chainIds(record.profileId)) this.profiles.forget(id);
      }
    }
    return changed;
  }

  private unconfirmed(key: string): boolean {
    const record = this.identifiers.get(key);
    return record !== null && record !== undefined && !this.confirms(record);
  }

  private pointedAt(keys: readonly string[]): string[] {
    return keys.map((k) => this.identifiers.get(k)?.profileId).filter((id): id is string => id !== undefined);
  }

  private chainOf(key: string): string[] {
    const record = this.identifiers.get(key);
    return record ? this.profiles.chainIds(record.profileId) : [];
  }

  /** True when the live end of the pointer's chain (in the snapshot) lists the identifier with no claim on it. */
  private confirms(record: IdentifierRecord): boolean {
    let id = record.profileId;
    for (let hops = 0; hops <= MAX_REDIRECT_HOPS; hops += 1) {
      const profile = this.profiles.get(id);
      if (!profile) return false;
      if (profile.status !== 'merged') {
        return profile.identifiers.some((i) => identifierKey(i) === record._id) && !profile.pending.some((c) => identifierKey(c) === record._id);
      }
      if (profile.mergedInto === undefined) return false;
      id = profile.mergedInto;
    }
    return false;
  }

  private async fetchIdentifiers(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const records = await this.read(() => this.store.getIdentifiers(keys));
    for (const key of keys) this.identifiers.set(key, null);
    for (const record of records) {
      this.identifiers.set(record._id, record);
      this.cache.set(record);
    }
  }

  private async read<T>(fn: () => Promise<T>): Promise<T> {
    this.stats.reads += 1;
    return fn();
  }

  // ---- IdentityStore -------------------------------------------------------------------------

  beginMessage(): void {
    this.readKeys = new Set();
    this.readProfileIds = new Set();
    this.conflicts = 0;
  }

  async getIdentifiers(keys: readonly string[]): Promise<IdentifierRecord[]> {
    const missing = keys.filter((k) => !this.identifiers.has(k));
    if (missing.length > 0) {
      // Beyond the prefetch (pending claims, an evicted entry): always from MongoDB.
      await this.fetchIdentifiers(missing);
      this.stats.cacheMisses += missing.length;
    }
    // Earlier messages of the batch may have refreshed profiles these pointers lead to.
    await this.ensureConsistent(keys);
    const out: IdentifierRecord[] = [];
    for (const key of keys) {
      this.readKeys.add(key);
      const record = this.identifiers.get(key);
      if (record) out.push(record);
    }
    return out;
  }

  async getProfiles(ids: readonly string[]): Promise<ProfileRecord[]> {
    const missing = [...new Set(ids.filter((id) => !this.profiles.has(id)))];
    // Beyond the prefetch (pending claims, merge intents): always from MongoDB.
    if (missing.length > 0) await this.profiles.read(missing, { cached: false });
    const out: ProfileRecord[] = [];
    for (const id of ids) {
      this.readProfileIds.add(id);
      const profile = this.profiles.get(id);
      if (profile) out.push(profile);
    }
    return out;
  }

  async applyWrite(write: GraphWrite): Promise<WriteResult> {
    const result = await this.store.applyWrite(write);
    this.stats.writes[result] += 1;
    if (result === 'applied') {
      switch (write.op) {
        case 'insertProfile':
        case 'replaceProfile':
        case 'retargetRedirect':
          this.profiles.applied(write);
          break;
        case 'insertIdentifier':
        case 'replaceIdentifier':
          this.identifiers.set(write.identifier._id, write.identifier);
          this.cache.set(write.identifier);
          break;
        case 'repointIdentifier':
          // The stored version is not known here (the filter is on the pointer): read it again when needed.
          this.forgetIdentifier(write.key);
          break;
      }
      return result;
    }
    if (result === 'skipped') {
      if (write.op === 'repointIdentifier') this.forgetIdentifier(write.key);
      else if (write.op === 'retargetRedirect') this.profiles.forget(write.profileId);
      return result;
    }
    // Conflict: what this message planned against was stale; the re-plan reads it all fresh.
    for (const key of this.readKeys) this.forgetIdentifier(key);
    for (const id of this.readProfileIds) this.profiles.forget(id);
    if (write.op === 'insertIdentifier' || write.op === 'replaceIdentifier') this.forgetIdentifier(write.identifier._id);
    if (write.op === 'insertProfile' || write.op === 'replaceProfile') this.profiles.forget(write.profile._id);
    this.conflicts += 1;
    const cap = Math.min(this.maxBackoffMs, 2 ** this.conflicts);
    if (cap > 0) await new Promise((resolve) => setTimeout(resolve, this.random() * cap));
    return result;
  }

  private forgetIdentifier(key: string): void {
    this.identifiers.delete(key);
    this.cache.delete(key);
  }

  async getProcessed(messageId: string): Promise<ProcessedRecord | null> {
    if (this.processed.has(messageId)) return this.processed.get(messageId) ?? null;
    const record = await this.read(() => this.store.getProcessed(messageId));
    this.processed.set(messageId, record);
    return record;
  }

  async confirmProcessed(messageId: string): Promise<ProcessedRecord | null> {
    if (!this.presumedNew.delete(messageId)) return this.processed.get(messageId) ?? null;
    const record = await this.read(() => this.store.getProcessed(messageId));
    this.processed.set(messageId, record);
    return record;
  }

  async putProcessed(record: ProcessedRecord): Promise<void> {
    this.presumedNew.delete(record._id);
    this.processed.set(record._id, record);
    this.processedToWrite.set(record._id, record);
  }

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    for (const record of records) if (!this.auditToWrite.has(record.id)) this.auditToWrite.set(record.id, record);
  }

  /** Writes the buffered audit, then processed records (one bulk write each). */
  async flush(): Promise<void> {
    if (this.auditToWrite.size > 0) {
      await this.store.appendAudit([...this.auditToWrite.values()]);
      this.auditToWrite.clear();
    }
    if (this.processedToWrite.size > 0) {
      await this.store.putProcessedMany([...this.processedToWrite.values()]);
      this.processedToWrite.clear();
    }
  }
}
