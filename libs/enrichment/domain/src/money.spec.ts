import { MAX_MONEY, roundMoney } from './collections';
import { applyEvent } from './apply';
import { enrichmentConfig } from './config';

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
