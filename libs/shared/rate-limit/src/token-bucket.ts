/**
 * Token buckets per key (a write key, a client address), in memory: `ratePerSecond` tokens
 * refill continuously up to `burst`; a request takes one, or `cost` (e.g. the events it carries).
 * The map is bounded: when full, the longest-idle buckets go (a forgotten bucket is a full one,
 * so forgetting only ever allows). Shared by the collector's ingestion limits and activation's
 * decision API.
 */
export interface TokenBucketOptions {
  ratePerSecond: number;
  burst: number;
  maxKeys?: number;
  clock?: () => number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly clock: () => number;
  private readonly maxKeys: number;

  constructor(private readonly opts: TokenBucketOptions) {
    if (!(opts.ratePerSecond > 0) || !(opts.burst >= 1)) throw new Error('token bucket: ratePerSecond must be > 0 and burst ≥ 1');
    this.clock = opts.clock ?? Date.now;
    this.maxKeys = opts.maxKeys ?? 100_000;
  }

  /**
   * Takes `cost` tokens (default 1) from the bucket of `key`, or none when it holds fewer. A cost
   * above the burst is charged as the burst (a full bucket), since it could never be paid.
   */
  take(key: string, cost = 1): TakeResult {
    const need = Math.min(Math.max(cost, 0), this.opts.burst);
    const now = this.clock();
    const held = this.buckets.get(key);
    const tokens = held ? Math.min(this.opts.burst, held.tokens + (Math.max(0, now - held.at) / 1000) * this.opts.ratePerSecond) : this.opts.burst;
    if (held)
      this.buckets.delete(key); // re-inserted below: the map's order is least recently used first
    else if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    if (tokens < need) {
      this.buckets.set(key, { tokens, at: now });
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((need - tokens) / this.opts.ratePerSecond)) };
    }
    this.buckets.set(key, { tokens: tokens - need, at: now });
    return { ok: true };
  }

  get size(): number {
    return this.buckets.size;
  }
}
