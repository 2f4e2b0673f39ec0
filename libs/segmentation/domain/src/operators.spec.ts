import type { Comparison } from './definition';
import { compare, readPath, readTrait } from './values';
import { DAY, T0, def, evalProfile } from './test-helpers';

const is = (actual: unknown, c: Comparison, now = T0) => compare(actual, c, now).member;

describe('operators', () => {
  it('equals / notEquals: strings, numbers, booleans, dates as instants; notEquals holds for a missing value', () => {
    expect(is('gold', { op: 'equals', value: 'gold' })).toBe(true);
    expect(is('Gold', { op: 'equals', value: 'gold' })).toBe(false);
    expect(is(5, { op: 'equals', value: 5 })).toBe(true);
    expect(is('5', { op: 'equals', value: 5 })).toBe(false);
    expect(is(true, { op: 'equals', value: true })).toBe(true);
    expect(is('2026-01-01T00:00:00.000Z', { op: 'equals', value: '2026-01-01T00:00:00Z' })).toBe(true);
    expect(is(undefined, { op: 'equals', value: 'x' })).toBe(false);
    expect(is('a', { op: 'notEquals', value: 'b' })).toBe(true);
    expect(is('b', { op: 'notEquals', value: 'b' })).toBe(false);
    expect(is(undefined, { op: 'notEquals', value: 'b' })).toBe(true);
  });

  it('in / notIn', () => {
    expect(is('pro', { op: 'in', value: ['free', 'pro'] })).toBe(true);
    expect(is('team', { op: 'in', value: ['free', 'pro'] })).toBe(false);
    expect(is(3, { op: 'in', value: [1, 3] })).toBe(true);
    expect(is('team', { op: 'notIn', value: ['free', 'pro'] })).toBe(true);
    expect(is('pro', { op: 'notIn', value: ['free', 'pro'] })).toBe(false);
    expect(is(undefined, { op: 'notIn', value: ['free'] })).toBe(true);
  });

  it('contains: substring of a string, element of a list', () => {
    expect(is('hello@mosaic.dev', { op: 'contains', value: '@mosaic' })).toBe(true);
    expect(is('hello@x.io', { op: 'contains', value: '@mosaic' })).toBe(false);
    expect(is(['a', 'b'], { op: 'contains', value: 'b' })).toBe(true);
    expect(is([1, 2], { op: 'contains', value: 3 })).toBe(false);
    expect(is(12, { op: 'contains', value: 1 })).toBe(false);
  });

  it('startsWith', () => {
    expect(is('+4930123', { op: 'startsWith', value: '+49' })).toBe(true);
    expect(is('+3312', { op: 'startsWith', value: '+49' })).toBe(false);
    expect(is(49, { op: 'startsWith', value: '4' })).toBe(false);
  });

  it('exists / notExists (null counts as missing)', () => {
    expect(is('x', { op: 'exists' })).toBe(true);
    expect(is(0, { op: 'exists' })).toBe(true);
    expect(is(false, { op: 'exists' })).toBe(true);
    expect(is(undefined, { op: 'exists' })).toBe(false);
    expect(is(null, { op: 'exists' })).toBe(false);
    expect(is(undefined, { op: 'notExists' })).toBe(true);
    expect(is('', { op: 'notExists' })).toBe(false);
  });

  it('gt / gte / lt / lte on numbers (numeric strings read as numbers) and on dates', () => {
    expect([is(500, { op: 'gt', value: 500 }), is(500.01, { op: 'gt', value: 500 })]).toEqual([false, true]);
    expect([is(499.99, { op: 'gte', value: 500 }), is(500, { op: 'gte', value: 500 })]).toEqual([false, true]);
    expect([is(10, { op: 'lt', value: 10 }), is(9, { op: 'lt', value: 10 })]).toEqual([false, true]);
    expect([is(11, { op: 'lte', value: 10 }), is(10, { op: 'lte', value: 10 })]).toEqual([false, true]);
    expect(is('600', { op: 'gt', value: 500 })).toBe(true);
    expect(is('lots', { op: 'gt', value: 500 })).toBe(false);
    expect(is(undefined, { op: 'lt', value: 500 })).toBe(false);
    expect(is('2026-02-01T00:00:00Z', { op: 'gt', value: '2026-01-31' })).toBe(true);
    expect(is('2026-01-30T23:59:59Z', { op: 'gte', value: '2026-01-31' })).toBe(false);
    expect(is('not a date', { op: 'lt', value: '2026-01-31' })).toBe(false);
  });

  it('a date-time without a zone is read in UTC, as a date alone is, whatever the server time zone', () => {
    expect(new Date(2026, 0, 31).getTimezoneOffset()).toBe(300); // jest.config.js: tests run in New York time
    expect(is('2026-01-31T00:00:00', { op: 'equals', value: '2026-01-31T00:00:00Z' })).toBe(true);
    expect(is('2026-01-31T00:30', { op: 'equals', value: '2026-01-31' })).toBe(false);
    expect(is('2026-01-31T00:30', { op: 'between', value: ['2026-01-31', '2026-01-31T00:30:00.000Z'] })).toBe(true);
    expect(is('2026-01-30T23:59:59.999', { op: 'lt', value: '2026-01-31' })).toBe(true);
  });

  it('between is inclusive at both ends', () => {
    const c: Comparison = { op: 'between', value: [100, 200] };
    expect([99.99, 100, 150, 200, 200.01].map((x) => is(x, c))).toEqual([false, true, true, true, false]);
    const d: Comparison = { op: 'between', value: ['2026-01-01', '2026-01-31T23:59:59Z'] };
    expect(is('2026-01-15T12:00:00Z', d)).toBe(true);
    expect(is('2026-02-01T00:00:00Z', d)).toBe(false);
  });

  it('withinLastDays: in while now < date + n days, leaves exactly then (nextChangeAt); a future date enters at its time', () => {
    const at = '2026-02-22T00:00:00.000Z';
    const t = Date.parse(at);
    const c: Comparison = { op: 'withinLastDays', value: 7 };
    expect(compare(at, c, t)).toEqual({ member: true, nextChangeAt: t + 7 * DAY });
    expect(compare(at, c, t + 7 * DAY - 1)).toEqual({ member: true, nextChangeAt: t + 7 * DAY });
    expect(compare(at, c, t + 7 * DAY)).toEqual({ member: false });
    expect(compare(at, c, t - 1)).toEqual({ member: false, nextChangeAt: t });
    expect(compare('garbage', c, t).member).toBe(false);
  });

  it('olderThanDays: out until date + n days, in from exactly then', () => {
    const at = '2026-01-01T00:00:00.000Z';
    const t = Date.parse(at);
    const c: Comparison = { op: 'olderThanDays', value: 30 };
    expect(compare(at, c, t + 30 * DAY - 1)).toEqual({ member: false, nextChangeAt: t + 30 * DAY });
    expect(compare(at, c, t + 30 * DAY)).toEqual({ member: true });
    expect(compare(undefined, c, t).member).toBe(false);
  });
});

