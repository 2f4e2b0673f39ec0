import { computeBackoffMs, sleepWithTicks } from './backoff';

describe('computeBackoffMs', () => {
  const opts = { baseMs: 200, maxMs: 10_000 };

  it('doubles per retry, with the top half of the delay randomised by default', () => {
    expect(computeBackoffMs(1, opts, () => 0)).toBe(100);
    expect(computeBackoffMs(1, opts, () => 0.999999)).toBe(200);
    expect(computeBackoffMs(2, opts, () => 0)).toBe(200);
    expect(computeBackoffMs(3, opts, () => 1)).toBe(800);
    expect(computeBackoffMs(4, opts, () => 0.5)).toBe(1200);
  });

  it('is capped at maxMs', () => {
    expect(computeBackoffMs(20, opts, () => 1)).toBe(10_000);
    expect(computeBackoffMs(5_000, opts, () => 1)).toBe(10_000);
  });

  it('honours the jitter fraction', () => {
    expect(computeBackoffMs(1, { ...opts, jitter: 0 }, () => 0)).toBe(200);
    expect(computeBackoffMs(1, { ...opts, jitter: 1 }, () => 0)).toBe(0);
    expect(computeBackoffMs(1, { ...opts, jitter: 1 }, () => 0.25)).toBe(50);
  });

  it('stays within [d/2, d] for random inputs', () => {
    for (let retry = 1; retry < 12; retry++) {
      const d = Math.min(10_000, 200 * 2 ** (retry - 1));
      for (let i = 0; i < 50; i++) {
        const v = computeBackoffMs(retry, opts);
        expect(v).toBeGreaterThanOrEqual(Math.floor(d / 2));
        expect(v).toBeLessThanOrEqual(d);
      }
    }
  });

  it('returns 0 for nonsensical retry numbers', () => {
    expect(computeBackoffMs(0, opts)).toBe(0);
    expect(computeBackoffMs(-1, opts)).toBe(0);
    expect(computeBackoffMs(Number.NaN, opts)).toBe(0);
  });
});

describe('sleepWithTicks', () => {
  it('ticks while waiting and stops early when told to', async () => {
    let ticks = 0;
    const t0 = Date.now();
    const finished = await sleepWithTicks(120, { tickEveryMs: 20, tick: async () => void ticks++ });
    expect(finished).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    // at least one tick, and never more than one per tickEveryMs (120 / 20); how many between
    // depends on how late the machine runs the timers, so no lower bound above one
    expect(ticks).toBeGreaterThanOrEqual(1);
    expect(ticks).toBeLessThanOrEqual(6);

    let go = true;
    setTimeout(() => (go = false), 30);
    const t1 = Date.now();
    expect(await sleepWithTicks(5_000, { tickEveryMs: 1_000, shouldContinue: () => go })).toBe(false);
    expect(Date.now() - t1).toBeLessThan(5_000); // stopped before the full 5 s sleep
  });
});
