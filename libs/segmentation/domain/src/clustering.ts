/**
 * Clustering-based segments, the pure part: numeric features of a compact profile (as carried
 * on `profiles.changes`), standard scaling, seeded k-means (k-means++ start, Lloyd
 * iterations), readable descriptions of clusters, segment keys and stable cluster numbering
 * across runs.
 *
 * No I/O, no clock, no `Math.random`: `now` and the `seed` are passed in, so the same input
 * always gives the same clusters.
 */
import { DAY_MS, KEY_PATTERN, LIMITS } from './definition';
import { isoTime, toNumber } from './values';

// Module-level aliases of globals for the hot loops: under a sandboxed global object (a `vm`
// context, as Jest runs tests) every `Math.x` lookup in a loop is dozens of times slower.
const { imul, sqrt, min, max } = Math;
const INF = Number.POSITIVE_INFINITY;

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

/** Per-feature mean and standard deviation (population, ÷ n); a std of 0 marks a constant feature. */
export interface Scaler {
  mean: number[];
  std: number[];
}

/** Options of `kmeans`. */
export interface KMeansOptions {
  /** Number of clusters wanted (an integer ≥ 1). */
  k: number;
  /** Seed of the PRNG behind the k-means++ start (any number; used as an unsigned 32-bit integer). */
  seed: number;
  /** Upper bound on Lloyd iterations (100). */
  maxIterations?: number;
  /** Converged once no centroid moves farther than this (Euclidean) in an iteration (1e-6). */
  tolerance?: number;
  /** Start from these `k` centroids instead of k-means++ (e.g. the previous run's, for a warm start). */
  init?: readonly (readonly number[])[];
}

/** What `kmeans` found. */
export interface KMeansResult {
  /** At most `k` centroids: fewer when the rows have fewer than `k` distinct points. */
  centroids: number[][];
  /** Index into `centroids` per row. */
  assignments: number[];
  /** Lloyd iterations run. */
  iterations: number;
  /** Sum of squared distances of the rows to their centroids. */
  inertia: number;
}

