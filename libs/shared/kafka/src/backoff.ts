/** Retry back-off: exponential with jitter, and retries of transient failures; pure (clock and sleep injectable) so it can be unit-tested. */
import { classifyFailure } from './failure-kind';

export interface BackoffOptions {
  /** Delay before the first retry, in ms (config `KAFKA_CONSUMER_RETRY_BACKOFF_MS`). */
  baseMs: number;
  /** Upper bound of any single delay, in ms. */
  maxMs: number;
  /** Fraction of the delay that is randomised (0 = none, 1 = "full jitter"); default 0.5. */
  jitter?: number;
}

/**
 * Delay before retry number `retry` (1 = first retry): `baseMs * 2^(retry-1)`, capped at
 * `maxMs`, of which the `jitter` fraction is random — so with the default jitter 0.5 the delay
 * lies in `[d/2, d]`. `random` returns a number in `[0, 1)` (injectable for tests).
 */
export function computeBackoffMs(retry: number, opts: BackoffOptions, random: () => number = Math.random): number {
  if (!Number.isFinite(retry) || retry < 1) return 0;
  const jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
  const base = Math.max(0, opts.baseMs);
  const max = Math.max(0, opts.maxMs);
  // 2^(retry-1) overflows to Infinity for huge retry numbers; min() keeps that finite.
  const exp = Math.min(max, base * Math.pow(2, Math.min(retry - 1, 1024)));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(exp * (1 - jitter) + exp * jitter * r);
}

/**
 * Waits `ms`, calling `tick` at most every `tickEveryMs` (used to heartbeat the consumer group
 * while waiting) and returning early (`false`) as soon as `shouldContinue` says so.
 */
export async function sleepWithTicks(ms: number, opts: { tickEveryMs: number; tick?: () => Promise<void>; shouldContinue?: () => boolean }): Promise<boolean> {
  const until = Date.now() + ms;
  const step = Math.max(10, Math.min(opts.tickEveryMs, 250));
  let lastTick = Date.now();
  while (Date.now() < until) {
    if (opts.shouldContinue && !opts.shouldContinue()) return false;
    await new Promise((r) => setTimeout(r, Math.min(step, Math.max(0, until - Date.now()))));
    if (opts.tick && Date.now() - lastTick >= opts.tickEveryMs) {
      lastTick = Date.now();
      await opts.tick();
    }
  }
  return !opts.shouldContinue || opts.shouldContinue();
}

export interface RetryTransientOptions {
  /** How long failures may be retried from the first attempt, in ms; past it the last failure is thrown. */
  withinMs: number;
  /** Back-off between attempts (default 200 ms doubling to 5 s). */
  backoff?: BackoffOptions;
  /** Which failures are retried; default: what `classifyFailure` calls transient. */
  isTransient?: (err: unknown) => boolean;
  /** Told of each failure that will be retried, with the delay before the next attempt. */
  onRetry?: (err: unknown, delayMs: number) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `attempt` until it resolves, retrying transient failures (by default what
 * `classifyFailure` calls transient: a broker still electing a partition's leader, a request that
 * timed out under load) with growing delays for up to `withinMs`; any other failure, or one past
 * that time, is thrown as it is.
 */
export async function retryTransient<T>(attempt: () => Promise<T>, opts: RetryTransientOptions): Promise<T> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const isTransient = opts.isTransient ?? ((err: unknown) => classifyFailure(err) === 'transient');
  const deadline = now() + opts.withinMs;
  for (let retry = 1; ; retry += 1) {
    try {
      return await attempt();
    } catch (err) {
      const delayMs = computeBackoffMs(retry, opts.backoff ?? { baseMs: 200, maxMs: 5_000 });
      if (!isTransient(err) || now() + delayMs > deadline) throw err;
      opts.onRetry?.(err, delayMs);
      await sleep(delayMs);
    }
  }
}
