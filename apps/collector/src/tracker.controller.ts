import { resolve } from 'node:path';
import { Controller, Get, HttpCode, Inject, Post, Req, Res, type OnModuleInit } from '@nestjs/common';
import { ApiBasicAuth, ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TRACKER_VERSION } from '@mosaic/tracker';
import { IngestMessages, ServeTrackerScript, type IngestResponse } from '@mosaic/collector-application';
import { ingestRequest } from './tracking.controller';

/** Browsers may use a cached copy for this long, then revalidate with the ETag (304). */
export const TRACKER_MAX_AGE_SECONDS = 300;

/**
 * `libs/tracker/` next to this code: `dist/libs/tracker/` when running the build, the
 * tracker's sources when running from source (see ServeTrackerScript).
 */
export const TRACKER_DIR = resolve(__dirname, '..', '..', '..', 'libs', 'tracker');

/**
 * The browser tracker (`GET /mosaic.js`) and the short paths of analytics.js/analytics-next
 * (`/v1/t`, `/v1/p`, `/v1/i`, `/v1/a`, `/v1/g`, `/v1/s`, `/v1/b`), so that Segment's own browser
 * library works with only its `apiHost` pointed here.
 */
@ApiTags('tracker')
@Controller()
export class TrackerController implements OnModuleInit {
  constructor(
    @Inject(IngestMessages) private readonly ingest: IngestMessages,
    @Inject(ServeTrackerScript) private readonly script: ServeTrackerScript,
  ) {}

  onModuleInit(): void {
    this.script.load();
  }

  @Get('mosaic.js')
  @ApiOperation({
    summary: 'The browser tracker (load it with the snippet from the README)',
    description: `ES2017, no dependencies. Cache-Control max-age=${TRACKER_MAX_AGE_SECONDS} s, then revalidated by ETag (304). Gzipped when the browser accepts it.`,
  })
  @ApiProduces('application/javascript')
  @ApiOkResponse({ description: 'the script' })
  tracker(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    const answer = this.script.execute({ ifNoneMatch: req.headers['if-none-match'], acceptEncoding: req.headers['accept-encoding'] });
    void reply
      .header('Content-Type', 'application/javascript; charset=utf-8')
      .header('Cache-Control', `public, max-age=${TRACKER_MAX_AGE_SECONDS}, stale-while-revalidate=86400`)
      .header('ETag', answer.etag)
      .header('Vary', 'Accept-Encoding')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Cross-Origin-Resource-Policy', 'cross-origin')
      .header('X-Mosaic-Tracker-Version', TRACKER_VERSION);
    if (answer.gzip) void reply.header('Content-Encoding', 'gzip');
    void reply.code(answer.status).send(answer.body);
  }

  // analytics.js short paths: `${apiHost}/${type.charAt(0)}`, and `/b` for its batching mode.
  @Post('v1/t')
  @HttpCode(200)
  @ApiBasicAuth('writeKey')
  @ApiOperation({ summary: 'Alias of /v1/track (analytics.js short path)' })
  t(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('track', req));
  }

  @Post('v1/p')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  p(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('page', req));
  }

  @Post('v1/i')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  i(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('identify', req));
  }

  @Post('v1/a')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  a(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('alias', req));
  }

  @Post('v1/g')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  g(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('group', req));
  }

  @Post('v1/s')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  s(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('screen', req));
  }

  @Post('v1/b')
  @HttpCode(200)
  @ApiOperation({ summary: 'Alias of /v1/batch (analytics.js short path; /v1/p, /v1/i, /v1/a, /v1/g, /v1/s likewise)' })
  b(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.ingest.execute(ingestRequest('batch', req));
  }
}
