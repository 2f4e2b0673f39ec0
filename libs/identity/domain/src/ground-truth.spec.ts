/**
 * Ground truth (issue 4 §5): a generated population replayed through `resolveEvent`; the
 * resulting event → profile clustering is compared with the true event → person clustering
 * by pairwise precision (pairs put together that belong together / pairs put together) and
 * recall (pairs put together that belong together / pairs that belong together).
 *
 * An event's profile is the one it resolved to, followed through redirects at the end (a
 * merged profile's events are the survivor's: that is what the merge notices tell
 * enrichment to do).
 *
 * What truth is, and why 1.000 is an honest target in time order (see the generator):
 * every situation is attributable by deterministic rules — each device's owner identifies on
 * it eventually; a shared laptop's anonymous events before its first login are the first
 * person's (the only person the system can give them to is the one who logs in first, and
 * that is who they are); later sessions on it start with a login, and anonymous events after
 * a logout belong to whoever logged in last. Anonymous events at the start of a later
 * session by another person would be unattributable: the generator does not produce them.
 *
 * Out of order (the stream shuffled), 1.000 is not achievable and not asserted: the cookie
 * of a shared laptop is wherever the last *processed* login put it, so an anonymous laptop
 * event processed after the "wrong" login goes to the other person; and the pre-login
 * events go to whoever's login is processed first. Nothing else depends on order (merges
 * commute, identified events carry their userId), so the test asserts 1.000 on every event
 * that is not an anonymous shared-laptop event, and reports the overall figures.
 */
import { generatePopulation, seededRandom, type TruthEvent } from './ground-truth.population';
import type { ResolutionOutcome } from './resolve';
import { DEFAULT_IDENTITY_RULES, identityRules, type IdentityRules } from './rules';
import { makeBed } from './test-helpers';

interface Metrics {
  precision: number;
  recall: number;
  truePairs: number;
  predictedPairs: number;
  correctPairs: number;
}

/** Pairwise precision and recall from the contingency table (no n² loop). */
function pairwiseMetrics(truth: readonly (string | number)[], predicted: readonly string[]): Metrics {
  const pairs = (n: number): number => (n * (n - 1)) / 2;
  const count = <K>(keys: K[]): Map<K, number> => {
    const m = new Map<K, number>();
    for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
    return m;
  };
  const sum = (m: Map<unknown, number>): number => [...m.values()].reduce((acc, n) => acc + pairs(n), 0);
  const truePairs = sum(count(truth.map(String)));
  const predictedPairs = sum(count(predicted.map(String)));
  const correctPairs = sum(count(truth.map((t, i) => `${String(t)}\u0000${predicted[i] as string}`)));
  return {
    precision: predictedPairs === 0 ? 1 : correctPairs / predictedPairs,
    recall: truePairs === 0 ? 1 : correctPairs / truePairs,
    truePairs,
    predictedPairs,
    correctPairs,
  };
}

interface Replay {
  metrics: Metrics;
  /** Only events that are not anonymous events on a shared laptop. */
  attributable: Metrics;
  outcomes: ResolutionOutcome[];
  liveProfiles: number;
  merges: number;
  moves: number;
  refused: number;
  violations: string[];
}

