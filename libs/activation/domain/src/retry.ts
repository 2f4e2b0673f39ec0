/**
 * Retries of deliveries: exponential back-off with full jitter, a bounded number of attempts
 * (then the dead-letter topic), the classification of HTTP outcomes, and `Retry-After`.
 * The clock (`now`, epoch ms) and the randomness (`random`, like `Math.random`) are parameters.
 */

/** Where a delivery attempt leaves the delivery. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'fail';

/** An HTTP status, or an attempt that got no response (`blocked`: refused by the outbound address policy). */
export type AttemptResult = number | 'timeout' | 'network' | 'blocked';

/** The shape of a retry policy. */
export interface RetryPolicyConfig {
  /** Attempts in all, the first included (≥ 1). */
  maxAttempts: number;
  /** The back-off ceiling after the first failed attempt, in ms (> 0). */
  baseMs: number;
  /** The largest delay ever, in ms (≥ baseMs); also caps `Retry-After`. */
  maxMs: number;
}

/** The inputs of `retryDelayMs`. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** A number in [0, 1), like `Math.random`. */
  random: () => number;
}

/** Statuses below 500 that are worth retrying: timeout, conflict, too early, rate limited. */
export const RETRYABLE_STATUSES: readonly number[] = [408, 409, 425, 429];

/**
 * The outcome of one attempt: 2xx is delivered; 408, 409, 425, 429, any 5xx, a timeout or a
 * network error are retried; anything else (other 4xx — 410 Gone included —, 3xx: redirects
 * are not followed, 1xx, a status outside 100–599) is permanent: dead letter at once. So is a
 * destination the outbound address policy refuses (`blocked`): retrying would not change it.
 */
export function classifyResponse(result: AttemptResult): DeliveryOutcome {
  if (result === 'timeout' || result === 'network') return 'retry';
  if (typeof result !== 'number' || !Number.isInteger(result)) return 'fail';
  if (result >= 200 && result <= 299) return 'delivered';
  if (result >= 500 && result <= 599) return 'retry';
  return RETRYABLE_STATUSES.includes(result) ? 'retry' : 'fail';
}

/** The exponential ceiling after `attempt` failed attempts: `min(maxMs, baseMs · 2^(attempt−1))`. */
export function backoffCeilingMs(attempt: number, baseMs: number, maxMs: number): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt) - 1), 1023);
  return Math.min(maxMs, baseMs * 2 ** exponent);
}

function unit(random: () => number): number {
  const r = random();
  return Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0;
}

/**
 * The delay before the next attempt after `attempt` (1-based) failed attempts, "full
 * jitter": uniform in [0, ceiling) with the ceiling of `backoffCeilingMs`, whole ms.
 */
export function retryDelayMs(attempt: number, options: BackoffOptions): number {
  return Math.floor(unit(options.random) * backoffCeilingMs(attempt, options.baseMs, options.maxMs));
}

const DELTA_SECONDS_RE = /^\d+$/;
const ASCTIME_RE = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;

/**
 * An HTTP date (RFC 9110 §5.6.7) in epoch ms: IMF-fixdate or RFC 850 (both end in `GMT`),
 * or asctime (which is GMT by definition). Dates without a zone are never read as local time.
 */
export function parseHttpDate(text: string): number | undefined {
  const value = text.trim();
  let at = Number.NaN;
  if (/^[A-Za-z]{3,9}, .+ GMT$/.test(value)) at = Date.parse(value);
  else if (ASCTIME_RE.test(value)) at = Date.parse(`${value} GMT`);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * A `Retry-After` header as a delay in ms from `now` (epoch ms): delta-seconds (`120`) or an
 * HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`; a date in the past is 0). Anything else is
 * `undefined`.
 */
export function parseRetryAfter(value: string | number | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  const text = value.trim();
  if (DELTA_SECONDS_RE.test(text)) return Number(text) * 1000;
  const at = parseHttpDate(text);
  return at === undefined ? undefined : Math.max(0, at - now);
}

function checkConfig(config: RetryPolicyConfig): void {
  if (!Number.isInteger(config.maxAttempts) || config.maxAttempts < 1) throw new RangeError('maxAttempts must be an integer ≥ 1');
  if (!(config.baseMs > 0) || !Number.isFinite(config.baseMs)) throw new RangeError('baseMs must be a positive number');
  if (!(config.maxMs >= config.baseMs) || !Number.isFinite(config.maxMs)) throw new RangeError('maxMs must be a number ≥ baseMs');
}

/** When to try again, or that the attempts are exhausted. */
export class RetryPolicy implements RetryPolicyConfig {
  readonly maxAttempts: number;
  readonly baseMs: number;
  readonly maxMs: number;

  /** Throws a RangeError on a policy that cannot work (no attempts, non-positive delays, maxMs < baseMs). */
  constructor(config: RetryPolicyConfig) {
    checkConfig(config);
    this.maxAttempts = config.maxAttempts;
    this.baseMs = config.baseMs;
    this.maxMs = config.maxMs;
  }

  /**
   * The time (epoch ms) of the next attempt after `attempt` (1-based) attempts failed at
   * `now`, or `undefined` when `attempt ≥ maxAttempts` (dead letter). A parseable
   * `retryAfter` (header value) replaces the jittered back-off, capped at `maxMs`.
   */
  nextAttemptAt(attempt: number, now: number, random: () => number, retryAfter?: string | number): number | undefined {
    if (attempt >= this.maxAttempts) return undefined;
    const requested = parseRetryAfter(retryAfter, now);
    const delay = requested !== undefined ? Math.min(requested, this.maxMs) : retryDelayMs(attempt, { baseMs: this.baseMs, maxMs: this.maxMs, random });
    return now + delay;
  }
}

/**
 * The default webhook policy: 10 attempts; the back-off ceiling starts at 5 s and doubles
 * (capped at 1 hour), so the 9 waits add up to at most 2555 s (about 43 min; half on average).
 */
export const DEFAULT_RETRY_POLICY = new RetryPolicy({ maxAttempts: 10, baseMs: 5_000, maxMs: 3_600_000 });
