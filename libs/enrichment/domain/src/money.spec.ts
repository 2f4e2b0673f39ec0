import { MAX_MONEY, roundMoney } from './collections';
import { applyEvent } from './apply';
import { enrichmentConfig } from './config';
import type { ProfileState } from './state';
import { CTX, applyAll, track } from './test-events';
import { NUMBER_LIMITS, boundedNum } from './util';

/** Every number held anywhere in `v` that JSON cannot carry (Infinity, NaN). */
function nonFinite(v: unknown): unknown[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [] : [v];
  if (v && typeof v === 'object') return Object.values(v).flatMap(nonFinite);
  return [];
}

describe('roundMoney', () => {
  it('rounds to 4 decimals', () => {
    expect(roundMoney(12.345678)).toBe(12.3457);
    expect(roundMoney(-0.00004)).toBe(-0);
  });

  it('caps amounts so that sums of accepted numbers never overflow to Infinity', () => {
    expect(roundMoney(Number.MAX_VALUE)).toBe(MAX_MONEY);
    expect(roundMoney(1e305)).toBe(MAX_MONEY);
    expect(roundMoney(-Number.MAX_VALUE)).toBe(-MAX_MONEY);
    expect(roundMoney(Infinity)).toBe(MAX_MONEY);
    expect(roundMoney(NaN)).toBe(0);
    expect(Number.isFinite(roundMoney(roundMoney(Number.MAX_VALUE) + roundMoney(Number.MAX_VALUE)))).toBe(true);
  });
});

describe('orders with huge totals', () => {
  it('keep every money figure of the profile finite', () => {
    const config = enrichmentConfig();
    let state = undefined as Parameters<typeof applyEvent>[0];
    for (let i = 0; i < 3; i += 1) {
      const event = {
        type: 'track',
        event: 'Order Completed',
        messageId: `m${i}`,
        timestamp: '2026-12-01T10:00:00.000Z',
        properties: { total: Number.MAX_VALUE, products: [{ product_id: 'p', price: Number.MAX_VALUE, quantity: 2 }] },
      };
      state = applyEvent(state, { kind: 'event', profileId: 'p1', identifiers: [], event } as unknown as Parameters<typeof applyEvent>[1], {
        now: '2026-12-01T10:00:01.000Z',
        config,
      }).state;
    }
    const numbers: number[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'number') numbers.push(v);
      else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
    };
    walk(state);
    expect(numbers.length).toBeGreaterThan(0);
    expect(numbers.filter((n) => !Number.isFinite(n))).toEqual([]);
  });
});

describe('numbers of events are clamped before arithmetic', () => {
  it('boundedNum: numbers and numeric strings within ±max, anything else undefined', () => {
    expect(boundedNum(1e308, 10)).toBe(10);
    expect(boundedNum('-1e308', 10)).toBe(-10);
    expect(boundedNum(3.5, 10)).toBe(3.5);
    expect(boundedNum('x', 10)).toBeUndefined();
    expect(boundedNum(Infinity, 10)).toBeUndefined();
  });

  it('a huge quantity added twice: the cart item holds at most the quantity limit, every figure finite', () => {
    const add = (i: number) => track('Product Added', { product_id: 'p', price: 1e308, quantity: 1e308 }, `2026-01-01T10:0${i}:00.000Z`);
    const s: ProfileState = applyAll([add(0), add(1)]);
    const item = s.computed.cart.items[0]!;
    expect(item.quantity).toBe(NUMBER_LIMITS.quantity);
    expect(item.price).toBe(NUMBER_LIMITS.amount);
    expect(s.computed.cart.itemCount).toBe(NUMBER_LIMITS.quantity);
    expect(nonFinite(s)).toEqual([]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    // a refund and an order of such sizes too
    const after = applyAll(
      [track('Order Completed', { order_id: 'o', products: [{ product_id: 'p', price: 1e308, quantity: 1e308 }] }), track('Order Refunded', { total: 1e308 })],
      CTX,
      s,
    );
    expect(after.computed.orders).toMatchObject({ revenue: NUMBER_LIMITS.amount, refunds: NUMBER_LIMITS.amount, lifetimeValue: 0 });
    expect(nonFinite(after)).toEqual([]);
  });
});
