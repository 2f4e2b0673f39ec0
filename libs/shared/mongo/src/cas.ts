/**
 * Versioned single-document writes (compare-and-set) that are exact on MongoDB and FerretDB
 * alike, and the reads that go with them. Every service that guards a document with a
 * `version` (identity's graph, enrichment's profiles) uses this one implementation.
 *
 * ## `native` (MongoDB), `guarded` (FerretDB on Mosaic's PostgreSQL) or `ticket` (any FerretDB 1.24)
 * On MongoDB a `replaceOne({_id, version: expected})` is atomic: of concurrent writers exactly
 * one matches. FerretDB 1.24 evaluates the filter and writes the document in separate steps,
 * so concurrent conditional writes can all "match" (measured: of 20 concurrent `replaceOne`s
 * expecting one version, about 3 apply). Only a unique-key insert is atomic there.
 *
 * `guarded`: the PostgreSQL cluster `npm run infra` runs carries a trigger
 * (tools/infra/postgres-cas-guard.sql) that checks, under the row lock, the version a write
 * expected: a guarded compare-and-set writes a fresh `writeId` and `casFrom: expected`, and an
 * update that changes the `writeId` lands only on a document still at `casFrom`. The write of a
 * writer that lost the race fails with `mosaic_cas_conflict` (a conflict) instead of landing:
 * exact, with no ticket. `detectServerProfile` finds out whether the guard is there by trying a
 * write it must refuse. Measured (4 in flight, 10,000 profile-sized documents): 1,143–1,511
 * compare-and-sets per second guarded, 578–696 with tickets. Readers drop `casFrom` (`CAS_FROM`).
 *
 * `ticket` (a FerretDB without the guard): every version change of an existing document first
 * inserts a ticket `<coll>|<id>|<version+1>` into the writer's ticket collection — exactly
 * one writer can — and only the ticket holder then writes the document (still filtered on the
 * expected version, which with the ticket held is exact). The ticket carries the document it
 * writes: a ticket older than `leaseMs` whose write never happened (its writer died in
 * between) is completed by the next writer that runs into it (the same document, filtered on
 * the version, so completing it twice is harmless). A ticket whose write ran is deleted soon
 * after, in bulk (`retire`); the sweep only deletes what crashed writers left. Cost: one more
 * round trip per write, and two more document writes (the ticket's insert and delete). The
 * ticket holds the document as canonical Extended JSON text (`ticketDocument`): FerretDB stores
 * a string about ten times faster than the same content as nested fields (measured: 200
 * inserts of a 3 KB profile 790 ms nested, 56 ms as one string).
 *
 * ## Point reads
 * FerretDB 1.24 answers `$in` by scanning the whole collection (measured: 140 ids in a
 * collection of 30 000 documents, 1.3 s) but `_id` equality through its index, so on FerretDB
 * `findByIds` reads one document at a time, a few in parallel.
 */
import { randomUUID } from 'node:crypto';
import { Schema, mongo, type Connection } from 'mongoose';
import { findIn } from './find-in';
import { CAS_FROM, isCasGuardConflict, type CasMode } from './cas-guard';
import { MAX_BULK_UPDATES, bulkWriteChunked, duplicateOnlyWriteErrors, isDuplicateKeyError, limitBulkUpdates, openDb } from './mongo';

/**
 * A ticket: the right to move document `docId` of collection `coll` to `version`, with the
 * document that move writes (so an abandoned move can be completed by anyone).
 */
export interface CasTicketDocument {
  /** `<coll>|<docId>|<version>`. */
  _id: string;
  coll: string;
  docId: string;
  version: number;
  at: Date;
  by: string;
  /** The document the move writes, as canonical Extended JSON (`ticketDocument` reads it back). */
  docJson: string;
}

/** The id of the ticket for moving document `docId` of `coll` to `version`. */
function ticketId(coll: string, docId: string, version: number): string {
  return `${coll}|${docId}|${version}`;
}

/** The ticket for moving `doc` (at `expected`) to `expected + 1`. */
export function newTicket(coll: string, doc: { _id: string }, expected: number, by: string, at = new Date()): CasTicketDocument {
  return {
    _id: ticketId(coll, doc._id, expected + 1),
    coll,
    docId: doc._id,
    version: expected + 1,
    at,
    by,
    docJson: mongo.BSON.EJSON.stringify(doc, { relaxed: false }),
  };
}

/** The document a ticket carries. */
export function ticketDocument<T>(ticket: CasTicketDocument): T {
  return mongo.BSON.EJSON.parse(ticket.docJson, { relaxed: false }) as T;
}

