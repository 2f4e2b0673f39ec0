import { Controller, HttpCode, Inject, Post, Query, Req } from '@nestjs/common';
import { ApiBasicAuth, ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ImportEvents, type ImportResponse } from '@mosaic/collector-application';

/** Bulk import of historical or server-side events. */
@ApiTags('import')
@ApiBasicAuth('writeKey')
@ApiBearerAuth('admin')
@Controller('v1')
export class ImportController {
  constructor(@Inject(ImportEvents) private readonly importEvents: ImportEvents) {}

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
  @ApiBody({
    schema: {
      type: 'string',
      example: '{"type":"track","userId":"u-1","event":"Order Completed","properties":{"revenue":42},"timestamp":"2024-03-01T10:00:00Z"}\n',
    },
  })
  @ApiOkResponse({
    description:
      '{success, sourceId, accepted, duplicates, rejected: [{line, messageId?, errors}], rejectedCount, rows, lines}: rejected lists the first 100 refused rows (fewer when they hold over 1,000 errors), rejectedCount counts them all',
  })
  @ApiResponse({ status: 413, description: 'body over 500 KB (after decompression)' })
  @ApiResponse({
    status: 429,
    description:
      'over the requests-a-second limit of the client address (COLLECTOR_RATE_PER_IP): error.details.limit = client_address; retry after Retry-After seconds',
  })
  @ApiResponse({ status: 503, description: 'Kafka did not acknowledge: nothing of this request is reported stored; retry (safe)' })
  import(@Req() req: FastifyRequest, @Query('source') source: unknown, @Query('lineOffset') lineOffset: unknown): Promise<ImportResponse> {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    return this.importEvents.execute({
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      body,
      source,
      lineOffset,
      ip: req.ip,
    });
  }
}
