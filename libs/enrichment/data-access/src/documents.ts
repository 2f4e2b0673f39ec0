/**
 * The enrichment collections (the documented model: mongoose schemas declare fields and
 * indexes; the hot path reads and writes with the native driver, see profile-store.ts).
 *
 * - `enrichment_profiles`: one document per profile (`StoredProfileDocument`). At top level
 *   only what queries filter, index, project or compare: `_id`, `version` (compare-and-set),
 *   `status` (`active` | `merged`), `mergedInto`, `mergedAt`, `redirectSlots` (redirects: the
 *   5-second slot the redirect was filed in and the next three, indexed; `redirectSlotsOf`), `expiresAt` (anonymous
 *   profiles: last seen + the anonymous TTL; redirects: merge time + the redirect TTL; known
 *   profiles: none), `known`, `idKeys` (`<type>:<value>` of every identifier, indexed for the
 *   by-identifier API), `writeId`, and `buyer` (the profile has orders: what the RFM job
 *   filters on). The rest of the domain's `ProfileState` is one JSON text field, `body`:
 *   FerretDB converts every nested field between BSON and PostgreSQL jsonb, and one string
 *   costs a fraction of that (issue 14: about 10× on inserts, 2.5× on replacements of a 3.4 KB
 *   profile). No nested object stays at top level either (`orders` and `rfm` were, until the
 *   RFM job's filter became the `buyer` flag). Documents written in the earlier layouts (the
 *   whole state nested; or `body` with `orders`/`rfm` at top level) are still read; the next
 *   write stores them in this one.
 *   `activity`: the activity digest (the latest events, compact, as JSON text; a top-level
 *   string beside `body`, never read into the state).
 * - `enrichment_events`: every applied event, the timeline's source. `_id` = the event's
 *   messageId; `profileId` (moved to the survivor on a merge, to the new profile on a split);
 *   `at` (event time); the raw event as JSON text (`json`, so keys with `$` or `.` need no
 *   escaping); `idKeys` (the identifiers identity resolved it by, which decide a split);
 *   `expiresAt` (the retention after the later of the event time and the time it was stored:
 *   it is the replay guard past a profile's applied-id ring, so an imported old event too must
 *   outlive its redeliveries).
 * - `enrichment_state`: small shared documents — the category price index, the RFM
 *   thresholds and job leases.
 * - `enrichment_cas_tickets`: compare-and-set tickets (`VersionedWriter`, FerretDB).
 */
import { Schema } from 'mongoose';
import type { ProfileState } from '@mosaic/enrichment-domain';
import { casTicketSchema, expiryHourOf } from '@mosaic/shared-mongo';

export const ENRICHMENT_COLLECTIONS = Object.freeze({
  profiles: 'enrichment_profiles',
  events: 'enrichment_events',
  state: 'enrichment_state',
  tickets: 'enrichment_cas_tickets',
});

export type ProfileStatus = 'active' | 'merged';

/** The fields a profile document carries besides its state, in both the logical and the stored form. */
export interface ProfileEnvelope {
  _id: string;
  status: ProfileStatus;
  mergedInto?: string;
  mergedAt?: string;
  /**
   * Redirects: the slot (`REDIRECT_SLOT_MS`, `redirectSlotOf`) the redirect was filed in by the
   * merging instance's clock and the `REDIRECT_SLOT_SPAN - 1` after it (`redirectSlotsOf`),
   * indexed: asking one slot finds the redirects filed in it and in the slots just before, so a
   * batch finds those written while it ran by one equality (`slotsToAsk`; FerretDB serves no
   * range and no `$in` from an index, but the match of one element of an array). Absent on live
   * profiles and on redirects written before the field existed (see `followMerges` in the
   * application). Redirects written before it (until 2026-12-07) carry `redirectSlot` (their one slot),
   * before 2026-12-06 `redirectMinute`, which nothing reads any more (`fromStoredProfile` drops them).
   */
  redirectSlots?: number[];
  /** True once the profile has an identifier other than anonymousId. */
  known: boolean;
  idKeys: string[];
  expiresAt?: Date;
  /** Unique per write: tells a writer whether its bulk compare-and-set landed. */
  writeId: string;
  /**
   * The activity digest (`ActivityEntry[]` as JSON text, @mosaic/enrichment-domain activity.ts):
   * kept beside the state, not in it, so neither `body`, `profiles.changes` nor the profile API
   * carry it. Absent on profiles stored before digests (the applier builds it on their next write).
   */
  activity?: string;
}

export interface ProfileDocument extends Omit<ProfileState, 'profileId'>, ProfileEnvelope {}

export interface EventDocument {
  /** The event's messageId. */
  _id: string;
  profileId: string;
  /** Event time. */
  at: Date;
  receivedAt: Date;
  type: string;
  /** The track event's name (absent for page, identify, …). */
  name?: string;
  idKeys: string[];
  identifiers: { type: string; value: string }[];
  /** The raw event (contracts `RawEvent`) as JSON text. */
  json: string;
  expiresAt: Date;
  /** The hour the expiry sweep deletes it in (`expiryHourOf`; set by `putEvents`). */
  expiryHour?: number;
}