/** Options of `describeCentroid`. */
export interface DescribeOptions {
  /** Smallest |z-score| that stands out (0.5). */
  threshold?: number;
  /** At most this many terms (4). */
  maxTerms?: number;
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/**
 * mulberry32: a small, fast 32-bit PRNG. Returns a function yielding numbers in [0, 1); the
 * same seed always yields the same sequence.
 */
export function mulberry32(seed: number): () => number {
  let a = (Number.isFinite(seed) ? Math.trunc(seed) : 0) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// ---------------------------------------------------------------------------------------------
// Features

const BASE_FEATURES = ['rfm.recency', 'rfm.frequency', 'rfm.monetary', 'orders.count', 'orders.lifetimeValue', 'priceTier'] as const;
const ENGAGEMENT_FEATURES = ['sessionCount', 'pageViews', 'daysSinceLastSeen', 'email.clickRate'] as const;
const AFFINITY_PREFIX = 'affinity:';
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

// ---------------------------------------------------------------------------------------------
// Scaling

/** Below this (relative to the mean's magnitude) a std is rounding noise of a constant column. */
const ZERO_STD = 1e-12;

function checkRows(rows: readonly (readonly number[])[], what: string): number {
  const d = rows[0]?.length ?? 0;
  rows.forEach((r, i) => {
    if (r.length !== d) throw new RangeError(`${what}: row ${i} has ${r.length} features, expected ${d}`);
    for (const v of r) if (!Number.isFinite(v)) throw new RangeError(`${what}: row ${i} holds a non-finite value`);
  });
  return d;
}

/**
 * Mean and population standard deviation of each column of `rows` (all the same length,
 * finite). A column that is constant (up to rounding) gets std 0. No rows: empty scaler.
 */
export function fitScaler(rows: readonly (readonly number[])[]): Scaler {
  const d = checkRows(rows, 'fitScaler');
  const n = rows.length;
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(0);
  if (n === 0) return { mean: [], std: [] };
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (r[j] as number) / n;
  for (const r of rows) {
    for (let j = 0; j < d; j++) {
      const diff = (r[j] as number) - (mean[j] as number);
      std[j] = (std[j] as number) + (diff * diff) / n;
    }
  }
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(std[j] as number);
    std[j] = s > ZERO_STD * Math.max(1, Math.abs(mean[j] as number)) ? s : 0;
  }
  return { mean, std };
}

function checkWidth(row: readonly number[], scaler: Scaler, what: string): void {
  if (row.length !== scaler.mean.length) throw new RangeError(`${what}: ${row.length} features, the scaler has ${scaler.mean.length}`);
}

/** z-scores of a row: (x − mean) ÷ std per feature; a feature with std 0 scales to 0. */
export function scale(row: readonly number[], scaler: Scaler): number[] {
  checkWidth(row, scaler, 'scale');
  return row.map((v, j) => {
    const s = scaler.std[j] as number;
    return s > 0 ? (v - (scaler.mean[j] as number)) / s : 0;
  });
}

/** The inverse of `scale`: z × std + mean (a feature with std 0 comes back as its mean). */
export function unscale(row: readonly number[], scaler: Scaler): number[] {
  checkWidth(row, scaler, 'unscale');
  return row.map((z, j) => z * (scaler.std[j] as number) + (scaler.mean[j] as number));
}

// ---------------------------------------------------------------------------------------------
// k-means

/** Squared distance of row `i` of `data` to centroid `j` of `cents`, stopping early once ≥ `bound`. */
function dist2(data: Float64Array, i: number, cents: Float64Array, j: number, d: number, bound: number): number {
  const a = i * d;
  const b = j * d;
  let s = 0;
  for (let t = 0; t < d; t++) {
    const diff = (data[a + t] as number) - (cents[b + t] as number);
    s += diff * diff;
    if (s >= bound) return s;
  }
  return s;
}

/**
 * k-means++: the first centre uniformly, each next one with probability ∝ its squared distance
 * to the nearest centre chosen so far. Stops early when every row coincides with a centre
 * (fewer distinct points than `k`).
 */
function kmeansPlusPlus(data: Float64Array, n: number, d: number, k: number, rand: () => number): { cents: Float64Array; count: number } {
  const cents = new Float64Array(k * d);
  const near = new Float64Array(n).fill(INF);
  let count = 0;
  let next = min(n - 1, Math.floor(rand() * n));
  for (;;) {
    cents.set(data.subarray(next * d, next * d + d), count * d);
    count++;
    if (count === k) break;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const dd = min(near[i] as number, dist2(data, i, cents, count - 1, d, near[i] as number));
      near[i] = dd;
      total += dd;
    }
    if (!(total > 0)) break;
    // Walk the cumulative distribution; only rows off every centre can be picked.
    let r = rand() * total;
    for (let i = 0; i < n; i++) {
      const dd = near[i] as number;
      if (dd <= 0) continue;
      next = i;
      r -= dd;
      if (r < 0) break;
    }
  }
  return { cents: cents.slice(0, count * d), count };
}

/**
 * The working state of Lloyd's algorithm. Hamerly's bounds spare most distance computations
 * without changing the result: `upper[i]` ≥ the distance of row `i` to its centroid,
 * `lower[i]` ≤ its distance to every other centroid (Euclidean, not squared). A row whose
 * upper bound is below its lower bound (or below half the gap from its centroid to the
 * nearest other one) cannot have a nearer centroid and is skipped.
 */
interface Lloyd {
  data: Float64Array;
  n: number;
  d: number;
  k: number;
  cents: Float64Array;
  labels: Int32Array;
  upper: Float64Array;
  lower: Float64Array;
}

/** Skips need the bound to win by this relative margin, so rounding never decides a tie. */
const BOUND_MARGIN = 1e-9;

