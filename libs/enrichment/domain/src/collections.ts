/** Bounded collections shared by apply and merge. */
import type { EnrichmentConfig } from './config';
import type { CountedItem, DayBucket, ProfileInternal } from './state';
import { NUMBER_LIMITS, dayOf, fieldKey, maxDefined, own } from './util';

export function sortCounted(items: CountedItem[], max: number): CountedItem[] {
  return [...items].sort((a, b) => (a.lastAt < b.lastAt ? 1 : a.lastAt > b.lastAt ? -1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).slice(0, max);
}

export function upsertCounted(items: CountedItem[], item: Omit<CountedItem, 'count'>, count: number, max: number): CountedItem[] {
  const out = items.map((x) => ({ ...x }));
  const cur = out.find((x) => x.key === item.key);
  if (!cur) out.push({ ...item, count });
  else {
    cur.count += count;
    if (item.lastAt >= cur.lastAt) {
      cur.lastAt = item.lastAt;
      if (item.name !== undefined) cur.name = item.name;
      if (item.category !== undefined) cur.category = item.category;
    }
  }
  return sortCounted(out, max);
}

export function mergeCounted(a: CountedItem[], b: CountedItem[], max: number): CountedItem[] {
  let out = a;
  for (const x of b) out = upsertCounted(out, { key: x.key, name: x.name, category: x.category, lastAt: x.lastAt }, x.count, max + b.length);
  // tie on lastAt: keep the fields of the item whose lastAt is later; equal → a's (survivor's)
  return sortCounted(out, max);
}

/** How many distinct event names the daily buckets count (config.ts). */
export type DailyNameLimits = Pick<EnrichmentConfig, 'maxEventNamesPerDay' | 'maxDailyNameChars'>;

/** Characters of the distinct event names the buckets hold, all days together. */
function dailyNameChars(daily: Record<string, DayBucket>): number {
  let chars = 0;
  for (const b of Object.values(daily)) for (const name of Object.keys(b.events)) chars += name.length;
  return chars;
}

/**
 * Adds `count` under `name`, or under `(other)` when `name` is new to the bucket and the bucket
 * holds `maxEventNamesPerDay` names or it would take the buckets past `maxDailyNameChars` (`chars`: what
 * they hold now). Returns the characters it added.
 */
function countEvent(events: Record<string, number>, name: string, count: number, limits: DailyNameLimits, chars: () => number): number {
  const fits = Object.hasOwn(events, name) || (Object.keys(events).length < limits.maxEventNamesPerDay && chars() + name.length <= limits.maxDailyNameChars);
  const key = fits ? name : '(other)';
  const added = Object.hasOwn(events, key) ? 0 : key.length;
  events[key] = (own(events, key) ?? 0) + count;
  return added;
}

/**
 * The buckets with every event name escaped by `fieldKey` (names stored before it escaped
 * `constructor`/`prototype` are re-keyed, their counts summed); the same object when none needs it.
 */
export function escapeDailyNames(daily: Record<string, DayBucket>): Record<string, DayBucket> {
  if (!Object.values(daily).some((b) => Object.keys(b.events).some((n) => fieldKey(n) !== n))) return daily;
  const out: Record<string, DayBucket> = {};
  for (const [d, b] of Object.entries(daily)) {
    const events: Record<string, number> = {};
    for (const [n, c] of Object.entries(b.events)) events[fieldKey(n)] = (own(events, fieldKey(n)) ?? 0) + c;
    out[d] = { ...b, events };
  }
  return out;
}

export function addDaily(
  daily: Record<string, DayBucket>,
  t: number,
  name: string | undefined,
  revenue: number,
  orders: number,
  limits: DailyNameLimits,
): void {
  const day = dayOf(t);
  const b = (daily[day] ??= { events: {}, revenue: 0, orders: 0 });
  if (name !== undefined) countEvent(b.events, name, 1, limits, () => dailyNameChars(daily));
  b.revenue = roundMoney(b.revenue + revenue);
  b.orders += orders;
}

export function mergeDaily(a: Record<string, DayBucket>, b: Record<string, DayBucket>, limits: DailyNameLimits): Record<string, DayBucket> {
  const out: Record<string, DayBucket> = {};
  for (const [d, v] of Object.entries(a)) out[d] = { events: { ...v.events }, revenue: v.revenue, orders: v.orders };
  let chars = dailyNameChars(out);
  for (const [d, v] of Object.entries(b)) {
    const o = (out[d] ??= { events: {}, revenue: 0, orders: 0 });
    for (const [n, c] of Object.entries(v.events)) chars += countEvent(o.events, n, c, limits, () => chars);
    o.revenue = roundMoney(o.revenue + v.revenue);
    o.orders += v.orders;
  }
  return out;
}

/** Keeps the `days` most recent days, counted back from the latest day present. */
export function pruneDaily(daily: Record<string, DayBucket>, days: number): Record<string, DayBucket> {
  const keys = Object.keys(daily).sort();
  const last = keys[keys.length - 1];
  if (!last) return daily;
  const cutoff = dayOf(Date.parse(`${last}T00:00:00.000Z`) - (days - 1) * 86_400_000);
  const out: Record<string, DayBucket> = {};
  for (const k of keys) if (k >= cutoff) out[k] = daily[k] as DayBucket;
  return out;
}

/** The largest amount kept (`NUMBER_LIMITS.amount`, about 900 billion). */
export const MAX_MONEY = NUMBER_LIMITS.amount;

/** An amount rounded to 4 decimals and capped at ±MAX_MONEY, so every sum of amounts stays finite. */
export function roundMoney(n: number): number {
  if (Number.isNaN(n)) return 0;
  const capped = Math.min(MAX_MONEY, Math.max(-MAX_MONEY, n));
  return Math.round(capped * 10_000) / 10_000;
}

export function pushRing(ring: string[], ids: string[], max: number): string[] {
  const seen = new Set(ring);
  const out = [...ring];
  for (const id of ids) {
    if (!seen.has(id)) {
      seen.add(id);
      out.push(id);
    }
  }
  return out.length > max ? out.slice(out.length - max) : out;
}

export type AffinityList = ProfileInternal['affinity'];

export function decay(score: number, fromMs: number, toMs: number, halfLifeMs: number): number {
  return score * Math.pow(2, -(toMs - fromMs) / halfLifeMs);
}

/** Adds `weight` at time `t`: exact exponential decay regardless of arrival order. */
export function addAffinity(list: AffinityList, category: string, weight: number, t: number, halfLifeMs: number): AffinityList {
  const out = list.map((x) => ({ ...x }));
  const cur = out.find((x) => x.category === category);
  if (!cur) out.push({ category, score: weight, at: t });
  else if (t >= cur.at) {
    cur.score = decay(cur.score, cur.at, t, halfLifeMs) + weight;
    cur.at = t;
  } else cur.score += decay(weight, t, cur.at, halfLifeMs);
  return out;
}

export function mergeAffinity(a: AffinityList, b: AffinityList, halfLifeMs: number): AffinityList {
  let out = a;
  for (const x of b) out = addAffinity(out, x.category, x.score, x.at, halfLifeMs);
  return out;
}

/** Keeps the `max` categories with the highest score as of `refMs`. */
export function boundAffinity(list: AffinityList, refMs: number, halfLifeMs: number, max: number): AffinityList {
  return [...list]
    .map((x) => ({ x, s: decay(x.score, x.at, refMs, halfLifeMs) }))
    .sort((p, q) => q.s - p.s || (p.x.category < q.x.category ? -1 : 1))
    .slice(0, max)
    .map((p) => p.x);
}

export function affinityRef(list: AffinityList, lastSeenMs: number | undefined): number | undefined {
  let ref = lastSeenMs;
  for (const x of list) ref = maxDefined(ref, x.at);
  return ref;
}