export interface StateDocument {
  _id: string;
  version: number;
  value: Record<string, unknown>;
  updatedAt: Date;
  /** Leases: who holds it until when. */
  holder?: string;
  until?: Date;
  writeId: string;
}

type Computed = ProfileState['computed'];

/** What `body` holds (`computed.orders`/`computed.rfm` only in the current layout: the earlier one kept them at top level). */
type StoredBody = Omit<ProfileState, 'profileId' | 'version' | 'computed'> & {
  computed: Omit<Computed, 'orders' | 'rfm'> & Partial<Pick<Computed, 'orders' | 'rfm'>>;
};

/**
 * A profile as `enrichment_profiles` holds it (see the file comment); `ProfileRepository`
 * converts at its boundary, everything else sees `ProfileDocument`.
 */
export interface StoredProfileDocument extends ProfileEnvelope {
  version: number;
  /** `computed.orders.count > 0`: the RFM job's population. */
  buyer: boolean;
  /** The rest of the `ProfileState` (without `profileId` and `version`) as JSON text. */
  body: string;
  /** The hour the expiry sweep deletes it in (`expiryHourOf`), with `expiresAt`. */
  expiryHour?: number;
}

/** The earlier `body` layout: `orders`/`rfm` at top level (still read). */
interface StoredProfileDocumentV1 extends ProfileEnvelope {
  version: number;
  orders: Computed['orders'];
  rfm?: NonNullable<Computed['rfm']>;
  body: string;
}

/** What the collection may hold: the current layout, or a profile written before it. */
export type AnyStoredProfileDocument = StoredProfileDocument | StoredProfileDocumentV1 | ProfileDocument;

/**
 * The width of a redirect slot. A batch reads every redirect filed in the slots its window
 * touches: the narrower the slots, the fewer redirects of other profiles it reads.
 */
export const REDIRECT_SLOT_MS = 5_000;

/** The slot a redirect filed at `at` is filed in. */
export function redirectSlotOf(at: Date | number): number {
  return Math.floor((typeof at === 'number' ? at : at.getTime()) / REDIRECT_SLOT_MS);
}

/**
 * How many slots one value of `redirectSlots` answers for: a batch's window spans four slots
 * (follow-merges.ts: from twice the clock bound before its start to one bound after its end, 5 s
 * slots and bound), so one equality covers it, two a batch longer than a slot.
 */
export const REDIRECT_SLOT_SPAN = 4;

/** `redirectSlots` of a redirect filed at `at`: its slot and the next `REDIRECT_SLOT_SPAN - 1`. */
export function redirectSlotsOf(at: Date | number): number[] {
  const slot = redirectSlotOf(at);
  return Array.from({ length: REDIRECT_SLOT_SPAN }, (_, i) => slot + i);
}

/**
 * The values of `redirectSlots` to ask so that every redirect filed in one of `slots` is found:
 * asking `v` finds those filed in `v - REDIRECT_SLOT_SPAN + 1` … `v`. Redirects of a few slots
 * before the earliest may come back too.
 */
export function slotsToAsk(slots: readonly number[]): number[] {
  if (slots.length === 0) return [];
  const first = Math.min(...slots);
  const asked: number[] = [];
  for (let v = Math.max(...slots); ; v -= REDIRECT_SLOT_SPAN) {
    asked.push(v);
    if (v - REDIRECT_SLOT_SPAN + 1 <= first) return asked;
  }
}

export function identifierKey(i: { type: string; value: string }): string {
  return `${i.type}:${i.value}`;
}

export function stateToDocument(
  state: ProfileState,
  extra: Pick<ProfileDocument, 'status' | 'mergedInto' | 'mergedAt' | 'redirectSlots' | 'expiresAt' | 'writeId' | 'activity'>,
): ProfileDocument {
  const { profileId, ...rest } = state;
  const known = state.identifiers.some((i) => i.type !== 'anonymousId');
  const doc: ProfileDocument = { _id: profileId, ...rest, status: extra.status, known, idKeys: state.identifiers.map(identifierKey), writeId: extra.writeId };
  if (extra.mergedInto !== undefined) doc.mergedInto = extra.mergedInto;
  if (extra.mergedAt !== undefined) doc.mergedAt = extra.mergedAt;
  if (extra.redirectSlots !== undefined) doc.redirectSlots = extra.redirectSlots;
  if (extra.expiresAt !== undefined) doc.expiresAt = extra.expiresAt;
  if (extra.activity !== undefined) doc.activity = extra.activity;
  return doc;
}

export function documentToState(doc: ProfileDocument): ProfileState {
  const { _id, status: _s, mergedInto: _m, mergedAt: _ma, redirectSlots: _rs, known: _k, idKeys: _i, expiresAt: _e, writeId: _w, activity: _a, ...rest } = doc;
  return { ...(rest as Omit<ProfileState, 'profileId'>), profileId: _id };
}

/**
 * The stored layout of a profile. Keys need no escaping in `body` (JSON text); those from data
 * arrive escaped by the domain anyway (`fieldKey`), as they had to be when they were fields.
 */
