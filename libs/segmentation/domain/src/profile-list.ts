/**
 * The contact list (`GET /v1/profiles`): the fields a profile document is filed under for
 * listing, the walk over them, and its cursor. Pure; the store and the clock are the callers'.
 *
 * Why this shape: FerretDB 1.24 serves only equality filters on top-level fields from an index
 * (not a sort, a range, an `$in` or a limit with a filter), so a list sorted by id reads and
 * sorts every matching profile on every page. Instead each profile is filed under a shard (a
 * stable hash of its id, `LIST_SHARDS` of them) and a block (`SHARDS_PER_BLOCK` consecutive
 * shards), both indexed. The list is the profiles in (shard, id) order; a page is read as one
 * indexed equality per shard, or per block when the filter is sparse (few documents per shard),
 * sorted in memory (a shard holds profiles ÷ 4,096), so a page costs the same at any depth. The
 * cursor is a position in that order: (shard, last id taken in it).
 */
import type { ProfileSegmentState } from './engine-state';
import { mainIdentifiers } from './engine-state';
import { isoTime } from './values';

export const LIST_SHARDS = 4096;
export const SHARDS_PER_BLOCK = 64;
export const LIST_BLOCKS = LIST_SHARDS / SHARDS_PER_BLOCK;
export const DEFAULT_LIST_LIMIT = 50;
/** A last-seen range over at most this many UTC days is read by equality on `seenDay`, a read per day. */
export const SEEN_DAYS_READ_MAX = 10;
const DAY_MS = 86_400_000;
export const MAX_LIST_LIMIT = 200;

/** FNV-1a (32-bit) over the UTF-16 code units of `s`: stable across processes and versions. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i += 1) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The shard a profile is listed under (0 … LIST_SHARDS − 1). */
export function listShardOf(profileId: string): number {
  return fnv1a(profileId) % LIST_SHARDS;
}

export function listBlockOf(shard: number): number {
  return Math.floor(shard / SHARDS_PER_BLOCK);
}

/** The top-level fields of a profile document that the list reads (filed on every write). */
export interface ProfileListFields {
  /** null: not listed (merged into another profile). */
  listShard: number | null;
  listBlock: number | null;
  /** The profile has an identifier other than an anonymousId. */
  known: boolean;
  /** `computed.lastSeen` (the latest event time); null when the profile has none. */
  lastSeenAt: Date | null;
  /** The UTC day of `lastSeenAt` (days since the epoch), filed so a short range is read by equality; null with it. */
  seenDay: number | null;
  email: string | null;
  userId: string | null;
}

export function listFieldsOf(state: ProfileSegmentState): ProfileListFields {
  const ids = mainIdentifiers(state.profile);
  const seen = isoTime(state.profile?.computed['lastSeen']);
  const listed = state.mergedInto === undefined;
  const shard = listShardOf(state.profileId);
  return {
    listShard: listed ? shard : null,
    listBlock: listed ? listBlockOf(shard) : null,
    known: (state.profile?.identifiers ?? []).some((i) => i.type !== 'anonymousId'),
    lastSeenAt: seen === undefined ? null : new Date(seen),
    seenDay: seen === undefined ? null : seenDayOf(seen),
    email: ids.email ?? null,
    userId: ids.userId ?? null,
  };
}

export function seenDayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/**
 * The `seenDay`s a last-seen range is read by, when it starts (`seenAfter`) and spans at most
 * `SEEN_DAYS_READ_MAX` UTC days up to its end (`seenBefore`, else a day past `now`: a profile
 * seen later than that — an event stamped in the future — is not found by such a range); else
 * undefined (the range is applied in memory to what the reads return).
 */
export function seenDaysToRead(f: ProfileListFilter, now: number): number[] | undefined {
  if (f.seenAfter === undefined) return undefined;
  const first = seenDayOf(f.seenAfter);
  const last = seenDayOf(f.seenBefore !== undefined ? f.seenBefore - 1 : now + DAY_MS);
  if (last < first || last - first + 1 > SEEN_DAYS_READ_MAX) return undefined;
  return Array.from({ length: last - first + 1 }, (_, k) => first + k);
}

