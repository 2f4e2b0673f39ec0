/**
 * Profiles, their events and the small shared state documents in MongoDB (native driver on
 * the hot path; the mongoose schemas of documents.ts are the documented model and declare the
 * indexes). Profiles are stored as `StoredProfileDocument` (a few top-level fields and the rest
 * as JSON text, documents.ts) and handed out as `ProfileDocument`: the conversion happens here,
 * in both directions, and reads accept the older all-nested layout too. Every profile write is
 * a compare-and-set on `version` through the shared `VersionedWriter` (exact on MongoDB and on
 * FerretDB, where it takes tickets), batched: one consumer batch's profiles are written in a
 * few round trips.
 *
 * MongoDB subset (docs/mongodb.md): `_id` reads, unordered insertMany and
 * bulkWrite, updateMany/deleteMany by indexed fields, find/sort/limit. TTL indexes on MongoDB;
 * on FerretDB (no TTL) `sweepExpired` deletes what they would.
 */
import { randomUUID } from 'node:crypto';
import { mongo, type Connection } from 'mongoose';
import type { CasMode, CasResult } from '@mosaic/shared-mongo';
import { openDb, ensureSchemaIndexes, VersionedWriter, insertAbsent, ExpirySweeper, expiryHourOf, findIn } from '@mosaic/shared-mongo';
import { type CategoryPriceIndex, emptyPriceIndex, mergePriceIndex } from '@mosaic/enrichment-domain';
import {
  type AnyStoredProfileDocument,
  ENRICHMENT_COLLECTIONS,
  ENRICHMENT_SCHEMAS,
  type EventDocument,
  type ProfileDocument,
  type StateDocument,
  type StoredProfileDocument,
  fromStoredProfile,
  slotsToAsk,
  toStoredProfile,
} from './documents';

export interface ProfileRepositoryOptions {
  /** Default `ticket` (correct on every server); `native` on MongoDB. */
  cas?: CasMode;
  pointReads?: boolean;
  ticketLeaseMs?: number;
  instanceId?: string;
}

export interface TimelineQuery {
  /** Newest first; at most this many (1–1000, default 50). */
  limit?: number;
  /** Paging cursor from the previous page. */
  cursor?: { at: Date; id: string };
  /** Only these event types (`track`, `page`, `identify`, …). */
  types?: string[];
  /** Only these track event names. */
  names?: string[];
  from?: Date;
  to?: Date;
}

export interface SweepResult {
  profiles: number;
  redirects: number;
  events: number;
  tickets: number;
}

/** What the RFM job reads of a profile. */
/** What the RFM job reads of a profile with orders. */
export interface RfmView {
  _id: string;
  version: number;
  orders: ProfileDocument['computed']['orders'];
  rfm?: NonNullable<ProfileDocument['computed']['rfm']>;
}

/** The `rfm` state document's value. */
export interface RfmRun {
  thresholds: unknown;
  population: number;
  /** When the run started: the `computed.rfm.at` of every profile it scored. */
  at: string;
  /**
   * Every change of runs started up to this time was acknowledged by Kafka. A profile whose
   * `computed.rfm.at` is later was scored by a run that did not get to publish all its changes
   * (absent in documents of before: their `at`).
   */
  publishedThrough?: string;
}

/** The shared state documents (`enrichment_state`). */
export const PRICE_INDEX_DOC = 'price-index';
export const RFM_DOC = 'rfm';

/** Redirects are followed at most this many hops. */
export const MAX_REDIRECT_HOPS = 10;

export class ProfileRepository {
  private readonly writer: VersionedWriter;
  private readonly expiry = new ExpirySweeper();
  private readonly pointReads: boolean;

  constructor(
    private readonly conn: Connection,
    options: ProfileRepositoryOptions = {},
  ) {
    this.pointReads = options.pointReads ?? false;
    this.writer = new VersionedWriter(conn, {
      mode: options.cas ?? 'ticket',
      pointReads: this.pointReads,
      leaseMs: options.ticketLeaseMs ?? 3_000,
      instanceId: options.instanceId ?? 'enrichment',
      ticketCollection: ENRICHMENT_COLLECTIONS.tickets,
    });
  }

  private get db(): mongo.Db {
    return openDb(this.conn);
  }

