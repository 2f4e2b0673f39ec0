import { Controller, Get, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RewriteEmail, TrackEmailActivity, type EmailActivityRequest } from '@mosaic/collector-application';
import type { EmailTokenKind } from '@mosaic/collector-domain';
import { AdminAuthGuard } from '@mosaic/shared-service';

/** A 1×1 transparent GIF (43 bytes). */
export const TRANSPARENT_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** The rest of the path after the route prefix (Fastify decodes it). */
function wildcard(req: FastifyRequest): string {
  const value = (req.params as Record<string, unknown> | undefined)?.['*'];
  return typeof value === 'string' ? value : '';
}

function activity(kind: EmailTokenKind, token: string, req: FastifyRequest): EmailActivityRequest {
  return { kind, token, method: req.method, ip: req.ip, userAgent: req.headers['user-agent'] };
}

function tokenFromPath(raw: string, suffix?: string): string {
  return suffix && raw.toLowerCase().endsWith(suffix) ? raw.slice(0, -suffix.length) : raw;
}

function invalidLink(req: FastifyRequest, reply: FastifyReply): void {
  const accept = String(req.headers.accept ?? '');
  void reply.status(400).header('Cache-Control', 'no-store').header('X-Robots-Tag', 'noindex');
  if (/text\/html/i.test(accept)) {
    void reply
      .type('text/html; charset=utf-8')
      .send(
        '<!doctype html><html><head><meta charset="utf-8"><title>Link not valid</title></head><body><h1>This link is not valid</h1><p>It may have expired or been altered. Please use the link in the original email.</p></body></html>',
      );
    return;
  }
  void reply.send({ error: { status: 400, code: 'invalid_link', message: 'the tracking link is invalid, altered or expired' } });
}

/**
 * Public email tracking endpoints (no write key: the token's signature authenticates it,
 * and the token names the source) and the admin rewrite endpoint.
 */
@ApiTags('email tracking')
@Controller('v1')
export class EmailController {
  constructor(
    @Inject(TrackEmailActivity) private readonly track: TrackEmailActivity,
    @Inject(RewriteEmail) private readonly rewriteEmail: RewriteEmail,
  ) {}

  // Wildcard routes: tokens are longer than Fastify's 100-character limit on `:param` values.
  @Get('e/o/*')
  @ApiOperation({
    summary: 'Open pixel: always a 1×1 transparent GIF; records "Email Opened" when the token is valid',
    description: 'Path: `/v1/e/o/<token>.gif`. Tampered, expired or unsigned tokens still get the GIF; nothing is recorded.',
  })
  @ApiResponse({ status: 200, description: 'image/gif, Cache-Control: no-store' })
  async open(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.track.execute(activity('open', tokenFromPath(wildcard(req), '.gif'), req));
    void reply
      .status(200)
      .header('Cache-Control', 'no-store, no-cache, must-revalidate, private, max-age=0')
      .header('Pragma', 'no-cache')
      .header('Expires', '0')
      .header('X-Robots-Tag', 'noindex')
      .type('image/gif')
      .send(TRANSPARENT_GIF);
  }

  @Get('e/c/*')
  @ApiOperation({
    summary: 'Tracked link: records "Email Link Clicked" and redirects (302) to the signed URL',
    description: 'A tampered, expired or unsigned token answers 400 and never redirects: only URLs inside a valid signature are ever redirected to.',
  })
  @ApiResponse({ status: 302, description: 'Location: the signed URL' })
  @ApiResponse({ status: 400, description: 'invalid, altered or expired link (no Location)' })
  async click(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const claims = await this.track.execute(activity('click', tokenFromPath(wildcard(req)), req));
    if (!claims?.url) {
      invalidLink(req, reply);
      return;
    }
    void reply
      .status(302)
      .header('Location', claims.url)
      .header('Cache-Control', 'no-store')
      .header('Referrer-Policy', 'no-referrer')
      .header('X-Robots-Tag', 'noindex')
      .send();
  }

  @Post('email/rewrite')
  @HttpCode(200)
  @UseGuards(AdminAuthGuard)
  @ApiBearerAuth('admin')
  @ApiOperation({ summary: 'Rewrite an HTML email for one recipient: tracked links and the open pixel (admin)' })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['html', 'sourceId', 'recipient', 'campaign', 'emailId'],
      example: {
        html: '<html><body><a href="https://shop.example.com/sale">Sale</a></body></html>',
        sourceId: 'src_…',
        recipient: { userId: 'u-1', email: 'ada@example.com' },
        campaign: 'spring-sale',
        emailId: 'send-42',
      },
    },
  })
  @ApiOkResponse({ description: '{html, links}: the rewritten HTML and the number of links rewritten' })
  async rewrite(@Req() req: FastifyRequest): Promise<{ html: string; links: number }> {
    return this.rewriteEmail.execute(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), `${req.protocol}://${req.host}`);
  }
}
