/**
 * Segmentation's per-profile state in MongoDB (`segmentation_profiles`): the engine's state
 * (JSON text: compact profile, event windows, qualification, timers), the segments the
 * profile is in (indexed, for sizes and member lists), the earliest timer (filed by minute in
 * `timerSlot`, indexed, so the partition's owner finds what is due: ./timer-slots.ts) and an
 * outbox of membership changes not yet confirmed as published. Every write is a compare-and-set
 * on `version`.
 */
import { randomUUID } from 'node:crypto';
import { Schema, mongo, type Connection } from 'mongoose';
import { emptyState, listFieldsOf, nextTimerAt, type MembershipDelta, type ProfileListFields, type ProfileSegmentState } from '@mosaic/segmentation-domain';
import { LruMap } from '@mosaic/shared-service';
import {
  openDb,
  ensureSchemaIndexes,
  VersionedWriter,
  approximateCount,
  casTicketSchema,
  bulkWriteSkippingMovedOn,
  type CasMode,
  type CasResult,
} from '@mosaic/shared-mongo';
import { SEGMENTATION_COLLECTIONS } from './definitions.repository';
import { TimerSlots, timerSlotOf } from './timer-slots';

export const PROFILES_COLLECTION = 'segmentation_profiles';

/** A membership change waiting to be published (with what the message needs besides the delta). */
export interface OutboxEntry extends MembershipDelta {
  profileId: string;
  identifiers: { userId?: string; email?: string };
}

/**
 * A profile document: the engine's state and what is filed for queries. The list fields
 * (`ProfileListFields`: `listShard`, `listBlock`, `known`, `lastSeenAt`, `seenDay`, `email`, `userId`; the
 * contact list, ./profile-list.repository.ts) are absent in documents written before they existed
 * until `ProfileListRepository.fillMissing` or their next write files them.
 */
export interface SegmentProfileDocument extends Partial<ProfileListFields> {
  /** The profile id. */
  _id: string;
  /** The profile's partition of `profiles.changes` (its timers are fired by that partition's owner); -1 until known. */
  partition: number;
  version: number;
  writeId: string;
  /** `ProfileSegmentState` as JSON text. */
  state: string;
  /** Segment keys the profile is in. */
  segments: string[];
  /** The earliest timer, or when an unconfirmed outbox must be re-published; null when nothing is pending. */
  timerAt: Date | null;
  /** The minute `timerAt` is filed under (`timerSlotOf`); null with it. Absent in documents written before it existed. */
  timerSlot?: number | null;
  /** Membership changes written but not yet confirmed as published (JSON text of `OutboxEntry[]`). */
  outbox: string | null;
  mergedInto?: string;
  updatedAt: Date;
}

export const SegmentProfileSchema = new Schema(
  {
    _id: { type: String, required: true },
    partition: { type: Number, required: true },
    version: { type: Number, required: true },
    writeId: { type: String, required: true },
    state: { type: String, required: true },
    segments: { type: [String], default: [] },
    timerAt: { type: Date, default: null },
    timerSlot: { type: Number, default: null },
    outbox: { type: String, default: null },
    mergedInto: { type: String },
    updatedAt: { type: Date, required: true },
    listShard: { type: Number, default: null },
    listBlock: { type: Number, default: null },
    known: { type: Boolean },
    lastSeenAt: { type: Date, default: null },
    seenDay: { type: Number, default: null },
    email: { type: String, default: null },
    userId: { type: String, default: null },
  },
  { collection: PROFILES_COLLECTION, versionKey: false },
);
SegmentProfileSchema.index({ timerSlot: 1 });
SegmentProfileSchema.index({ segments: 1 });
// The contact list reads by shard, or by block when its filter is sparse, and a short last-seen range by day (./profile-list.repository.ts).
SegmentProfileSchema.index({ listShard: 1 });
SegmentProfileSchema.index({ listBlock: 1 });
SegmentProfileSchema.index({ seenDay: 1 });

/** A loaded profile: its stored document (null when new) and its state. */
export interface LoadedProfile {
  doc: SegmentProfileDocument | null;
  state: ProfileSegmentState;
  outbox: OutboxEntry[];
}

