import fc from 'fast-check';
import type { Condition, SegmentDefinition } from './definition';
import {
  absorbMerged,
  type ActiveSegment,
  applyChange,
  applyDefinitions,
  applyCluster,
  applyTimer,
  type ChangeInput,
  emptyState,
  lookbackMs,
  nextTimerAt,
  planSegments,
  type ProfileSegmentState,
  windowsFromEvents,
} from './engine';
import { DAY, HOUR, MINUTE, T0 } from './test-helpers';

const views3in7: Condition = {
  event: 'Product Viewed',
  where: [{ property: 'category', op: 'equals', value: 'coffee' }],
  aggregate: { fn: 'count', op: 'gte', value: 3 },
  within: { amount: 7, unit: 'days' },
};
const abandoned: Condition = { sequence: { first: { event: 'Product Added' }, thenNot: { event: 'Order Completed' }, within: { amount: 2, unit: 'hours' } } };

function seg(key: string, condition: Condition, extra: Partial<SegmentDefinition> = {}, version = 1): ActiveSegment {
  return { key, version, definition: { key, condition, ...extra } };
}

let n = 0;
function change(
  profileId: string,
  version: number,
  opts: {
    event?: string;
    properties?: Record<string, unknown>;
    at?: number;
    changed?: string[];
    traits?: Record<string, unknown>;
    computed?: Record<string, unknown>;
    id?: string;
    mergedInto?: string;
    kind?: string;
  } = {},
): ChangeInput {
  const at = new Date(opts.at ?? T0).toISOString();
  return {
    profileId,
    version,
    changed: opts.changed ?? [],
    profile: { identifiers: [{ type: 'userId', value: `u-${profileId}` }], traits: opts.traits ?? {}, computed: opts.computed ?? {} },
    trigger: {
      messageId: opts.id ?? `m-${++n}`,
      kind: opts.kind ?? 'event',
      eventType: 'track',
      event: opts.event ?? 'Noop',
      properties: opts.properties ?? {},
      timestamp: at,
    },
    at,
    ...(opts.mergedInto ? { mergedInto: opts.mergedInto } : {}),
  };
}

function run(
  state: ProfileSegmentState,
  changes: ChangeInput[],
  plan: ReturnType<typeof planSegments>,
  now: (c: ChangeInput) => number = (c) => Date.parse(c.at),
) {
  const deltas = [];
  for (const c of changes) {
    const r = applyChange(state, c, plan, now(c));
    state = r.state;
    deltas.push(...r.deltas);
  }
  return { state, deltas };
}

const view = (at: number, category = 'coffee') => ({ event: 'Product Viewed', properties: { category }, at });

