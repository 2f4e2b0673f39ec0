import type { SegmentDefinition } from './definition';
import { affects, evaluate } from './evaluate';
import { resolveExclusivity } from './exclusivity';
import { SEGMENT_EXAMPLES } from './schema';
import { DAY, HOUR, MINUTE, T0, def, evalEvents, evalProfile, event, feed, profileOf } from './test-helpers';
import { validateDefinition } from './validate';
import { eventOfChange, observeEvent, pruneAll } from './windows';

function example(key: string): SegmentDefinition {
  const found = SEGMENT_EXAMPLES.find((e) => e.key === key);
  const r = validateDefinition(found);
  if (!r.ok) throw new Error(`example ${key} is invalid`);
  return r.definition;
}

describe('seed scenarios', () => {
  it('lifetime value > 500', () => {
    const d = example('high-ltv');
    expect(evalProfile(d, {}, { orders: { lifetimeValue: 500 } }).member).toBe(false);
    expect(evalProfile(d, {}, { orders: { lifetimeValue: 500.01 } })).toEqual({ member: true });
    expect(evalProfile(d, {}, {}).member).toBe(false);
  });

  it('at least 3 Product Viewed with category = coffee machines and price ≥ 500 in 7 days', () => {
    const d = example('premium-coffee-machine-browsers');
    const view = (at: number, category: string, price: number) => event('Product Viewed', at, { category, price });
    let w = feed(d, [
      view(T0, 'coffee machines', 650),
      view(T0 + DAY, 'coffee machines', 499),
      view(T0 + DAY, 'grinders', 900),
      event('Product Added', T0, { category: 'coffee machines', price: 900 }),
    ]);
    expect(evalEvents(d, w, T0 + DAY)).toEqual({ member: false });
    w = feed(d, [view(T0 + 2 * DAY, 'coffee machines', 500)], w);
    expect(evalEvents(d, w, T0 + 2 * DAY).member).toBe(false);
    w = feed(d, [view(T0 + 3 * DAY, 'coffee machines', 1200)], w);
    // T0, T0+2d, T0+3d: in; the third-newest (T0) turns 7 days old at T0+7d
    expect(evalEvents(d, w, T0 + 3 * DAY)).toEqual({ member: true, nextChangeAt: T0 + 7 * DAY });
    expect(evalEvents(d, w, T0 + 7 * DAY - 1).member).toBe(true);
    expect(evalEvents(d, w, T0 + 7 * DAY)).toEqual({ member: false });
    // a fourth view inside the window keeps it in until T0+2d turns 7 days old
    w = feed(d, [view(T0 + 6 * DAY, 'coffee machines', 700)], w);
    expect(evalEvents(d, w, T0 + 7 * DAY)).toEqual({ member: true, nextChangeAt: T0 + 9 * DAY });
    expect(evalEvents(d, pruneAll(w, T0 + 7 * DAY), T0 + 7 * DAY)).toEqual({ member: true, nextChangeAt: T0 + 9 * DAY });
  });

  it('Product Added then no Order Completed within 2 hours', () => {
    const d = example('abandoned-cart');
    const w = feed(d, [event('Product Added', T0, { product_id: 'p1' })]);
    expect(evalEvents(d, w, T0 + HOUR)).toEqual({ member: false, nextChangeAt: T0 + 2 * HOUR });
    expect(evalEvents(d, w, T0 + 2 * HOUR)).toEqual({ member: true });
    const ordered = feed(d, [event('Order Completed', T0 + 119 * MINUTE)], w);
    expect(evalEvents(d, ordered, T0 + 2 * HOUR)).toEqual({ member: false });
  });

  it('spend > 500 in the last 30 days (sum of Order Completed total)', () => {
    const d = example('big-spender-30d');
    let w = feed(d, [event('Order Completed', T0, { total: 300 }), event('Order Completed', T0 + 10 * DAY, { total: 200 })]);
    expect(evalEvents(d, w, T0 + 10 * DAY).member).toBe(false); // 500 is not over 500
    w = feed(d, [event('Order Completed', T0 + 20 * DAY, { total: 0.01 }), event('Order Completed', T0 + 20 * DAY, { total: 'n/a' })], w);
    expect(evalEvents(d, w, T0 + 20 * DAY)).toEqual({ member: true, nextChangeAt: T0 + 30 * DAY });
    expect(evalEvents(d, w, T0 + 30 * DAY - 1).member).toBe(true);
    expect(evalEvents(d, w, T0 + 30 * DAY)).toEqual({ member: false });
  });
});