async function replay(events: readonly TruthEvent[], rules: IdentityRules): Promise<Replay> {
  const bed = makeBed(rules);
  const outcomes: ResolutionOutcome[] = [];
  for (const e of events) outcomes.push(await bed.send(e.event));
  const view = bed.store.view();
  const finalProfile = (id: string): string => {
    let current = view.profiles.get(id);
    for (let hops = 0; current && current.status === 'merged' && hops < 40; hops += 1) current = view.profiles.get(current.mergedInto as string);
    return current?._id ?? `missing:${id}`;
  };
  const predicted = outcomes.map((o, i) => (o.profileId === undefined ? `unresolved:${i}` : finalProfile(o.profileId)));
  const truth = events.map((e) => e.person);
  const keep = events.map((e, i) => i).filter((i) => !(events[i] as TruthEvent).anonymousOnSharedDevice);
  return {
    metrics: pairwiseMetrics(truth, predicted),
    attributable: pairwiseMetrics(
      keep.map((i) => truth[i] as number),
      keep.map((i) => predicted[i] as string),
    ),
    outcomes,
    liveProfiles: [...view.profiles.values()].filter((p) => p.status === 'active').length,
    merges: outcomes.reduce((n, o) => n + o.notices.length, 0),
    moves: outcomes.reduce((n, o) => n + (o.plan?.moves.length ?? 0), 0),
    refused: outcomes.reduce((n, o) => n + o.refused.length, 0),
    violations: bed.invariants({ quiescent: true, strictRedirects: true }),
  };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const rnd = seededRandom(seed);
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const f = (x: number): string => x.toFixed(3);

describe('pairwiseMetrics', () => {
  it('computes precision and recall of a clustering', () => {
    // truth: a a a b b ; predicted: x x y y y → true pairs 3+1=4, predicted 1+3=4, correct 1 (a,a in x) + 1 (b,b in y) = 2
    expect(pairwiseMetrics(['a', 'a', 'a', 'b', 'b'], ['x', 'x', 'y', 'y', 'y'])).toEqual({
      precision: 0.5,
      recall: 0.5,
      truePairs: 4,
      predictedPairs: 4,
      correctPairs: 2,
    });
    expect(pairwiseMetrics([1, 1, 2], ['p', 'p', 'q'])).toMatchObject({ precision: 1, recall: 1 });
    expect(pairwiseMetrics([1, 1, 2], ['p', 'p', 'p'])).toMatchObject({ precision: 1 / 3, recall: 1 });
    expect(pairwiseMetrics([1, 1, 2], ['p', 'q', 'r'])).toMatchObject({ precision: 1, recall: 0 });
  });
});

describe('ground truth: a generated population', () => {
  const seeds = [20250301, 7, 424242];
  const lines: string[] = [];
  afterAll(() => {
    console.log(['identity ground truth (pairwise precision / recall)', ...lines].join('\n'));
  });

  it.each(seeds)('seed %d: time order reaches precision = recall = 1.000; shuffled is reported', async (seed) => {
    const population = generatePopulation({ seed, people: 250, householdShare: 0.3, days: 60 });
    const kinds = new Map<string, number>();
    for (const e of population.events) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    // The generator produces every situation the test is about.
    for (const kind of ['page', 'login', 'newsletter signup', 'laptop login', 'email click', 'POS purchase', 'CRM import', 'online order']) {
      expect(kinds.get(kind) ?? 0).toBeGreaterThan(0);
    }
    expect(population.events.filter((e) => e.anonymousOnSharedDevice).length).toBeGreaterThan(0);

    const ordered = await replay(population.events, DEFAULT_IDENTITY_RULES);
    expect(ordered.violations).toEqual([]);
    expect(ordered.outcomes.every((o) => o.status === 'resolved')).toBe(true);
    expect(ordered.moves).toBeGreaterThan(0); // shared laptops did trigger merge protection
    expect(ordered.merges).toBeGreaterThan(0);

    const out = await replay(shuffled(population.events, seed + 1), DEFAULT_IDENTITY_RULES);
    expect(out.violations).toEqual([]);

    lines.push(
      `seed ${seed}: ${population.events.length} events, ${population.people.length} people, ${population.households.length} shared laptops`,
      `  time order: precision ${f(ordered.metrics.precision)} recall ${f(ordered.metrics.recall)} (${ordered.liveProfiles} live profiles, ${ordered.merges} merges, ${ordered.moves} moves, ${ordered.refused} refusals)`,
      `  shuffled:   precision ${f(out.metrics.precision)} recall ${f(out.metrics.recall)}; without anonymous shared-laptop events: precision ${f(out.attributable.precision)} recall ${f(out.attributable.recall)}`,
    );
    expect(f(ordered.metrics.precision)).toBe('1.000');
    expect(f(ordered.metrics.recall)).toBe('1.000');
    expect(ordered.metrics.correctPairs).toBe(ordered.metrics.truePairs);
    expect(ordered.metrics.correctPairs).toBe(ordered.metrics.predictedPairs);
    expect(ordered.liveProfiles).toBe(population.people.length);
    // Out of order only the anonymous shared-laptop events can go to the wrong person.
    expect(out.attributable.precision).toBe(1);
    expect(out.attributable.recall).toBe(1);
  });

  it('the assertion can fail: without blocked values a CRM placeholder id merges strangers', async () => {
    const population = generatePopulation({ seed: seeds[0] as number, people: 250, householdShare: 0.3, days: 60 });
    const unblocked = await replay(population.events, identityRules({ blocked: { values: [] } }));
    lines.push(`  ablation, no blocked values: precision ${f(unblocked.metrics.precision)} recall ${f(unblocked.metrics.recall)}`);
    expect(unblocked.metrics.precision).toBeLessThan(1);
  });

  it('the assertion can fail: without merge protection (userId limit 2) shared laptops merge households', async () => {
    const population = generatePopulation({ seed: seeds[0] as number, people: 250, householdShare: 0.3, days: 60 });
    const unprotected = await replay(population.events, identityRules({ types: { userId: { limit: 2 } } }));
    lines.push(`  ablation, userId limit 2:    precision ${f(unprotected.metrics.precision)} recall ${f(unprotected.metrics.recall)}`);
    expect(unprotected.metrics.precision).toBeLessThan(1);
  });
});