/** The mongoose schema of a ticket collection (declared for its index; the writer uses the native driver). */
export function casTicketSchema(collection: string): Schema {
  const schema = new Schema(
    {
      _id: { type: String, required: true },
      coll: { type: String, required: true },
      docId: { type: String, required: true },
      version: { type: Number, required: true },
      at: { type: Date, required: true },
      by: { type: String, required: true },
      docJson: { type: String, required: true },
    },
    { collection, versionKey: false },
  );
  // The sweep deletes old tickets.
  schema.index({ at: 1 });
  return schema;
}

export type CasResult = 'applied' | 'conflict';

export interface VersionedWriterOptions {
  /** Default `ticket`, which is correct on every server. */
  mode?: CasMode;
  /** The collection that holds this writer's tickets (one per service, e.g. `identity_cas_tickets`). */
  ticketCollection: string;
  /** A ticket older than this whose write did not happen is completed by the next writer (default 3000 ms). */
  leaseMs?: number;
  /** Recorded on tickets. */
  instanceId?: string;
  /** `findByIds` reads by `_id` one at a time (default false; true on FerretDB). */
  pointReads?: boolean;
}

export class VersionedWriter {
  readonly mode: CasMode;
  readonly pointReads: boolean;
  readonly leaseMs: number;
  private readonly instanceId: string;
  /** Tickets of finished moves, to delete (`retire`). */
  private readonly spent: string[] = [];
  private reaping: Promise<void> | null = null;

  constructor(
    private readonly conn: Connection,
    private readonly options: VersionedWriterOptions,
  ) {
    this.mode = options.mode ?? 'ticket';
    this.pointReads = options.pointReads ?? false;
    this.leaseMs = options.leaseMs ?? 3_000;
    this.instanceId = options.instanceId ?? 'mosaic';
  }

  get tickets(): mongo.Collection<CasTicketDocument> {
    return openDb(this.conn).collection<CasTicketDocument>(this.options.ticketCollection);
  }

  /** Inserts `doc` (its version is the caller's); `conflict` when a document with its `_id` exists. */
  async insert<T extends { _id: string }>(collection: mongo.Collection<T>, doc: T): Promise<CasResult> {
    try {
      await collection.insertOne(doc as mongo.OptionalUnlessRequiredId<T>);
      return 'applied';
    } catch (err) {
      if (isDuplicateKeyError(err)) return 'conflict';
      throw err;
    }
  }

  /**
   * Replaces document `id` if it is at version `expected` (the replacement carries its own,
   * normally `expected + 1`; in `guarded` mode it is given a fresh `writeId`, which the guard keys on).
   */
  async replace<T extends { _id: string }>(collection: mongo.Collection<T>, id: string, expected: number, doc: T): Promise<CasResult> {
    const filter = { _id: id, version: expected } as unknown as mongo.Filter<T>;
    if (this.mode === 'native') {
      const r = await collection.replaceOne(filter, doc as mongo.WithoutId<T>);
      return r.matchedCount === 0 ? 'conflict' : 'applied';
    }
    if (this.mode === 'guarded') return this.guardedReplace(collection, expected, { ...doc, writeId: randomUUID() });
    const ticket = newTicket(collection.collectionName, doc, expected, this.instanceId);
    const ticketId = ticket._id;
    try {
      await this.tickets.insertOne(ticket);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      // Someone holds this version change. Recent: a live writer, we lost. Older than the lease
      // and the document still at `expected`: its writer died between ticket and write; complete
      // that write (the document the ticket carries, filtered on the version, so it is a no-op
      // if it did happen). Either way our `expected` is stale now: conflict, the caller re-plans.
      const held = await this.tickets.findOne({ _id: ticketId });
      if (held && Date.now() - held.at.getTime() >= this.leaseMs) await this.completeAbandoned(collection, filter, held);
      return 'conflict';
    }
    // The ticket is ours: nobody else can move the document off `expected` now, so the filter is exact.
    let r: mongo.UpdateResult<T>;
    try {
      r = (await collection.replaceOne(filter, doc as mongo.WithoutId<T>)) as mongo.UpdateResult<T>;
    } catch (err) {
      await this.releaseTickets([ticketId]);
      throw err;
    }
    this.retire([ticketId]);
    return r.matchedCount === 0 ? 'conflict' : 'applied';
  }