describe('combinators and nextChangeAt', () => {
  const recent = { attribute: 'lastSeen', op: 'withinLastDays', value: 7 } as const;
  const profile = { lastSeen: new Date(T0 - 2 * DAY).toISOString() };

  it('all / any / not', () => {
    const d = def({ all: [{ trait: 'plan', op: 'equals', value: 'pro' }, { not: { trait: 'churned', op: 'equals', value: true } }] });
    expect(evalProfile(d, { plan: 'pro' }, {}).member).toBe(true);
    expect(evalProfile(d, { plan: 'pro', churned: true }, {}).member).toBe(false);
    const any = def({
      any: [
        { trait: 'plan', op: 'equals', value: 'pro' },
        { attribute: 'orders.count', op: 'gte', value: 1 },
      ],
    });
    expect(evalProfile(any, {}, { orders: { count: 1 } }).member).toBe(true);
    expect(evalProfile(any, {}, { orders: { count: 0 } }).member).toBe(false);
  });

  it('"active in the last 7 days" leaves exactly when the 7 days pass; not() flips at the same time', () => {
    expect(evalProfile(def(recent), {}, profile)).toEqual({ member: true, nextChangeAt: T0 + 5 * DAY });
    expect(evalProfile(def(recent), {}, profile, T0 + 5 * DAY)).toEqual({ member: false });
    expect(evalProfile(def({ not: recent }), {}, profile)).toEqual({ member: false, nextChangeAt: T0 + 5 * DAY });
  });

  it('a false all() only changes when one of its false parts can; a true any() only when its true parts can', () => {
    const falseForever = { trait: 'plan', op: 'equals', value: 'pro' } as const;
    expect(evalProfile(def({ all: [recent, falseForever] }), {}, profile)).toEqual({ member: false });
    expect(evalProfile(def({ all: [recent, { attribute: 'lastSeen', op: 'withinLastDays', value: 3 }] }), {}, profile)).toEqual({
      member: true,
      nextChangeAt: T0 + DAY,
    });
    expect(evalProfile(def({ any: [recent, { trait: 'plan', op: 'exists' }] }), { plan: 'free' }, profile)).toEqual({ member: true });
    expect(evalProfile(def({ any: [recent, falseForever] }), {}, profile)).toEqual({ member: true, nextChangeAt: T0 + 5 * DAY });
    const recent3 = { attribute: 'lastSeen', op: 'withinLastDays', value: 3 } as const;
    // both must have passed before the any() can become false
    expect(evalProfile(def({ any: [recent, recent3] }), {}, profile)).toEqual({ member: true, nextChangeAt: T0 + 5 * DAY });
    expect(evalProfile(def({ all: [{ not: recent }, { not: recent3 }] }), {}, profile)).toEqual({ member: false, nextChangeAt: T0 + 5 * DAY });
  });

  it('event conditions inside combinators find their window state by path', () => {
    const d = def({ all: [{ trait: 'plan', op: 'equals', value: 'pro' }, { not: { event: 'Order Completed', within: { amount: 30, unit: 'days' } } }] });
    const w = feed(d, [event('Order Completed', T0)]);
    expect(Object.keys(w)).toEqual(['condition.all[1].not']);
    expect(evaluate(d, { profile: profileOf({ plan: 'pro' }), windows: w }, { now: T0 })).toEqual({ member: false, nextChangeAt: T0 + 30 * DAY });
    expect(evaluate(d, { profile: profileOf({ plan: 'pro' }), windows: w }, { now: T0 + 30 * DAY })).toEqual({ member: true });
  });

  it('observeEvent with a clock prunes, and is idempotent by message id', () => {
    const d = def({ event: 'X', within: { amount: 1, unit: 'hours' } });
    const e = event('X', T0);
    const w = observeEvent(d, {}, e, T0);
    expect(observeEvent(d, w, e, T0)).toBe(w);
    expect(observeEvent(d, w, event('Y', T0 + HOUR), T0 + HOUR)['condition']).toEqual({ kind: 'window', windowMs: HOUR, cap: 1, occurrences: [] });
    expect(evalEvents(d, w, T0)).toEqual({ member: true, nextChangeAt: T0 + HOUR });
  });
});