describe('engine: event windows and timers', () => {
  const plan = planSegments([seg('coffee', views3in7)]);

  it('enters on the third view and leaves by timer when the third-newest view turns 7 days old', () => {
    const { state, deltas } = run(emptyState('p1'), [change('p1', 1, view(T0)), change('p1', 2, view(T0 + DAY)), change('p1', 3, view(T0 + 2 * DAY))], plan);
    expect(deltas.map((d) => [d.segmentKey, d.change, d.reason.kind, d.profileVersion])).toEqual([['coffee', 'entered', 'message', 1]]);
    expect(state.memberships.coffee).toEqual({
      version: 1,
      since: new Date(T0 + 2 * DAY).toISOString(),
      reason: {
        trigger: { kind: 'event', event: 'Product Viewed', messageId: expect.any(String), at: new Date(T0 + 2 * DAY).toISOString() },
        matched: ['Product Viewed with category = coffee: 3 times within 7 days (needs ≥ 3)'],
      },
    });
    expect(nextTimerAt(state)).toBe(T0 + 7 * DAY);
    const early = applyTimer(state, plan, T0 + 7 * DAY - 1);
    expect(early.deltas).toEqual([]);
    const fired = applyTimer(state, plan, T0 + 7 * DAY);
    expect(fired.deltas.map((d) => [d.change, d.reason.kind, d.profileVersion])).toEqual([['exited', 'timer', 2]]);
    expect(fired.state.memberships).toEqual({});
    // the two remaining views are still held (for a next view), the expired one is pruned
    expect((fired.state.windows.coffee?.w['condition']?.kind === 'window' && fired.state.windows.coffee.w['condition'].occurrences.length) || 0).toBe(2);
  });

  it('other categories and other events do not count; a redelivered trigger changes nothing', () => {
    const c1 = change('p1', 1, view(T0));
    const { state } = run(
      emptyState('p1'),
      [c1, change('p1', 2, view(T0, 'tea')), change('p1', 3, { event: 'Product Added', properties: { category: 'coffee' } }), change('p1', 4, view(T0 + HOUR))],
      plan,
    );
    expect(state.memberships).toEqual({});
    const again = applyChange(state, c1, plan, T0 + 2 * HOUR);
    expect(again).toMatchObject({ changed: false, duplicate: true, deltas: [] });
    // the same event under a new trigger id (a replay past the ring) still counts once: windows are keyed by message id
    const replay = applyChange(state, { ...c1, trigger: { ...c1.trigger!, messageId: c1.trigger!.messageId }, version: 9 }, plan, T0 + 2 * HOUR);
    expect(replay.duplicate).toBe(true);
  });

  it('sequence: enters when 2 hours pass with no order (timer), not when the order came', () => {
    const p = planSegments([seg('cart', abandoned)]);
    const { state } = run(emptyState('p1'), [change('p1', 1, { event: 'Product Added', at: T0 })], p);
    expect(state.memberships).toEqual({});
    expect(nextTimerAt(state)).toBe(T0 + 2 * HOUR);
    const fired = applyTimer(state, p, T0 + 2 * HOUR + 5);
    expect(fired.deltas.map((d) => [d.change, d.reason.kind])).toEqual([['entered', 'timer']]);
    expect(nextTimerAt(fired.state)).toBeUndefined();
    const ordered = run(state, [change('p1', 2, { event: 'Order Completed', at: T0 + HOUR })], p).state;
    expect(nextTimerAt(ordered)).toBeUndefined();
    expect(applyTimer(ordered, p, T0 + 3 * HOUR).deltas).toEqual([]);
    // and the order after the entry makes it exit at once
    const after = applyChange(fired.state, change('p1', 3, { event: 'Order Completed', at: T0 + 3 * HOUR }), p, T0 + 3 * HOUR);
    expect(after.deltas.map((d) => [d.change, d.reason.kind])).toEqual([['exited', 'message']]);
  });

  it('a late event (timestamp before the ones held) slots into the window', () => {
    const { state } = run(emptyState('p1'), [change('p1', 1, view(T0 + DAY)), change('p1', 2, view(T0 + 2 * DAY))], plan);
    const late = applyChange(state, change('p1', 3, view(T0)), plan, T0 + 2 * DAY + MINUTE);
    expect(late.deltas.map((d) => d.change)).toEqual(['entered']);
    expect(nextTimerAt(late.state)).toBe(T0 + 7 * DAY);
  });

  it('windows end state does not depend on the order events arrive in (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ day: fc.integer({ min: 0, max: 20 }), cat: fc.constantFrom('coffee', 'tea') }), { minLength: 1, maxLength: 12 }),
        fc.integer(),
        (evs, seed) => {
          // enrichment numbers changes in the order it applies them, whatever the event times
          const changes = evs.map((e, i) => change('p', i + 1, { ...view(T0 + e.day * DAY, e.cat), id: `e${i}` }));
          const shuffled = [...changes]
            .sort((a, b) => ((a.trigger!.messageId.charCodeAt(1) * 31 + seed) % 7) - ((b.trigger!.messageId.charCodeAt(1) * 31 + seed) % 7))
            .map((c, i) => ({ ...c, version: i + 1 }));
          const now = T0 + 21 * DAY;
          const a = run(emptyState('p'), changes, plan, () => now).state;
          const b = run(emptyState('p'), shuffled, plan, () => now).state;
          expect(b.windows).toEqual(a.windows);
          expect(Object.keys(b.memberships)).toEqual(Object.keys(a.memberships));
        },
      ),
    );
  });
});

