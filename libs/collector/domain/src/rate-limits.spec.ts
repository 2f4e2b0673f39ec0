import { messageCount } from './ingest-body';
import { MAX_BATCH_ITEMS } from './limits';
import { IngestRateLimits, type IngestRateLimitOptions } from './rate-limits';

const limits = (over: Partial<IngestRateLimitOptions> = {}) => {
  let now = 1_000_000;
  const l = new IngestRateLimits({
    perAddress: { ratePerSecond: 2, burst: 3 },
    perKey: { ratePerSecond: 100, burst: 2_500 },
    clock: () => now,
    ...over,
  });
  return { l, advance: (ms: number) => (now += ms) };
};

describe('IngestRateLimits', () => {
  it('counts requests per client address and names the limit with the wait', () => {
    const { l, advance } = limits();
    expect([1, 2, 3].map(() => l.request('203.0.113.7'))).toEqual([undefined, undefined, undefined]);
    expect(l.request('203.0.113.7')).toEqual({ limit: 'client_address', retryAfterSeconds: 1, setting: { ratePerSecond: 2, burst: 3 } });
    expect(l.request('203.0.113.8')).toBeUndefined();
    advance(500);
    expect(l.request('203.0.113.7')).toBeUndefined();
  });

  it("counts a source's events, a batch's items at once", () => {
    const { l, advance } = limits();
    expect(l.events('src_1', 2_500)).toBeUndefined();
    expect(l.events('src_1', 1)).toEqual({ limit: 'write_key', retryAfterSeconds: 1, setting: { ratePerSecond: 100, burst: 2_500 } });
    expect(l.events('src_2', 2_500)).toBeUndefined();
    advance(10_000);
    expect(l.events('src_1', 1_001)).toMatchObject({ retryAfterSeconds: 1 });
    expect(l.events('src_1', 1_000)).toBeUndefined();
  });

  it('a rate of 0 turns a limit off', () => {
    const { l } = limits({ perAddress: { ratePerSecond: 0, burst: 1 }, perKey: { ratePerSecond: 0, burst: 1 } });
    for (let i = 0; i < 10_000; i++) expect(l.request('a') ?? l.events('k', 2_500)).toBeUndefined();
  });

  it('does not limit a request without a known address', () => {
    const { l } = limits({ perAddress: { ratePerSecond: 1, burst: 1 } });
    expect([l.request(undefined), l.request(undefined), l.request('')]).toEqual([undefined, undefined, undefined]);
  });
});

describe('messageCount (what the per-key limit charges)', () => {
  it("is a batch's items, at most MAX_BATCH_ITEMS, else 1", () => {
    expect(messageCount({ batch: [{}, {}, {}] }, 'batch')).toBe(3);
    expect(messageCount({ batch: Array.from({ length: 170_000 }, () => ({})) }, 'batch')).toBe(MAX_BATCH_ITEMS);
    expect([messageCount({ batch: [] }, 'batch'), messageCount({ batch: {} }, 'batch'), messageCount('x', 'batch')]).toEqual([1, 1, 1]);
    expect(messageCount({ batch: [{}, {}] }, 'track')).toBe(1);
  });
});
