/**
 * The identity graph in MongoDB: `IdentityStore` of `@mosaic/identity-domain` with exactly the
 * single-document conditional writes model.ts specifies, plus the batched reads and writes the
 * service's consumer uses, the admin reads, and the expiry sweep.
 *
 * Native driver calls throughout (the mongoose models only declare the schemas and indexes):
 * the hot path reads by `_id $in` and writes whole documents it already validated, where
 * mongoose's casting and hydration would only cost time.
 *
 * MongoDB subset (README "MongoDB compatibility"): unique `_id`s, single-document
 * insertOne/replaceOne/updateOne with filters on version or pointer, `$in` finds, unordered
 * bulkWrite, deleteMany by an indexed date. No transactions, no TTL index.
 *
 * ## Compare-and-set: `native` (MongoDB) or `ticket` (FerretDB 1.24)
 * On MongoDB a `replaceOne({_id, version: expected})` is atomic: of concurrent writers exactly
 * one matches. FerretDB 1.24 (SQLite backend) evaluates the filter and writes the document in
 * separate steps, so concurrent conditional writes can all "match" (measured: of 20 concurrent
 * `replaceOne`s expecting one version, about 3 apply; of 50 concurrent `$inc`s, 2 survive). Only
 * a unique-key insert is atomic there. In `ticket` mode every version change of an existing
 * document therefore first inserts a ticket `<coll>|<id>|<version+1>` into
 * `identity_cas_tickets` — exactly one writer can — and only the ticket holder then writes the
 * document (still filtered on the expected version, which with the ticket held is exact).
 * The ticket carries the document it writes: a ticket older than `ticketLeaseMs` whose move
 * never happened (its writer died in between) is completed by the next writer that runs into
 * it (the same document, filtered on the version, so completing it twice is harmless).
 * Best-effort pointer updates become read + ticketed replace. Cost in ticket mode: one
 * more round trip per strict write. `detectCasMode` picks the mode from `buildInfo`.
 */
import { mongo, type Connection } from 'mongoose';
import type { AuditRecord, GraphWrite, IdentifierRecord, IdentityStore, ProcessedRecord, ProfileRecord, WriteResult } from '@mosaic/identity-domain';
import { isDuplicateKeyError } from '@mosaic/shared-mongo';
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
  type CasTicketDocument,
  type IdentifierDocument,
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
  };
}

/** `native`: conditional single-document writes (MongoDB). `ticket`: insert-based compare-and-set (FerretDB 1.24); see the file comment. */
export type CasMode = 'native' | 'ticket';

export interface MongoIdentityStoreOptions {
  /** Default `ticket`, which is correct on every server; pass `await detectCasMode(conn)` for `native` on MongoDB. */
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

export interface ServerProfile {
  /** The server is FerretDB (`buildInfo.ferretdbVersion`). */
  ferretdb: boolean;
  version: string;
  /** What the adapter should use on it. */
  cas: CasMode;
  pointReads: boolean;
}

/** What the connected server needs: ticket compare-and-set and point reads on FerretDB, native and `$in` on MongoDB. */
export async function detectServerProfile(conn: Connection): Promise<ServerProfile> {
  const db = conn.db;
  if (!db) throw new Error('MongoDB connection is not open');
  const info = (await db.admin().command({ buildInfo: 1 })) as { ferretdbVersion?: unknown; version?: unknown };
  const ferretdb = info.ferretdbVersion !== undefined;
  return { ferretdb, version: String(ferretdb ? `FerretDB ${String(info.ferretdbVersion)}` : `MongoDB ${String(info.version)}`), cas: ferretdb ? 'ticket' : 'native', pointReads: ferretdb };
}

/** Concurrent point reads in `pointReads` mode. */
const POINT_READ_CONCURRENCY = 4;

/** `ticket` on FerretDB (its conditional writes are not atomic under concurrency), `native` on MongoDB. */
export async function detectCasMode(conn: Connection): Promise<CasMode> {
  return (await detectServerProfile(conn)).cas;
}

/** Best-effort updates re-read and retry this often when their document keeps changing. */
const BEST_EFFORT_TRIES = 3;

export class MongoIdentityStore implements BatchIdentityStore {
  readonly cas: CasMode;
  readonly pointReads: boolean;
  private readonly ticketLeaseMs: number;
  private readonly instanceId: string;

