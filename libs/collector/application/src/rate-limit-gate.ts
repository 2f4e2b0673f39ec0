import type { IngestRateLimits, RateLimited } from '@mosaic/collector-domain';
import type { Counter } from '@mosaic/shared-logging';
import { ApiError } from '@mosaic/shared-service';

/**
 * The ingestion routes' rate limits (the domain's IngestRateLimits) as HTTP answers: 429
 * `rate_limited` with `Retry-After`, the message and `details.limit` naming the limit passed
 * (`client_address` or `write_key`), counted by route and limit.
 */
export class RateLimitGate {
  constructor(
    private readonly limits: IngestRateLimits,
    private readonly refused?: Counter<'route' | 'limit'>,
  ) {}

  /** One request from the client address `address` (before its body is read). */
  admitRequest(route: string, address: string | undefined): void {
    const limited = this.limits.request(address);
    if (limited) this.refuse(route, limited, `too many requests from client address ${address}`, 'requests a second per client address');
  }

  /** `count` events of the source of a write key. */
  admitEvents(route: string, sourceId: string, count: number): void {
    const limited = this.limits.events(sourceId, count);
    if (limited) this.refuse(route, limited, `too many events with this write key (${count} in this request)`, 'events a second per write key');
  }

  private refuse(route: string, limited: RateLimited, what: string, unit: string): never {
    this.refused?.inc({ route, limit: limited.limit });
    const { ratePerSecond, burst } = limited.setting;
    const message = `${what}: the limit is ${ratePerSecond} ${unit} (at most ${burst} at once); retry after ${limited.retryAfterSeconds} s`;
    throw new ApiError(429, 'rate_limited', message, { limit: limited.limit, ratePerSecond, burst }, { 'Retry-After': String(limited.retryAfterSeconds) });
  }
}
