/**
 * The identity graph in MongoDB: `IdentityStore` of `@mosaic/identity-domain` with exactly the
 * single-document conditional writes model.ts specifies, plus the batched reads and writes the
 * service's consumer uses, the admin reads, and the expiry sweep.
 *
 * Native driver calls throughout (the mongoose models only declare the schemas and indexes):
 * the hot path reads by `_id $in` and writes whole documents it already validated, where
 * mongoose's casting and hydration would only cost time.
 *
 * MongoDB subset (docs/mongodb.md): unique `_id`s, single-document
 * insertOne/replaceOne/updateOne with filters on version or pointer, `$in` finds, unordered
 * bulkWrite, deleteMany by an indexed date. No transactions, no TTL index.
 *
 * ## Compare-and-set: `native` (MongoDB) or `ticket` (FerretDB 1.24)
 * Strict writes go through `VersionedWriter` of `@mosaic/shared-mongo` (see its file comment:
 * FerretDB's conditional writes are not atomic, so there every version change first inserts a
 * ticket into `identity_cas_tickets`). Best-effort pointer updates become read + ticketed
 * replace in ticket mode.
 */
import { mongo, type Connection } from 'mongoose';
import type { AuditRecord, GraphWrite, IdentifierRecord, IdentityStore, ProcessedRecord, ProfileRecord, WriteResult } from '@mosaic/identity-domain';
import {
  openDb,
  ensureSchemaIndexes,
  VersionedWriter,
  bulkWriteChunked,
  duplicateOnlyWriteErrors,
  insertAbsent,
  isDuplicateKeyError,
  type CasMode,
  type CasTicketDocument,
  ExpirySweeper,
} from '@mosaic/shared-mongo';
import {
  IDENTITY_COLLECTIONS,
  IDENTITY_SCHEMAS,
  auditToDocument,
  documentToAudit,
  documentToIdentifier,
  documentToProcessed,
  documentToProfile,
  identifierToDocument,
  processedToDocument,
  profileToDocument,
  type AuditDocument,
  type IdentifierDocument,
  type PartitionDocument,
  type ProcessedDocument,
  type ProfileDocument,
  type RulesDocument,
} from './documents';

/** `IdentityStore` plus the batched processed-record operations the consumer uses per Kafka batch. */
export interface BatchIdentityStore extends IdentityStore {
  /** The processed records among `messageIds` that exist (one read). */
  getProcessedMany(messageIds: readonly string[]): Promise<ProcessedRecord[]>;
  /** Upserts by `_id` (one bulk write). */
  putProcessedMany(records: readonly ProcessedRecord[]): Promise<void>;
  /** The highest offset of a partition whose batch's processed records are all stored; null when none is known. */
  processedUpTo(topic: string, partition: number): Promise<number | null>;
  /** Raises that offset (never lowers it: a stale owner finishing late leaves it as it is). */
  markProcessedUpTo(topic: string, partition: number, offset: number): Promise<void>;
}

export interface SweepResult {
  redirects: number;
  processed: number;
  tickets: number;
}

export interface AuditQuery {
  /** Newest first; at most this many (default 100). */
  limit?: number;
  /** Only records strictly older than this `at` (ISO-8601), for paging. */
  before?: string;
}

/** Adds the batched processed-record operations to any `IdentityStore` (the in-memory one in tests). */
export function withBatchOperations(store: IdentityStore): BatchIdentityStore {
  const upTo = new Map<string, number>();
  return {
    getIdentifiers: (keys) => store.getIdentifiers(keys),
    getProfiles: (ids) => store.getProfiles(ids),
    applyWrite: (write) => store.applyWrite(write),
    getProcessed: (id) => store.getProcessed(id),
    putProcessed: (record) => store.putProcessed(record),
    appendAudit: (records) => store.appendAudit(records),
    getProcessedMany: async (ids) => (await Promise.all(ids.map((id) => store.getProcessed(id)))).filter((r): r is ProcessedRecord => r !== null),
    putProcessedMany: async (records) => {
      for (const record of records) await store.putProcessed(record);
    },
    processedUpTo: async (topic, partition) => upTo.get(partitionKey(topic, partition)) ?? null,
    markProcessedUpTo: async (topic, partition, offset) => {
      const key = partitionKey(topic, partition);
      upTo.set(key, Math.max(upTo.get(key) ?? -1, offset));
    },
  };
}

