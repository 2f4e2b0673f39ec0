import type { Condition } from './definition';
import { absorbMerged, type ActiveSegment, applyChange, applyDefinitions, applyTimer, type ChangeInput, emptyState, planSegments } from './engine';
import { describeCondition, describeReason, explainEntry, isEntryReason, NO_REASON_TEXT, REASON_LIMITS, triggerOfChange, type EntryTrigger } from './explain';
import { DAY, def, event, feed, HOUR, profileOf, T0 } from './test-helpers';

const coffeeTwice: Condition = {
  event: 'Product Viewed',
  where: [{ property: 'category', op: 'equals', value: 'coffee-machines' }],
  aggregate: { fn: 'count', op: 'gte', value: 2 },
  within: { amount: 7, unit: 'days' },
};
const byEvent: EntryTrigger = { kind: 'event', event: 'Product Viewed', messageId: 'm-9', at: '2026-03-02T00:00:00.000Z' };
const viewed = (at: number, category = 'coffee-machines') => event('Product Viewed', at, { category });

describe('explainEntry: the conditions that held, in words', () => {
  it('an event count names the event, its filter, how many times, the window and the threshold', () => {
    const d = def(coffeeTwice);
    const windows = feed(d, [viewed(T0), viewed(T0 + DAY), viewed(T0 + DAY, 'tea')]);
    const r = explainEntry(d, { profile: profileOf(), windows }, T0 + DAY, byEvent);
    expect(r).toEqual({ trigger: byEvent, matched: ['Product Viewed with category = coffee-machines: 2 times within 7 days (needs ≥ 2)'] });
  });

  it('counts only the occurrences still inside the window at entry', () => {
    const d = def({ ...coffeeTwice, aggregate: { fn: 'count', op: 'lte', value: 3 } }); // keeps every occurrence
    const windows = feed(d, [viewed(T0), viewed(T0 + 8 * DAY)]);
    expect(explainEntry(d, { profile: profileOf(), windows }, T0 + 8 * DAY, byEvent).matched).toEqual([
      'Product Viewed with category = coffee-machines: 1 time within 7 days (needs ≤ 3)',
    ]);
  });

  it('sums name the property and the total', () => {
    const d = def({ event: 'Order Completed', aggregate: { fn: 'sum', property: 'revenue', op: 'gte', value: 100 }, within: { amount: 1, unit: 'days' } });
    const windows = feed(d, [event('Order Completed', T0, { revenue: 60 }), event('Order Completed', T0 + HOUR, { revenue: 90.5 })]);
    expect(explainEntry(d, { profile: profileOf(), windows }, T0 + HOUR, byEvent).matched).toEqual([
      'Order Completed: sum of revenue 150.5 within 1 day (needs ≥ 100)',
    ]);
  });

  it('every child of an all; only the true children of an any, with their own windows; a not as its rule', () => {
    const d = def({
      all: [
        { trait: 'plan', op: 'equals', value: 'pro' },
        { attribute: 'orders.lifetimeValue', op: 'gt', value: 100 },
        { any: [{ event: 'Signed Up', within: { amount: 30, unit: 'days' } }, coffeeTwice, { trait: 'vip', op: 'exists' }] },
        { not: { trait: 'country', op: 'in', value: ['FR', 'DE'] } },
      ],
    });
    const windows = feed(d, [viewed(T0), viewed(T0 + HOUR)]);
    const input = { profile: profileOf({ plan: 'pro', country: 'UK' }, { orders: { lifetimeValue: 250 } }), windows };
    expect(explainEntry(d, input, T0 + HOUR, byEvent).matched).toEqual([
      'trait plan = pro',
      'orders.lifetimeValue = 250 (needs > 100)',
      'Product Viewed with category = coffee-machines: 2 times within 7 days (needs ≥ 2)',
      'not (trait country in [FR, DE])',
    ]);
  });

  it('elements, segments, clusters and sequences', () => {
    const seq: Condition = { sequence: { first: { event: 'Product Added' }, thenNot: { event: 'Order Completed' }, within: { amount: 2, unit: 'hours' } } };
    const d = def({
      all: [
        { elements: 'productsViewed', where: [{ property: 'category', op: 'equals', value: 'coffee' }], count: { op: 'gte', value: 2 } },
        { segment: 'known' },
        { cluster: 'rfm', index: 1 },
        seq,
      ],
    });
    const computed = {
      productsViewed: [
        { productId: 'a', category: 'coffee' },
        { productId: 'b', category: 'coffee' },
        { productId: 'c', category: 'tea' },
      ],
    };
    const windows = feed(d, [event('Product Added', T0)]);
    const r = explainEntry(d, { profile: profileOf({}, computed), windows, segments: { known: true }, clusters: { rfm: 1 } }, T0 + 3 * HOUR, { kind: 'timer' });
    expect(r.matched).toEqual([
      '2 of productsViewed with category = coffee (needs ≥ 2)',
      'in segment known',
      'in cluster 1 of clustering rfm',
      'Product Added and then no Order Completed within 2 hours (Product Added at 2026-03-01T00:00:00.000Z)',
    ]);
  });

  it('stays small: at most 4 conditions (the rest counted), clipped texts and trigger fields', () => {
    const many = def({ all: Array.from({ length: 7 }, (_, i) => ({ trait: `t${i}`, op: 'exists' as const })) });
    const traits = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`t${i}`, 'x']));
    const r = explainEntry(many, { profile: profileOf(traits) }, T0, { kind: 'profile', changed: Array.from({ length: 9 }, (_, i) => `traits.t${i}`) });
    expect(r.matched).toHaveLength(REASON_LIMITS.matched);
    expect(r.moreMatched).toBe(3);
    expect(r.trigger.changed).toHaveLength(REASON_LIMITS.changed);

    const long = 'x'.repeat(5000);
    const one = def({ trait: 'bio', op: 'startsWith', value: 'x' });
    const big = explainEntry(one, { profile: profileOf({ bio: long }) }, T0, { kind: 'event', event: long, messageId: long, at: long });
    expect(JSON.stringify(big).length).toBeLessThan(600);
    expect(big.matched[0]).toMatch(/^trait bio = x+… \(needs starts with x\)$/);
    expect(big.trigger.event).toHaveLength(REASON_LIMITS.field);
  });
});

