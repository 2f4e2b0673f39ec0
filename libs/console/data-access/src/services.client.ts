/**
 * The console's HTTP client of the five services: one request, with the admin token, bounded
 * in time; the answer's status, content type, body (bytes, passed on as they are) and
 * Retry-After.
 */
import type { ProxiedService } from '@mosaic/console-domain';

export interface UpstreamRequest {
  service: ProxiedService;
  method: string;
  /** Canonical path (`canonicalPath`), `/v1/...`. */
  path: string;
  /** The query string without `?` ('' for none). */
  query: string;
  /** A parsed JSON body, sent as JSON; undefined for none. */
  body: unknown;
  /** The client's `Idempotency-Key` (identity's split asks for one); no other header of the browser is passed on. */
  idempotencyKey?: string;
}

export interface UpstreamAnswer {
  status: number;
  contentType: string | undefined;
  body: Buffer;
  retryAfter: string | undefined;
}

/** The service could not be reached, or did not answer in time. */
export class UpstreamError extends Error {
  constructor(
    readonly service: ProxiedService,
    /** `failed`: it answered, with an error the console cannot pass on as its own. */
    readonly kind: 'unreachable' | 'timeout' | 'failed',
    message: string,
  ) {
    super(message);
  }
}

export class ServicesClient {
  constructor(
    private readonly baseUrls: Readonly<Record<ProxiedService, string>>,
    private readonly adminToken: string,
    private readonly timeoutMs: number,
  ) {}

  async send(req: UpstreamRequest): Promise<UpstreamAnswer> {
    const url = `${this.baseUrls[req.service]}${req.path}${req.query ? `?${req.query}` : ''}`;
    const hasBody = req.body !== undefined && req.method !== 'GET' && req.method !== 'HEAD';
    let res: Response;
    try {
      res = await fetch(url, {
        method: req.method,
        headers: {
          Authorization: `Bearer ${this.adminToken}`,
          Accept: 'application/json',
          ...(hasBody ? { 'Content-Type': 'application/json' } : {}),
          ...(req.idempotencyKey ? { 'Idempotency-Key': req.idempotencyKey } : {}),
        },
        ...(hasBody ? { body: JSON.stringify(req.body) } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw this.failure(req.service, err);
    }
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, contentType: res.headers.get('content-type') ?? undefined, body, retryAfter: res.headers.get('retry-after') ?? undefined };
  }

  private failure(service: ProxiedService, err: unknown): UpstreamError {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') return new UpstreamError(service, 'timeout', `${service} did not answer within ${this.timeoutMs} ms`);
    const why = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
    return new UpstreamError(service, 'unreachable', `${service} is unreachable at ${this.baseUrls[service]} (${why})`);
  }
}