/** Scans every centroid for row `i` (ties: the lowest index); sets its label and bounds; true when the label changed. */
function scanRow(s: Lloyd, i: number): boolean {
  let best = INF;
  let second = INF;
  let bestJ = 0;
  for (let j = 0; j < s.k; j++) {
    const dd = dist2(s.data, i, s.cents, j, s.d, second);
    if (dd < best) {
      second = best;
      best = dd;
      bestJ = j;
    } else if (dd < second) {
      second = dd;
    }
  }
  const changed = s.labels[i] !== bestJ;
  s.labels[i] = bestJ;
  s.upper[i] = sqrt(best);
  s.lower[i] = sqrt(second);
  return changed;
}

/** Half the distance from each centroid to the nearest other one (Infinity when alone). */
function halfGaps(s: Lloyd): Float64Array {
  const gaps = new Float64Array(s.k).fill(INF);
  for (let a = 0; a < s.k; a++) {
    for (let b = a + 1; b < s.k; b++) {
      const g = sqrt(dist2(s.cents, a, s.cents, b, s.d, INF)) / 2;
      if (g < (gaps[a] as number)) gaps[a] = g;
      if (g < (gaps[b] as number)) gaps[b] = g;
    }
  }
  return gaps;
}

/** Assigns every row to its nearest centroid, scanning only rows the bounds do not settle; returns how many labels changed. */
function reassign(s: Lloyd): number {
  const gaps = halfGaps(s);
  let changed = 0;
  for (let i = 0; i < s.n; i++) {
    const a = s.labels[i] as number;
    const bound = max(gaps[a] as number, s.lower[i] as number);
    if ((s.upper[i] as number) * (1 + BOUND_MARGIN) < bound) continue;
    s.upper[i] = sqrt(dist2(s.data, i, s.cents, a, s.d, INF));
    if ((s.upper[i] as number) * (1 + BOUND_MARGIN) < bound) continue;
    if (scanRow(s, i)) changed++;
  }
  return changed;
}

/** Squared distance of every row to its own centroid. */
function ownDistances(s: Lloyd): Float64Array {
  const dist = new Float64Array(s.n);
  for (let i = 0; i < s.n; i++) dist[i] = dist2(s.data, i, s.cents, s.labels[i] as number, s.d, INF);
  return dist;
}

/**
 * Re-seeds empty cluster `j` with the row farthest from its centroid (ties: the lowest row),
 * taken from a cluster that keeps at least one row. Leaves `j` empty when every row sits on
 * its centroid.
 */
function reseed(s: Lloyd, j: number, dist: Float64Array, sums: Float64Array, counts: Float64Array): void {
  const { data, d } = s;
  let far = -1;
  let farDist = 0;
  for (let i = 0; i < s.n; i++) {
    const dd = dist[i] as number;
    if (dd > farDist && (counts[s.labels[i] as number] as number) > 1) {
      far = i;
      farDist = dd;
    }
  }
  if (far < 0) return;
  const from = s.labels[far] as number;
  for (let t = 0; t < d; t++) {
    const v = data[far * d + t] as number;
    sums[from * d + t] = (sums[from * d + t] as number) - v;
    sums[j * d + t] = v;
  }
  counts[from] = (counts[from] as number) - 1;
  counts[j] = 1;
  s.labels[far] = j;
  dist[far] = 0;
  // Unknown bounds: the next pass scans this row in full.
  s.upper[far] = INF;
  s.lower[far] = 0;
}

/**
 * Moves every centroid to the mean of its rows (re-seeding empty ones) and loosens the bounds
 * by how far the centroids moved; returns the largest move.
 */