/** What the list is filtered by: equalities the store applies, and the last-seen range applied in memory. */
export interface ProfileListFilter {
  segment?: string;
  known?: boolean;
  /** Last seen at or after (epoch ms). */
  seenAfter?: number;
  /** Last seen before (epoch ms). */
  seenBefore?: number;
}

/** A place in the list's (shard, id) order: everything before it has been listed. */
export interface ListPosition {
  /** The shard being walked; LIST_SHARDS once the walk is over. */
  shard: number;
  /** The last id taken in that shard. */
  after?: string;
}

export interface ListCursor {
  position: ListPosition;
  /** Documents the store returned per shard so far (chooses shard or block reads on the next page). */
  density: number;
  /** The filters the cursor was made for (`filterFingerprint`). */
  filter: string;
}

/** A short fingerprint of the filters: a cursor answers only the list it was made for. */
export function filterFingerprint(f: ProfileListFilter): string {
  return fnv1a(JSON.stringify([f.segment ?? null, f.known ?? null, f.seenAfter ?? null, f.seenBefore ?? null])).toString(36);
}

export function encodeListCursor(c: ListCursor): string {
  const raw = JSON.stringify({ v: 1, s: c.position.shard, a: c.position.after, d: Math.round(c.density * 1000) / 1000, f: c.filter });
  return Buffer.from(raw, 'utf8').toString('base64url');
}

export type CursorResult = { ok: true; cursor: ListCursor } | { ok: false; message: string };

/** The cursor `text` stands for, if it is one of this list made for these filters. */
export function decodeListCursor(text: string, filter: string): CursorResult {
  let raw: unknown;
  try {
    raw = /^[A-Za-z0-9_-]{1,2048}$/.test(text) ? JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) : undefined;
  } catch {
    raw = undefined;
  }
  const c = raw as { v?: unknown; s?: unknown; a?: unknown; d?: unknown; f?: unknown } | undefined;
  if (typeof c !== 'object' || c === null || c.v !== 1)
    return { ok: false, message: 'not a cursor of this list (pass the `next` of the previous page as it is)' };
  if (!Number.isInteger(c.s) || (c.s as number) < 0 || (c.s as number) >= LIST_SHARDS)
    return { ok: false, message: `its shard must be an integer from 0 to ${LIST_SHARDS - 1}` };
  if (c.a !== undefined && (typeof c.a !== 'string' || c.a.length === 0 || c.a.length > 256)) return { ok: false, message: 'its last id is not a profile id' };
  if (typeof c.d !== 'number' || !Number.isFinite(c.d) || c.d < 0) return { ok: false, message: 'its density must be a number ≥ 0' };
  if (c.f !== filter)
    return { ok: false, message: 'it was made for other filters (start again without a cursor when segment, known, seenAfter or seenBefore change)' };
  const position: ListPosition = c.a === undefined ? { shard: c.s as number } : { shard: c.s as number, after: c.a };
  return { ok: true, cursor: { position, density: c.d, filter } };
}

/**
 * Whether the filter narrows a read by an indexed equality of its own (a segment; days last seen
 * read by equality), so the whole list may be read at once. `known` alone is not indexed: such a
 * read would be a read of every profile.
 */
export function filterNarrowsRead(f: ProfileListFilter, days: readonly number[] | undefined): boolean {
  return f.segment !== undefined || days !== undefined;
}

/**
 * One indexed read and the shards it covers ([first, end)): a shard, a block, or — when the
 * filter has an indexed equality of its own (a segment, a day last seen) — the whole list.
 */
export interface ListSpan {
  field: 'listShard' | 'listBlock' | 'all';
  value: number;
  firstShard: number;
  endShard: number;
}

/**
 * What to read next from `position`: the coarsest span the store is expected to answer with at
 * most `readMax` documents (`density` per shard): the whole rest of the list when `wholeList` is
 * allowed (the filter narrows the read by itself), else the block holding the position, else its
 * shard. A sparse filter thus reads 64 shards, or everything it matches, per query; a dense one
 * no more than it needs.
 */