export interface ProfileWrite {
  loaded: LoadedProfile;
  state: ProfileSegmentState;
  /** New membership changes to publish (appended to any unconfirmed ones). */
  entries: OutboxEntry[];
  partition: number;
}

export interface WrittenProfile {
  id: string;
  writeId: string;
  /** The document as written (absent for confirmations of documents read from the store). */
  doc?: SegmentProfileDocument;
  /** Everything this document's outbox holds now (to publish, then confirm). */
  outbox: OutboxEntry[];
  timerAt: Date | null;
}

/** How long an outbox may stay unconfirmed before the timer sweep publishes it again. */
export const OUTBOX_GRACE_MS = 15_000;

export class SegmentProfilesRepository {
  readonly writer: VersionedWriter;
  /**
   * Documents this instance wrote or read last, by profile id: the partition's owner is
   * normally the only writer, so most reads are hits. A stale copy (another instance wrote
   * since) makes the compare-and-set fail; the conflict evicts it and the profile is re-read.
   */
  readonly cache: LruMap<string, SegmentProfileDocument>;
  cacheHits = 0;
  cacheMisses = 0;
  /** Which minutes of timers this instance still has to look into. */
  readonly timerSlots = new TimerSlots();

  constructor(
    private readonly conn: Connection,
    options: { cas?: CasMode; instanceId?: string; pointReads?: boolean; cacheMaxEntries?: number } = {},
  ) {
    this.cache = new LruMap(options.cacheMaxEntries ?? 50_000);
    this.writer = new VersionedWriter(conn, {
      mode: options.cas ?? 'ticket',
      ticketCollection: SEGMENTATION_COLLECTIONS.tickets,
      instanceId: options.instanceId ?? 'segmentation',
      pointReads: options.pointReads,
    });
  }

  async ensureIndexes(): Promise<void> {
    await ensureSchemaIndexes(this.conn, [
      ['SegmentationProfile', SegmentProfileSchema],
      ['SegmentationCasTicket', casTicketSchema(SEGMENTATION_COLLECTIONS.tickets)],
    ]);
  }

  get profiles(): mongo.Collection<SegmentProfileDocument> {
    return openDb(this.conn).collection<SegmentProfileDocument>(PROFILES_COLLECTION);
  }

  static parse(doc: SegmentProfileDocument | null, id: string): LoadedProfile {
    if (!doc) return { doc: null, state: emptyState(id), outbox: [] };
    return { doc, state: JSON.parse(doc.state) as ProfileSegmentState, outbox: doc.outbox ? (JSON.parse(doc.outbox) as OutboxEntry[]) : [] };
  }

  /**
   * Profiles by id (from the cache where held; `fresh` reads them all from the store). `unstored`:
   * ids known to have no document yet (their first change), taken as empty without a read; if one
   * exists after all (a re-delivery), writing it conflicts and the retry reads it.
   */
  async load(ids: readonly string[], fresh = false, unstored: ReadonlySet<string> = new Set()): Promise<Map<string, LoadedProfile>> {
    const byId = new Map<string, SegmentProfileDocument>();
    const misses: string[] = [];
    for (const id of new Set(ids)) {
      const hit = fresh ? undefined : this.cache.get(id);
      if (hit) byId.set(id, hit);
      else if (!unstored.has(id)) misses.push(id);
    }
    this.cacheHits += byId.size;
    this.cacheMisses += misses.length;
    for (const d of await this.writer.findByIds(this.profiles, misses)) {
      byId.set(d._id, d);
      this.cache.set(d._id, d);
    }
    return new Map(ids.map((id) => [id, SegmentProfilesRepository.parse(byId.get(id) ?? null, id)]));
  }

  /** For documents read by a query: this instance's cached copy where it is newer. */
  freshest(docs: readonly SegmentProfileDocument[]): SegmentProfileDocument[] {
    return docs.map((d) => {
      const held = this.cache.get(d._id);
      return held && held.version > d.version ? held : d;
    });
  }

