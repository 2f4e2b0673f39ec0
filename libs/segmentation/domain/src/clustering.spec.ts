import fc from 'fast-check';
import {
  assign,
  type ClusterProfile,
  clusterSegmentKey,
  describeCentroid,
  extractFeatures,
  featureNames,
  fitScaler,
  kmeans,
  matchClusters,
  mulberry32,
  relabelClusters,
  scale,
  stableClusterOrder,
  topCategories,
  unscale,
} from './clustering';
import { KEY_PATTERN } from './definition';
import { DAY, T0 } from './test-helpers';

const iso = (ms: number): string => new Date(ms).toISOString();
const profile = (computed: Record<string, unknown>, traits: Record<string, unknown> = {}): ClusterProfile => ({ traits, computed });

/** `count` points around each centre, uniform noise of ±`spread` per coordinate. */
function blobs(centres: number[][], count: number, spread: number, seed: number): { rows: number[][]; truth: number[] } {
  const rand = mulberry32(seed);
  const rows: number[][] = [];
  const truth: number[] = [];
  for (let i = 0; i < count; i++) {
    centres.forEach((c, b) => {
      rows.push(c.map((v) => v + (rand() * 2 - 1) * spread));
      truth.push(b);
    });
  }
  return { rows, truth };
}

/** True when two labellings partition the rows identically (equal up to renaming labels). */
function samePartition(a: number[], b: number[]): boolean {
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  return a.every((x, i) => {
    const y = b[i] as number;
    if ((ab.get(x) ?? y) !== y || (ba.get(y) ?? x) !== x) return false;
    ab.set(x, y);
    ba.set(y, x);
    return true;
  });
}

const sqDist = (a: readonly number[], b: readonly number[]): number => a.reduce((s, v, i) => s + (v - (b[i] as number)) ** 2, 0);

