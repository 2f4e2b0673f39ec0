/**
 * What clusters are called and numbered: readable descriptions of centroids, segment keys, and
 * a numbering that stays stable across runs.
 */
import { AFFINITY_PREFIX } from './clustering-features';
import { checkWidth, type Scaler } from './clustering-scaling';
import { KEY_PATTERN, LIMITS } from './definition';
import type { KMeansResult } from './kmeans';

/** Options of `describeCentroid`. */
export interface DescribeOptions {
  /** Smallest |z-score| that stands out (0.5). */
  threshold?: number;
  /** At most this many terms (4). */
  maxTerms?: number;
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