  /** The raw collection, in the stored layout: read profiles through the methods below, which convert. */
  get profiles(): mongo.Collection<AnyStoredProfileDocument> {
    return this.db.collection<AnyStoredProfileDocument>(ENRICHMENT_COLLECTIONS.profiles);
  }

  get events(): mongo.Collection<EventDocument> {
    return this.db.collection<EventDocument>(ENRICHMENT_COLLECTIONS.events);
  }

  get state(): mongo.Collection<StateDocument> {
    return this.db.collection<StateDocument>(ENRICHMENT_COLLECTIONS.state);
  }

  /**
   * Declared indexes, plus TTL indexes on `expiresAt` of profiles and events when `ttl`
   * (MongoDB). Without TTL (FerretDB) no index on `expiresAt`: the sweep deletes by the indexed
   * `expiryHour`, and FerretDB would serve no range from it anyway. Idempotent.
   */
  async ensureIndexes(ttl: boolean): Promise<void> {
    await ensureSchemaIndexes(this.conn, ENRICHMENT_SCHEMAS);
    if (!ttl) return;
    await this.profiles.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
    await this.events.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
  }

  newWriteId(): string {
    return randomUUID();
  }

  // ---- profiles --------------------------------------------------------------------------

  async getProfiles(ids: readonly string[]): Promise<Map<string, ProfileDocument>> {
    const docs = await this.writer.findByIds(this.profiles, ids);
    return new Map(docs.map((d) => [d._id, fromStoredProfile(d)]));
  }

  async getProfile(id: string): Promise<ProfileDocument | null> {
    const doc = await this.profiles.findOne({ _id: id });
    return doc ? fromStoredProfile(doc) : null;
  }

  /**
   * Which of `ids` are redirects (merged away) now, and where each points. Only redirects come
   * back: the status is an equality the server filters on (FerretDB too, with `_id`), so a live
   * profile costs an index probe, not a document read — but one query per id on FerretDB: the
   * batch check uses it only for profiles it knows from its cache alone (redeliveries), the rest
   * by slot (`redirectsFiledIn`).
   */
  async mergedAmong(ids: readonly string[]): Promise<Map<string, string>> {
    const found = await findIn(this.profiles as unknown as mongo.Collection<mongo.Document>, '_id', ids, {
      pointReads: this.pointReads,
      where: { status: 'merged' },
      projection: { _id: 1, mergedInto: 1 },
    });
    const out = new Map<string, string>();
    for (const d of found) if (typeof d['mergedInto'] === 'string') out.set(String(d['_id']), d['mergedInto']);
    return out;
  }

  /**
   * The redirects filed in these slots, and where each points (with those of up to
   * `REDIRECT_SLOT_SPAN - 1` slots before the earliest): one equality on `redirectSlots` per
   * `REDIRECT_SLOT_SPAN` slots asked (`slotsToAsk`; one `$in` on MongoDB), served by the field's
   * index; only `_id` and `mergedInto` come back. Redirects written before the field existed are
   * in no slot.
   */
  async redirectsFiledIn(slots: readonly number[]): Promise<Map<string, string>> {
    const found = await findIn(this.profiles as unknown as mongo.Collection<mongo.Document>, 'redirectSlots', slotsToAsk(slots), {
      pointReads: this.pointReads,
      projection: { _id: 1, mergedInto: 1 },
    });
    const out = new Map<string, string>();
    for (const d of found) if (typeof d['mergedInto'] === 'string') out.set(String(d['_id']), d['mergedInto']);
    return out;
  }

  /** Follows `mergedInto` from `id`: the live document and the ids visited (null when the chain ends at a missing document). */
  async resolve(id: string): Promise<{ doc: ProfileDocument | null; path: string[] }> {
    const path: string[] = [];
    let current = id;
    for (let hops = 0; hops <= MAX_REDIRECT_HOPS && !path.includes(current); hops += 1) {
      path.push(current);
      const doc = await this.getProfile(current);
      if (!doc || doc.status !== 'merged' || !doc.mergedInto) return { doc, path };
      current = doc.mergedInto;
    }
    return { doc: null, path };
  }

