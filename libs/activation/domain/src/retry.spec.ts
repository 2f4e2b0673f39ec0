import { backoffCeilingMs, classifyResponse, DEFAULT_RETRY_POLICY, parseHttpDate, parseRetryAfter, retryDelayMs, RetryPolicy } from './retry';

const fixed = (r: number) => () => r;
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('classifyResponse', () => {
  it.each([200, 201, 204, 299])('%s is delivered', (s) => expect(classifyResponse(s)).toBe('delivered'));
  it.each([408, 409, 425, 429, 500, 502, 503, 504, 599, 'timeout', 'network'] as const)('%s is retried', (s) => expect(classifyResponse(s)).toBe('retry'));
  it.each([400, 401, 403, 404, 410, 413, 422, 301, 302, 304, 100, 199, 600, 0, 200.5, 'blocked'] as const)('%s is a permanent failure', (s) =>
    expect(classifyResponse(s)).toBe('fail'),
  );
});

describe('retryDelayMs (full jitter)', () => {
  const options = { baseMs: 1000, maxMs: 60_000 };

  it('doubles the ceiling per attempt up to maxMs', () => {
    expect([1, 2, 3, 4, 6, 7, 8, 50, 5000].map((a) => backoffCeilingMs(a, 1000, 60_000))).toEqual([
      1000, 2000, 4000, 8000, 32_000, 60_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('draws uniformly below the ceiling', () => {
    expect(retryDelayMs(3, { ...options, random: fixed(0) })).toBe(0);
    expect(retryDelayMs(3, { ...options, random: fixed(0.5) })).toBe(2000);
    expect(retryDelayMs(3, { ...options, random: fixed(0.999999) })).toBe(3999);
    expect(retryDelayMs(30, { ...options, random: fixed(0.25) })).toBe(15_000);
  });

  it('never leaves [0, ceiling) whatever random returns', () => {
    for (const r of [-1, 1, 2, Number.NaN, Number.POSITIVE_INFINITY]) {
      const d = retryDelayMs(2, { ...options, random: fixed(r) });
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(2000);
    }
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter(1.5, NOW)).toBe(1500);
  });

  it('reads HTTP dates relative to now (a past date is 0)', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Thursday, 01-Jan-26 12:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Thu Jan  1 12:00:05 2026', NOW)).toBe(5_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', NOW)).toBe(0);
  });

  it.each([[undefined], ['-1'], ['1.5'], ['soon'], [''], ['2026-01-01'], ['Thu, 01 Jan 2026 12:00:30'], [-5]])('ignores %p', (v) => {
    expect(parseRetryAfter(v, NOW)).toBeUndefined();
  });

  it('never reads a zone-less date as local time', () => {
    expect(parseHttpDate('Thu Jan  1 12:00:05 2026')).toBe(Date.UTC(2026, 0, 1, 12, 0, 5));
    expect(parseHttpDate('Thu, 01 Jan 2026 12:00:05')).toBeUndefined();
  });
});

describe('RetryPolicy', () => {
  const policy = new RetryPolicy({ maxAttempts: 3, baseMs: 1000, maxMs: 10_000 });

  it('schedules with jittered back-off until the attempts are exhausted', () => {
    expect(policy.nextAttemptAt(1, NOW, fixed(0.5))).toBe(NOW + 500);
    expect(policy.nextAttemptAt(2, NOW, fixed(0.5))).toBe(NOW + 1000);
    expect(policy.nextAttemptAt(3, NOW, fixed(0.5))).toBeUndefined();
    expect(policy.nextAttemptAt(4, NOW, fixed(0.5))).toBeUndefined();
  });

  it('honours Retry-After instead of the back-off, capped at maxMs', () => {
    expect(policy.nextAttemptAt(1, NOW, fixed(0.5), '7')).toBe(NOW + 7000);
    expect(policy.nextAttemptAt(1, NOW, fixed(0.5), '3600')).toBe(NOW + 10_000);
    expect(policy.nextAttemptAt(1, NOW, fixed(0.5), 'Thu, 01 Jan 2026 12:00:02 GMT')).toBe(NOW + 2000);
    expect(policy.nextAttemptAt(1, NOW, fixed(0.5), 'garbage')).toBe(NOW + 500);
    expect(policy.nextAttemptAt(3, NOW, fixed(0.5), '1')).toBeUndefined();
  });

  it('rejects policies that cannot work', () => {
    expect(() => new RetryPolicy({ maxAttempts: 0, baseMs: 1, maxMs: 1 })).toThrow(/maxAttempts/);
    expect(() => new RetryPolicy({ maxAttempts: 1.5, baseMs: 1, maxMs: 1 })).toThrow(/maxAttempts/);
    expect(() => new RetryPolicy({ maxAttempts: 1, baseMs: 0, maxMs: 1 })).toThrow(/baseMs/);
    expect(() => new RetryPolicy({ maxAttempts: 1, baseMs: 10, maxMs: 5 })).toThrow(/maxMs/);
    expect(() => new RetryPolicy({ maxAttempts: 1, baseMs: 10, maxMs: Number.NaN })).toThrow(/maxMs/);
  });

  it('has a default whose waits add up to at most 2555 s', () => {
    let total = 0;
    for (let attempt = 1; attempt < DEFAULT_RETRY_POLICY.maxAttempts; attempt++)
      total += (DEFAULT_RETRY_POLICY.nextAttemptAt(attempt, 0, fixed(1 - 1e-12)) ?? Number.NaN) + 1;
    expect(total).toBe(2_555_000);
    expect(DEFAULT_RETRY_POLICY.nextAttemptAt(DEFAULT_RETRY_POLICY.maxAttempts, 0, fixed(0))).toBeUndefined();
  });
});