describe('engine: traits, references, exclusivity, definitions', () => {
  const vip: Condition = { attribute: 'orders.lifetimeValue', op: 'gt', value: 500 };
  const plan = planSegments([
    seg('gold', vip, { exclusivityGroup: 'tier', priority: 10 }),
    seg('buyer', { attribute: 'orders.count', op: 'gte', value: 1 }, { exclusivityGroup: 'tier', priority: 1 }),
    seg('vip-coffee', { all: [{ segment: 'gold' }, { trait: 'likes', op: 'equals', value: 'coffee' }] }),
  ]);

  it('only the highest priority segment of a group is published; when it exits the next one enters', () => {
    let s = emptyState('p');
    let r = applyChange(s, change('p', 1, { changed: ['computed.orders'], computed: { orders: { count: 1, lifetimeValue: 100 } } }), plan, T0);
    expect(r.deltas.map((d) => `${d.change}:${d.segmentKey}`)).toEqual(['entered:buyer']);
    s = r.state;
    r = applyChange(s, change('p', 2, { changed: ['computed.orders'], computed: { orders: { count: 2, lifetimeValue: 900 } } }), plan, T0);
    expect(r.deltas.map((d) => `${d.change}:${d.segmentKey}`)).toEqual(['exited:buyer', 'entered:gold']);
    expect(r.deltas.map((d) => d.profileVersion)).toEqual([2, 3]);
    s = r.state;
    r = applyChange(
      s,
      change('p', 3, { changed: ['traits.likes'], traits: { likes: 'coffee' }, computed: { orders: { count: 2, lifetimeValue: 900 } } }),
      plan,
      T0,
    );
    expect(r.deltas.map((d) => `${d.change}:${d.segmentKey}`)).toEqual(['entered:vip-coffee']);
    s = r.state;
    r = applyChange(
      s,
      change('p', 4, { changed: ['computed.orders'], computed: { orders: { count: 2, lifetimeValue: 10 } }, traits: { likes: 'coffee' } }),
      plan,
      T0,
    );
    expect(r.deltas.map((d) => `${d.change}:${d.segmentKey}`).sort()).toEqual(['entered:buyer', 'exited:gold', 'exited:vip-coffee']);
  });

  it('a change that touches nothing a segment reads does not re-evaluate it; an older profile version is not taken', () => {
    const first = applyChange(emptyState('p'), change('p', 4, { changed: ['traits.city'] }), plan, T0).state;
    const r1 = applyChange(first, change('p', 5, { changed: ['traits.city'], computed: { orders: { count: 3, lifetimeValue: 900 } } }), plan, T0);
    expect(r1.deltas).toEqual([]);
    const r2 = applyChange(r1.state, change('p', 4, { changed: ['computed.orders'], computed: { orders: { count: 0, lifetimeValue: 0 } } }), plan, T0);
    expect(r2.state.profile?.computed).toEqual({ orders: { count: 3, lifetimeValue: 900 } });
    expect(r2.deltas).toEqual([]);
  });

  it('backfill: a new definition is evaluated with windows rebuilt from stored events; a disabled one exits', () => {
    const coffee = seg('coffee', views3in7);
    const s = applyChange(
      emptyState('p'),
      change('p', 1, { changed: ['computed.orders'], computed: { orders: { count: 1, lifetimeValue: 10 } } }),
      plan,
      T0,
    ).state;
    const withCoffee = planSegments([...plan.segments, coffee]);
    const events = [0, 1, 2].map((d) => ({ messageId: `x${d}`, name: 'Product Viewed', at: T0 + d * HOUR, properties: { category: 'coffee' } }));
    expect(lookbackMs(coffee)).toBe(7 * DAY);
    const r = applyDefinitions(s, withCoffee, new Set(['coffee']), T0 + DAY, { coffee: windowsFromEvents(coffee, events, T0 + DAY) });
    expect(r.deltas.map((d) => [d.segmentKey, d.change, d.reason.kind])).toEqual([['coffee', 'entered', 'definition']]);
    expect(nextTimerAt(r.state)).toBe(T0 + 7 * DAY);
    const withoutBuyer = planSegments(withCoffee.segments.filter((x) => x.key !== 'buyer'));
    const r2 = applyDefinitions(r.state, withoutBuyer, new Set(), T0 + DAY);
    expect(r2.deltas.map((d) => [d.segmentKey, d.change, d.reason.detail])).toEqual([['buyer', 'exited', 'segment disabled or deleted']]);
    expect(applyDefinitions(r2.state, withoutBuyer, new Set(), T0 + DAY).changed).toBe(false);
  });

  it('segments referring to an inactive segment are left out of the plan', () => {
    const p = planSegments([seg('vip-coffee', { segment: 'gold' }), seg('x', { segment: 'vip-coffee' })]);
    expect(p.segments).toEqual([]);
    expect(p.skipped.map((s) => s.key).sort()).toEqual(['vip-coffee', 'x']);
  });

  it('a new definition version starts its windows afresh', () => {
    const v1 = planSegments([seg('coffee', views3in7)]);
    const s = run(emptyState('p'), [change('p', 1, view(T0)), change('p', 2, view(T0 + 1)), change('p', 3, view(T0 + 2))], v1).state;
    expect(s.memberships.coffee?.version).toBe(1);
    const v2 = planSegments([seg('coffee', { ...views3in7, aggregate: { fn: 'count', op: 'gte', value: 4 } } as Condition, {}, 2)]);
    const r = applyDefinitions(s, v2, new Set(['coffee']), T0 + 3);
    expect(r.deltas.map((d) => [d.change, d.segmentVersion])).toEqual([['exited', 2]]);
  });
});