  /** Compare-and-set writes (`expected` null = insert); per profile id whether it landed. */
  writeProfiles(writes: readonly { expected: number | null; doc: ProfileDocument }[]): Promise<Map<string, CasResult>> {
    const stored = this.db.collection<StoredProfileDocument>(ENRICHMENT_COLLECTIONS.profiles);
    return this.writer.writeMany(
      stored,
      writes.map((w) => ({ expected: w.expected, doc: toStoredProfile(w.doc) })),
    );
  }

  /**
   * Active profiles with orders, only what RFM scores need (`buyer` marks them; documents of the
   * earlier layouts have `orders` at top level or under `computed`).
   */
  async *profilesWithOrders(): AsyncGenerator<RfmView> {
    const filter = {
      status: 'active',
      $or: [{ buyer: true }, { 'orders.count': { $gt: 0 } }, { 'computed.orders.count': { $gt: 0 } }],
    } as mongo.Filter<AnyStoredProfileDocument>;
    const projection = { _id: 1, version: 1, body: 1, orders: 1, rfm: 1, 'computed.orders': 1, 'computed.rfm': 1 };
    for await (const d of this.profiles.find(filter, { projection })) {
      const { computed } = fromStoredProfile(d as AnyStoredProfileDocument);
      if (computed?.orders) yield { _id: d._id, version: d.version, orders: computed.orders, ...(computed.rfm ? { rfm: computed.rfm } : {}) };
    }
  }

  /** Profiles holding identifier key `<type>:<value>` (live ones first). */
  async findByIdentifierKey(key: string, limit = 10): Promise<ProfileDocument[]> {
    const docs = (await this.profiles.find({ idKeys: key }).limit(limit).toArray()).map(fromStoredProfile);
    return docs.sort((a, b) => (a.status === b.status ? 0 : a.status === 'active' ? -1 : 1));
  }

  // ---- events ------------------------------------------------------------------------------

