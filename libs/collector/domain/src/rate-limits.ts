/**
 * Rate limits of the public ingestion API (DESIGN §12: per key and client address), token
 * buckets in memory per instance:
 * - per client address, requests a second (every write-key ingestion request: `/v1/track` …
 *   `/v1/batch`, the tracker's short paths, `/v1/import`), checked before the body is read;
 * - per write key (its source), events a second: the messages a body carries (a batch's items),
 *   charged before they are validated. Imports are not charged: a backfill must not throttle
 *   the site's live events.
 * A rate of 0 turns a limit off. The client address is Fastify's `request.ip`, which honours
 * `X-Forwarded-For` only from proxies trusted by `COLLECTOR_TRUST_PROXY` (as `context.ip`).
 */
import { TokenBuckets } from '@mosaic/shared-rate-limit';

export interface RateLimitSetting {
  /** Tokens a second; 0 = no limit. */
  ratePerSecond: number;
  /** Tokens held at most (what may come at once). */
  burst: number;
}

export type RateLimitName = 'client_address' | 'write_key';

/** A request over a limit: which one, and when to come back. */
export interface RateLimited {
  limit: RateLimitName;
  retryAfterSeconds: number;
  setting: RateLimitSetting;
}

export interface IngestRateLimitOptions {
  perAddress: RateLimitSetting;
  perKey: RateLimitSetting;
  clock?: () => number;
}

/** Buckets held per instance at most; the longest idle are forgotten first (which only ever allows). */
const MAX_ADDRESSES = 200_000;
const MAX_KEYS = 100_000;

export class IngestRateLimits {
  private readonly perAddress?: TokenBuckets;
  private readonly perKey?: TokenBuckets;

  constructor(private readonly opts: IngestRateLimitOptions) {
    const { perAddress, perKey, clock } = opts;
    if (perAddress.ratePerSecond > 0) this.perAddress = new TokenBuckets({ ...perAddress, maxKeys: MAX_ADDRESSES, ...(clock ? { clock } : {}) });
    if (perKey.ratePerSecond > 0) this.perKey = new TokenBuckets({ ...perKey, maxKeys: MAX_KEYS, ...(clock ? { clock } : {}) });
  }

  /** One request from `address`; undefined when it may go on. */
  request(address: string | undefined): RateLimited | undefined {
    if (!this.perAddress || address === undefined || address === '') return undefined;
    const taken = this.perAddress.take(address);
    return taken.ok ? undefined : { limit: 'client_address', retryAfterSeconds: taken.retryAfterSeconds, setting: this.opts.perAddress };
  }

  /** `count` events of the source `sourceId`; undefined when they may go on. */
  events(sourceId: string, count: number): RateLimited | undefined {
    if (!this.perKey) return undefined;
    const taken = this.perKey.take(sourceId, count);
    return taken.ok ? undefined : { limit: 'write_key', retryAfterSeconds: taken.retryAfterSeconds, setting: this.opts.perKey };
  }
}