describe('triggers and texts', () => {
  const base = { at: '2026-03-01T00:00:00.000Z', changed: ['traits.plan'] };
  it('an event (its name, id and time), a merge, another profile change', () => {
    expect(
      triggerOfChange({
        ...base,
        trigger: { messageId: 'm-1', kind: 'event', eventType: 'track', event: 'Product Viewed', timestamp: '2026-02-28T23:00:00.000Z' },
      }),
    ).toEqual({ kind: 'event', event: 'Product Viewed', messageId: 'm-1', at: '2026-02-28T23:00:00.000Z', changed: ['traits.plan'] });
    expect(triggerOfChange({ ...base, trigger: { messageId: 'm-2', kind: 'event', eventType: 'identify' } })).toMatchObject({
      kind: 'event',
      event: '(identify)',
      at: base.at,
    });
    expect(triggerOfChange({ ...base, trigger: { messageId: 'g-1', kind: 'merge' } })).toEqual({ kind: 'merge', messageId: 'g-1', changed: ['traits.plan'] });
    expect(triggerOfChange({ ...base, trigger: { messageId: 'rfm:x', kind: 'rfm' } })).toEqual({
      kind: 'profile',
      messageId: 'rfm:x',
      detail: 'rfm',
      changed: ['traits.plan'],
    });
  });

  it('a reason in one line; none says it predates reasons', () => {
    expect(describeReason({ trigger: byEvent, matched: ['trait plan = pro'], moreMatched: 2 })).toBe(
      'triggered by event Product Viewed at 2026-03-02T00:00:00.000Z (id m-9): trait plan = pro (and 2 more)',
    );
    expect(describeReason(undefined)).toBe(NO_REASON_TEXT);
    expect(isEntryReason({ since: 'x' })).toBe(false);
    expect(isEntryReason({ trigger: { kind: 'timer' }, matched: [] })).toBe(true);
  });

  it('describes a rule', () => {
    expect(describeCondition(coffeeTwice)).toBe('Product Viewed with category = coffee-machines: count ≥ 2 within 7 days');
    expect(describeCondition({ attribute: 'lastSeen', op: 'withinLastDays', value: 3 })).toBe('lastSeen within the last 3 days');
  });
});