  /** Which of `ids` are stored as events (the replay guard beyond a full applied-id ring). */
  async findStoredEventIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const found = await this.writer.findByIds(this.events, ids, { _id: 1 });
    return new Set(found.map((d) => d._id));
  }

  /** Inserts events (an event already stored — a redelivery — is left as it is). */
  async putEvents(docs: readonly EventDocument[]): Promise<void> {
    if (docs.length === 0) return;
    const now = new Date();
    const unique = [...new Map(docs.map((d) => [d._id, { ...d, expiryHour: expiryHourOf(d.expiresAt, now) }])).values()];
    await insertAbsent(this.events, unique);
  }

  /** Moves events of `fromProfileId` to `toProfileId` (all of them, or those carrying one of `idKeys`). Idempotent. */
  async moveEvents(fromProfileId: string, toProfileId: string, idKeys?: readonly string[]): Promise<number> {
    const filter: mongo.Filter<EventDocument> = { profileId: fromProfileId };
    if (idKeys) filter.idKeys = { $in: [...idKeys] };
    const r = await this.events.updateMany(filter, { $set: { profileId: toProfileId } });
    return r.modifiedCount;
  }

  /** Every stored event of a profile, oldest first (splits recompute from them). */
  async eventsOf(profileId: string): Promise<EventDocument[]> {
    return (await this.events.find({ profileId }).sort({ at: 1, _id: 1 }).toArray()) as EventDocument[];
  }

  async timeline(profileId: string, q: TimelineQuery = {}): Promise<EventDocument[]> {
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 1000);
    const filter: mongo.Filter<EventDocument> = { profileId };
    const and: mongo.Filter<EventDocument>[] = [];
    // One value as an equality: FerretDB pushes equalities on top-level fields down to PostgreSQL, not `$in`,
    // so `event=Experience Viewed` reads only those events instead of every event of the profile.
    if (q.types && q.types.length > 0) filter.type = q.types.length === 1 ? (q.types[0] as string) : { $in: q.types };
    if (q.names && q.names.length > 0) filter.name = q.names.length === 1 ? (q.names[0] as string) : { $in: q.names };
    if (q.from) and.push({ at: { $gte: q.from } });
    if (q.to) and.push({ at: { $lt: q.to } });
    if (q.cursor) and.push({ $or: [{ at: { $lt: q.cursor.at } }, { at: q.cursor.at, _id: { $lt: q.cursor.id } }] });
    if (and.length > 0) filter.$and = and;
    return (await this.events.find(filter).sort({ at: -1, _id: -1 }).limit(limit).toArray()) as EventDocument[];
  }

  // ---- shared state documents ----------------------------------------------------------------

  async getState(id: string): Promise<StateDocument | null> {
    return (await this.state.findOne({ _id: id })) as StateDocument | null;
  }

  /** Read-modify-write of a state document with compare-and-set (retried on conflicts). */
  async updateState(id: string, update: (current: Record<string, unknown> | undefined) => Record<string, unknown>, tries = 10): Promise<StateDocument> {
    for (let i = 0; i < tries; i += 1) {
      const current = await this.getState(id);
      const doc: StateDocument = {
        _id: id,
        version: (current?.version ?? 0) + 1,
        value: update(current?.value),
        updatedAt: new Date(),
        writeId: this.newWriteId(),
      };
      const r = await this.writer.writeMany(this.state, [{ expected: current ? current.version : null, doc }]);
      if (r.get(id) === 'applied') return doc;
    }
    throw new Error(`state document ${id} kept changing (${tries} tries)`);
  }

  /**
   * A lease on a periodic job: true when `holder` holds `id` until `now + ttlMs` (taken if free
   * or expired, renewed if already held). Exactly one of concurrent takers wins.
   */
  async takeLease(id: string, holder: string, ttlMs: number, now = new Date()): Promise<boolean> {
    const current = await this.getState(id);
    if (current && current.holder !== holder && current.until && current.until > now) return false;
    const doc: StateDocument = {
      _id: id,
      version: (current?.version ?? 0) + 1,
      value: current?.value ?? {},
      updatedAt: now,
      holder,
      until: new Date(now.getTime() + ttlMs),
      writeId: this.newWriteId(),
    };
    const r = await this.writer.writeMany(this.state, [{ expected: current ? current.version : null, doc }]);
    return r.get(id) === 'applied';
  }

  /** The shared category price index as stored (empty when none yet). */
  async readPriceIndex(): Promise<CategoryPriceIndex> {
    return priceIndexOf((await this.getState(PRICE_INDEX_DOC))?.value);
  }

  /** Merges `observed` into the shared category price index (compare-and-set) and returns the result. */
  async addToPriceIndex(observed: CategoryPriceIndex): Promise<CategoryPriceIndex> {
    const doc = await this.updateState(PRICE_INDEX_DOC, (current) => mergePriceIndex(priceIndexOf(current), observed) as unknown as Record<string, unknown>);
    return priceIndexOf(doc.value);
  }

  /** The RFM job's lease: one instance at a time runs it. */
  takeRfmLease(holder: string, ttlMs: number, now: Date): Promise<boolean> {
    return this.takeLease(`${RFM_DOC}-lease`, holder, ttlMs, now);
  }

  /** The last RFM run as stored (`saveRfmRun`), if any. */
  async readRfmRun(): Promise<RfmRun | undefined> {
    const value = (await this.getState(RFM_DOC))?.value as Partial<RfmRun> | undefined;
    return value && typeof value.at === 'string' ? (value as RfmRun) : undefined;
  }

  /** The thresholds of the last RFM run (for readers of `enrichment_state`) and how far its changes are confirmed published. */
  async saveRfmRun(run: RfmRun): Promise<void> {
    await this.updateState(RFM_DOC, () => run as unknown as Record<string, unknown>);
  }

  // ---- expiry ----------------------------------------------------------------------------------

  /**
   * What TTL indexes do on MongoDB (FerretDB has none): deletes anonymous profiles and
   * redirects past `expiresAt`, events past their retention, old tickets. Idempotent; every
   * instance may run it. Known profiles have no `expiresAt` and never expire.
   */
  async sweepExpired(now: Date = new Date()): Promise<SweepResult> {
    const profiles = await this.expiry.deleteExpired(this.profiles, { status: 'active', known: false }, now);
    const redirects = await this.expiry.deleteExpired(this.profiles, { status: 'merged' }, now);
    const events = await this.expiry.deleteExpired(this.events, {}, now);
    const tickets = await this.writer.sweepTickets(now);
    return { profiles, redirects, events, tickets };
  }
}

/** A stored price index value, or an empty one (none yet, or not an index). */
function priceIndexOf(value: Record<string, unknown> | undefined): CategoryPriceIndex {
  const stored = value as unknown as CategoryPriceIndex | undefined;
  return stored?.categories ? stored : emptyPriceIndex();
}
