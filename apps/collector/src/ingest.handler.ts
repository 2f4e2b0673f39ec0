import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import {
  CollectorInputError,
  batchResponseStatus,
  checkContentType,
  extractWriteKey,
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
import { Counter } from '@mosaic/shared-logging';
import { ApiError, type ServiceRuntime } from '@mosaic/shared-service';

export interface IngestResponse {
  success: true;
  accepted: number;
  duplicates: number;
  rejected?: RejectedItem[];
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

function parseRequest(route: IngestRoute, req: FastifyRequest): unknown {
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const ctErr = checkContentType(req.headers['content-type']);
  if (ctErr) throw inputError(ctErr);
  return withInputErrors(() => parseIngestBody(raw, route));
}

/** A single message that is refused, or a batch whose every item is, is a 4xx (see batch.ts). */
function refuseIfNothingAccepted(route: IngestRoute, result: IngestBodyResult): void {
  if (route === 'batch') {
    if (batchResponseStatus(result) === 400) {
      throw new ApiError(400, 'invalid_batch', `all ${result.rejected.length} messages of the batch were rejected`, { rejected: result.rejected });
    }
    return;
  }
  const errors = result.rejected[0]?.errors;
  if (!errors?.length) return;
  const e = toInputError(errors[0] as ValidationIssue);
  throw new ApiError(e.status, e.code, e.message, { path: e.path, errors });
}

/** HTTP → domain: parse, authenticate, validate, ingest; maps outcomes to Segment-style answers. */
export class IngestRequestHandler {
  private readonly events: Counter<'route' | 'outcome'>;

  constructor(
    private readonly ingestor: Ingestor,
    private readonly writeKeys: WriteKeyCache,
    runtime: ServiceRuntime,
    private readonly ackTimeoutMs: number,
  ) {
    this.events = new Counter({
      name: 'mosaic_collector_events_total',
      help: 'Events by route and outcome (accepted, duplicate, rejected)',
      labelNames: ['route', 'outcome'],
      registers: [runtime.metrics],
    });
  }

  async handle(route: IngestRoute, req: FastifyRequest): Promise<IngestResponse> {
    const receivedAt = new Date();
    const body = parseRequest(route, req);
    const writeKey = extractWriteKey(req.headers.authorization, body);
    if (!writeKey) throw new ApiError(401, 'missing_write_key', 'a write key is required: HTTP Basic user name or "writeKey" in the body', undefined, { 'WWW-Authenticate': 'Basic realm="mosaic"' });
    const source = await this.writeKeys.resolve(writeKey);
    if (!source) throw new ApiError(401, 'invalid_write_key', 'unknown or revoked write key', undefined, { 'WWW-Authenticate': 'Basic realm="mosaic"' });

    const opts = { sourceId: source.id, receivedAt, idGenerator: randomUUID, request: { ip: req.ip, userAgent: req.headers['user-agent'] } };
    const result = withInputErrors(() => validateIngestBody(body, route, opts));
    if (result.rejected.length) this.events.inc({ route, outcome: 'rejected' }, result.rejected.length);
    refuseIfNothingAccepted(route, result);
    const accepted = result.accepted;
    const rejected = result.rejected.length ? result.rejected : undefined;

    let outcome;
    try {
      outcome = await this.ingestor.ingest(accepted);
    } catch (err) {
      if (err instanceof ProducerUnavailableError || (err as Error).name === 'ProducerUnavailableError') {
        throw new ApiError(503, 'kafka_unavailable', `events were not stored: Kafka did not acknowledge within ${this.ackTimeoutMs} ms; retry later`, undefined, { 'Retry-After': '5' });
      }
      throw new ApiError(503, 'storage_failed', `events were not stored: ${(err as Error).message}; retry later`, undefined, { 'Retry-After': '5' });
    }
    this.events.inc({ route, outcome: 'accepted' }, outcome.published);
    if (outcome.duplicates) this.events.inc({ route, outcome: 'duplicate' }, outcome.duplicates);
    return { success: true, accepted: outcome.published, duplicates: outcome.duplicates, ...(rejected ? { rejected } : {}) };
  }
}