  /** One guarded compare-and-set: `doc` carries a `writeId` no other write used; the guard checks `expected` under the row lock. */
  private async guardedReplace<T extends { _id: string }>(collection: mongo.Collection<T>, expected: number, doc: T & { writeId: string }): Promise<CasResult> {
    try {
      const r = await collection.replaceOne(
        { _id: doc._id, version: expected } as unknown as mongo.Filter<T>,
        {
          ...doc,
          [CAS_FROM]: expected,
        } as unknown as mongo.WithoutId<T>,
      );
      return r.matchedCount === 0 ? 'conflict' : 'applied';
    } catch (err) {
      if (isCasGuardConflict(err)) return 'conflict';
      throw err;
    }
  }

  /**
   * Writes the document an abandoned ticket carries (filtered on the version: a no-op if that
   * write did happen). A document the server refuses can never be written: its ticket is
   * dropped, or it would hold the document at this version for good.
   */
  private async completeAbandoned<T extends { _id: string }>(
    collection: mongo.Collection<T>,
    filter: mongo.Filter<T>,
    ticket: CasTicketDocument,
  ): Promise<void> {
    try {
      await collection.replaceOne(filter, ticketDocument<mongo.WithoutId<T>>(ticket));
    } catch {
      await this.releaseTickets([ticket._id]);
    }
  }

  /**
   * Frees version changes whose write failed: the next writer of those documents takes the
   * ticket again instead of finding it held (and, after the lease, retrying the failed write).
   * One delete statement per ticket, by `_id` (an `$in` would read the whole collection on FerretDB).
   */
  private async releaseTickets(ids: readonly string[]): Promise<void> {
    await bulkWriteChunked(
      this.tickets,
      ids.map((id) => ({ deleteOne: { filter: { _id: id } } })),
    );
  }

  /**
   * Deletes, in the background and in bulk, the tickets of moves that are over (the write ran:
   * it landed, or the document was not at the expected version). Such a ticket guards nothing:
   * a writer still expecting the old version takes the ticket again and its filtered write finds
   * the document moved on. (FerretDB's filter and write are separate steps, a risk only between
   * two writers that both see the old version, which the ticket excluded while the write ran.)
   * Without this every write left a ticket, a copy of its document, until the hourly sweep, and
   * the sweep's range read them all. A crash before the delete leaves them to the sweep.
   */
  private retire(ids: readonly string[]): void {
    this.spent.push(...ids);
    this.reaping ??= this.reapSpent().finally(() => {
      this.reaping = null;
    });
  }