function updateCentroids(s: Lloyd): number {
  const { data, n, d, k, cents, labels } = s;
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const j = labels[i] as number;
    counts[j] = (counts[j] as number) + 1;
    for (let t = 0; t < d; t++) sums[j * d + t] = (sums[j * d + t] as number) + (data[i * d + t] as number);
  }
  if (counts.includes(0)) {
    const dist = ownDistances(s);
    for (let j = 0; j < k; j++) if (counts[j] === 0) reseed(s, j, dist, sums, counts);
  }
  const moves = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const c = counts[j] as number;
    if (c === 0) continue;
    let shift = 0;
    for (let t = 0; t < d; t++) {
      const v = (sums[j * d + t] as number) / c;
      const diff = v - (cents[j * d + t] as number);
      shift += diff * diff;
      cents[j * d + t] = v;
    }
    moves[j] = sqrt(shift);
  }
  // The largest move, and the largest but that centroid's own (what a row's lower bound loses).
  let top = 0;
  let topJ = -1;
  let runnerUp = 0;
  moves.forEach((m, j) => {
    if (m > top) {
      runnerUp = top;
      top = m;
      topJ = j;
    } else if (m > runnerUp) runnerUp = m;
  });
  for (let i = 0; i < n; i++) {
    const a = labels[i] as number;
    s.upper[i] = (s.upper[i] as number) + (moves[a] as number);
    s.lower[i] = (s.lower[i] as number) - (a === topJ ? runnerUp : top);
  }
  return top;
}

function toMatrix(rows: readonly (readonly number[])[], d: number): Float64Array {
  const out = new Float64Array(rows.length * d);
  rows.forEach((r, i) => out.set(r, i * d));
  return out;
}

/**
 * k-means clustering of `rows` (all the same length, finite; scale them first). Starts with
 * k-means++ (seeded, `mulberry32(seed)`) or `init`, then runs Lloyd iterations until no row
 * changes cluster, no centroid moves more than `tolerance`, or `maxIterations`. An empty
 * cluster is re-seeded with the row farthest from its centroid. With fewer than `k` distinct
 * rows there are fewer centroids (never NaN). Deterministic: the same rows, options and seed
 * give the same result. Lloyd's iterations use Hamerly's bounds on typed arrays, so later
 * iterations only recompute the rows near a cluster border (same result as plain Lloyd).
 */
export function kmeans(rows: readonly (readonly number[])[], options: KMeansOptions): KMeansResult {
  const { k, seed, init } = options;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-6;
  if (!Number.isInteger(k) || k < 1) throw new RangeError('kmeans: k must be an integer ≥ 1');
  if (!Number.isInteger(maxIterations) || maxIterations < 1) throw new RangeError('kmeans: maxIterations must be an integer ≥ 1');
  if (!(tolerance >= 0)) throw new RangeError('kmeans: tolerance must be ≥ 0');
  const d = checkRows(rows, 'kmeans');
  const n = rows.length;
  if (n === 0) return { centroids: [], assignments: [], iterations: 0, inertia: 0 };
  const data = toMatrix(rows, d);

  let start: { cents: Float64Array; count: number };
  if (init !== undefined) {
    if (init.length !== k) throw new RangeError(`kmeans: init has ${init.length} centroids, k is ${k}`);
    checkRows([rows[0] as readonly number[], ...init], 'kmeans (init)');
    start = { cents: toMatrix(init, d), count: k };
  } else {
    start = kmeansPlusPlus(data, n, d, k, mulberry32(seed));
  }
  const s: Lloyd = {
    data,
    n,
    d,
    k: start.count,
    cents: start.cents,
    labels: new Int32Array(n).fill(-1),
    upper: new Float64Array(n),
    lower: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) scanRow(s, i);
  let iterations = 0;
  while (iterations < maxIterations) {
    const shift = updateCentroids(s);
    iterations++;
    const changed = reassign(s);
    if (changed === 0 || shift <= tolerance) break;
  }

  const inertia = ownDistances(s).reduce((sum, x) => sum + x, 0);
  const centroids: number[][] = [];
  for (let j = 0; j < s.k; j++) centroids.push(Array.from(s.cents.subarray(j * d, j * d + d)));
  return { centroids, assignments: Array.from(s.labels), iterations, inertia };
}