export interface MongoIdentityRepositoryOptions {
  /** Default `ticket`, which is correct on every server; pass `(await detectServerProfile(conn)).cas` for `native` on MongoDB, `guarded` on FerretDB with the store's guard. */
  cas?: CasMode;
  /** A ticket older than this whose write did not happen is completed by the next writer (default 3000 ms). */
  ticketLeaseMs?: number;
  /** Recorded on tickets (default `identity`). */
  instanceId?: string;
  /**
   * Read documents by `_id` one `findOne` at a time (a few in parallel) instead of one `$in`:
   * FerretDB 1.24 answers `$in` by scanning the whole collection (measured: 140 ids in a
   * collection of 30 000 documents, 1.3 s) but `_id` equality through its index. Default false.
   */
  pointReads?: boolean;
}

/** Best-effort updates re-read and retry this often when their document keeps changing. */
const BEST_EFFORT_TRIES = 3;

export class MongoIdentityRepository implements BatchIdentityStore {
  readonly cas: CasMode;
  readonly pointReads: boolean;
  readonly writer: VersionedWriter;
  private readonly expiry = new ExpirySweeper();

  constructor(
    private readonly conn: Connection,
    options: MongoIdentityRepositoryOptions = {},
  ) {
    this.writer = new VersionedWriter(conn, {
      mode: options.cas ?? 'ticket',
      pointReads: options.pointReads ?? false,
      leaseMs: options.ticketLeaseMs ?? 3_000,
      instanceId: options.instanceId ?? 'identity',
      ticketCollection: IDENTITY_COLLECTIONS.tickets,
    });
    this.cas = this.writer.mode;
    this.pointReads = this.writer.pointReads;
  }

  /** Creates the collections' indexes (idempotent; at start-up, by every instance). No TTL index. */
  async ensureIndexes(): Promise<void> {
    await ensureSchemaIndexes(this.conn, IDENTITY_SCHEMAS);
  }

  private get db(): mongo.Db {
    return openDb(this.conn);
  }

  get identifiers(): mongo.Collection<IdentifierDocument> {
    return this.db.collection<IdentifierDocument>(IDENTITY_COLLECTIONS.identifiers);
  }

  get profiles(): mongo.Collection<ProfileDocument> {
    return this.db.collection<ProfileDocument>(IDENTITY_COLLECTIONS.profiles);
  }

  get partitions(): mongo.Collection<PartitionDocument> {
    return this.db.collection<PartitionDocument>(IDENTITY_COLLECTIONS.partitions);
  }

  get processed(): mongo.Collection<ProcessedDocument> {
    return this.db.collection<ProcessedDocument>(IDENTITY_COLLECTIONS.processed);
  }

  get audit(): mongo.Collection<AuditDocument> {
    return this.db.collection<AuditDocument>(IDENTITY_COLLECTIONS.audit);
  }

  get rules(): mongo.Collection<RulesDocument> {
    return this.db.collection<RulesDocument>(IDENTITY_COLLECTIONS.rules);
  }

  get tickets(): mongo.Collection<CasTicketDocument> {
    return this.writer.tickets;
  }

  // ---- reader ------------------------------------------------------------------------------

  async getIdentifiers(keys: readonly string[]): Promise<IdentifierRecord[]> {
    return (await this.findByIds(this.identifiers, keys)).map((d) => documentToIdentifier(d));
  }

  async getProfiles(ids: readonly string[]): Promise<ProfileRecord[]> {
    return (await this.findByIds(this.profiles, ids)).map((d) => documentToProfile(d));
  }