export function nextSpan(position: ListPosition, density: number | undefined, readMax: number, wholeList = false): ListSpan {
  // The read returns the whole list's matches, also those before the position: expected over every shard.
  if (density !== undefined && wholeList && density * LIST_SHARDS <= readMax) {
    return { field: 'all', value: 0, firstShard: position.shard, endShard: LIST_SHARDS };
  }
  if (density !== undefined && density * SHARDS_PER_BLOCK <= readMax) {
    const block = listBlockOf(position.shard);
    return { field: 'listBlock', value: block, firstShard: block * SHARDS_PER_BLOCK, endShard: (block + 1) * SHARDS_PER_BLOCK };
  }
  return { field: 'listShard', value: position.shard, firstShard: position.shard, endShard: position.shard + 1 };
}

/**
 * The spans to read at once from `position` (in parallel: on FerretDB each read costs ~3 ms
 * however little it returns): as many consecutive spans of `nextSpan`'s kind as are expected
 * to hold `need` rows (at the estimated `density`), at least one and at most `maxSpans`, none
 * past the end of the list. Without an estimate (a first page), one shard.
 */
export function nextSpans(position: ListPosition, density: number | undefined, need: number, readMax: number, maxSpans: number, wholeList = false): ListSpan[] {
  const first = nextSpan(position, density, readMax, wholeList);
  if (density === undefined || first.field === 'all') return [first];
  const width = first.field === 'listBlock' ? SHARDS_PER_BLOCK : 1;
  const count = Math.max(1, Math.min(maxSpans, Math.ceil(need / Math.max(density * width, 0.01))));
  const spans = [first];
  while (spans.length < count && spans[spans.length - 1]!.endShard < LIST_SHARDS) {
    const prev = spans[spans.length - 1]!;
    spans.push({ field: prev.field, value: prev.value + 1, firstShard: prev.endShard, endShard: prev.endShard + width });
  }
  return spans;
}

/** The density estimate after reading `documents` over `shards` shards (half a document of prior: no estimate is 0). */
export function densityOf(documents: number, shards: number): number {
  return (documents + 0.5) / Math.max(1, shards);
}

/** A listed document: its id, shard and last-seen time (the rest is carried through). */
export interface ListedDoc {
  _id: string;
  listShard: number;
  lastSeenAt?: Date | null;
}

const byPosition = (a: ListedDoc, b: ListedDoc) => a.listShard - b.listShard || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);

function isAfter(d: ListedDoc, p: ListPosition): boolean {
  return d.listShard > p.shard || (d.listShard === p.shard && (p.after === undefined || d._id > p.after));
}

/** Whether a last-seen time is in the filter's range (a profile never seen matches no range). */
export function seenMatches(lastSeenAt: Date | null | undefined, f: ProfileListFilter): boolean {
  if (f.seenAfter === undefined && f.seenBefore === undefined) return true;
  const t = lastSeenAt?.getTime();
  if (t === undefined || Number.isNaN(t)) return false;
  return (f.seenAfter === undefined || t >= f.seenAfter) && (f.seenBefore === undefined || t < f.seenBefore);
}

/**
 * Takes up to `need` rows from what a span returned: those after `position`, in list order,
 * matching the last-seen range. The new position is the last row taken when the page filled up
 * inside the span with more to take after it, else the span's end.
 */
export function takeFromSpan<D extends ListedDoc>(
  docs: readonly D[],
  span: ListSpan,
  position: ListPosition,
  need: number,
  filter: ProfileListFilter,
): { rows: D[]; position: ListPosition } {
  const rows: D[] = [];
  for (const d of [...docs].sort(byPosition)) {
    if (d.listShard < span.firstShard || d.listShard >= span.endShard || !isAfter(d, position) || !seenMatches(d.lastSeenAt, filter)) continue;
    if (rows.length === need) return { rows, position: { shard: rows[rows.length - 1]!.listShard, after: rows[rows.length - 1]!._id } };
    rows.push(d);
  }
  return { rows, position: { shard: span.endShard } };
}
