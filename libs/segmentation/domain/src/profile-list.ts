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
 * cursor is a position in that order: (shard, last id taken in it). Every read is capped (the
 * callers' budget): a span that holds more than its read may return is read again in smaller
 * spans, so no estimate, right or wrong, makes a request read more than its budget.
 */
import { DAY_MS } from './definition';
import type { ProfileSegmentState } from './engine-state';
import { mainIdentifiers } from './engine-state';
import { isoTime } from './values';

export const LIST_SHARDS = 4096;
export const SHARDS_PER_BLOCK = 64;
export const LIST_BLOCKS = LIST_SHARDS / SHARDS_PER_BLOCK;
export const DEFAULT_LIST_LIMIT = 50;
/** A last-seen range over at most this many UTC days is read by equality on `seenDay`, a read per day. */
export const SEEN_DAYS_READ_MAX = 10;
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

/**
 * What the list is filtered by: a segment the store applies (an indexed equality), `known` and
 * the last-seen range applied in memory to what the reads return (a short range is also read
 * by day: `seenDaysToRead`). `known` is not sent to the store: unindexed, it would be checked
 * on every document of a span there, and the budget would count only those that matched.
 */
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
  /** Documents the store returned per shard so far (sizes the next page's first reads); at least `MIN_CURSOR_DENSITY` once decoded. */
  density: number;
  /** The filters the cursor was made for (`filterFingerprint`). */
  filter: string;
}

/**
 * The least density a cursor is taken to carry. It is the client's to send (and rounded to 3
 * decimals, so a genuinely sparse walk's is 0), and it sizes a page's first reads: at 1/8 the
 * whole list (4,096 shards: 512 documents expected) is never read first — the plan's limit is at
 * most 128 × √10 — and a block is expected to hold 8. From there the page measures the density.
 */
export const MIN_CURSOR_DENSITY = 1 / 8;

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
  return { ok: true, cursor: { position, density: Math.max(c.d, MIN_CURSOR_DENSITY), filter } };
}

/**
 * Whether the filter narrows a read by an indexed equality of its own (a segment; days last seen
 * read by equality), so the whole list may be read at once. `known` is applied in memory: such a
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
  field: SpanField;
  value: number;
  firstShard: number;
  endShard: number;
}

/** The kinds of span, coarsest first. */
export type SpanField = 'all' | 'listBlock' | 'listShard';

/** The shards whose documents a read of each kind returns (the whole list's for `all`, also those before the position). */
export const SHARDS_READ: Readonly<Record<SpanField, number>> = { all: LIST_SHARDS, listBlock: SHARDS_PER_BLOCK, listShard: 1 };

/** The next finer kind of span (a shard is the finest). */
export function finerSpan(field: SpanField): SpanField {
  return field === 'all' ? 'listBlock' : 'listShard';
}

/**
 * What to read next from `position`: the coarsest span, no coarser than `coarsest`, that the
 * store is expected to answer with at most `readMax` documents (`density` per shard): the whole
 * rest of the list, else the block holding the position, else its shard. A sparse filter thus
 * reads 64 shards, or everything it matches, per query; a dense one no more than it needs.
 */
export function nextSpan(position: ListPosition, density: number | undefined, readMax: number, coarsest: SpanField = 'listBlock'): ListSpan {
  const fits = (field: SpanField) => density !== undefined && density * SHARDS_READ[field] <= readMax;
  if (coarsest === 'all' && fits('all')) return { field: 'all', value: 0, firstShard: position.shard, endShard: LIST_SHARDS };
  if (coarsest !== 'listShard' && fits('listBlock')) {
    const block = listBlockOf(position.shard);
    return { field: 'listBlock', value: block, firstShard: block * SHARDS_PER_BLOCK, endShard: (block + 1) * SHARDS_PER_BLOCK };
  }
  return { field: 'listShard', value: position.shard, firstShard: position.shard, endShard: position.shard + 1 };
}

/** What bounds a round of reads (`nextSpans`). */
export interface SpanLimits {
  /**
   * Documents the page is expected to need to read: the rows it still wants, over the share of
   * documents that pass the filters applied in memory (`known`, a last-seen range).
   */
  need: number;
  /** Documents one span's reads may be expected to return (more when the page needs more). */
  readMax: number;
  /** Spans at most (read at once). */
  maxSpans: number;
  /** Documents the request may still read (its reads' caps share them). */
  documents: number;
  /** The coarsest span allowed: `all` only where the filter narrows a read by itself (`filterNarrowsRead`). */
  coarsest: SpanField;
}

/**
 * The spans to read at once from `position` (in parallel: on FerretDB each read costs ~3 ms
 * however little it returns): as many consecutive spans of `nextSpan`'s kind as are expected to
 * hold the `need`ed documents (at the estimated `density`), at least one and at most `maxSpans`,
 * none past the end of the list. A span expected to return no more than the page needs is not
 * too coarse (a filter applied in memory needs more documents than rows). The round is expected
 * to read at most half the documents left, so each read's cap (its share of them) is about twice
 * what it should return. Without an estimate (a first page), one shard.
 */
export function nextSpans(position: ListPosition, density: number | undefined, limits: SpanLimits): ListSpan[] {
  const roundMax = limits.documents / 2;
  const first = nextSpan(position, density, Math.min(Math.max(limits.readMax, limits.need), roundMax), limits.coarsest);
  if (density === undefined || first.field === 'all') return [first];
  const width = first.endShard - first.firstShard;
  const expected = Math.max(density * width, 0.01);
  const count = Math.max(1, Math.min(limits.maxSpans, Math.ceil(limits.need / expected), Math.floor(roundMax / expected)));
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

/** A listed document: its id, shard and what the in-memory filters read (the rest is carried through). */
export interface ListedDoc {
  _id: string;
  listShard: number;
  known?: boolean | null;
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

/** Whether a document passes the filters applied in memory: `known` and the last-seen range. */
export function matchesInMemory(d: ListedDoc, f: ProfileListFilter): boolean {
  return (f.known === undefined || (d.known ?? false) === f.known) && seenMatches(d.lastSeenAt, f);
}

/**
 * Takes up to `need` rows from what a span returned (all of its documents): those after
 * `position`, in list order, matching the filters applied in memory. The new position is the
 * last row taken when the page filled up inside the span with more to take after it, else the
 * span's end.
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
    if (d.listShard < span.firstShard || d.listShard >= span.endShard || !isAfter(d, position) || !matchesInMemory(d, filter)) continue;
    if (rows.length === need) return { rows, position: { shard: rows[rows.length - 1]!.listShard, after: rows[rows.length - 1]!._id } };
    rows.push(d);
  }
  return { rows, position: { shard: span.endShard } };
}