/** Index of the centroid nearest to `row` (squared Euclidean; ties: the lowest index). */
export function assign(row: readonly number[], centroids: readonly (readonly number[])[]): number {
  if (centroids.length === 0) throw new RangeError('assign: no centroids');
  let best = INF;
  let bestJ = 0;
  centroids.forEach((c, j) => {
    if (c.length !== row.length) throw new RangeError(`assign: centroid ${j} has ${c.length} features, the row ${row.length}`);
    let s = 0;
    for (let t = 0; t < row.length; t++) {
      const diff = (row[t] as number) - (c[t] as number);
      s += diff * diff;
    }
    if (s < best) {
      best = s;
      bestJ = j;
    }
  });
  return bestJ;
}

// ---------------------------------------------------------------------------------------------
// Descriptions

/** Phrases for a high and a low value of each feature `featureNames` produces. */
const PHRASES: ReadonlyMap<string, readonly [high: string, low: string]> = new Map(
  Object.entries({
  'rfm.recency': ['recent buyers', 'no recent purchases'],
  'rfm.frequency': ['high frequency', 'low frequency'],
  'rfm.monetary': ['high monetary value', 'low monetary value'],
  'orders.count': ['many orders', 'few orders'],
  'orders.lifetimeValue': ['high lifetime value', 'low lifetime value'],
  priceTier: ['premium', 'bargain'],
  sessionCount: ['high engagement', 'low engagement'],
  pageViews: ['many page views', 'few page views'],
  daysSinceLastSeen: ['inactive', 'recently active'],
  'email.clickRate': ['high email clicks', 'low email clicks'],
  } as const),
);

/** How a high (or low) value of feature `name` reads; unknown names read "high <name>"/"low <name>". */
export function featurePhrase(name: string, high: boolean): string {
  if (name.startsWith(AFFINITY_PREFIX)) {
    const cat = name.slice(AFFINITY_PREFIX.length);
    return high ? `${cat} affinity` : `low ${cat} affinity`;
  }
  const p = PHRASES.get(name);
  if (p) return high ? p[0] : p[1];
  return high ? `high ${name}` : `low ${name}`;
}

/**
 * A readable description of a (scaled) centroid: its values are z-scores. The features with
 * |z| ≥ `threshold` (0.5) — at most `maxTerms` (4), the largest |z| first (ties: feature order)
 * — are phrased as high/low ("high frequency", "premium", "coffee affinity", "low engagement")
 * and joined with ", ". Features the scaler marks constant (std 0) never count. Nothing stands
 * out: "average profile".
 */
export function describeCentroid(centroid: readonly number[], names: readonly string[], scaler?: Scaler, options: DescribeOptions = {}): string {
  const threshold = options.threshold ?? 0.5;
  const maxTerms = options.maxTerms ?? 4;
  if (centroid.length !== names.length) throw new RangeError(`describeCentroid: ${centroid.length} values, ${names.length} names`);
  if (scaler) checkWidth(centroid, scaler, 'describeCentroid');
  const terms = centroid
    .map((z, j) => ({ z, j }))
    .filter(({ z, j }) => Number.isFinite(z) && Math.abs(z) >= threshold && !(scaler && scaler.std[j] === 0))
    .sort((a, b) => Math.abs(b.z) - Math.abs(a.z) || a.j - b.j)
    .map(({ z, j }) => featurePhrase(names[j] as string, z > 0));
  const unique = [...new Set(terms)].slice(0, Math.max(0, maxTerms));
  return unique.length > 0 ? unique.join(', ') : 'average profile';
}

// ---------------------------------------------------------------------------------------------
// Segment keys and stable numbering

const KEY_RE = new RegExp(KEY_PATTERN);

/**
 * The segment key of cluster `index` of a clustering job: `cluster.<jobKey>.<index>`. Throws
 * when `jobKey` is not a valid key itself (letters, digits, `_ . : -`) or the result would be
 * longer than 64 characters, rather than silently mangling it into another job's keys.
 */
export function clusterSegmentKey(jobKey: string, index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new RangeError('clusterSegmentKey: index must be an integer ≥ 0');
  if (!KEY_RE.test(jobKey)) throw new RangeError(`clusterSegmentKey: job key must match ${KEY_PATTERN}`);
  const key = `cluster.${jobKey}.${index}`;
  if (key.length > LIMITS.maxKeyLength) throw new RangeError(`clusterSegmentKey: "${key}" is longer than ${LIMITS.maxKeyLength} characters`);
  return key;
}