export function toStoredProfile(doc: ProfileDocument): StoredProfileDocument {
  const { _id, version, status, mergedInto, mergedAt, redirectSlots, known, idKeys, expiresAt, writeId, activity, ...state } = doc;
  const buyer = state.computed.orders.count > 0;
  const stored: StoredProfileDocument = { _id, version, status, known, idKeys, writeId, buyer, body: JSON.stringify(state) };
  if (activity !== undefined) stored.activity = activity;
  if (mergedInto !== undefined) stored.mergedInto = mergedInto;
  if (mergedAt !== undefined) stored.mergedAt = mergedAt;
  if (redirectSlots !== undefined) stored.redirectSlots = redirectSlots;
  if (expiresAt !== undefined) {
    stored.expiresAt = expiresAt;
    stored.expiryHour = expiryHourOf(expiresAt);
  }
  return stored;
}

/** A stored profile as the code sees it, from any layout (one written before `body` is the logical form already). */
export function fromStoredProfile(doc: AnyStoredProfileDocument): ProfileDocument {
  if (!isBodyLayout(doc)) return doc;
  // casFrom: what the store's compare-and-set guard reads (VersionedWriter), not part of the profile.
  const {
    body,
    buyer: _b,
    expiryHour: _h,
    casFrom: _c,
    redirectMinute: _legacyMinute,
    redirectSlot: _legacySlot,
    orders,
    rfm,
    ...top
  } = doc as StoredProfileDocument & Partial<StoredProfileDocumentV1> & { casFrom?: number; redirectMinute?: number; redirectSlot?: number };
  const state = JSON.parse(body) as StoredBody;
  // The earlier layout kept orders/rfm at top level; the current one has them in the body.
  const computed = { ...(orders !== undefined ? { orders } : {}), ...(rfm !== undefined ? { rfm } : {}), ...state.computed } as Computed;
  return { ...state, ...top, computed };
}

function isBodyLayout(doc: AnyStoredProfileDocument): doc is StoredProfileDocument | StoredProfileDocumentV1 {
  return typeof (doc as Partial<StoredProfileDocument>).body === 'string';
}

// ---------------------------------------------------------------------------------------
// mongoose schemas: the documented model and its indexes.

const IdentifierPart = new Schema({ type: { type: String, required: true }, value: { type: String, required: true } }, { _id: false });

export const ProfileSchema = new Schema(
  {
    _id: { type: String, required: true },
    version: { type: Number, required: true },
    status: { type: String, enum: ['active', 'merged'], required: true },
    mergedInto: String,
    mergedAt: String,
    redirectSlots: { type: [Number], default: undefined },
    known: { type: Boolean, required: true },
    idKeys: { type: [String], default: [] },
    expiresAt: Date,
    expiryHour: Number,
    writeId: { type: String, required: true },
    buyer: { type: Boolean, required: true },
    body: { type: String, required: true },
    activity: String,
  },
  { collection: ENRICHMENT_COLLECTIONS.profiles, versionKey: false, minimize: false },
);
ProfileSchema.index({ idKeys: 1 });
ProfileSchema.index({ expiryHour: 1 });
// Redirects by the slots they answer for (followMerges); on FerretDB served by the GIN twin the
// infra makes of every declared index (tools/infra/postgres-gin-twins.sql), which matches one
// element of the array.
ProfileSchema.index({ redirectSlots: 1 });

export const EventSchema = new Schema(
  {
    _id: { type: String, required: true },
    profileId: { type: String, required: true },
    at: { type: Date, required: true },
    receivedAt: { type: Date, required: true },
    type: { type: String, required: true },
    name: String,
    idKeys: { type: [String], default: [] },
    identifiers: { type: [IdentifierPart], default: [] },
    json: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    expiryHour: Number,
  },
  { collection: ENRICHMENT_COLLECTIONS.events, versionKey: false },
);
EventSchema.index({ profileId: 1, at: -1, _id: -1 });
EventSchema.index({ expiryHour: 1 });

export const StateSchema = new Schema(
  {
    _id: { type: String, required: true },
    version: { type: Number, required: true },
    value: { type: Schema.Types.Mixed, default: {} },
    updatedAt: { type: Date, required: true },
    holder: String,
    until: Date,
    writeId: { type: String, required: true },
  },
  { collection: ENRICHMENT_COLLECTIONS.state, versionKey: false, minimize: false },
);

export const CasTicketSchema = casTicketSchema(ENRICHMENT_COLLECTIONS.tickets);

// `expiresAt` of profiles and events: a TTL index on MongoDB, created by
// `ProfileRepository.ensureIndexes`; FerretDB refuses TTL indexes, and the sweep deletes by
// `expiryHour` there (ExpirySweeper in @mosaic/shared-mongo).

export const ENRICHMENT_SCHEMAS: readonly (readonly [string, Schema])[] = Object.freeze([
  ['EnrichmentProfile', ProfileSchema],
  ['EnrichmentEvent', EventSchema],
  ['EnrichmentState', StateSchema],
  ['EnrichmentCasTicket', CasTicketSchema],
]);
