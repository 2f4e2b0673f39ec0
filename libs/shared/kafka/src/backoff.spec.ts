import { computeBackoffMs, retryTransient, sleepWithTicks } from './backoff';

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

describe('retryTransient', () => {
  /** What kafkajs throws when a broker answers "not the leader" (retriable). */
  const notLeader = () =>
    Object.assign(new Error('This server is not the leader for that topic-partition'), {
      name: 'KafkaJSProtocolError',
      type: 'NOT_LEADER_FOR_PARTITION',
      retriable: true,
    });
  const clock = () => {
    const c = { ms: 0, slept: [] as number[] };
    return { c, now: () => c.ms, sleep: async (ms: number) => void (c.slept.push(ms), (c.ms += ms)) };
  };

  it('retries a transient failure until the attempt succeeds, waiting longer each time', async () => {
    const { c, now, sleep } = clock();
    let calls = 0;
    const retried: unknown[] = [];
    const result = await retryTransient(
      async () => {
        calls += 1;
        if (calls < 4) throw notLeader();
        return 'offsets';
      },
      { withinMs: 60_000, backoff: { baseMs: 100, maxMs: 1_000, jitter: 0 }, now, sleep, onRetry: (err) => retried.push(err) },
    );
    expect(result).toBe('offsets');
    expect(c.slept).toEqual([100, 200, 400]);
    expect(retried).toHaveLength(3);
  });

  it('throws at once what is not transient', async () => {
    const { c, now, sleep } = clock();
    const wrong = new TypeError('a bug');
    await expect(retryTransient(() => Promise.reject(wrong), { withinMs: 60_000, now, sleep })).rejects.toBe(wrong);
    expect(c.slept).toEqual([]);
  });

  it('throws the last transient failure once the next wait would pass withinMs', async () => {
    const { c, now, sleep } = clock();
    const last = notLeader();
    let calls = 0;
    const attempt = () => {
      calls += 1;
      return Promise.reject(calls === 4 ? last : notLeader());
    };
    await expect(retryTransient(attempt, { withinMs: 1_000, backoff: { baseMs: 100, maxMs: 1_000, jitter: 0 }, now, sleep })).rejects.toBe(last);
    expect(c.slept).toEqual([100, 200, 400]); // the fourth failure would wait 800 ms more: past 1,000
    expect(calls).toBe(4);
  });

  it("retries what the caller's isTransient accepts, and throws at once what it refuses", async () => {
    const { c, now, sleep } = clock();
    const refused = notLeader();
    let calls = 0;
    const attempt = () => {
      calls += 1;
      return Promise.reject(calls === 1 ? new Error('slow controller') : refused);
    };
    const isTransient = (err: unknown) => (err as Error).message === 'slow controller';
    await expect(retryTransient(attempt, { withinMs: 60_000, backoff: { baseMs: 100, maxMs: 1_000, jitter: 0 }, isTransient, now, sleep })).rejects.toBe(
      refused,
    );
    expect(c.slept).toEqual([100]);
    expect(calls).toBe(2);
  });
});