  private findByIds<T extends { _id: string }>(collection: mongo.Collection<T>, ids: readonly string[]): Promise<T[]> {
    return this.writer.findByIds(collection, ids);
  }

  // ---- writer (model.ts GraphWrite) ---------------------------------------------------------

  async applyWrite(write: GraphWrite): Promise<WriteResult> {
    switch (write.op) {
      case 'insertProfile':
        return this.writer.insert(this.profiles, profileToDocument(write.profile));
      case 'insertIdentifier':
        return this.writer.insert(this.identifiers, identifierToDocument(write.identifier));
      case 'replaceProfile':
        return this.replace(this.profiles, write.profile._id, write.expectedVersion, profileToDocument(write.profile));
      case 'replaceIdentifier':
        return this.replace(this.identifiers, write.identifier._id, write.expectedVersion, identifierToDocument(write.identifier));
      case 'repointIdentifier': {
        const set = { profileId: write.toProfileId, updatedAt: write.at, updatedBy: write.by };
        if (this.cas === 'native') {
          const r = await this.identifiers.updateOne({ _id: write.key, profileId: write.fromProfileId }, { $set: set, $inc: { version: 1 } });
          return r.matchedCount === 0 ? 'skipped' : 'applied';
        }
        return this.bestEffort(
          this.identifiers,
          write.key,
          (d) => d.profileId === write.fromProfileId,
          (d) => ({ ...d, ...set, version: d.version + 1 }),
        );
      }
      case 'retargetRedirect': {
        const set = { mergedInto: write.toMergedInto, updatedAt: write.at, updatedBy: write.by };
        if (this.cas === 'native') {
          const r = await this.profiles.updateOne(
            { _id: write.profileId, status: 'merged', mergedInto: write.fromMergedInto },
            { $set: set, $inc: { version: 1 } },
          );
          return r.matchedCount === 0 ? 'skipped' : 'applied';
        }
        return this.bestEffort(
          this.profiles,
          write.profileId,
          (d) => d.status === 'merged' && d.mergedInto === write.fromMergedInto,
          (d) => ({ ...d, ...set, version: d.version + 1 }),
        );
      }
    }
  }

  /** Replaces document `id` if it is at `expected` (its replacement carries `expected + 1`). */
  private replace<T extends { _id: string; version: number }>(collection: mongo.Collection<T>, id: string, expected: number, doc: T): Promise<WriteResult> {
    return this.writer.replace(collection, id, expected, doc);
  }

  /** Ticket mode's best-effort update: read, check the condition, compare-and-set; `skipped` when the condition fails. */
  private async bestEffort<T extends { _id: string; version: number }>(
    collection: mongo.Collection<T>,
    id: string,
    condition: (doc: T) => boolean,
    next: (doc: T) => T,
  ): Promise<WriteResult> {
    for (let i = 0; i < BEST_EFFORT_TRIES; i += 1) {
      const current = (await collection.findOne({ _id: id } as mongo.Filter<T>)) as T | null;
      if (!current || !condition(current)) return 'skipped';
      if ((await this.replace(collection, id, current.version, next(current))) === 'applied') return 'applied';
    }
    return 'skipped';
  }

  // ---- processed messages --------------------------------------------------------------------

  async getProcessed(messageId: string): Promise<ProcessedRecord | null> {
    const doc = await this.processed.findOne({ _id: messageId });
    return doc ? documentToProcessed(doc as ProcessedDocument) : null;
  }

  async getProcessedMany(messageIds: readonly string[]): Promise<ProcessedRecord[]> {
    return (await this.findByIds(this.processed, messageIds)).map((d) => documentToProcessed(d));
  }

  async putProcessed(record: ProcessedRecord): Promise<void> {
    await this.putProcessedMany([record]);
  }

