import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, HttpCode, Inject, Post, Query, Req, type Provider } from '@nestjs/common';
import { ApiBasicAuth, ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import {
  CollectorInputError,
  checkImportContentType,
  extractWriteKey,
  parseImportBody,
  parseLineOffset,
  type ImportRejectedRow,
  type Ingestor,
} from '@mosaic/collector-domain';
import type { SourceView, WriteKeyCache } from '@mosaic/collector-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import { ProducerUnavailableError } from '@mosaic/shared-kafka';
import { Counter, getOrCreate } from '@mosaic/shared-logging';
import { ApiError, type Platform } from '@mosaic/shared-service';
import type { CollectorEnv } from './collector.config';

export interface ImportResponse {
  success: true;
  sourceId: string;
  /** Rows produced to Kafka and acknowledged. */
  accepted: number;
  /** Rows whose messageId was already acknowledged (a re-import), not produced again. */
  duplicates: number;
  /** Rows refused, with their file line number and reasons. */
  rejected: ImportRejectedRow[];
  /** Non-blank lines in this body. */
  rows: number;
  /** Lines in this body, blank ones included (add to lineOffset for the next chunk). */
  lines: number;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** `POST /v1/import`: NDJSON bulk import (see libs/collector/domain/src/import.ts for the rules). */
export class ImportService {
  private readonly events: Counter<'route' | 'outcome'>;
  private readonly adminDigest: Buffer;

  constructor(
    private readonly ingestor: Ingestor,
    private readonly writeKeys: WriteKeyCache,
    private readonly sources: WriteKeyCache,
    adminToken: string,
    private readonly ackTimeoutMs: number,
    platform: Platform,
  ) {
    this.adminDigest = digest(adminToken);
    const metrics = platform.runtime.metrics;
    // The same counter as the other ingestion routes (route="import").
    this.events = getOrCreate(
      metrics,
      'mosaic_collector_events_total',
      () => new Counter({ name: 'mosaic_collector_events_total', help: 'Events by route and outcome (accepted, duplicate, rejected)', labelNames: ['route', 'outcome'], registers: [metrics] }),
    );
  }

  /** Write key (HTTP Basic), or the admin token (Bearer) with `?source=<sourceId>`. */
  private async authenticate(req: FastifyRequest, sourceParam: unknown): Promise<SourceView> {
    const header = req.headers.authorization ?? '';
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
    if (!writeKey) throw new ApiError(401, 'missing_write_key', 'a write key (HTTP Basic user name) or the admin token (Bearer, with ?source=) is required', undefined, challenge);
    const source = await this.writeKeys.resolve(writeKey);
    if (!source) throw new ApiError(401, 'invalid_write_key', 'unknown or revoked write key', undefined, challenge);
    return source;
  }

  async handle(req: FastifyRequest, query: { source?: unknown; lineOffset?: unknown }): Promise<ImportResponse> {
    const receivedAt = new Date();
    const source = await this.authenticate(req, query.source);
    const ctErr = checkImportContentType(req.headers['content-type']);
    if (ctErr) throw new ApiError(ctErr.status, ctErr.code, ctErr.message);
    const lineOffset = parseLineOffset(query.lineOffset);
    if (lineOffset instanceof CollectorInputError) throw new ApiError(lineOffset.status, lineOffset.code, lineOffset.message);
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let parsed;
    try {
      parsed = parseImportBody(raw.toString('utf8'), { sourceId: source.id, receivedAt, lineOffset });
    } catch (err) {
      if (err instanceof CollectorInputError) throw new ApiError(err.status, err.code, err.message);
      throw err;
    }
    if (parsed.rejected.length) this.events.inc({ route: 'import', outcome: 'rejected' }, parsed.rejected.length);
    let outcome = { published: 0, duplicates: 0 };
    if (parsed.accepted.length) {
      try {
        outcome = await this.ingestor.ingest(parsed.accepted);
      } catch (err) {
        if (err instanceof ProducerUnavailableError || (err as Error).name === 'ProducerUnavailableError') {
          throw new ApiError(503, 'kafka_unavailable', `rows were not stored: Kafka did not acknowledge within ${this.ackTimeoutMs} ms; retry later (re-sending is safe)`, undefined, { 'Retry-After': '5' });
        }
        throw new ApiError(503, 'storage_failed', `rows were not stored: ${(err as Error).message}; retry later (re-sending is safe)`, undefined, { 'Retry-After': '5' });
      }
    }
    this.events.inc({ route: 'import', outcome: 'accepted' }, outcome.published);
    if (outcome.duplicates) this.events.inc({ route: 'import', outcome: 'duplicate' }, outcome.duplicates);
    return { success: true, sourceId: source.id, accepted: outcome.published, duplicates: outcome.duplicates, rejected: parsed.rejected, rows: parsed.rows, lines: parsed.lines };
  }
}

/** Bulk import of historical or server-side events. */
@ApiTags('import')
@ApiBasicAuth('writeKey')
@ApiBearerAuth('admin')
@Controller('v1')
export class ImportController {
  constructor(@Inject(ImportService) private readonly service: ImportService) {}

  @Post('import')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Import NDJSON: one Segment message (with its `type`) per line',
    description:
      'Content-Type application/x-ndjson (or application/json, text/plain), gzip accepted, at most 500 KB after decompression per request (send big files in chunks with ?lineOffset=). ' +
      'Authenticated by a write key (HTTP Basic) or by the admin token (Bearer) with ?source=<sourceId>. Historical timestamps are kept; rows without messageId get a deterministic one, so re-importing a file changes nothing. ' +
      'Answers after Kafka acknowledged every accepted row; 200 even when rows were rejected (they are listed with their line numbers).',
  })
  @ApiQuery({ name: 'source', required: false, description: 'source id (with the admin token)' })
  @ApiQuery({ name: 'lineOffset', required: false, description: 'file lines before this body; rejected rows are reported with file line numbers' })
  @ApiBody({ schema: { type: 'string', example: '{"type":"track","userId":"u-1","event":"Order Completed","properties":{"revenue":42},"timestamp":"2024-03-01T10:00:00Z"}\n' } })
  @ApiOkResponse({ description: '{success, sourceId, accepted, duplicates, rejected: [{line, messageId?, errors}], rows, lines}' })
  @ApiResponse({ status: 413, description: 'body over 500 KB (after decompression)' })
  @ApiResponse({ status: 503, description: 'Kafka did not acknowledge: nothing of this request is reported stored; retry (safe)' })
  import(@Req() req: FastifyRequest, @Query('source') source: unknown, @Query('lineOffset') lineOffset: unknown): Promise<ImportResponse> {
    return this.service.handle(req, { source, lineOffset });
  }
}

/** Providers of the import endpoint (wired by CollectorModule). */
export function importProviders(deps: {
  platform: Platform;
  config: CommonConfig & { own: CollectorEnv };
  ingestor: Ingestor;
  writeKeys: WriteKeyCache;
}): Provider[] {
  const { config } = deps;
  const service = new ImportService(
    deps.ingestor,
    deps.writeKeys,
    deps.writeKeys,
    config.adminToken,
    config.own.COLLECTOR_ACK_TIMEOUT_MS,
    deps.platform,
  );
  return [{ provide: ImportService, useValue: service }];
}