  /** Forgets cached copies (after a conflict: someone else wrote them). */
  evict(ids: Iterable<string>): void {
    for (const id of ids) this.cache.delete(id);
  }

  /** Writes states (compare-and-set each); the result tells which landed. */
  async write(writes: readonly ProfileWrite[], now = new Date()): Promise<{ results: Map<string, CasResult>; written: WrittenProfile[] }> {
    const docs: { expected: number | null; doc: SegmentProfileDocument }[] = [];
    const written: WrittenProfile[] = [];
    for (const w of writes) {
      const outbox = [...w.loaded.outbox, ...w.entries];
      const timerAt = timerOf(w.state, outbox, now);
      const confirmedTimer = stateTimer(w.state);
      const doc: SegmentProfileDocument = {
        _id: w.state.profileId,
        partition: w.partition >= 0 ? w.partition : (w.loaded.doc?.partition ?? -1),
        version: (w.loaded.doc?.version ?? 0) + 1,
        writeId: randomUUID(),
        state: JSON.stringify(w.state),
        segments: Object.keys(w.state.memberships).sort(),
        ...timerFields(timerAt, now),
        outbox: outbox.length > 0 ? JSON.stringify(outbox) : null,
        updatedAt: now,
        ...listFieldsOf(w.state),
        ...(w.state.mergedInto ? { mergedInto: w.state.mergedInto } : {}),
      };
      docs.push({ expected: w.loaded.doc ? w.loaded.doc.version : null, doc });
      written.push({ id: doc._id, writeId: doc.writeId, outbox, timerAt: confirmedTimer, doc });
    }
    const results = await this.writer.writeMany(this.profiles, docs);
    for (const w of written) {
      if (results.get(w.id) === 'applied' && w.doc) this.cache.set(w.id, w.doc);
      else this.cache.delete(w.id);
    }
    return { results, written: written.filter((w) => results.get(w.id) === 'applied') };
  }

  /**
   * Marks outboxes as published (only where the document is still the one written: a newer
   * write carries the entries on and is confirmed by its own writer). One update per document,
   * filtered on its `writeId`: a document that landed without its writer knowing (a compare-and-
   * set ticket completed by another writer) keeps its outbox until the timer sweep republishes it.
   * Where FerretDB matched the `writeId` but a newer write landed before the update, the store's
   * compare-and-set guard refuses the update and it is skipped (`bulkWriteSkippingMovedOn`).
   */
  async confirm(written: readonly WrittenProfile[], now = new Date()): Promise<void> {
    const confirmed = written.filter((w) => w.outbox.length > 0);
    const ops = confirmed.map((w) => ({
      updateOne: { filter: { _id: w.id, writeId: w.writeId }, update: { $set: { outbox: null, ...timerFields(w.timerAt, now) } } },
    }));
    if (ops.length > 0) await bulkWriteSkippingMovedOn(this.profiles, ops as mongo.AnyBulkWriteOperation<SegmentProfileDocument>[]);
    this.patchCache(confirmed, (d, w) => ({ ...d, outbox: null, ...timerFields(w.timerAt, now) }));
  }

  private patchCache(list: readonly WrittenProfile[], patch: (d: SegmentProfileDocument, w: WrittenProfile) => SegmentProfileDocument): void {
    for (const w of list) {
      const held = this.cache.get(w.id);
      if (held && held.writeId === w.writeId) this.cache.set(w.id, patch(held, w));
    }
  }

  /** Sets `timerAt` from the state where nothing else changed (a timer that found nothing to do). */
  async retime(list: readonly WrittenProfile[], now = new Date()): Promise<void> {
    const ops = list.map((w) => ({ updateOne: { filter: { _id: w.id, writeId: w.writeId }, update: { $set: timerFields(w.timerAt, now) } } }));
    if (ops.length > 0) await bulkWriteSkippingMovedOn(this.profiles, ops as mongo.AnyBulkWriteOperation<SegmentProfileDocument>[]);
    this.patchCache(list, (d, w) => ({ ...d, ...timerFields(w.timerAt, now) }));
  }