  async putProcessedMany(records: readonly ProcessedRecord[]): Promise<void> {
    if (records.length === 0) return;
    // Almost always new records: one unordered insert (much cheaper than upserts on FerretDB);
    // the ones that exist (another instance resolved the same message meanwhile) are replaced.
    const docs = [...new Map(records.map((r) => [r._id, processedToDocument(r)])).values()];
    let existing: number[] | undefined;
    try {
      await this.processed.insertMany(docs, { ordered: false });
      return;
    } catch (err) {
      existing = duplicateOnlyWriteErrors(err);
      if (existing === undefined) throw err;
    }
    const ops = existing.map((i): mongo.AnyBulkWriteOperation<ProcessedDocument> => {
      const doc = docs[i] as ProcessedDocument;
      return { replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } };
    });
    await bulkWriteChunked(this.processed, ops);
  }

  async processedUpTo(topic: string, partition: number): Promise<number | null> {
    const doc = await this.partitions.findOne({ _id: partitionKey(topic, partition) });
    return doc ? doc.processedUpTo : null;
  }

  async markProcessedUpTo(topic: string, partition: number, offset: number): Promise<void> {
    const raise = () => this.partitions.updateOne({ _id: partitionKey(topic, partition) }, { $max: { processedUpTo: offset } }, { upsert: true });
    try {
      await raise();
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      await raise(); // two upserts raced to create the document: it exists now
    }
  }

  // ---- audit ---------------------------------------------------------------------------------

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    // Insert-if-absent: an existing record (same deterministic id) is never overwritten. A
    // unique-key insert is atomic on every server (an upsert with $setOnInsert is not on FerretDB).
    const docs = [...new Map(records.map((r) => [r.id, auditToDocument(r)])).values()];
    await insertAbsent(this.audit, docs);
  }

  /** A profile's audit (records naming it as subject), newest first. */
  async findAudit(profileId: string, query: AuditQuery = {}): Promise<(AuditRecord & { subjects: string[] })[]> {
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    const filter: mongo.Filter<AuditDocument> = { subjects: profileId };
    if (query.before !== undefined) filter.at = { $lt: query.before };
    const docs = await this.audit.find(filter).sort({ at: -1, _id: -1 }).limit(limit).toArray();
    return docs.map((d) => documentToAudit(d as AuditDocument));
  }

  /** Identity documents pointing directly at `profileId` (the admin API; at most `limit`). */
  async identifiersPointingAt(profileId: string, limit = 1000): Promise<IdentifierRecord[]> {
    const docs = await this.identifiers.find({ profileId }).limit(limit).toArray();
    return docs.map((d) => documentToIdentifier(d as IdentifierDocument));
  }

  // ---- expiry ---------------------------------------------------------------------------------

  /**
   * Deletes merged profiles whose redirect expired and processed records past their expiry
   * (what TTL indexes would do; FerretDB 1.24 has none). Idempotent: every instance may run it.
   * Identity documents still pointing at a deleted redirect are "dangling"; the next event
   * carrying one re-attaches it (the planner reclaims it with a compare-and-set).
   */
  async sweepExpired(now: Date = new Date(), ticketRetentionMs = 60 * 60 * 1000): Promise<SweepResult> {
    const redirects = await this.expiry.deleteExpired(this.profiles, { status: 'merged' }, now);
    const processed = await this.expiry.deleteExpired(this.processed, {}, now);
    // Old tickets only guard version changes long past: a writer still expecting such a version
    // would find the document moved on (the write is filtered on the version too).
    const tickets = await this.writer.sweepTickets(now, ticketRetentionMs);
    return { redirects, processed, tickets };
  }

  /** The whole graph (tests, tools; not for production-sized data). */
  async readGraph(): Promise<{ identifiers: IdentifierRecord[]; profiles: ProfileRecord[] }> {
    const [identifiers, profiles] = await Promise.all([
      this.identifiers.find({}).sort({ _id: 1 }).toArray(),
      this.profiles.find({}).sort({ _id: 1 }).toArray(),
    ]);
    return {
      identifiers: identifiers.map((d) => documentToIdentifier(d as IdentifierDocument)),
      profiles: profiles.map((d) => documentToProfile(d as ProfileDocument)),
    };
  }
}

/** The `_id` of a partition's document in `identity_partitions`, and the key its checkpoint is remembered by. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}
