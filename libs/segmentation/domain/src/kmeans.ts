/**
 * Seeded k-means (k-means++ start, Lloyd iterations with distance bounds). No clock, no
 * `Math.random`: the same rows and seed always give the same clusters.
 */
import { checkRows } from './clustering-scaling';

// Module-level aliases of globals for the hot loops: under a sandboxed global object (a `vm`
// context, as Jest runs tests) every `Math.x` lookup in a loop is dozens of times slower.
const { imul, sqrt, min, max } = Math;
const INF = Number.POSITIVE_INFINITY;

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
