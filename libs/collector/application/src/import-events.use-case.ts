import { createHash, timingSafeEqual } from 'node:crypto';
import {
  CollectorInputError,
  checkImportContentType,
  extractWriteKey,
  parseImportBody,
  parseLineOffset,
  type ImportRejectedRow,
  type IngestOutcome,
  type Ingestor,
  type NormalizedEvent,
} from '@mosaic/collector-domain';
import type { SourceView, WriteKeyCache } from '@mosaic/collector-data-access';
import { ProducerUnavailableError } from '@mosaic/shared-kafka';
import type { Counter } from '@mosaic/shared-logging';
import { ApiError } from '@mosaic/shared-service';
import type { RateLimitGate } from './rate-limit-gate';

export interface ImportResponse {
  success: true;
  sourceId: string;
  /** Rows produced to Kafka and acknowledged. */
  accepted: number;
  /** Rows whose messageId was already acknowledged (a re-import), not produced again. */
  duplicates: number;
  /** The first rows refused (at most MAX_LISTED_REJECTIONS), with their file line number and reasons. */
  rejected: ImportRejectedRow[];
  /** Every row refused, listed or not. */
  rejectedCount: number;
  /** Non-blank lines in this body. */
  rows: number;
  /** Lines in this body, blank ones included (add to lineOffset for the next chunk). */
  lines: number;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** What `POST /v1/import` takes from an HTTP request. */
export interface ImportRequest {
  authorization?: string;
  contentType?: string;
  /** The raw body (NDJSON). */
  body: Buffer;
  /** `?source=` (with the admin token). */
  source?: unknown;
  /** `?lineOffset=`. */
  lineOffset?: unknown;
  /** The client address (after trusted-proxy handling), for its rate limit. */
  ip?: string;
}

/** `POST /v1/import`: NDJSON bulk import (see libs/collector/domain/src/import.ts for the rules). */
export class ImportEvents {
  private readonly adminDigest: Buffer;

  constructor(
    private readonly ingestor: Ingestor,
    private readonly sources: WriteKeyCache,
    adminToken: string,
    private readonly ackTimeoutMs: number,
    /** The same counter as the other ingestion routes (route="import"). */
    private readonly events: Counter<'route' | 'outcome'>,
    /** Requests per client address only: rows are not charged to the write key (a backfill must not throttle live events). */
    private readonly rateLimits: RateLimitGate,
  ) {
    this.adminDigest = digest(adminToken);
  }

  /** Write key (HTTP Basic), or the admin token (Bearer) with `?source=<sourceId>`. */
  private async authenticate(authorization: string | undefined, sourceParam: unknown): Promise<SourceView> {
    const header = authorization ?? '';
    const bearer = /^\s*Bearer\s+(.+?)\s*$/i.exec(header);
    if (bearer) {
      if (!timingSafeEqual(digest(bearer[1] as string), this.adminDigest)) {
        throw new ApiError(401, 'unauthorized', 'invalid admin token', undefined, { 'WWW-Authenticate': 'Bearer realm="mosaic-admin"' });
      }
      const id = Array.isArray(sourceParam) ? sourceParam[0] : sourceParam;
      if (typeof id !== 'string' || id === '') throw new ApiError(400, 'missing_source', 'with the admin token, name the source: ?source=<sourceId>');
      const source = await this.sources.active(id);
      if (!source) throw new ApiError(404, 'unknown_source', `source ${id} does not exist or is revoked`);
      return source;
    }
    const writeKey = extractWriteKey(header);
    const challenge = { 'WWW-Authenticate': 'Basic realm="mosaic"' };
    if (!writeKey)
      throw new ApiError(
        401,
        'missing_write_key',
        'a write key (HTTP Basic user name) or the admin token (Bearer, with ?source=) is required',
        undefined,
        challenge,
      );
    const source = await this.sources.resolve(writeKey);
    if (!source) throw new ApiError(401, 'invalid_write_key', 'unknown or revoked write key', undefined, challenge);
    return source;
  }

  async execute(req: ImportRequest): Promise<ImportResponse> {
    const receivedAt = new Date();
    this.rateLimits.admitRequest('import', req.ip);
    const source = await this.authenticate(req.authorization, req.source);
    const ctErr = checkImportContentType(req.contentType);
    if (ctErr) throw new ApiError(ctErr.status, ctErr.code, ctErr.message);
    const lineOffset = parseLineOffset(req.lineOffset);
    if (lineOffset instanceof CollectorInputError) throw new ApiError(lineOffset.status, lineOffset.code, lineOffset.message);
    let parsed;
    try {
      parsed = parseImportBody(req.body.toString('utf8'), { sourceId: source.id, receivedAt, lineOffset });
    } catch (err) {
      if (err instanceof CollectorInputError) throw new ApiError(err.status, err.code, err.message);
      throw err;
    }
    if (parsed.rejectedCount) this.events.inc({ route: 'import', outcome: 'rejected' }, parsed.rejectedCount);
    const outcome = parsed.accepted.length ? await this.store(parsed.accepted) : { published: 0, duplicates: 0 };
    this.events.inc({ route: 'import', outcome: 'accepted' }, outcome.published);
    if (outcome.duplicates) this.events.inc({ route: 'import', outcome: 'duplicate' }, outcome.duplicates);
    return {
      success: true,
      sourceId: source.id,
      accepted: outcome.published,
      duplicates: outcome.duplicates,
      rejected: parsed.rejected,
      rejectedCount: parsed.rejectedCount,
      rows: parsed.rows,
      lines: parsed.lines,
    };
  }

  private async store(events: NormalizedEvent[]): Promise<IngestOutcome> {
    try {
      return await this.ingestor.ingest(events);
    } catch (err) {
      if (err instanceof ProducerUnavailableError || (err as Error).name === 'ProducerUnavailableError') {
        throw new ApiError(
          503,
          'kafka_unavailable',
          `rows were not stored: Kafka did not acknowledge within ${this.ackTimeoutMs} ms; retry later (re-sending is safe)`,
          undefined,
          { 'Retry-After': '5' },
        );
      }
      throw new ApiError(503, 'storage_failed', `rows were not stored: ${(err as Error).message}; retry later (re-sending is safe)`, undefined, {
        'Retry-After': '5',
      });
    }
  }
}
