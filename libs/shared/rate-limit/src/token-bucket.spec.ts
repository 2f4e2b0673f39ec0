import { TokenBuckets } from './token-bucket';

describe('TokenBuckets', () => {
  const clocked = (opts: { ratePerSecond: number; burst: number; maxKeys?: number }) => {
    let now = 1_000_000;
    const buckets = new TokenBuckets({ ...opts, clock: () => now });
    return { buckets, advance: (ms: number) => (now += ms) };
  };

  it('allows a burst, then refuses with the seconds until the next token', () => {
    const { buckets } = clocked({ ratePerSecond: 2, burst: 3 });
    expect([1, 2, 3].map(() => buckets.take('k').ok)).toEqual([true, true, true]);
    expect(buckets.take('k')).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it('refills at the rate, never above the burst', () => {
    const { buckets, advance } = clocked({ ratePerSecond: 2, burst: 3 });
    for (let i = 0; i < 3; i++) buckets.take('k');
    advance(500);
    expect(buckets.take('k').ok).toBe(true);
    expect(buckets.take('k').ok).toBe(false);
    advance(60_000);
    expect([1, 2, 3, 4].map(() => buckets.take('k').ok)).toEqual([true, true, true, false]);
  });

  it('keeps keys apart', () => {
    const { buckets } = clocked({ ratePerSecond: 1, burst: 1 });
    expect(buckets.take('a').ok).toBe(true);
    expect(buckets.take('a').ok).toBe(false);
    expect(buckets.take('b').ok).toBe(true);
  });

  it('rounds Retry-After up for slow rates', () => {
    const { buckets } = clocked({ ratePerSecond: 0.1, burst: 1 });
    buckets.take('k');
    expect(buckets.take('k')).toEqual({ ok: false, retryAfterSeconds: 10 });
  });

  it('bounds the keys it holds, forgetting the least recently used (a forgotten bucket is full)', () => {
    const { buckets } = clocked({ ratePerSecond: 1, burst: 1, maxKeys: 2 });
    buckets.take('a');
    buckets.take('b');
    buckets.take('a');
    buckets.take('c');
    expect(buckets.size).toBe(2);
    expect(buckets.take('b').ok).toBe(true); // b was forgotten
    expect(buckets.take('c').ok).toBe(false);
  });

  it('charges a cost (the events of a request) and names the wait for what is missing', () => {
    const { buckets, advance } = clocked({ ratePerSecond: 10, burst: 100 });
    expect(buckets.take('k', 60).ok).toBe(true);
    expect(buckets.take('k', 60)).toEqual({ ok: false, retryAfterSeconds: 2 }); // 40 held, 20 missing at 10/s
    expect(buckets.take('k', 40).ok).toBe(true); // a refusal took nothing
    advance(1_000);
    expect(buckets.take('k', 11).ok).toBe(false);
    expect(buckets.take('k', 10).ok).toBe(true);
  });

  it('charges a cost above the burst as a full bucket, so it can be paid', () => {
    const { buckets, advance } = clocked({ ratePerSecond: 1, burst: 5 });
    expect(buckets.take('k', 50).ok).toBe(true);
    expect(buckets.take('k', 50)).toEqual({ ok: false, retryAfterSeconds: 5 });
    advance(5_000);
    expect(buckets.take('k', 50).ok).toBe(true);
  });

  it('refuses a nonsensical configuration', () => {
    expect(() => new TokenBuckets({ ratePerSecond: 0, burst: 1 })).toThrow(/ratePerSecond/);
  });
});