/** Feature names that decide the order of clusters first (then every feature in order). */
const ORDER_FIRST = ['rfm.monetary', 'rfm.frequency'];

/**
 * A numbering of clusters that does not depend on the order k-means found them in: sorts the
 * centroids by `rfm.monetary`, then `rfm.frequency`, then every feature in `names` order, all
 * descending (ties: the original index), so cluster 0 is the highest-value one. Returns
 * `labels`, with `labels[i]` = the new number of cluster `i` (a permutation). Scaled and
 * unscaled centroids give the same order (scaling is increasing per feature).
 */
export function stableClusterOrder(centroids: readonly (readonly number[])[], names: readonly string[]): number[] {
  const keys = [...ORDER_FIRST.map((n) => names.indexOf(n)).filter((j) => j >= 0), ...names.map((_, j) => j)];
  const order = centroids
    .map((c, i) => ({ c, i }))
    .sort((a, b) => {
      for (const j of keys) {
        const diff = (b.c[j] ?? 0) - (a.c[j] ?? 0);
        if (diff !== 0) return diff;
      }
      return a.i - b.i;
    });
  const labels = new Array<number>(centroids.length);
  order.forEach(({ i }, rank) => (labels[i] = rank));
  return labels;
}

/**
 * Keeps cluster numbers across runs: greedily pairs each new centroid with the nearest previous
 * one (closest pair first; ties: lower new, then lower previous index), so a cluster that barely
 * moved keeps its number — and its segment key. New clusters left over get the lowest numbers
 * no pair took. Returns `labels`, `labels[i]` = the number of new cluster `i` (distinct; a
 * permutation of 0..k−1 when both runs have k clusters). Both sets must be in the same space:
 * each run fits its own scaler, so bring the previous centroids over first
 * (`scale(unscale(prev, prevScaler), newScaler)`).
 */
export function matchClusters(previousCentroids: readonly (readonly number[])[], newCentroids: readonly (readonly number[])[]): number[] {
  const pairs: { i: number; p: number; d: number }[] = [];
  newCentroids.forEach((c, i) =>
    previousCentroids.forEach((prev, p) => {
      if (prev.length !== c.length) throw new RangeError(`matchClusters: centroids of ${prev.length} and ${c.length} features`);
      let d = 0;
      for (let t = 0; t < c.length; t++) d += ((c[t] as number) - (prev[t] as number)) ** 2;
      pairs.push({ i, p, d });
    }),
  );
  pairs.sort((a, b) => a.d - b.d || a.i - b.i || a.p - b.p);
  const labels = new Array<number>(newCentroids.length).fill(-1);
  const taken = new Set<number>();
  for (const { i, p } of pairs) {
    if (labels[i] !== -1 || taken.has(p)) continue;
    labels[i] = p;
    taken.add(p);
  }
  let free = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== -1) continue;
    while (taken.has(free)) free++;
    labels[i] = free;
    taken.add(free);
  }
  return labels;
}

/**
 * Renumbers a k-means result: cluster `i` becomes `labels[i]` (a permutation of
 * 0..centroids.length−1, as `stableClusterOrder` and `matchClusters` with equal counts give).
 */
export function relabelClusters(result: KMeansResult, labels: readonly number[]): KMeansResult {
  const k = result.centroids.length;
  const seen = new Set(labels);
  if (labels.length !== k || seen.size !== k || labels.some((l) => !Number.isInteger(l) || l < 0 || l >= k)) {
    throw new RangeError('relabelClusters: labels must be a permutation of the cluster indices');
  }
  const centroids = new Array<number[]>(k);
  result.centroids.forEach((c, i) => (centroids[labels[i] as number] = [...c]));
  return { ...result, centroids, assignments: result.assignments.map((a) => labels[a] as number) };
}
