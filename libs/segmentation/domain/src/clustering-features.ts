/**
 * Clustering features: the numbers k-means reads from a compact profile (as carried on
 * `profiles.changes`): RFM, orders, price tier, category affinity, engagement. Pure: `now` is
 * passed in.
 */
import { DAY_MS } from './definition';
import { isoTime, toNumber } from './values';

/** The part of a compact profile that clustering reads. */
export interface ClusterProfile {
  traits: Record<string, unknown>;
  computed: Record<string, unknown>;
}

/** Options of `extractFeatures`. */
export interface FeatureOptions {
  /** The clock (epoch ms) that `lastSeen` is measured against. */
  now: number;
  /** Categories with an affinity feature each, in this order (usually `topCategories`). */
  categories: readonly string[];
  /** Cap of the days-since-last-seen feature, also its value when `lastSeen` is missing (365). */
  maxDaysSinceSeen?: number;
}

const BASE_FEATURES = ['rfm.recency', 'rfm.frequency', 'rfm.monetary', 'orders.count', 'orders.lifetimeValue', 'priceTier'] as const;
const ENGAGEMENT_FEATURES = ['sessionCount', 'pageViews', 'daysSinceLastSeen', 'email.clickRate'] as const;
export const AFFINITY_PREFIX = 'affinity:';
const DEFAULT_MAX_DAYS = 365;

/** Price tier as an ordinal; a missing tier is neutral (the same as `mid`). */
const PRICE_TIERS: ReadonlyMap<unknown, number> = new Map([
  ['bargain', 0],
  ['mid', 0.5],
  ['premium', 1],
]);
const PRICE_TIER_MISSING = 0.5;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A finite number read from `v` (numbers and numeric strings), else `fallback`. */
function num(v: unknown, fallback = 0): number {
  return toNumber(v) ?? fallback;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** log(1 + x) of a count or an amount; negatives (e.g. refunds above revenue) count as 0. */
function logCount(v: unknown): number {
  return Math.log1p(Math.max(0, num(v)));
}

/** The first of `keys` that holds a number in `obj`. */
function pick(obj: Record<string, unknown>, keys: readonly string[]): number {
  for (const k of keys) {
    const v = toNumber(obj[k]);
    if (v !== undefined) return v;
  }
  return 0;
}

/** Cap of one affinity score, so that sums of absurd values stay finite (real scores are small). */
const MAX_AFFINITY = 1e12;

/**
 * Category → affinity score of a profile. Reads enrichment's list
 * (`[{ category, score }]`, highest first) and also a plain `{ category: score }` map; scores
 * that are not finite and positive are left out, larger ones than 1e12 count as 1e12.
 */
export function affinityScores(computed: Record<string, unknown>): Map<string, number> {
  const out = new Map<string, number>();
  const add = (category: unknown, score: unknown): void => {
    const s = toNumber(score);
    if (typeof category === 'string' && s !== undefined && s > 0) out.set(category, (out.get(category) ?? 0) + Math.min(s, MAX_AFFINITY));
  };
  const raw = computed['categoryAffinity'];
  if (Array.isArray(raw)) {
    for (const el of raw) if (isObj(el)) add(el['category'], el['score']);
  } else if (isObj(raw)) {
    for (const [category, score] of Object.entries(raw)) add(category, score);
  }
  return out;
}

/**
 * The feature names `extractFeatures` produces for `categories`, in order:
 * `rfm.recency`, `rfm.frequency`, `rfm.monetary`, `orders.count`, `orders.lifetimeValue`,
 * `priceTier`, one `affinity:<category>` per category, `sessionCount`, `pageViews`,
 * `daysSinceLastSeen`, `email.clickRate`.
 */
export function featureNames(categories: readonly string[]): string[] {
  return [...BASE_FEATURES, ...categories.map((c) => AFFINITY_PREFIX + c), ...ENGAGEMENT_FEATURES];
}

/**
 * The numeric features of a profile (see `featureNames` for the order). Total: every value is
 * a finite number whatever the profile holds; a missing attribute is neutral.
 *
 * - RFM scores 1–5 (`computed.rfm.r/f/m`; `recency/frequency/monetary` are read too), 0 when
 *   the profile has no RFM yet (no orders). Recency 5 = the most recent buyers.
 * - `log1p(orders.count)`, `log1p(orders.lifetimeValue)` (a negative value counts as 0).
 * - Price tier: bargain 0, mid 0.5, premium 1; missing 0.5 (neutral).
 * - Per category: its share of the profile's total affinity (0..1; 0 without affinity).
 * - `log1p(sessionCount)`, `log1p(pageViews)`.
 * - Days since `lastSeen`, in [0, maxDaysSinceSeen]; a missing `lastSeen` counts as the cap.
 * - Email click rate: clicked ÷ max(opened, clicked), 0 without opens or clicks.
 */
export function extractFeatures(profile: ClusterProfile, options: FeatureOptions): number[] {
  const { now, categories } = options;
  const maxDays = options.maxDaysSinceSeen ?? DEFAULT_MAX_DAYS;
  if (!Number.isFinite(now)) throw new RangeError('extractFeatures: now must be a finite epoch time (ms)');
  if (!Number.isFinite(maxDays) || maxDays < 0) throw new RangeError('extractFeatures: maxDaysSinceSeen must be a finite number ≥ 0');
  const c = isObj(profile.computed) ? profile.computed : {};
  const rfm = isObj(c['rfm']) ? c['rfm'] : {};
  const orders = isObj(c['orders']) ? c['orders'] : {};
  const email = isObj(c['email']) ? c['email'] : {};

  const affinity = affinityScores(c);
  let total = 0;
  for (const s of affinity.values()) total += s;
  const shares = categories.map((cat) => (total > 0 ? (affinity.get(cat) ?? 0) / total : 0));

  const seen = isoTime(c['lastSeen']);
  const days = seen === undefined ? maxDays : clamp((now - seen) / DAY_MS, 0, maxDays);
  const opened = Math.max(0, num(email['opened']));
  const clicked = Math.max(0, num(email['clicked']));
  const clickRate = opened + clicked > 0 ? clicked / Math.max(opened, clicked) : 0;

  return [
    clamp(pick(rfm, ['r', 'recency']), 0, 5),
    clamp(pick(rfm, ['f', 'frequency']), 0, 5),
    clamp(pick(rfm, ['m', 'monetary']), 0, 5),
    logCount(orders['count']),
    logCount(orders['lifetimeValue']),
    PRICE_TIERS.get(c['priceTier']) ?? PRICE_TIER_MISSING,
    ...shares,
    logCount(c['sessionCount']),
    logCount(c['pageViews']),
    days,
    clickRate,
  ];
}

/**
 * The `n` categories with the highest affinity summed over `profiles` (ties: by name, in
 * code-unit order). Only categories with a positive sum are returned.
 */
export function topCategories(profiles: Iterable<ClusterProfile>, n: number): string[] {
  if (!(n > 0)) return [];
  const sums = new Map<string, number>();
  for (const p of profiles) {
    if (!isObj(p.computed)) continue;
    for (const [cat, s] of affinityScores(p.computed)) sums.set(cat, (sums.get(cat) ?? 0) + s);
  }
  return [...sums.entries()]
    .filter(([, s]) => s > 0 && Number.isFinite(s))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, Math.floor(n))
    .map(([cat]) => cat);
}