describe('reading traits and computed attributes', () => {
  const computed = {
    orders: { lifetimeValue: 750, count: 3 },
    priceTier: 'premium',
    categoryAffinity: [
      { category: 'coffee', score: 4.5 },
      { category: 'tea', score: 1 },
    ],
    productsViewed: [{ key: 'sku-1', count: 7, lastAt: '2026-02-01T00:00:00.000Z' }],
  };

  it('dotted paths, list elements by category/key (their score or count), and deeper fields of them', () => {
    expect(readPath(computed, 'orders.lifetimeValue')).toBe(750);
    expect(readPath(computed, 'priceTier')).toBe('premium');
    expect(readPath(computed, 'categoryAffinity.coffee')).toBe(4.5);
    expect(readPath(computed, 'categoryAffinity.juice')).toBeUndefined();
    expect(readPath(computed, 'productsViewed.sku-1')).toBe(7);
    expect(readPath(computed, 'productsViewed.sku-1.lastAt')).toBe('2026-02-01T00:00:00.000Z');
    expect(readPath(computed, 'orders.nope.deeper')).toBeUndefined();
    expect(readPath(computed, 'toString')).toBeUndefined();
  });

  it('traits are read under the name enrichment stores them with ($ and . escaped), or as a nested path', () => {
    const traits = { plan: 'pro', '\uFF04score': 3, 'a\uFF0Eb': 'flat', address: { city: 'Berlin' } };
    expect(readTrait(traits, 'plan')).toBe('pro');
    expect(readTrait(traits, '$score')).toBe(3);
    expect(readTrait(traits, 'a.b')).toBe('flat');
    expect(readTrait(traits, 'address.city')).toBe('Berlin');
    expect(readTrait(traits, 'missing')).toBeUndefined();
  });

  it('trait and attribute conditions in a definition', () => {
    expect(evalProfile(def({ trait: 'plan', op: 'equals', value: 'pro' }), { plan: 'pro' }, {}).member).toBe(true);
    expect(evalProfile(def({ attribute: 'categoryAffinity.coffee', op: 'gte', value: 4 }), {}, computed).member).toBe(true);
    expect(evalProfile(def({ attribute: 'priceTier', op: 'in', value: ['mid', 'bargain'] }), {}, computed).member).toBe(false);
  });
});
