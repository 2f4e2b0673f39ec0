import fc from 'fast-check';
import type { EventCondition, SequenceCondition } from './definition';
import { evalSequence, evalWindow, windowAggregates } from './evaluate';
import { DAY, HOUR, MINUTE, T0, def, evalEvents, event, feed } from './test-helpers';
import {
  DEFAULT_WINDOW_CAP,
  addFirst,
  addOccurrence,
  addThenNot,
  emptySequence,
  emptyWindow,
  eventNameOf,
  eventOfChange,
  type Occurrence,
  occurrenceOf,
  prune,
  type SequenceState,
  type WindowState,
} from './windows';

const viewed: EventCondition = { event: 'Product Viewed', within: { amount: 7, unit: 'days' } };

function windowWith(c: EventCondition, occ: Occurrence[], cap?: number): WindowState {
  return occ.reduce(addOccurrence, emptyWindow(c, cap));
}

describe('window state', () => {
  it('addOccurrence is idempotent by message id and keeps the newest first', () => {
    const s1 = addOccurrence(emptyWindow(viewed, 10), { messageId: 'a', at: T0 });
    const s2 = addOccurrence(s1, { messageId: 'b', at: T0 + 1 });
    expect(addOccurrence(s2, { messageId: 'a', at: T0 })).toBe(s2);
    expect(s2.occurrences.map((o) => o.messageId)).toEqual(['b', 'a']);
  });

  it('"count ≥ N" keeps only the newest N occurrences (all it needs to be exact); other aggregates keep every one', () => {
    const three = { ...viewed, aggregate: { fn: 'count' as const, op: 'gte' as const, value: 3 } };
    expect(emptyWindow(viewed).cap).toBe(1);
    expect(emptyWindow(three).cap).toBe(3);
    expect(emptyWindow({ ...viewed, aggregate: { fn: 'count', op: 'gt', value: 3 } }).cap).toBe(4);
    expect(emptyWindow({ ...viewed, aggregate: { fn: 'count', op: 'lte', value: 3 } }).cap).toBe(DEFAULT_WINDOW_CAP);
    expect(emptyWindow({ ...viewed, aggregate: { fn: 'sum', property: 'price', op: 'gte', value: 3 } }).cap).toBe(DEFAULT_WINDOW_CAP);
    const occ = [5, 1, 4, 2, 3].map((d) => ({ messageId: `m${d}`, at: T0 + d * DAY }));
    const s = windowWith(three, occ);
    expect(s.occurrences.map((o) => o.messageId)).toEqual(['m5', 'm4', 'm3']);
    expect(addOccurrence(s, { messageId: 'm0', at: T0 })).toBe(s); // older than all a full list keeps
    // the same result as with every occurrence held, at every instant
    const full = windowWith(three, occ, DEFAULT_WINDOW_CAP);
    for (let t = T0 + 5 * DAY; t <= T0 + 13 * DAY; t += DAY / 2) expect(evalWindow(three, s.occurrences, t)).toEqual(evalWindow(three, full.occurrences, t));
  });

  it('is bounded by its cap (the oldest go first)', () => {
    const s = windowWith(
      viewed,
      [1, 2, 3, 4, 5].map((i) => ({ messageId: `m${i}`, at: T0 + i })),
      3,
    );
    expect(s.occurrences.map((o) => o.messageId)).toEqual(['m5', 'm4', 'm3']);
  });

  it('prune drops occurrences exactly when they leave the window', () => {
    const s = windowWith(viewed, [
      { messageId: 'a', at: T0 },
      { messageId: 'b', at: T0 + DAY },
    ]);
    expect(prune(s, T0 + 7 * DAY - 1)).toBe(s);
    expect(prune(s, T0 + 7 * DAY).occurrences.map((o) => o.messageId)).toEqual(['b']);
    expect(prune(s, T0 + 8 * DAY).occurrences).toEqual([]);
  });

  const occurrence = fc.record({ messageId: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), at: fc.integer({ min: 0, max: 20 }) });

  it('property: addOccurrence is idempotent and order-independent (any order, with duplicates, same state)', () => {
    // one message id is one event: its copies carry the same time and value
    const canonical = (o: { messageId: string; at: number }): Occurrence => ({
      messageId: o.messageId,
      at: o.messageId.charCodeAt(0) * 7 + (o.at % 3),
      value: o.messageId.length,
    });
    fc.assert(
      fc.property(fc.array(occurrence, { maxLength: 30 }), fc.integer({ min: 1, max: 10 }), fc.integer(), (raw, cap, seed) => {
        const occ = raw.map(canonical);
        const shuffled = fc.sample(fc.shuffledSubarray(occ, { minLength: occ.length, maxLength: occ.length }), { seed, numRuns: 1 })[0] ?? [];
        const withDuplicates = [...shuffled, ...occ.filter((_, i) => i % 2 === 0)];
        const a = windowWith(viewed, occ, cap);
        const b = windowWith(viewed, withDuplicates, cap);
        expect(b).toEqual(a);
        for (const o of occ) expect(addOccurrence(a, o)).toEqual(a);
      }),
    );
  });

  it('property: the sequence state is order-independent too', () => {
    const seq: SequenceCondition = { sequence: { first: { event: 'A' }, thenNot: { event: 'B' }, within: { amount: 1, unit: 'hours' } } };
    const step = fc.record({
      kind: fc.constantFrom('first', 'thenNot'),
      messageId: fc.string({ minLength: 1, maxLength: 3 }),
      at: fc.integer({ min: 0, max: 50 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(step, { selector: (s) => s.messageId, maxLength: 25 }), fc.integer(), (steps, seed) => {
        const apply = (list: typeof steps): SequenceState =>
          list.reduce(
            (s, x) => (x.kind === 'first' ? addFirst(s, { messageId: x.messageId, at: x.at }) : addThenNot(s, { messageId: x.messageId, at: x.at })),
            emptySequence(seq, 5),
          );
        const shuffled = fc.sample(fc.shuffledSubarray(steps, { minLength: steps.length, maxLength: steps.length }), { seed, numRuns: 1 })[0] ?? [];
        expect(apply([...shuffled, ...steps])).toEqual(apply(steps));
      }),
    );
  });

  it('occurrenceOf: name, property filters (dotted), the aggregated value (numeric strings read as numbers)', () => {
    const c: EventCondition = {
      event: 'Order Completed',
      where: [{ property: 'shipping.country', op: 'equals', value: 'DE' }],
      aggregate: { fn: 'sum', property: 'total', op: 'gt', value: 0 },
      within: { amount: 1, unit: 'days' },
    };
    expect(occurrenceOf(c, event('Order Completed', T0, { total: 10, shipping: { country: 'DE' } }, 'x'))).toEqual({ messageId: 'x', at: T0, value: 10 });
    expect(occurrenceOf(c, event('Order Completed', T0, { total: '12.5', shipping: { country: 'DE' } }, 'x'))?.value).toBe(12.5);
    expect(occurrenceOf(c, event('Order Completed', T0, { total: 10, shipping: { country: 'FR' } }))).toBeUndefined();
    expect(occurrenceOf(c, event('Order Completed', T0, { shipping: { country: 'DE' } }))).toBeUndefined();
    expect(occurrenceOf(c, event('Order Refunded', T0, { total: 10, shipping: { country: 'DE' } }))).toBeUndefined();
  });

  it('eventOfChange / eventNameOf: track events by name, other calls as (page), (identify), …', () => {
    const change = {
      at: '2026-03-01T00:00:05.000Z',
      trigger: { messageId: 'm1', kind: 'event', eventType: 'track', event: 'Product Viewed', properties: { price: 3 }, timestamp: '2026-03-01T00:00:00.000Z' },
    };
    expect(eventOfChange(change)).toEqual({ messageId: 'm1', name: 'Product Viewed', at: T0, properties: { price: 3 } });
    expect(eventOfChange({ at: change.at, trigger: { messageId: 'r', kind: 'rfm' } })).toBeUndefined();
    expect(eventOfChange({ at: change.at })).toBeUndefined();
    expect(eventNameOf({ eventType: 'page' })).toBe('(page)');
    expect(eventNameOf({ eventType: 'identify' })).toBe('(identify)');
  });
});

describe('rolling windows at their exact edges (injected clock)', () => {
  it.each([
    ['minutes', 30, 30 * MINUTE],
    ['hours', 2, 2 * HOUR],
    ['days', 7, 7 * DAY],
  ] as const)('count ≥ 1 within %s: in from the event, out exactly %i %s later', (unit, amount, ms) => {
    const d = def({ event: 'Page Exited', within: { amount, unit } });
    const w = feed(d, [event('Page Exited', T0)]);
    expect(evalEvents(d, {}, T0)).toEqual({ member: false });
    expect(evalEvents(d, w, T0)).toEqual({ member: true, nextChangeAt: T0 + ms });
    expect(evalEvents(d, w, T0 + ms - 1)).toEqual({ member: true, nextChangeAt: T0 + ms });
    expect(evalEvents(d, w, T0 + ms)).toEqual({ member: false });
  });

  it('count ≥ 3: leaves when the third-newest occurrence turns window-old; simultaneous occurrences leave together', () => {
    const c: EventCondition = { ...viewed, aggregate: { fn: 'count', op: 'gte', value: 3 } };
    const occ = [T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY].map((at, i) => ({ messageId: `v${i}`, at }));
    expect(evalWindow(c, occ.slice(0, 2), T0 + 2 * DAY)).toEqual({ member: false });
    expect(evalWindow(c, occ, T0 + 3 * DAY)).toEqual({ member: true, nextChangeAt: T0 + 8 * DAY });
    expect(evalWindow(c, occ, T0 + 8 * DAY - 1).member).toBe(true);
    expect(evalWindow(c, occ, T0 + 8 * DAY)).toEqual({ member: false });
    const eq1: EventCondition = { ...viewed, aggregate: { fn: 'count', op: 'eq', value: 1 } };
    const tied = [
      { messageId: 'x', at: T0 },
      { messageId: 'y', at: T0 },
    ];
    // both leave at T0 + 7d: the count goes 2 → 0, never through 1
    expect(evalWindow(eq1, tied, T0)).toEqual({ member: false });
  });

  it('count < 2 (lt): out while two are in the window, in again when one leaves', () => {
    const c: EventCondition = { ...viewed, aggregate: { fn: 'count', op: 'lt', value: 2 } };
    const occ = [
      { messageId: 'a', at: T0 },
      { messageId: 'b', at: T0 + HOUR },
    ];
    expect(evalWindow(c, [], T0)).toEqual({ member: true });
    expect(evalWindow(c, occ, T0 + HOUR)).toEqual({ member: false, nextChangeAt: T0 + 7 * DAY });
    // b leaving later changes nothing (1 → 0, both < 2)
    expect(evalWindow(c, occ, T0 + 7 * DAY)).toEqual({ member: true });
  });

  it('count eq 1', () => {
    const c: EventCondition = { ...viewed, aggregate: { fn: 'count', op: 'eq', value: 1 } };
    const occ = [
      { messageId: 'a', at: T0 },
      { messageId: 'b', at: T0 + HOUR },
    ];
    expect(evalWindow(c, occ, T0 + HOUR)).toEqual({ member: false, nextChangeAt: T0 + 7 * DAY });
    expect(evalWindow(c, occ, T0 + 7 * DAY)).toEqual({ member: true, nextChangeAt: T0 + HOUR + 7 * DAY });
  });

  it('sum > 100: leaves when enough value has left the window', () => {
    const c: EventCondition = {
      event: 'Order Completed',
      aggregate: { fn: 'sum', property: 'total', op: 'gt', value: 100 },
      within: { amount: 1, unit: 'days' },
    };
    const occ = [
      { messageId: 'a', at: T0, value: 30 },
      { messageId: 'b', at: T0 + HOUR, value: 50 },
      { messageId: 'c', at: T0 + 2 * HOUR, value: 60 },
    ];
    // 140 > 100; a leaves → 110 still > 100; b leaves → 60: out at T0 + 1h + 1d
    expect(evalWindow(c, occ, T0 + 2 * HOUR)).toEqual({ member: true, nextChangeAt: T0 + HOUR + DAY });
    expect(evalWindow(c, occ, T0 + HOUR + DAY)).toEqual({ member: false });
  });

  it('sums are not decided by float noise (0.1 + 0.2 ≥ 0.3)', () => {
    const c: EventCondition = {
      event: 'Order Completed',
      aggregate: { fn: 'sum', property: 'total', op: 'gte', value: 0.3 },
      within: { amount: 1, unit: 'days' },
    };
    expect(
      evalWindow(
        c,
        [
          { messageId: 'a', at: T0, value: 0.1 },
          { messageId: 'b', at: T0, value: 0.2 },
        ],
        T0,
      ).member,
    ).toBe(true);
  });

  it('min and max over the window', () => {
    const min: EventCondition = {
      event: 'Product Viewed',
      aggregate: { fn: 'min', property: 'price', op: 'lt', value: 20 },
      within: { amount: 1, unit: 'hours' },
    };
    const max: EventCondition = { ...min, aggregate: { fn: 'max', property: 'price', op: 'gte', value: 100 } };
    const occ = [
      { messageId: 'a', at: T0, value: 10 },
      { messageId: 'b', at: T0 + 10 * MINUTE, value: 150 },
      { messageId: 'c', at: T0 + 20 * MINUTE, value: 40 },
    ];
    expect(evalWindow(min, occ, T0 + 20 * MINUTE)).toEqual({ member: true, nextChangeAt: T0 + HOUR });
    expect(evalWindow(min, occ, T0 + HOUR)).toEqual({ member: false });
    expect(evalWindow(max, occ, T0 + 20 * MINUTE)).toEqual({ member: true, nextChangeAt: T0 + 70 * MINUTE });
    expect(evalWindow(max, occ, T0 + 70 * MINUTE)).toEqual({ member: false });
    expect(evalWindow(max, [], T0)).toEqual({ member: false });
  });

  it('a late (older) event counts only while it is in the window', () => {
    const d = def(viewed);
    const w = feed(d, [event('Product Viewed', T0 - 6 * DAY)]);
    expect(evalEvents(d, w, T0)).toEqual({ member: true, nextChangeAt: T0 + DAY });
    const old = feed(d, [event('Product Viewed', T0 - 7 * DAY)]);
    expect(evalEvents(d, old, T0)).toEqual({ member: false });
  });
});

describe('windowAggregates (what evalWindow compares and an entry reason quotes)', () => {
  const occ: Occurrence[] = [
    { messageId: 'old', at: T0 - 8 * DAY, value: 1000 }, // out of the 7-day window
    { messageId: 'b', at: T0 - DAY, value: 0.2 },
    { messageId: 'a', at: T0 - 2 * DAY, value: 0.1 },
    { messageId: 'none', at: T0 - HOUR }, // no value: counted, not summed
  ];
  const of = (fn: 'count' | 'sum' | 'min' | 'max') => windowAggregates({ ...viewed, aggregate: { fn, property: 'v', op: 'gte', value: 1 } }, occ, T0);

  it('aggregates the occurrences still in the window, oldest first, from each on', () => {
    expect(windowAggregates(viewed, occ, T0)).toEqual({ live: [occ[2], occ[1], occ[3]], values: [3, 2, 1, 0] });
    expect(of('sum')).toEqual({ live: [occ[2], occ[1]], values: [0.3, 0.2, 0] }); // 0.1 + 0.2 rounded, not 0.30000000000000004
    expect(of('min').values).toEqual([0.1, 0.2, undefined]);
    expect(of('max').values).toEqual([0.2, 0.2, undefined]);
    expect(windowAggregates(viewed, [], T0).values).toEqual([0]);
  });
});

describe('sequence / absence: first, then no thenNot within the window', () => {
  const seq: SequenceCondition = {
    sequence: { first: { event: 'Product Added' }, thenNot: { event: 'Order Completed' }, within: { amount: 2, unit: 'hours' } },
  };
  const d = def(seq);

  it('enters exactly at the deadline when nothing followed', () => {
    const w = feed(d, [event('Product Added', T0)]);
    expect(evalEvents(d, w, T0)).toEqual({ member: false, nextChangeAt: T0 + 2 * HOUR });
    expect(evalEvents(d, w, T0 + 2 * HOUR - 1)).toEqual({ member: false, nextChangeAt: T0 + 2 * HOUR });
    expect(evalEvents(d, w, T0 + 2 * HOUR)).toEqual({ member: true });
  });

  it('a thenNot inside the window cancels it; one after the deadline ends the membership', () => {
    const before = feed(d, [event('Product Added', T0), event('Order Completed', T0 + 2 * HOUR - 1)]);
    expect(evalEvents(d, before, T0 + 3 * HOUR)).toEqual({ member: false });
    const after = feed(d, [event('Product Added', T0), event('Order Completed', T0 + 5 * HOUR)]);
    expect(evalEvents(d, after, T0 + 5 * HOUR)).toEqual({ member: false });
  });

  it('the earliest unresolved first decides; a later add does not restart the clock', () => {
    const w = feed(d, [event('Product Added', T0), event('Product Added', T0 + HOUR)]);
    expect(evalEvents(d, w, T0 + HOUR)).toEqual({ member: false, nextChangeAt: T0 + 2 * HOUR });
    // an order resolves both; a new add starts a new one
    const w2 = feed(d, [event('Order Completed', T0 + 90 * MINUTE), event('Product Added', T0 + 100 * MINUTE)], w);
    expect(evalEvents(d, w2, T0 + 2 * HOUR)).toEqual({ member: false, nextChangeAt: T0 + 220 * MINUTE });
  });

  it('a late thenNot arriving after the membership started resolves it retroactively; a late first before the last thenNot is ignored', () => {
    const w = feed(d, [event('Product Added', T0)]);
    expect(evalEvents(d, w, T0 + 3 * HOUR).member).toBe(true);
    const late = feed(d, [event('Order Completed', T0 + 30 * MINUTE)], w);
    expect(evalEvents(d, late, T0 + 3 * HOUR).member).toBe(false);
    const lateFirst = feed(d, [event('Product Added', T0 + 10 * MINUTE)], late);
    expect(lateFirst).toEqual(late);
  });

  it('property filters on the steps', () => {
    const filtered = def({
      sequence: { ...seq.sequence, first: { event: 'Product Added', where: [{ property: 'category', op: 'equals', value: 'coffee' }] } },
    });
    const w = feed(filtered, [event('Product Added', T0, { category: 'tea' })]);
    expect(evalSequence(filtered.condition as SequenceCondition, undefined, T0)).toEqual({ member: false });
    expect(evalEvents(filtered, w, T0 + 3 * HOUR).member).toBe(false);
  });
});
