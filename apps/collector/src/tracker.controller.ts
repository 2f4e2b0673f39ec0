import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Controller, Get, HttpCode, Inject, Post, Req, Res, type OnModuleInit } from '@nestjs/common';
import { ApiBasicAuth, ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TRACKER_VERSION } from '@mosaic/tracker';
import { IngestRequestHandler, type IngestResponse } from './ingest.handler';

/** Browsers may use a cached copy for this long, then revalidate with the ETag (304). */
export const TRACKER_MAX_AGE_SECONDS = 300;

export interface TrackerScript {
  code: Buffer;
  gzip: Buffer;
  etag: string;
}

/**
 * `libs/tracker/` next to this code: `dist/libs/tracker/mosaic.js` when running the build
 * (tools/scripts/build.mjs bundles it there), or the tracker's sources and bundler when running
 * from source (tests), where the bundle is made on the fly with swc (a dev dependency).
 */
const TRACKER_DIR = resolve(__dirname, '..', '..', '..', 'libs', 'tracker');

interface TrackerBundler {
  buildTracker(): { code: string };
}

export function loadTrackerScript(dir: string = TRACKER_DIR): TrackerScript {
  const prebuilt = join(dir, 'mosaic.js');
  let code: string;
  if (existsSync(prebuilt)) code = readFileSync(prebuilt, 'utf8');
  else {
    const bundler = join(dir, 'bundle.js');
    if (!existsSync(bundler)) throw new Error(`the tracker script is missing: neither ${prebuilt} nor ${bundler} exists (run tools/scripts/build.mjs)`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- plain Node build script next to the tracker's sources
    code = (require(bundler) as TrackerBundler).buildTracker().code;
  }
  const buf = Buffer.from(code, 'utf8');
  return { code: buf, gzip: gzipSync(buf, { level: 9 }), etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 22)}"` };
}

function etagMatches(header: string | string[] | undefined, etag: string): boolean {
  if (!header) return false;
  const values = (Array.isArray(header) ? header.join(',') : header).split(',').map((v) => v.trim().replace(/^W\//, ''));
  return values.includes(etag) || values.includes('*');
}

/**
 * The browser tracker (`GET /mosaic.js`) and the short paths of analytics.js/analytics-next
 * (`/v1/t`, `/v1/p`, `/v1/i`, `/v1/a`, `/v1/g`, `/v1/s`, `/v1/b`), so that Segment's own browser
 * library works with only its `apiHost` pointed here.
 */
@ApiTags('tracker')
@Controller()
export class TrackerController implements OnModuleInit {
  private script: TrackerScript | undefined;

  constructor(@Inject(IngestRequestHandler) private readonly handler: IngestRequestHandler) {}

  onModuleInit(): void {
    this.script = loadTrackerScript();
  }

  @Get('mosaic.js')
  @ApiOperation({
    summary: 'The browser tracker (load it with the snippet from the README)',
    description: `ES2017, no dependencies. Cache-Control max-age=${TRACKER_MAX_AGE_SECONDS} s, then revalidated by ETag (304). Gzipped when the browser accepts it.`,
  })
  @ApiProduces('application/javascript')
  @ApiOkResponse({ description: 'the script' })
  tracker(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    const s = this.script ?? (this.script = loadTrackerScript());
    void reply
      .header('Content-Type', 'application/javascript; charset=utf-8')
      .header('Cache-Control', `public, max-age=${TRACKER_MAX_AGE_SECONDS}, stale-while-revalidate=86400`)
      .header('ETag', s.etag)
      .header('Vary', 'Accept-Encoding')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Cross-Origin-Resource-Policy', 'cross-origin')
      .header('X-Mosaic-Tracker-Version', TRACKER_VERSION);
    if (etagMatches(req.headers['if-none-match'], s.etag)) {
      void reply.code(304).send();
      return;
    }
    const gzip = /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) void reply.header('Content-Encoding', 'gzip');
    void reply.code(200).send(gzip ? s.gzip : s.code);
  }

  // analytics.js short paths: `${apiHost}/${type.charAt(0)}`, and `/b` for its batching mode.
  @Post('v1/t')
  @HttpCode(200)
  @ApiBasicAuth('writeKey')
  @ApiOperation({ summary: 'Alias of /v1/track (analytics.js short path)' })
  t(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.handler.handle('track', req);
  }

  @Post('v1/p')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  p(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.handler.handle('page', req);
  }

  @Post('v1/i')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  i(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.handler.handle('identify', req);
  }

  @Post('v1/a')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  a(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.handler.handle('alias', req);
  }

  @Post('v1/g')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  g(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.handler.handle('group', req);
  }

  @Post('v1/s')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  s(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.handler.handle('screen', req);
  }

  @Post('v1/b')
  @HttpCode(200)
  @ApiOperation({ summary: 'Alias of /v1/batch (analytics.js short path; /v1/p, /v1/i, /v1/a, /v1/g, /v1/s likewise)' })
  b(@Req() req: FastifyRequest): Promise<IngestResponse> {
    return this.handler.handle('batch', req);
  }
}
