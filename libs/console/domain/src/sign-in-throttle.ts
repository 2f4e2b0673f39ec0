/**
 * Brute-force protection of the console's sign-in, as Grafana does it: after `maxFailures` wrong
 * passwords for one username within `windowMs`, that username's sign-in is refused until the
 * oldest of those failures leaves the window; a successful sign-in clears its failures. Per
 * username, not per address: behind a proxy every request comes from the proxy's address. Kept
 * in memory by each console instance (n instances allow n × `maxFailures`), at most `maxKeys`
 * usernames (the oldest forgotten first).
 */
export interface SignInThrottleOptions {
  maxFailures: number;
  windowMs: number;
  maxKeys?: number;
}

/** The key of a sign-in attempt: usernames are lower case, so any case names the same user. */
export const signInThrottleKey = (username: string): string => username.trim().toLowerCase().slice(0, 256);

export class SignInThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly maxKeys: number;

  constructor(private readonly opts: SignInThrottleOptions) {
    this.maxKeys = opts.maxKeys ?? 10_000;
  }

  /** How long `key` must wait before it may try again (ms); 0 when it may try now. */
  retryAfterMs(key: string, now: number): number {
    const times = this.recent(key, now);
    if (times.length < this.opts.maxFailures) return 0;
    return (times[0] as number) + this.opts.windowMs - now;
  }

  recordFailure(key: string, now: number): void {
    const times = [...this.recent(key, now), now].slice(-this.opts.maxFailures);
    this.failures.delete(key); // re-inserted last: the Map's order is the order of the latest failure
    this.failures.set(key, times);
    if (this.failures.size > this.maxKeys) this.failures.delete(this.failures.keys().next().value as string);
  }

  recordSuccess(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > now - this.opts.windowMs);
  }
}