describe('segment references', () => {
  const d = def({ all: [{ segment: 'high-ltv' }, { not: { segment: 'churned' } }] });
  it('read the other segments’ memberships (a map or a set)', () => {
    expect(evaluate(d, { profile: profileOf(), segments: { 'high-ltv': true } }, { now: T0 }).member).toBe(true);
    expect(evaluate(d, { profile: profileOf(), segments: { 'high-ltv': true, churned: true } }, { now: T0 }).member).toBe(false);
    expect(evaluate(d, { profile: profileOf(), segments: new Set(['high-ltv']) }, { now: T0 }).member).toBe(true);
    expect(evaluate(d, { profile: profileOf() }, { now: T0 }).member).toBe(false);
  });
});

describe('affects', () => {
  const d = def({
    any: [
      { trait: 'plan', op: 'equals', value: 'pro' },
      { trait: '$tier', op: 'exists' },
      { attribute: 'categoryAffinity.coffee', op: 'gt', value: 1 },
      { event: 'Product Viewed', within: { amount: 1, unit: 'days' } },
      { sequence: { first: { event: 'Product Added' }, thenNot: { event: 'Order Completed' }, within: { amount: 2, unit: 'hours' } } },
      { event: '(page)', within: { amount: 1, unit: 'days' } },
      { segment: 'vip' },
    ],
  });
  it.each([
    [{ changed: ['traits.plan'] }, true],
    [{ changed: ['traits.\uFF04tier'] }, true],
    [{ changed: ['traits.planet'] }, false],
    [{ changed: ['computed.categoryAffinity', 'computed.lastSeen'] }, true],
    [{ changed: ['computed.lastSeen', 'computed.daily'] }, false],
    [{ changed: [], trigger: { kind: 'event', eventType: 'track', event: 'Product Viewed' } }, true],
    [{ changed: [], trigger: { kind: 'event', eventType: 'track', event: 'Order Completed' } }, true],
    [{ changed: [], trigger: { kind: 'event', eventType: 'track', event: 'Signed Up' } }, false],
    [{ changed: [], trigger: { kind: 'event', eventType: 'page' } }, true],
    [{ changed: [], trigger: { kind: 'rfm' } }, false],
    [{ changed: [], segments: ['vip'] }, true],
    [{ changed: [], segments: ['other'] }, false],
  ])('%j → %s', (change, expected) => {
    expect(affects(d, change)).toBe(expected);
  });

  it('works on a profiles.changes message and its trigger', () => {
    const change = {
      profileId: 'p1',
      version: 3,
      changed: ['computed.productViews'],
      at: '2026-03-01T00:00:00Z',
      trigger: { messageId: 'm1', kind: 'event', eventType: 'track', event: 'Product Viewed' },
    };
    expect(affects(d, change)).toBe(true);
    expect(eventOfChange(change)?.name).toBe('Product Viewed');
  });
});

describe('exclusivity', () => {
  it('keeps only the highest priority of each group (ties by key); ungrouped segments all stay', () => {
    const kept = resolveExclusivity([
      { key: 'b-offer', priority: 5, group: 'offers' },
      { key: 'newsletter' },
      { key: 'a-offer', priority: 5, group: 'offers' },
      { key: 'c-offer', priority: 1, group: 'offers' },
      { key: 'gold', priority: 0, group: 'tiers' },
      { key: 'silver', priority: -1, group: 'tiers' },
      { key: 'bronze', group: 'tiers' },
    ]);
    expect(kept.map((c) => c.key)).toEqual(['newsletter', 'a-offer', 'bronze']);
    expect(resolveExclusivity([])).toEqual([]);
  });
});