  constructor(
    private readonly conn: Connection,
    options: MongoIdentityStoreOptions = {},
  ) {
    this.cas = options.cas ?? 'ticket';
    this.pointReads = options.pointReads ?? false;
    this.ticketLeaseMs = options.ticketLeaseMs ?? 3_000;
    this.instanceId = options.instanceId ?? 'identity';
  }

  /** Creates the collections' indexes (idempotent; at start-up, by every instance). No TTL index. */
  async ensureIndexes(): Promise<void> {
    for (const [name, schema] of IDENTITY_SCHEMAS) {
      const model = this.conn.models[name] ?? this.conn.model(name, schema);
      await model.createIndexes();
    }
  }

  private get db(): mongo.Db {
    const db = this.conn.db;
    if (!db) throw new Error('MongoDB connection is not open');
    return db;
  }

  get identifiers(): mongo.Collection<IdentifierDocument> {
    return this.db.collection<IdentifierDocument>(IDENTITY_COLLECTIONS.identifiers);
  }

  get profiles(): mongo.Collection<ProfileDocument> {
    return this.db.collection<ProfileDocument>(IDENTITY_COLLECTIONS.profiles);
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
    return this.db.collection<CasTicketDocument>(IDENTITY_COLLECTIONS.tickets);
  }

  // ---- reader ------------------------------------------------------------------------------

  async getIdentifiers(keys: readonly string[]): Promise<IdentifierRecord[]> {
    return (await this.findByIds(this.identifiers, keys)).map((d) => documentToIdentifier(d));
  }

  async getProfiles(ids: readonly string[]): Promise<ProfileRecord[]> {
    return (await this.findByIds(this.profiles, ids)).map((d) => documentToProfile(d));
  }