describe('engine: merges', () => {
  const plan = planSegments([seg('coffee', views3in7), seg('known', { trait: 'email', op: 'exists' })]);

  it('the loser exits everything; the survivor gets its windows and is re-evaluated', () => {
    const anon = run(emptyState('anon'), [change('anon', 1, view(T0)), change('anon', 2, view(T0 + HOUR))], plan).state;
    const known = run(emptyState('known'), [change('known', 1, { ...view(T0 + 2 * HOUR), changed: ['traits.email'], traits: { email: 'a@b.c' } })], plan);
    expect(known.deltas.map((d) => d.segmentKey)).toEqual(['known']);
    const loser = applyChange(anon, change('anon', 3, { mergedInto: 'known', kind: 'merge' }), plan, T0 + 3 * HOUR);
    expect(loser.state.mergedInto).toBe('known');
    expect(loser.deltas).toEqual([]); // it was in nothing
    const survivor = absorbMerged(known.state, loser.state, plan, T0 + 3 * HOUR);
    expect(survivor.deltas.map((d) => [d.segmentKey, d.change, d.reason.kind])).toEqual([['coffee', 'entered', 'merge']]);
    expect(absorbMerged(survivor.state, loser.state, plan, T0 + 3 * HOUR)).toMatchObject({ changed: false, deltas: [] });
    // the loser's later (redelivered) changes change nothing
    expect(applyChange(loser.state, change('anon', 4, view(T0 + 4 * HOUR)), plan, T0 + 4 * HOUR).deltas).toEqual([]);
  });

  it("a profile's first snapshot is evaluated against every segment", () => {
    const r = applyChange(emptyState('p'), change('p', 1, { changed: ['traits.city'], traits: { email: 'a@b.c' } }), plan, T0);
    expect(r.deltas.map((d) => [d.segmentKey, d.change])).toEqual([['known', 'entered']]);
  });

  it("a merge notice that overtakes the survivor's first change: the survivor's first change evaluates the absorbed windows", () => {
    const withCart = planSegments([...plan.segments, seg('abandoned', abandoned)]);
    const anon = run(emptyState('anon'), [change('anon', 1, { event: 'Product Added', at: T0 })], withCart).state;
    const loser = applyChange(anon, change('anon', 2, { mergedInto: 'known', kind: 'merge' }), withCart, T0 + HOUR).state;
    const unseen = absorbMerged(emptyState('known'), loser, withCart, T0 + HOUR);
    expect(unseen.deltas).toEqual([]); // no profile to evaluate yet
    const first = applyChange(unseen.state, change('known', 1, { event: 'Page Scrolled', at: T0 + HOUR }), withCart, T0 + HOUR);
    expect(nextTimerAt(first.state)).toBe(T0 + 2 * HOUR);
    const due = applyTimer(first.state, withCart, T0 + 2 * HOUR);
    expect(due.deltas.map((d) => [d.segmentKey, d.change, d.reason.kind])).toEqual([['abandoned', 'entered', 'timer']]);
  });

  it('a loser that was a member exits with reason merge', () => {
    const s = run(emptyState('l'), [change('l', 1, { changed: ['traits.email'], traits: { email: 'x@y.z' } })], plan).state;
    const r = applyChange(s, change('l', 2, { mergedInto: 's', kind: 'merge' }), plan, T0);
    expect(r.deltas.map((d) => [d.segmentKey, d.change, d.reason.kind, d.reason.detail])).toEqual([['known', 'exited', 'merge', 'merged into s']]);
  });
});

describe('engine: clusters', () => {
  it('a cluster assignment enters the cluster segment and moving to another cluster exits it', () => {
    const plan = planSegments([
      seg('cluster.rfm.0', { cluster: 'rfm', index: 0 }),
      seg('cluster.rfm.1', { cluster: 'rfm', index: 1 }),
      seg('big-0', {
        all: [
          { cluster: 'rfm', index: 0 },
          { trait: 'vip', op: 'equals', value: true },
        ],
      }),
    ]);
    const s = applyChange(emptyState('p'), change('p', 1, { changed: ['traits.vip'], traits: { vip: true } }), plan, T0).state;
    const r0 = applyCluster(s, plan, 'rfm', 0, T0);
    expect(r0.deltas.map((d) => `${d.change}:${d.segmentKey}`).sort()).toEqual(['entered:big-0', 'entered:cluster.rfm.0']);
    expect(applyCluster(r0.state, plan, 'rfm', 0, T0)).toMatchObject({ changed: false, deltas: [] });
    const r1 = applyCluster(r0.state, plan, 'rfm', 1, T0);
    expect(r1.deltas.map((d) => `${d.change}:${d.segmentKey}`).sort()).toEqual(['entered:cluster.rfm.1', 'exited:big-0', 'exited:cluster.rfm.0']);
    expect(applyCluster(r1.state, plan, 'rfm', undefined, T0).deltas.map((d) => `${d.change}:${d.segmentKey}`)).toEqual(['exited:cluster.rfm.1']);
  });
});