  private async reapSpent(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve)); // the rest of the batch's writes first
    while (this.spent.length > 0) {
      const ids = this.spent.splice(0, MAX_BULK_UPDATES);
      await this.releaseTickets(ids).catch(() => undefined); // left to the sweep
    }
  }

  /** Resolves once the tickets of finished moves are deleted (tests; a stop need not wait). */
  async ticketsRetired(): Promise<void> {
    while (this.reaping) await this.reaping;
  }

  /**
   * Many compare-and-sets in a few round trips: inserts (`expected` null) in one unordered
   * `insertMany`, replacements in chunked unordered bulk writes (after one unordered ticket
   * insert in ticket mode). Each document carries a unique `writeId`; when the server reports
   * fewer matches than writes, the documents are read back to tell which writes landed.
   */
  async writeMany<T extends { _id: string; writeId: string }>(
    collection: mongo.Collection<T>,
    writes: readonly { expected: number | null; doc: T }[],
  ): Promise<Map<string, CasResult>> {
    const out = new Map<string, CasResult>();
    const inserts = writes.filter((w) => w.expected === null).map((w) => w.doc);
    let replaces = writes.filter((w): w is { expected: number; doc: T } => w.expected !== null);
    if (inserts.length > 0) {
      for (const d of inserts) out.set(d._id, 'applied');
      try {
        await collection.insertMany(inserts as mongo.OptionalUnlessRequiredId<T>[], { ordered: false });
      } catch (err) {
        const failed = duplicateOnlyWriteErrors(err);
        if (failed === undefined) throw err;
        for (const i of failed) out.set((inserts[i] as T)._id, 'conflict');
      }
    }
    if (replaces.length === 0) return out;
    if (this.mode === 'ticket') {
      const at = new Date();
      const tickets = replaces.map((w) => newTicket(collection.collectionName, w.doc, w.expected, this.instanceId, at));
      let lost: number[] = [];
      try {
        await this.tickets.insertMany(tickets, { ordered: false });
      } catch (err) {
        const failed = duplicateOnlyWriteErrors(err);
        if (failed === undefined) throw err;
        lost = failed;
      }
      if (lost.length > 0) {
        const lostSet = new Set(lost);
        for (const i of lost) {
          const w = replaces[i] as { expected: number; doc: T };
          out.set(w.doc._id, 'conflict');
          // Complete an abandoned move (see `replace`).
          const ticket = await this.tickets.findOne({ _id: (tickets[i] as CasTicketDocument)._id });
          if (ticket && Date.now() - ticket.at.getTime() >= this.leaseMs) {
            await this.completeAbandoned(collection, { _id: w.doc._id, version: w.expected } as unknown as mongo.Filter<T>, ticket);
          }
        }
        replaces = replaces.filter((_, i) => !lostSet.has(i));
      }
    }
    let matched = 0;
    for (let i = 0; i < replaces.length; i += MAX_BULK_UPDATES) {
      const chunk = replaces.slice(i, i + MAX_BULK_UPDATES);
      try {
        const r = await limitBulkUpdates(() =>
          collection.bulkWrite(
            chunk.map((w) => ({
              replaceOne: {
                filter: { _id: w.doc._id, version: w.expected } as unknown as mongo.Filter<T>,
                replacement: (this.mode === 'guarded' ? { ...w.doc, [CAS_FROM]: w.expected } : w.doc) as mongo.WithoutId<T>,
              },
            })),
            { ordered: false },
          ),
        );
        matched += r.matchedCount;
      } catch (err) {
        if (this.mode === 'guarded' && isCasGuardConflict(err)) {
          matched += await this.settleGuardedChunk(collection, chunk);
          continue;
        }
        if (this.mode === 'ticket') await this.releaseUnwritten(collection, chunk);
        throw err;
      }
    }
    if (this.mode === 'ticket') this.retire(replaces.map((w) => ticketId(collection.collectionName, w.doc._id, w.expected + 1)));
    if (matched === replaces.length) {
      for (const w of replaces) out.set(w.doc._id, 'applied');
      return out;
    }
    const landed = await this.storedWriteIds(collection, replaces);
    for (const w of replaces) out.set(w.doc._id, landed.get(w.doc._id) === w.doc.writeId ? 'applied' : 'conflict');
    return out;
  }

  /**
   * A guarded bulk write stopped at a replacement the guard refused (FerretDB runs a bulk's
   * statements in order and stops at an error, whatever `ordered` says): the ones before it
   * landed, the refused one lost its race, the ones after it were never tried. Each replacement
   * that did not land is written again on its own. Returns how many of the chunk landed.
   */
  private async settleGuardedChunk<T extends { _id: string; writeId: string }>(
    collection: mongo.Collection<T>,
    chunk: readonly { expected: number; doc: T }[],
  ): Promise<number> {
    const landed = await this.storedWriteIds(collection, chunk);
    let matched = 0;
    for (const w of chunk) {
      if (landed.get(w.doc._id) === w.doc.writeId || (await this.guardedReplace(collection, w.expected, w.doc)) === 'applied') matched += 1;
    }
    return matched;
  }

  /** After a failed bulk write: the tickets of the replacements that did not land are released. */
  private async releaseUnwritten<T extends { _id: string; writeId: string }>(
    collection: mongo.Collection<T>,
    chunk: readonly { expected: number; doc: T }[],
  ): Promise<void> {
    const landed = await this.storedWriteIds(collection, chunk);
    const unwritten = chunk.filter((w) => landed.get(w.doc._id) !== w.doc.writeId);
    await this.releaseTickets(unwritten.map((w) => ticketId(collection.collectionName, w.doc._id, w.expected + 1)));
  }

  /** The stored `writeId` of each written document that exists: whose write landed. */
  private async storedWriteIds<T extends { _id: string; writeId: string }>(
    collection: mongo.Collection<T>,
    writes: readonly { doc: T }[],
  ): Promise<Map<string, string>> {
    const stored = await this.findByIds(
      collection,
      writes.map((w) => w.doc._id),
      { writeId: 1 },
    );
    return new Map(stored.map((d) => [d._id, d.writeId]));
  }

  /** The documents among `ids` that exist: one `$in`, or point reads (see `pointReads`). */
  async findByIds<T extends { _id: string }>(collection: mongo.Collection<T>, ids: readonly string[], projection?: mongo.Document): Promise<T[]> {
    return (await findIn(collection as unknown as mongo.Collection<mongo.Document>, '_id', ids, { pointReads: this.pointReads, projection })) as T[];
  }

  /** Deletes tickets older than `retentionMs` (at least ten leases): they only guard version changes long past. */
  async sweepTickets(now: Date = new Date(), retentionMs = 60 * 60 * 1000): Promise<number> {
    const r = await this.tickets.deleteMany({ at: { $lt: new Date(now.getTime() - Math.max(retentionMs, this.leaseMs * 10)) } });
    return r.deletedCount ?? 0;
  }
}
