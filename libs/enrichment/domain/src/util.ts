/** Small, total helpers: they never throw on odd input (wrong types are ignored). */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown): Record<string, unknown> {
  return isObj(v) ? v : {};
}

/** A non-empty trimmed string (numbers are accepted and stringified), else undefined. */
export function str(v: unknown, max = 512): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return s === '' ? undefined : s.slice(0, max);
}

/** A finite number; numeric strings ("12.50") are accepted, anything else is undefined. */
export function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '' && /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v.trim())) {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/**
 * The largest magnitudes numbers of events are taken at (docs/enrichment.md "Limits"), clamped
 * to before any arithmetic so that sums and products of them stay finite (the collector accepts
 * any finite number; 1e308 added twice is Infinity, which JSON writes as null and FerretDB
 * refuses):
 * - `amount`: prices, order totals, refunds (about 900 billion: the largest magnitude at which
 *   steps of 0.0001 are still exact; `roundMoney` caps every sum of amounts at it too);
 * - `quantity`: a product's quantity, and a cart item's;
 * - `seconds`: video positions and lengths (about 115 days).
 */
export const NUMBER_LIMITS = Object.freeze({ amount: Math.floor(Number.MAX_SAFE_INTEGER / 10_000), quantity: 1_000_000, seconds: 10_000_000 });

/** `num(v)` clamped to `[-max, max]`. */
export function boundedNum(v: unknown, max: number): number | undefined {
  const n = num(v);
  return n === undefined ? undefined : Math.min(max, Math.max(-max, n));
}

/** Length of `s` in UTF-8 (a lone surrogate counts as the 3 bytes of its replacement character). */
export function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i += 1) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i += 1;
    } else n += 3;
  }
  return n;
}

/** Epoch ms of an ISO-8601 string, or undefined. */
export function ms(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

export function iso(t: number): string {
  return new Date(t).toISOString();
}

export function dayOf(t: number): string {
  return iso(t).slice(0, 10);
}

/**
 * Names the contracts' codec refuses as object keys (`profiles.changes` carrying one is
 * dead-lettered by every consumer) and that would reach a prototype when assigned.
 */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Escape a value used as a MongoDB field name, as the collector escapes trait keys; a name in
 * `RESERVED_KEYS` gets a leading `＿` (U+FF3F) so that it stays an ordinary key downstream.
 */
export function fieldKey(s: string): string {
  const k = s
    .replace(/^\$/, '\uFF04')
    .replace(/\./g, '\uFF0E')
    .replace(/\u0000/g, '\u2400');
  return RESERVED_KEYS.has(k) ? `\uFF3F${k}` : k;
}

/**
 * The value of an own property: objects keyed by data (event names, trait names, categories)
 * must not see `Object.prototype` members such as `toString` or `constructor`.
 */
export function own<T>(rec: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(rec, key) ? rec[key] : undefined;
}

export function round(n: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * Whether `a` and `b` write the same JSON once object keys are sorted: a property holding
 * `undefined` counts as absent, `undefined` elsewhere as `null`, and any other value compares by
 * its `JSON.stringify`. Walked structurally rather than by building both strings: `changedPaths`
 * compares every trait and computed attribute of a profile on every event.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (isObj(a) || isObj(b)) return isObj(a) && isObj(b) && sameObjects(a, b);
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function sameObjects(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keysA = Object.keys(a).filter((k) => a[k] !== undefined);
  const keysB = Object.keys(b).filter((k) => b[k] !== undefined);
  return keysA.length === keysB.length && keysA.every((k) => Object.hasOwn(b, k) && b[k] !== undefined && sameJson(a[k], b[k]));
}

export function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

export function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}
