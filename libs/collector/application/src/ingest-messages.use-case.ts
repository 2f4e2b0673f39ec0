import { randomUUID } from 'node:crypto';
import {
  CollectorInputError,
  batchResponseStatus,
  checkContentType,
  extractWriteKey,
  messageCount,
  parseIngestBody,
  toInputError,
  validateIngestBody,
  type IngestBodyResult,
  type IngestRoute,
  type Ingestor,
  type RejectedItem,
  type ValidationIssue,
} from '@mosaic/collector-domain';
import type { WriteKeyCache } from '@mosaic/collector-data-access';
import { ProducerUnavailableError } from '@mosaic/shared-kafka';
import type { Counter } from '@mosaic/shared-logging';
import { ApiError } from '@mosaic/shared-service';
import type { RateLimitGate } from './rate-limit-gate';

/** What the tracking endpoints take from an HTTP request. */
export interface IngestRequest {
  route: IngestRoute;
  /** The raw body (the collector parses bodies itself). */
  body: Buffer;
  contentType?: string;
  authorization?: string;
  ip?: string;
  userAgent?: string;
}

export interface IngestResponse {
  success: true;
  accepted: number;
  duplicates: number;
  /** The first rejected messages (at most MAX_LISTED_REJECTIONS, see the domain's refusals.ts). */
  rejected?: RejectedItem[];
  /** Every rejected message, listed or not (present with `rejected`). */
  rejectedCount?: number;
}

function inputError(e: CollectorInputError): ApiError {
  return new ApiError(e.status, e.code, e.message, e.path === undefined ? undefined : { path: e.path });
}

/** Runs domain code, answering its CollectorInputError as the HTTP error it names. */
function withInputErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CollectorInputError) throw inputError(err);
    throw err;
  }
}

function parseRequest(req: IngestRequest): unknown {
  const ctErr = checkContentType(req.contentType);
  if (ctErr) throw inputError(ctErr);
  return withInputErrors(() => parseIngestBody(req.body, req.route));
}

/** A single message that is refused, or a batch whose every item is, is a 4xx (see batch.ts). */
function refuseIfNothingAccepted(route: IngestRoute, result: IngestBodyResult): void {
  if (route === 'batch') {
    if (batchResponseStatus(result) === 400) {
      const { rejected, rejectedCount } = result;
      throw new ApiError(400, 'invalid_batch', `all ${rejectedCount} messages of the batch were rejected`, { rejected, rejectedCount });
    }
    return;
  }
  const errors = result.rejected[0]?.errors;
  if (!errors?.length) return;
  const e = toInputError(errors[0] as ValidationIssue);
  throw new ApiError(e.status, e.code, e.message, { path: e.path, errors });
}

/**
 * The Segment tracking endpoints (`/v1/track` … `/v1/batch`): parse, authenticate by write key,
 * validate, ingest; outcomes become Segment-style answers. Answers 200 only once Kafka
 * acknowledged every accepted event.
 */
export class IngestMessages {
  constructor(
    private readonly ingestor: Ingestor,
    private readonly writeKeys: WriteKeyCache,
    private readonly events: Counter<'route' | 'outcome'>,
    private readonly ackTimeoutMs: number,
    private readonly rateLimits: RateLimitGate,
  ) {}

  async execute(req: IngestRequest): Promise<IngestResponse> {
    const { route } = req;
    const receivedAt = new Date();
    this.rateLimits.admitRequest(route, req.ip);
    const body = parseRequest(req);
    const sourceId = await this.authenticate(req.authorization, body);
    this.rateLimits.admitEvents(route, sourceId, messageCount(body, route));
    const opts = { sourceId, receivedAt, idGenerator: randomUUID, request: { ip: req.ip, userAgent: req.userAgent } };
    const result = withInputErrors(() => validateIngestBody(body, route, opts));
    if (result.rejectedCount) this.events.inc({ route, outcome: 'rejected' }, result.rejectedCount);
    refuseIfNothingAccepted(route, result);
    const outcome = await this.store(result);
    this.events.inc({ route, outcome: 'accepted' }, outcome.published);
    if (outcome.duplicates) this.events.inc({ route, outcome: 'duplicate' }, outcome.duplicates);
    const refused = result.rejectedCount ? { rejected: result.rejected, rejectedCount: result.rejectedCount } : {};
    return { success: true, accepted: outcome.published, duplicates: outcome.duplicates, ...refused };
  }

  /** The source of the write key (HTTP Basic user name or `writeKey` in the body). */
  private async authenticate(authorization: string | undefined, body: unknown): Promise<string> {
    const writeKey = extractWriteKey(authorization, body);
    if (!writeKey)
      throw new ApiError(401, 'missing_write_key', 'a write key is required: HTTP Basic user name or "writeKey" in the body', undefined, {
        'WWW-Authenticate': 'Basic realm="mosaic"',
      });
    const source = await this.writeKeys.resolve(writeKey);
    if (!source) throw new ApiError(401, 'invalid_write_key', 'unknown or revoked write key', undefined, { 'WWW-Authenticate': 'Basic realm="mosaic"' });
    return source.id;
  }

  private async store(result: IngestBodyResult): ReturnType<Ingestor['ingest']> {
    try {
      return await this.ingestor.ingest(result.accepted);
    } catch (err) {
      if (err instanceof ProducerUnavailableError || (err as Error).name === 'ProducerUnavailableError') {
        throw new ApiError(
          503,
          'kafka_unavailable',
          `events were not stored: Kafka did not acknowledge within ${this.ackTimeoutMs} ms; retry later`,
          undefined,
          { 'Retry-After': '5' },
        );
      }
      throw new ApiError(503, 'storage_failed', `events were not stored: ${(err as Error).message}; retry later`, undefined, { 'Retry-After': '5' });
    }
  }
}
