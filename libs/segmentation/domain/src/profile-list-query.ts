/**
 * The query of `GET /v1/profiles` checked: each problem named by its parameter, as the other
 * APIs do (`seenAfter: must be an ISO 8601 date-time`). Pure.
 */
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, decodeListCursor, filterFingerprint, type ListCursor, type ProfileListFilter } from './profile-list';
import { KEY_PATTERN, LIMITS } from './definition';
import { isoInstant } from './values';

export interface ProfileListQueryInput {
  segment?: string;
  known?: string;
  seenAfter?: string;
  seenBefore?: string;
  limit?: string;
  cursor?: string;
}

export interface ProfileListQuery {
  filter: ProfileListFilter;
  limit: number;
  /** Absent: the first page. */
  cursor?: ListCursor;
  /** The fingerprint of `filter` (cursors of the next pages carry it). */
  fingerprint: string;
}

export type ProfileListQueryResult = { ok: true; query: ProfileListQuery } | { ok: false; message: string };

const SEGMENT_KEY = new RegExp(KEY_PATTERN);

const present = (v: string | undefined): v is string => v !== undefined && v !== '';

function timeParam(name: string, v: string | undefined): number | string | undefined {
  if (!present(v)) return undefined;
  return (
    isoInstant(v) ?? `${name}: must be an ISO 8601 date-time with Z or an offset (e.g. 2026-12-01T00:00:00Z or 2026-11-30T19:00:00-05:00; in a URL, + is %2B)`
  );
}

/** The filters of the query, or the first problem. */
function filterOf(q: ProfileListQueryInput): ProfileListFilter | string {
  const filter: ProfileListFilter = {};
  if (present(q.segment)) {
    if (!SEGMENT_KEY.test(q.segment) || q.segment.length > LIMITS.maxKeyLength)
      return `segment: not a segment key (letters, digits, _ . : -, at most ${LIMITS.maxKeyLength})`;
    filter.segment = q.segment;
  }
  if (present(q.known)) {
    if (q.known !== 'true' && q.known !== 'false') return 'known: must be true or false (leave it out for both)';
    filter.known = q.known === 'true';
  }
  const after = timeParam('seenAfter', q.seenAfter);
  const before = timeParam('seenBefore', q.seenBefore);
  if (typeof after === 'string') return after;
  if (typeof before === 'string') return before;
  if (after !== undefined && before !== undefined && after >= before) return 'seenAfter: must be before seenBefore';
  if (after !== undefined) filter.seenAfter = after;
  if (before !== undefined) filter.seenBefore = before;
  return filter;
}

export function parseProfileListQuery(q: ProfileListQueryInput): ProfileListQueryResult {
  const filter = filterOf(q);
  if (typeof filter === 'string') return { ok: false, message: filter };
  let limit = DEFAULT_LIST_LIMIT;
  if (present(q.limit)) {
    limit = Number(q.limit);
    if (!/^\d+$/.test(q.limit) || limit < 1 || limit > MAX_LIST_LIMIT) return { ok: false, message: `limit: must be an integer from 1 to ${MAX_LIST_LIMIT}` };
  }
  const fingerprint = filterFingerprint(filter);
  if (!present(q.cursor)) return { ok: true, query: { filter, limit, fingerprint } };
  const decoded = decodeListCursor(q.cursor, fingerprint);
  if (!decoded.ok) return { ok: false, message: `cursor: ${decoded.message}` };
  return { ok: true, query: { filter, limit, fingerprint, cursor: decoded.cursor } };
}