  /** The documents among `ids` that exist: one `$in`, or point reads (see `pointReads`). */
  private async findByIds<T extends { _id: string }>(collection: mongo.Collection<T>, ids: readonly string[]): Promise<T[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    if (!this.pointReads || unique.length === 1) {
      return (await collection.find((unique.length === 1 ? { _id: unique[0] } : { _id: { $in: unique } }) as mongo.Filter<T>).toArray()) as T[];
    }
    const found: T[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(POINT_READ_CONCURRENCY, unique.length) }, async () => {
        while (next < unique.length) {
          const id = unique[next++] as string;
          const doc = await collection.findOne({ _id: id } as mongo.Filter<T>);
          if (doc) found.push(doc as T);
        }
      }),
    );
    return found;
  }

  // ---- writer (model.ts GraphWrite) ---------------------------------------------------------

  async applyWrite(write: GraphWrite): Promise<WriteResult> {
    switch (write.op) {
      case 'insertProfile':
        return insertOrConflict(() => this.profiles.insertOne(profileToDocument(write.profile)));
      case 'insertIdentifier':
        return insertOrConflict(() => this.identifiers.insertOne(identifierToDocument(write.identifier)));
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
        return this.bestEffort(this.identifiers, write.key, (d) => d.profileId === write.fromProfileId, (d) => ({ ...d, ...set, version: d.version + 1 }));
      }
      case 'retargetRedirect': {
        const set = { mergedInto: write.toMergedInto, updatedAt: write.at, updatedBy: write.by };
        if (this.cas === 'native') {
          const r = await this.profiles.updateOne({ _id: write.profileId, status: 'merged', mergedInto: write.fromMergedInto }, { $set: set, $inc: { version: 1 } });
          return r.matchedCount === 0 ? 'skipped' : 'applied';
        }
        return this.bestEffort(this.profiles, write.profileId, (d) => d.status === 'merged' && d.mergedInto === write.fromMergedInto, (d) => ({ ...d, ...set, version: d.version + 1 }));
      }
    }
  }

  /** Replaces document `id` if it is at `expected` (its replacement carries `expected + 1`). */
  private async replace<T extends { _id: string; version: number }>(collection: mongo.Collection<T>, id: string, expected: number, doc: T): Promise<WriteResult> {
    if (this.cas === 'native') {
      const r = await collection.replaceOne({ _id: id, version: expected } as mongo.Filter<T>, doc as mongo.WithoutId<T>);
      return r.matchedCount === 0 ? 'conflict' : 'applied';
    }
    const ticketId = `${collection.collectionName}|${id}|${expected + 1}`;
    try {
      await this.tickets.insertOne({ _id: ticketId, coll: collection.collectionName, docId: id, version: expected + 1, at: new Date(), by: this.instanceId, doc: doc as unknown as Record<string, unknown> });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      // Someone holds this version change. Recent: a live writer, we lost. Older than the lease
      // and the document still at `expected`: its writer died between ticket and write; complete
      // that write (the document the ticket carries, filtered on the version, so it is a no-op
      // if it did happen). Either way our `expected` is stale now: conflict, the caller re-plans.
      const ticket = await this.tickets.findOne({ _id: ticketId });
      if (ticket && Date.now() - ticket.at.getTime() >= this.ticketLeaseMs) {
        await collection.replaceOne({ _id: id, version: expected } as mongo.Filter<T>, ticket.doc as mongo.WithoutId<T>);
      }
      return 'conflict';
    }
    // The ticket is ours: nobody else can move the document off `expected` now, so the filter is exact.
    const r = await collection.replaceOne({ _id: id, version: expected } as mongo.Filter<T>, doc as mongo.WithoutId<T>);
    return r.matchedCount === 0 ? 'conflict' : 'applied';
  }

  /** Ticket mode's best-effort update: read, check the condition, compare-and-set; `skipped` when the condition fails. */
  private async bestEffort<T extends { _id: string; version: number }>(collection: mongo.Collection<T>, id: string, condition: (doc: T) => boolean, next: (doc: T) => T): Promise<WriteResult> {
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

  // ---- audit ---------------------------------------------------------------------------------

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    // Insert-if-absent: an existing record (same deterministic id) is never overwritten. A
    // unique-key insert is atomic on every server (an upsert with $setOnInsert is not on FerretDB).
    const docs = [...new Map(records.map((r) => [r.id, auditToDocument(r)])).values()];
    try {
      await this.audit.insertMany(docs, { ordered: false });
    } catch (err) {
      if (duplicateOnlyWriteErrors(err) === undefined) throw err;
    }
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
    const redirects = await this.profiles.deleteMany({ status: 'merged', expiresAt: { $lt: now } });
    const processed = await this.processed.deleteMany({ expiresAt: { $lt: now } });
    // Old tickets only guard version changes long past: a writer still expecting such a version
    // would find the document moved on (the write is filtered on the version too).
    const tickets = await this.tickets.deleteMany({ at: { $lt: new Date(now.getTime() - Math.max(ticketRetentionMs, this.ticketLeaseMs * 10)) } });
    return { redirects: redirects.deletedCount ?? 0, processed: processed.deletedCount ?? 0, tickets: tickets.deletedCount ?? 0 };
  }

  /** The whole graph (tests, tools; not for production-sized data). */
  async readGraph(): Promise<{ identifiers: IdentifierRecord[]; profiles: ProfileRecord[] }> {
    const [identifiers, profiles] = await Promise.all([this.identifiers.find({}).sort({ _id: 1 }).toArray(), this.profiles.find({}).sort({ _id: 1 }).toArray()]);
    return { identifiers: identifiers.map((d) => documentToIdentifier(d as IdentifierDocument)), profiles: profiles.map((d) => documentToProfile(d as ProfileDocument)) };
  }
}

async function insertOrConflict(insert: () => Promise<unknown>): Promise<WriteResult> {
  try {
    await insert();
    return 'applied';
  } catch (err) {
    if (isDuplicateKeyError(err)) return 'conflict';
    throw err;
  }
}

/**
 * FerretDB 1.24 never answers an `update` command of about 100 statements or more (measured:
 * 90 answer in ~110 ms, 100 hang), so bulk writes of updates go in chunks of this many.
 */
export const MAX_BULK_UPDATES = 50;

async function bulkWriteChunked<T extends mongo.Document>(collection: mongo.Collection<T>, ops: mongo.AnyBulkWriteOperation<T>[]): Promise<void> {
  for (let i = 0; i < ops.length; i += MAX_BULK_UPDATES) await collection.bulkWrite(ops.slice(i, i + MAX_BULK_UPDATES), { ordered: false });
}

/** The indexes of the failed operations when every failure is a duplicate key; otherwise undefined. */
function duplicateOnlyWriteErrors(err: unknown): number[] | undefined {
  if (!(err instanceof mongo.MongoBulkWriteError)) return undefined;
  const raw = err.writeErrors;
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0 || !list.every((e) => e.code === 11000)) return undefined;
  return list.map((e) => e.index);
}