describe('engine: entries record their reason', () => {
  const seg = (key: string, condition: Condition, version = 1): ActiveSegment => ({ key, version, definition: { key, condition } });
  const plan = planSegments([seg('coffee', coffeeTwice), seg('pro', { trait: 'plan', op: 'equals', value: 'pro' })]);
  let n = 0;
  const change = (version: number, at: number, opts: Partial<ChangeInput> & { event?: string; category?: string } = {}): ChangeInput => ({
    profileId: 'p',
    version,
    changed: opts.changed ?? [],
    profile: opts.profile ?? { identifiers: [], traits: {}, computed: {} },
    trigger: {
      messageId: `e-${++n}`,
      kind: 'event',
      eventType: 'track',
      event: opts.event ?? 'Product Viewed',
      properties: { category: opts.category ?? 'coffee-machines' },
      timestamp: new Date(at).toISOString(),
    },
    at: new Date(at).toISOString(),
  });

  it('an entry by an event: the membership and the entered message carry the same reason; exits carry none', () => {
    const s1 = applyChange(emptyState('p'), change(1, T0), plan, T0).state;
    const r = applyChange(s1, change(2, T0 + HOUR), plan, T0 + HOUR);
    const expected = {
      trigger: { kind: 'event', event: 'Product Viewed', messageId: `e-${n}`, at: new Date(T0 + HOUR).toISOString() },
      matched: ['Product Viewed with category = coffee-machines: 2 times within 7 days (needs ≥ 2)'],
    };
    expect(r.state.memberships['coffee']?.reason).toEqual(expected);
    expect(r.deltas).toEqual([expect.objectContaining({ change: 'entered', explanation: expected })]);
    const out = applyTimer(r.state, plan, T0 + 7 * DAY);
    expect(out.deltas).toEqual([expect.not.objectContaining({ explanation: expect.anything() })]);
  });

  it('a trait change, a backfill and a merge name their trigger', () => {
    const profile = { identifiers: [], traits: { plan: 'pro' }, computed: {} };
    const byTrait = applyChange(
      emptyState('p'),
      {
        ...change(1, T0, { profile, changed: ['traits.plan'] }),
        trigger: { messageId: 'i-1', kind: 'event', eventType: 'identify', timestamp: new Date(T0).toISOString() },
      },
      plan,
      T0,
    );
    expect(byTrait.state.memberships['pro']?.reason).toEqual({
      trigger: { kind: 'event', event: '(identify)', messageId: 'i-1', at: new Date(T0).toISOString(), changed: ['traits.plan'] },
      matched: ['trait plan = pro'],
    });
    const noPro = planSegments([seg('coffee', coffeeTwice)]);
    const s = applyChange(emptyState('q'), change(1, T0, { profile }), noPro, T0).state;
    const backfilled = applyDefinitions(s, plan, new Set(['pro']), T0 + 1);
    expect(backfilled.state.memberships['pro']?.reason?.trigger).toEqual({ kind: 'backfill', detail: 'segment pro' });
    const loser = applyChange(emptyState('l'), change(1, T0), plan, T0).state;
    const survivor = applyChange(emptyState('p'), change(1, T0 + 1), plan, T0 + 1).state;
    const merged = absorbMerged(survivor, loser, plan, T0 + 2);
    expect(merged.state.memberships['coffee']?.reason?.trigger).toEqual({ kind: 'merge', detail: 'merged from l' });
  });

  it('a membership stored before reasons keeps working and gets none; a new definition version keeps the entry reason', () => {
    const profile = { identifiers: [], traits: { plan: 'pro' }, computed: {} };
    const old = {
      ...emptyState('p'),
      profile,
      sourceVersion: 1,
      qualified: { pro: true as const },
      memberships: { pro: { version: 1, since: 'x' } },
      membershipVersion: 1,
    };
    const r = applyChange(old, change(2, T0, { profile, changed: ['traits.plan'] }), plan, T0);
    expect(r.state.memberships['pro']).toEqual({ version: 1, since: 'x' });
    const entered = applyChange(emptyState('p'), change(1, T0, { profile, changed: ['traits.plan'] }), plan, T0).state;
    const v2 = planSegments([seg('pro', { trait: 'plan', op: 'in', value: ['pro', 'team'] }, 2)]);
    const moved = applyDefinitions(entered, v2, new Set(['pro']), T0 + 1).state.memberships['pro'];
    expect(moved?.version).toBe(2);
    expect(moved?.reason).toEqual(entered.memberships['pro']?.reason);
  });
});