describe('mulberry32', () => {
  it('is a deterministic sequence in [0, 1) that depends on the seed', () => {
    const a = Array.from({ length: 1000 }, mulberry32(42));
    expect(Array.from({ length: 1000 }, mulberry32(42))).toEqual(a);
    expect(Array.from({ length: 1000 }, mulberry32(43))).not.toEqual(a);
    expect(a.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(990);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('extractFeatures', () => {
  const categories = ['coffee', 'tea', 'mugs'];
  /** As enrichment builds it (libs/enrichment/domain state.ts). */
  const realistic = profile({
    firstSeen: iso(T0 - 200 * DAY),
    lastSeen: iso(T0 - 10 * DAY),
    sessionCount: 12,
    visits: 12,
    pageViews: 80,
    productViews: 30,
    categoryAffinity: [
      { category: 'coffee', score: 6 },
      { category: 'mugs', score: 2 },
      { category: 'kettles', score: 2 },
    ],
    topCategory: 'coffee',
    pricePosition: 0.8,
    priceTier: 'premium',
    orders: { count: 3, revenue: 450, refunds: 29.5, lifetimeValue: 420.5, averageOrderValue: 150 },
    rfm: { r: 5, f: 4, m: 3, at: iso(T0 - DAY) },
    email: { sent: 10, delivered: 10, opened: 4, machineOpened: 1, clicked: 1, machineClicked: 0, offerResponsiveness: 0.25 },
  });

  it('names one feature per value', () => {
    expect(featureNames(categories)).toEqual([
      'rfm.recency',
      'rfm.frequency',
      'rfm.monetary',
      'orders.count',
      'orders.lifetimeValue',
      'priceTier',
      'affinity:coffee',
      'affinity:tea',
      'affinity:mugs',
      'sessionCount',
      'pageViews',
      'daysSinceLastSeen',
      'email.clickRate',
    ]);
  });

  it('reads a realistic compact profile', () => {
    const f = extractFeatures(realistic, { now: T0, categories });
    expect(f).toHaveLength(featureNames(categories).length);
    const expected = [5, 4, 3, Math.log1p(3), Math.log1p(420.5), 1, 0.6, 0, 0.2, Math.log1p(12), Math.log1p(80), 10, 0.25];
    expected.forEach((v, i) => expect(f[i]).toBeCloseTo(v, 10));
  });

  it('treats missing attributes as neutral', () => {
    expect(extractFeatures(profile({}), { now: T0, categories })).toEqual([0, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0, 365, 0]);
    // A fresh anonymous visitor: no rfm, no tier, no affinity, no email opens yet.
    const fresh = profile({
      lastSeen: iso(T0 - 2 * DAY),
      sessionCount: 1,
      pageViews: 2,
      categoryAffinity: [],
      orders: { count: 0, revenue: 0, refunds: 0, lifetimeValue: 0, averageOrderValue: 0 },
      email: { sent: 0, opened: 0, clicked: 0 },
    });
    const f = extractFeatures(fresh, { now: T0, categories, maxDaysSinceSeen: 90 });
    expect(f.slice(0, 9)).toEqual([0, 0, 0, 0, 0, 0.5, 0, 0, 0]);
    expect(f[9]).toBeCloseTo(Math.log1p(1));
    expect(f[11]).toBeCloseTo(2);
  });

  it('also reads the record shapes (rfm by long names, affinity as a map) and maps price tiers', () => {
    const p = profile({ rfm: { recency: 2, frequency: 3, monetary: 4 }, categoryAffinity: { tea: 3, coffee: 1 }, priceTier: 'bargain' });
    const f = extractFeatures(p, { now: T0, categories });
    expect(f.slice(0, 9)).toEqual([2, 3, 4, 0, 0, 0, 0.25, 0.75, 0]);
    expect(extractFeatures(profile({ priceTier: 'mid' }), { now: T0, categories })[5]).toBe(0.5);
  });

  it('caps days since last seen, clamps a future lastSeen and bounds the click rate', () => {
    const at = (lastSeen: string): number => extractFeatures(profile({ lastSeen }), { now: T0, categories: [] })[8] as number;
    expect(at(iso(T0 - 1000 * DAY))).toBe(365);
    expect(at(iso(T0 + DAY))).toBe(0);
    const clicks = extractFeatures(profile({ email: { opened: 0, clicked: 3 } }), { now: T0, categories: [] })[9];
    expect(clicks).toBe(1);
  });

  it('never yields NaN, whatever the profile holds', () => {
    const junk = profile({
      rfm: { r: 'x', f: NaN, m: 99 },
      orders: { count: -5, lifetimeValue: -300 },
      priceTier: 'luxury',
      categoryAffinity: [{ category: 'coffee', score: Infinity }, { category: 7, score: 1 }, null, { category: 'tea', score: -2 }],
      sessionCount: '12',
      pageViews: {},
      lastSeen: 'yesterday',
      email: { opened: 'many' },
    });
    const f = extractFeatures(junk, { now: T0, categories });
    expect(f.every(Number.isFinite)).toBe(true);
    expect(f).toEqual([0, 0, 5, 0, 0, 0.5, 0, 0, 0, Math.log1p(12), 0, 365, 0]);
    // Huge scores (a sum that would overflow to Infinity / Infinity) and huge counts.
    const huge = profile({
      categoryAffinity: [
        { category: 'coffee', score: 1e308 },
        { category: 'coffee', score: 1e308 },
        { category: 'tea', score: 1e308 },
      ],
      orders: { count: 1e308, lifetimeValue: Number.MAX_VALUE },
      email: { opened: 1e308, clicked: 1e308 },
    });
    const h = extractFeatures(huge, { now: T0, categories });
    expect(h.every(Number.isFinite)).toBe(true);
    expect(h[6]).toBeCloseTo(2 / 3);
    expect(h[12]).toBe(1);
  });

  it('property: every feature is finite for arbitrary computed attributes', () => {
    const value = fc.oneof(fc.anything(), fc.double(), fc.constantFrom('bargain', 'mid', 'premium', '2026-01-01T00:00:00.000Z'));
    const computed = fc.record(
      {
        rfm: fc.oneof(value, fc.record({ r: value, f: value, m: value }, { requiredKeys: [] })),
        orders: fc.oneof(value, fc.record({ count: value, lifetimeValue: value }, { requiredKeys: [] })),
        priceTier: value,
        categoryAffinity: fc.oneof(
          value,
          fc.array(fc.record({ category: fc.oneof(fc.constantFrom('coffee', 'tea'), value), score: value }, { requiredKeys: [] })),
          fc.dictionary(fc.string(), value),
        ),
        sessionCount: value,
        pageViews: value,
        lastSeen: fc.oneof(
          value,
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        ),
        email: fc.oneof(value, fc.record({ opened: value, clicked: value }, { requiredKeys: [] })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(computed, fc.integer({ min: 0, max: 4_000_000_000_000 }), (c, now) => {
        const f = extractFeatures(profile(c), { now, categories });
        expect(f).toHaveLength(13);
        expect(f.every(Number.isFinite)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a clock that is not a number', () => {
    expect(() => extractFeatures(realistic, { now: NaN, categories })).toThrow(RangeError);
  });
});

describe('topCategories', () => {
  const ps = [
    profile({
      categoryAffinity: [
        { category: 'coffee', score: 5 },
        { category: 'tea', score: 1 },
      ],
    }),
    profile({
      categoryAffinity: [
        { category: 'tea', score: 2 },
        { category: 'mugs', score: 3 },
      ],
    }),
    profile({ categoryAffinity: { kettles: 3, mugs: 0 } }),
    profile({}),
  ];

  it('sums affinity over profiles, ties by name', () => {
    // coffee 5; kettles, mugs and tea 3 each.
    expect(topCategories(ps, 2)).toEqual(['coffee', 'kettles']);
    expect(topCategories(ps, 10)).toEqual(['coffee', 'kettles', 'mugs', 'tea']);
    expect(topCategories([...ps, profile({ categoryAffinity: [{ category: 'tea', score: 0.5 }] })], 2)).toEqual(['coffee', 'tea']);
    expect(topCategories(ps, 0)).toEqual([]);
  });
});

describe('scaler', () => {
  it('standardises columns and scales zero-variance columns to 0', () => {
    // Column 1 is constant 0.3: over 7 rows its naive std is rounding noise (~6e-17), not 0.
    const col0 = [1, 2, 3, 6, 0, 4, 5];
    const rows = col0.map((v, i) => [v, 0.3, 10 * (i + 1), 0]);
    const s = fitScaler(rows);
    expect(s.mean[0]).toBeCloseTo(3);
    expect(s.std[0]).toBeCloseTo(2);
    expect(s.mean[1]).toBeCloseTo(0.3);
    expect(s.std[1]).toBe(0);
    expect(s.std[3]).toBe(0);
    const scaled = rows.map((r) => scale(r, s));
    for (const r of scaled) {
      expect(r[1]).toBe(0);
      expect(r[3]).toBe(0);
    }
    expect(scaled[3]?.[0]).toBeCloseTo(1.5);
    for (const j of [0, 2]) {
      const col = scaled.map((r) => r[j] as number);
      const mean = col.reduce((a, b) => a + b, 0) / col.length;
      const variance = col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length;
      expect(mean).toBeCloseTo(0, 12);
      expect(variance).toBeCloseTo(1, 12);
    }
    expect(unscale(scaled[3] as number[], s)).toEqual([6, 0.3, 40, 0].map((v) => expect.closeTo(v, 10)));
  });

  it('checks widths and values', () => {
    expect(fitScaler([])).toEqual({ mean: [], std: [] });
    expect(() => fitScaler([[1, 2], [3]])).toThrow(RangeError);
    expect(() => fitScaler([[1, NaN]])).toThrow(RangeError);
    expect(() => scale([1], fitScaler([[1, 2]]))).toThrow(RangeError);
  });
});

describe('kmeans', () => {
  const centres3 = [
    [0, 0, 0],
    [50, 0, 50],
    [0, 50, -50],
  ];

  it('recovers clearly separated blobs exactly, for any seed', () => {
    const { rows, truth } = blobs(centres3, 100, 2, 7);
    for (let seed = 1; seed <= 20; seed++) {
      const r = kmeans(rows, { k: 3, seed });
      expect(r.centroids).toHaveLength(3);
      expect(samePartition(r.assignments, truth)).toBe(true);
      for (const c of r.centroids) expect(Math.min(...centres3.map((g) => sqDist(c, g)))).toBeLessThan(1);
    }
  });

  it('recovers 5 blobs in 15 dimensions', () => {
    const rand = mulberry32(99);
    const centres = Array.from({ length: 5 }, () => Array.from({ length: 15 }, () => rand() * 40 - 20));
    const { rows, truth } = blobs(centres, 200, 1, 3);
    const r = kmeans(rows, { k: 5, seed: 11 });
    expect(samePartition(r.assignments, truth)).toBe(true);
  });

  it('is deterministic: same rows and seed, same result', () => {
    const rand = mulberry32(5);
    const rows = Array.from({ length: 500 }, () => [rand(), rand(), rand(), rand()]);
    const a = kmeans(rows, { k: 6, seed: 123 });
    const b = kmeans(
      rows.map((r) => [...r]),
      { k: 6, seed: 123 },
    );
    expect(b).toEqual(a);
    // Uniform data has no obvious clustering: another seed starts elsewhere.
    const c = kmeans(rows, { k: 6, seed: 124, maxIterations: 1 });
    expect(c.centroids).not.toEqual(kmeans(rows, { k: 6, seed: 123, maxIterations: 1 }).centroids);
  });

  it('k = 1: the centroid is the mean', () => {
    const rows = [
      [0, 0],
      [2, 0],
      [4, 6],
    ];
    const r = kmeans(rows, { k: 1, seed: 1 });
    expect(r.centroids).toHaveLength(1);
    expect(r.centroids[0]).toEqual([2, 2]);
    expect(r.assignments).toEqual([0, 0, 0]);
    expect(r.inertia).toBeCloseTo(4 + 4 + 4 + 16 + 0 + 4 + 0);
  });

  it('k > distinct points: one cluster per distinct point, no NaN', () => {
    const rows = [
      [1, 1],
      [5, 5],
      [1, 1],
      [9, 0],
      [5, 5],
      [9, 0],
      [1, 1],
    ];
    for (let seed = 0; seed < 10; seed++) {
      const r = kmeans(rows, { k: 5, seed });
      expect(r.centroids).toHaveLength(3);
      expect(r.centroids.flat().every(Number.isFinite)).toBe(true);
      expect(r.inertia).toBe(0);
      expect(samePartition(r.assignments, [0, 1, 0, 2, 1, 2, 0])).toBe(true);
    }
    const same = kmeans(
      [
        [3, 3],
        [3, 3],
        [3, 3],
      ],
      { k: 4, seed: 9 },
    );
    expect(same.centroids).toEqual([[3, 3]]);
    expect(same.assignments).toEqual([0, 0, 0]);
    expect(kmeans([[2], [7]], { k: 9, seed: 1 }).centroids).toHaveLength(2);
  });

  it('re-seeds an empty cluster with the farthest point', () => {
    const rows = [[0], [1], [2], [10], [11], [13]];
    // Centroid 1 starts far from everything: no row picks it, so it takes the farthest row (13).
    const one = kmeans(rows, { k: 2, seed: 1, init: [[0], [1000]], maxIterations: 1 });
    expect(one.centroids[1]).toEqual([13]);
    expect(one.centroids[0]).toEqual([(0 + 1 + 2 + 10 + 11) / 5]);
    const done = kmeans(rows, { k: 2, seed: 1, init: [[0], [1000]] });
    expect(done.centroids).toEqual([[1], [34 / 3]]);
    expect(done.assignments).toEqual([0, 0, 0, 1, 1, 1]);
    // Two empty clusters take two different rows: the farthest from 5 (13), then the next (11).
    const two = kmeans(rows, { k: 3, seed: 1, init: [[5], [-1000], [1000]], maxIterations: 1 });
    expect(two.centroids[1]).toEqual([13]);
    expect(two.centroids[2]).toEqual([11]);
    expect(two.centroids[0]).toEqual([(0 + 1 + 2 + 10) / 4]);
  });

  it('assigns every row to its nearest centroid, inertia is the sum of squared distances', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: -20, max: 20 }), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer(),
        (rows, k, seed) => {
          const r = kmeans(rows, { k, seed });
          expect(r.centroids.length).toBeGreaterThanOrEqual(1);
          expect(r.centroids.length).toBeLessThanOrEqual(k);
          expect(r.centroids.flat().every(Number.isFinite)).toBe(true);
          rows.forEach((row, i) => expect(r.assignments[i]).toBe(assign(row, r.centroids)));
          const inertia = rows.reduce((s, row, i) => s + sqDist(row, r.centroids[r.assignments[i] as number] as number[]), 0);
          expect(r.inertia).toBeCloseTo(inertia, 6);
          expect(kmeans(rows, { k, seed })).toEqual(r);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('validates its input', () => {
    expect(kmeans([], { k: 3, seed: 1 })).toEqual({ centroids: [], assignments: [], iterations: 0, inertia: 0 });
    expect(() => kmeans([[1]], { k: 0, seed: 1 })).toThrow(RangeError);
    expect(() => kmeans([[1], [1, 2]], { k: 1, seed: 1 })).toThrow(RangeError);
    expect(() => kmeans([[1], [Infinity]], { k: 1, seed: 1 })).toThrow(RangeError);
    expect(() => kmeans([[1]], { k: 2, seed: 1, init: [[1]] })).toThrow(RangeError);
  });

  it('clusters 20k rows of 15 features (its speed is measured by the benchmark, not here)', () => {
    const rand = mulberry32(2026);
    const centres = Array.from({ length: 8 }, () => Array.from({ length: 15 }, () => rand() * 6 - 3));
    const rows: number[][] = [];
    for (let i = 0; i < 20_000; i++) rows.push((centres[i % 8] as number[]).map((v) => v + (rand() + rand() + rand() - 1.5)));
    const r = kmeans(rows, { k: 8, seed: 1 });
    expect(r.assignments).toHaveLength(20_000);
    expect(r.centroids).toHaveLength(8);
    expect(new Set(r.assignments).size).toBe(8);
  });
});

describe('assign', () => {
  it('picks the nearest centroid, the lowest index on ties', () => {
    const cs = [
      [0, 0],
      [10, 0],
      [0, 10],
    ];
    expect(assign([9, 1], cs)).toBe(1);
    expect(assign([1, 8], cs)).toBe(2);
    expect(assign([5, 0], cs)).toBe(0);
    expect(() => assign([1], [])).toThrow(RangeError);
  });
});

describe('describeCentroid', () => {
  const names = featureNames(['coffee', 'tea']);
  const z = (values: Record<string, number>): number[] => names.map((n) => values[n] ?? 0);

  it('phrases the features that stand out, largest |z| first', () => {
    const c = z({ 'rfm.frequency': 2.1, priceTier: 1.4, 'affinity:coffee': 1.1, 'affinity:tea': -0.3, 'rfm.monetary': 0.2 });
    expect(describeCentroid(c, names)).toBe('high frequency, premium, coffee affinity');
    const withLow = z({ 'rfm.frequency': 2.1, priceTier: 1.4, 'affinity:coffee': 1.1, sessionCount: -0.9, pageViews: -0.6 });
    expect(describeCentroid(withLow, names)).toBe('high frequency, premium, coffee affinity, low engagement');
  });

  it('reads recency, tier, activity and email the right way round', () => {
    expect(describeCentroid(z({ 'rfm.recency': 1.5, priceTier: -1 }), names)).toBe('recent buyers, bargain');
    expect(describeCentroid(z({ daysSinceLastSeen: 2, 'email.clickRate': 0.7 }), names)).toBe('inactive, high email clicks');
    expect(describeCentroid(z({ daysSinceLastSeen: -2, 'rfm.monetary': -0.8 }), names)).toBe('recently active, low monetary value');
  });

  it('says "average profile" when nothing stands out, and skips constant features', () => {
    expect(describeCentroid(z({ 'rfm.frequency': 0.49, priceTier: -0.3 }), names)).toBe('average profile');
    const scaler = { mean: names.map(() => 0), std: names.map((n) => (n === 'affinity:tea' ? 0 : 1)) };
    expect(describeCentroid(z({ 'affinity:tea': 3, sessionCount: 0.6 }), names, scaler)).toBe('high engagement');
    expect(describeCentroid(z({ 'affinity:tea': 3, sessionCount: 0.6 }), names)).toBe('tea affinity, high engagement');
    expect(describeCentroid(z({ 'rfm.frequency': 1 }), names, undefined, { threshold: 1.5 })).toBe('average profile');
  });
});

describe('clusterSegmentKey', () => {
  it('makes valid segment keys', () => {
    const key = clusterSegmentKey('rfm-2026.q1', 3);
    expect(key).toBe('cluster.rfm-2026.q1.3');
    expect(key).toMatch(new RegExp(KEY_PATTERN));
    expect(clusterSegmentKey('a'.repeat(54), 9)).toHaveLength(64);
  });

  it('rejects job keys that would not make one', () => {
    expect(() => clusterSegmentKey('a'.repeat(55), 9)).toThrow(RangeError);
    expect(() => clusterSegmentKey('has space', 0)).toThrow(RangeError);
    expect(() => clusterSegmentKey('', 0)).toThrow(RangeError);
    expect(() => clusterSegmentKey('job', -1)).toThrow(RangeError);
    expect(() => clusterSegmentKey('job', 1.5)).toThrow(RangeError);
  });
});

describe('stable numbering', () => {
  const names = ['rfm.recency', 'rfm.frequency', 'rfm.monetary', 'sessionCount'];

  it('stableClusterOrder numbers by monetary, then frequency, then the rest (descending)', () => {
    const cs = [
      [1, 1, 1, 9],
      [5, 2, 4, 0],
      [3, 5, 4, 0],
      [9, 9, 1, 10],
    ];
    expect(stableClusterOrder(cs, names)).toEqual([3, 1, 0, 2]);
    // The numbering follows the centroids, not the order k-means found them in.
    const perm = [2, 0, 3, 1];
    const shuffled = perm.map((i) => cs[i] as number[]);
    const labels = stableClusterOrder(shuffled, names);
    expect(perm.map((_, j) => labels[j])).toEqual(perm.map((i) => [3, 1, 0, 2][i]));
  });

  it('matchClusters keeps labels when clusters barely moved', () => {
    const rand = mulberry32(17);
    const prev = Array.from({ length: 6 }, () => Array.from({ length: 5 }, () => rand() * 10));
    const perm = [4, 2, 0, 5, 1, 3];
    const moved = perm.map((p) => (prev[p] as number[]).map((v) => v + (rand() - 0.5) * 0.2));
    expect(matchClusters(prev, moved)).toEqual(perm);
    const relabelled = relabelClusters({ centroids: moved, assignments: [0, 1, 2, 3, 4, 5], iterations: 1, inertia: 0 }, perm);
    relabelled.centroids.forEach((c, j) => expect(sqDist(c, prev[j] as number[])).toBeLessThan(0.1));
    expect(relabelled.assignments).toEqual(perm);
  });

  it('matchClusters pairs the closest first and gives extra clusters free numbers', () => {
    const prev = [[0], [10]];
    // New 0 is a bit nearer to prev 1 than new 1 is, so new 0 wins it.
    expect(matchClusters(prev, [[9], [11.5], [0.5]])).toEqual([1, 2, 0]);
    expect(matchClusters([[0], [10], [20]], [[19]])).toEqual([2]);
    expect(matchClusters([], [[1], [2]])).toEqual([0, 1]);
  });

  it('relabelClusters rejects anything but a permutation', () => {
    const r = { centroids: [[0], [1]], assignments: [0, 1], iterations: 1, inertia: 0 };
    expect(() => relabelClusters(r, [0, 0])).toThrow(RangeError);
    expect(() => relabelClusters(r, [0, 2])).toThrow(RangeError);
  });
});

describe('the whole pipeline', () => {
  it('finds and describes premium coffee buyers and bargain tea browsers', () => {
    const rand = mulberry32(8);
    const buyers = Array.from({ length: 40 }, () =>
      profile({
        lastSeen: iso(T0 - Math.floor(rand() * 5) * DAY),
        sessionCount: 20 + Math.floor(rand() * 10),
        pageViews: 150 + Math.floor(rand() * 50),
        categoryAffinity: [
          { category: 'coffee', score: 8 + rand() },
          { category: 'tea', score: rand() },
        ],
        priceTier: 'premium',
        orders: { count: 8, lifetimeValue: 1200 + rand() * 300 },
        rfm: { r: 5, f: 5, m: 5, at: iso(T0) },
        email: { opened: 10, clicked: 5 },
      }),
    );
    const browsers = Array.from({ length: 60 }, () =>
      profile({
        lastSeen: iso(T0 - (100 + Math.floor(rand() * 100)) * DAY),
        sessionCount: 1 + Math.floor(rand() * 2),
        pageViews: 3,
        categoryAffinity: [{ category: 'tea', score: 1 + rand() }],
        priceTier: 'bargain',
        orders: { count: 0, lifetimeValue: 0 },
      }),
    );
    const all = [...buyers, ...browsers];
    const categories = topCategories(all, 2);
    expect(categories).toEqual(['coffee', 'tea']);
    const names = featureNames(categories);
    const raw = all.map((p) => extractFeatures(p, { now: T0, categories }));
    const scaler = fitScaler(raw);
    const rows = raw.map((r) => scale(r, scaler));
    const found = kmeans(rows, { k: 2, seed: 42 });
    const result = relabelClusters(found, stableClusterOrder(found.centroids, names));
    expect(result.assignments).toEqual([...buyers.map(() => 0), ...browsers.map(() => 1)]);
    const [top, rest] = result.centroids.map((c) => describeCentroid(c, names, scaler));
    // Many features separate the two groups equally well (binary ones tie up to rounding), so
    // check what the terms say rather than which four of them win.
    const buyerTerms = [
      'recent buyers',
      'high frequency',
      'high monetary value',
      'many orders',
      'high lifetime value',
      'premium',
      'coffee affinity',
      'high engagement',
      'many page views',
      'recently active',
      'high email clicks',
    ];
    const browserTerms = [
      'no recent purchases',
      'low frequency',
      'low monetary value',
      'few orders',
      'low lifetime value',
      'bargain',
      'tea affinity',
      'low coffee affinity',
      'low engagement',
      'few page views',
      'inactive',
      'low email clicks',
    ];
    expect(top?.split(', ')).toHaveLength(4);
    expect(rest?.split(', ')).toHaveLength(4);
    for (const term of top?.split(', ') ?? []) expect(buyerTerms).toContain(term);
    for (const term of rest?.split(', ') ?? []) expect(browserTerms).toContain(term);
    expect(assign(scale(extractFeatures(buyers[0] as ClusterProfile, { now: T0, categories }), scaler), result.centroids)).toBe(0);
  });
});
