/**
 * Brute-force protection of the console's sign-in, as Grafana does it: after `maxFailures` wrong
 * passwords for one username within `windowMs`, that username's sign-in is refused until the
 * oldest of those failures leaves the window; a successful sign-in clears its failures. Per
 * username, not per address: behind a proxy every request comes from the proxy's address. Kept
 * in memory by each console instance (n instances allow n × `maxFailures`).
 *
 * Attempts still being checked count toward the limit (`begin` reserves one): the password check
 * takes tens of milliseconds, and without that, a burst of concurrent guesses would all be
 * checked before the first failure was recorded.
 *
 * At most `maxKeys` usernames are held; beyond, entries with nothing left in the window go first,
 * then the longest idle. Flushing an active username out would take `maxKeys` failed attempts
 * within the window — 100,000 by default, beyond what the password hash lets a console check in
 * five minutes.
 */
export interface SignInThrottleOptions {
  maxFailures: number;
  windowMs: number;
  maxKeys?: number;
}

/** The key of a sign-in attempt: usernames are lower case, so any case names the same user. */
export const signInThrottleKey = (username: string): string => username.trim().toLowerCase().slice(0, 256);

/** How long a username whose limit is taken by attempts still being checked waits: they end within this. */
const PENDING_WAIT_MS = 1_000;

interface Attempts {
  failures: number[];
  pending: number;
}

export class SignInThrottle {
  private readonly attempts = new Map<string, Attempts>();
  private readonly maxKeys: number;

  constructor(private readonly opts: SignInThrottleOptions) {
    this.maxKeys = opts.maxKeys ?? 100_000;
  }

  /**
   * Starts an attempt of `key`: 0 when it may try now (the attempt then counts until `failed`,
   * `succeeded` or `abandoned`), else how long it must wait (ms).
   */
  begin(key: string, now: number): number {
    const a = this.current(key, now);
    if (a.failures.length + a.pending >= this.opts.maxFailures) return this.waitMs(a, now);
    this.keep(key, { failures: a.failures, pending: a.pending + 1 }, now);
    return 0;
  }

  /** The attempt's password was wrong. */
  failed(key: string, now: number): void {
    const a = this.current(key, now);
    this.keep(key, { failures: [...a.failures, now].slice(-this.opts.maxFailures), pending: Math.max(0, a.pending - 1) }, now);
  }

  succeeded(key: string): void {
    this.attempts.delete(key);
  }

  /** The attempt ended without a verdict (an error while checking it). */
  abandoned(key: string, now: number): void {
    const a = this.current(key, now);
    this.keep(key, { failures: a.failures, pending: Math.max(0, a.pending - 1) }, now);
  }

  private waitMs(a: Attempts, now: number): number {
    if (a.failures.length < this.opts.maxFailures) return PENDING_WAIT_MS;
    return (a.failures[a.failures.length - this.opts.maxFailures] as number) + this.opts.windowMs - now;
  }

  private current(key: string, now: number): Attempts {
    const a = this.attempts.get(key);
    return { failures: (a?.failures ?? []).filter((t) => t > now - this.opts.windowMs), pending: a?.pending ?? 0 };
  }

  private keep(key: string, a: Attempts, now: number): void {
    this.attempts.delete(key); // re-inserted last: the Map's order is the order of the latest attempt
    if (a.failures.length === 0 && a.pending === 0) return;
    this.attempts.set(key, a);
    if (this.attempts.size > this.maxKeys) this.evict(now);
  }

  /**
   * Beyond `maxKeys`: entries with nothing left in the window first — they are at the front, the
   * Map being in the order of the latest attempt —, else the longest idle.
   */
  private evict(now: number): void {
    for (const [key, a] of this.attempts) {
      if (a.pending > 0 || a.failures.some((t) => t > now - this.opts.windowMs)) break;
      this.attempts.delete(key);
    }
    if (this.attempts.size > this.maxKeys) this.attempts.delete(this.attempts.keys().next().value as string);
  }
}
