/**
 * Reading values out of a compact profile or an event, and the comparison operators.
 * Everything here is total: a missing or mistyped value never throws, it just does not match.
 */
import { DAY_MS, type Comparison, type Scalar } from './definition';

/** The result of one comparison: whether it holds now and, when only the clock can change that, when it will. */
export interface Outcome {
  member: boolean;
  nextChangeAt?: number;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Ends with a zone: `Z` or an offset. */
const ZONE = /(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Epoch ms of an ISO-8601 date or date-time string; undefined for anything else. A date-time
 * without a zone is read in UTC, as a date alone is (`Date.parse` would read it in the server's
 * time zone, so one profile would be in a segment on one server and not on another).
 */
export function isoTime(v: unknown): number | undefined {
  if (typeof v !== 'string' || !ISO_DATE.test(v)) return undefined;
  const t = Date.parse(v.includes('T') && !ZONE.test(v) ? `${v}Z` : v);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * Epoch ms of an ISO-8601 date-time that names its zone (`Z` or an offset); undefined for
 * anything else, a date-time without a zone included (what the caller meant by it is unknown).
 */
export function isoInstant(v: unknown): number | undefined {
  return typeof v === 'string' && v.includes('T') && ZONE.test(v) ? isoTime(v) : undefined;
}

export function isIsoDate(v: unknown): boolean {
  return isoTime(v) !== undefined;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Escape a trait name as enrichment stores it (a leading `$` → `＄`, `.` → `．`, `constructor` → `＿constructor`). */
export function fieldKey(s: string): string {
  const k = s
    .replace(/^\$/, '\uFF04')
    .replace(/\./g, '\uFF0E')
    .replace(/\u0000/g, '\u2400');
  return RESERVED_KEYS.has(k) ? `\uFF3F${k}` : k;
}

/**
 * The value of an own property: maps keyed by data (segment keys, trait names, event names)
 * must not see `Object.prototype` members such as `toString` or `constructor`.
 */
export function own<T>(rec: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return rec !== undefined && Object.hasOwn(rec, key) ? rec[key] : undefined;
}

/** Identifying fields of the elements of computed arrays (`categoryAffinity`, `productsViewed`, …). */
const ELEMENT_KEYS = ['category', 'key', 'productId', 'name'] as const;
/** The value an element of such an array stands for when the path ends at it. */
const ELEMENT_VALUES = ['score', 'count', 'quantity'] as const;

/**
 * A dotted path into a JSON value. Inside an array of objects a segment selects the element
 * whose `category`/`key`/`productId`/`name` equals it; a path that ends at such an element
 * reads its `score`/`count`/`quantity` (so `categoryAffinity.coffee` is the coffee score).
 */
export function readPath(root: unknown, path: string): unknown {
  let cur: unknown = root;
  let fromArray = false;
  for (const seg of path.split('.')) {
    fromArray = false;
    if (Array.isArray(cur)) {
      cur = cur.find((el) => isObj(el) && ELEMENT_KEYS.some((k) => el[k] === seg));
      fromArray = true;
    } else if (isObj(cur) && Object.hasOwn(cur, seg)) {
      cur = cur[seg];
    } else {
      return undefined;
    }
  }
  if (fromArray && isObj(cur)) {
    const el = cur;
    const k = ELEMENT_VALUES.find((x) => typeof el[x] === 'number');
    return k === undefined ? cur : el[k];
  }
  return cur;
}

/** A trait: the escaped name first (how enrichment stores it), then a nested path. */
export function readTrait(traits: Record<string, unknown>, name: string): unknown {
  const key = fieldKey(name);
  if (Object.hasOwn(traits, key)) return traits[key];
  return name.includes('.') ? readPath(traits, name) : undefined;
}

/** A numeric reading of a value: numbers, and strings holding a finite number. */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function same(a: unknown, b: Scalar): boolean {
  if (typeof a === 'string' && typeof b === 'string') {
    const ta = isoTime(a);
    const tb = isoTime(b);
    if (ta !== undefined && tb !== undefined) return ta === tb;
  }
  return a === b;
}

/** Orders `actual` against `expected` (numbers, or ISO dates compared as instants); undefined when they do not compare. */
function order(actual: unknown, expected: Scalar): number | undefined {
  if (typeof expected === 'number') {
    const a = toNumber(actual);
    return a === undefined ? undefined : a - expected;
  }
  const te = isoTime(expected);
  const ta = isoTime(actual);
  return te === undefined || ta === undefined ? undefined : ta - te;
}

/**
 * Applies one comparison to a value at time `now` (ms). `notEquals` and `notIn` hold for a
 * missing value (they are the negation of `equals`/`in`); every other operator except
 * `notExists` needs a value. `withinLastDays n`: the date is in (now − n days, now];
 * `olderThanDays n`: the date is at or before now − n days.
 */
export function compare(actual: unknown, c: Comparison, now: number): Outcome {
  const v = c.value;
  switch (c.op) {
    case 'exists':
      return { member: present(actual) };
    case 'notExists':
      return { member: !present(actual) };
    case 'equals':
      return { member: v !== undefined && !Array.isArray(v) && same(actual, v) };
    case 'notEquals':
      return { member: !(v !== undefined && !Array.isArray(v) && same(actual, v)) };
    case 'in':
      return { member: Array.isArray(v) && v.some((x) => same(actual, x)) };
    case 'notIn':
      return { member: !(Array.isArray(v) && v.some((x) => same(actual, x))) };
    case 'contains':
      if (v === undefined || Array.isArray(v)) return { member: false };
      if (typeof actual === 'string') return { member: typeof v === 'string' && actual.includes(v) };
      if (Array.isArray(actual)) return { member: actual.some((x) => same(x, v)) };
      return { member: false };
    case 'startsWith':
      return { member: typeof actual === 'string' && typeof v === 'string' && actual.startsWith(v) };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (v === undefined || Array.isArray(v)) return { member: false };
      const d = order(actual, v);
      if (d === undefined) return { member: false };
      const member = c.op === 'gt' ? d > 0 : c.op === 'gte' ? d >= 0 : c.op === 'lt' ? d < 0 : d <= 0;
      return { member };
    }
    case 'between': {
      if (!Array.isArray(v) || v.length !== 2) return { member: false };
      const lo = order(actual, v[0] as Scalar);
      const hi = order(actual, v[1] as Scalar);
      return { member: lo !== undefined && hi !== undefined && lo >= 0 && hi <= 0 };
    }
    case 'withinLastDays': {
      const t = isoTime(actual);
      const days = toNumber(v);
      if (t === undefined || days === undefined) return { member: false };
      const end = t + days * DAY_MS;
      if (t > now) return { member: false, nextChangeAt: t };
      return now < end ? { member: true, nextChangeAt: end } : { member: false };
    }
    case 'olderThanDays': {
      const t = isoTime(actual);
      const days = toNumber(v);
      if (t === undefined || days === undefined) return { member: false };
      const from = t + days * DAY_MS;
      return now >= from ? { member: true } : { member: false, nextChangeAt: from };
    }
  }
}