  /**
   * Profiles of these partitions with a timer (or an unconfirmed outbox) due at `now`, oldest
   * first: from the minutes `timerSlots` holds open (one indexed query each), or, when it asks
   * for one, a sweep of the whole collection (./timer-slots.ts says when and why).
   */
  async due(partitions: readonly number[], now: Date, limit: number): Promise<SegmentProfileDocument[]> {
    if (partitions.length === 0) return [];
    const dueIn = (slot: number | undefined, max: number) =>
      this.profiles
        .find({ ...(slot === undefined ? {} : { timerSlot: slot }), partition: { $in: [...partitions] }, timerAt: { $ne: null, $lte: now } })
        .sort({ timerAt: 1 })
        .limit(max)
        .toArray() as Promise<SegmentProfileDocument[]>;
    return this.timerSlots.due(partitions, now.getTime(), limit, dueIn);
  }

  /**
   * Deletes compare-and-set tickets past their use (an hour old by default: see
   * `VersionedWriter.sweepTickets`). Every profile and definition write leaves one; without
   * this the ticket collection grew by one document (with a copy of the profile) per write.
   */
  sweepTickets(now = new Date(), retentionMs?: number): Promise<number> {
    return this.writer.sweepTickets(now, retentionMs);
  }

  /** How many profiles are in a segment, counted (only to seed kept sizes: `SegmentSizesRepository.seedOnce`). */
  async countMembers(key: string): Promise<number> {
    return this.profiles.countDocuments({ segments: key });
  }

  /**
   * Every profile, in pages of `pageSize`, through one cursor in the store's own order (a
   * backfill's scan). No sort and no range: FerretDB would read and sort the whole collection
   * before the first page (and hold it in memory), where an unsorted cursor streams. The cursor
   * reads one snapshot on PostgreSQL (each profile once, measured with writes during the scan).
   * The next page is read while the caller works on the one it has: the store scans while the
   * backfill evaluates and writes, instead of each waiting for the other. `limit`: at most this
   * many (FerretDB passes it on to PostgreSQL; measured on 1,000,000 profiles: the first 10,000
   * in 0.6 s with it, 4.8 s without).
   */
  async *scan(pageSize: number, limit?: number): AsyncGenerator<SegmentProfileDocument[]> {
    const cursor = this.profiles.find({}).batchSize(pageSize);
    if (limit !== undefined) cursor.limit(limit);
    const readPage = async (): Promise<SegmentProfileDocument[]> => {
      const page: SegmentProfileDocument[] = [];
      while (page.length < pageSize && (await cursor.hasNext())) page.push((await cursor.next()) as SegmentProfileDocument);
      return page;
    };
    let next = readPage();
    try {
      for (;;) {
        const page = await next;
        if (page.length === 0) return;
        next = readPage();
        yield page;
      }
    } finally {
      await next.catch(() => undefined); // a read ahead the caller no longer wants
      await cursor.close();
    }
  }

  /** About how many profiles are stored (a backfill's total, a preview's extrapolation). */
  async count(): Promise<number> {
    return approximateCount(openDb(this.conn), PROFILES_COLLECTION);
  }
}

/** A document's timer and the minute it is filed under (./timer-slots.ts), as written at `now`. */
function timerFields(timerAt: Date | null, now: Date): { timerAt: Date | null; timerSlot: number | null } {
  return { timerAt, timerSlot: timerSlotOf(timerAt, now) };
}

/** The state's earliest timer as a date (what `timerAt` is once the outbox is confirmed). */
export function stateTimer(state: ProfileSegmentState): Date | null {
  const t = nextTimerAt(state);
  return t === undefined ? null : new Date(t);
}

/** The document's `timerAt`: the earliest timer, or the outbox's grace deadline when sooner. */
function timerOf(state: ProfileSegmentState, outbox: readonly OutboxEntry[], now: Date): Date | null {
  const timer = nextTimerAt(state);
  const candidates = [timer, outbox.length > 0 ? now.getTime() + OUTBOX_GRACE_MS : undefined].filter((t): t is number => t !== undefined);
  return candidates.length > 0 ? new Date(Math.min(...candidates)) : null;
}
