import { Controller, Get, HttpCode, Inject, Post, Req, Res, UseGuards, type Provider } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  CollectorInputError,
  DEFAULT_MACHINE_RULES,
  EmailActivityMemory,
  EmailTokenSigner,
  buildEmailEvent,
  classifyEmailActivity,
  emailActivityKey,
  parseJsonBody,
  rewriteEmailHtml,
  tokenDigest,
  validateRewriteRequest,
  type EmailTokenClaims,
  type EmailTokenKind,
  type Ingestor,
  type MachineRules,
} from '@mosaic/collector-domain';
import type { WriteKeyCache } from '@mosaic/collector-data-access';
import type { CommonConfig } from '@mosaic/shared-config';
import { Counter, getOrCreate, type Logger } from '@mosaic/shared-logging';
import { AdminAuthGuard, ApiError, type Platform } from '@mosaic/shared-service';
import { emailSigningKeys, type CollectorEnv } from './collector.config';

/** A 1×1 transparent GIF (43 bytes). */
export const TRANSPARENT_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export interface EmailTrackingOptions {
  ttlDays: number;
  rules: MachineRules;
  publicUrl?: string;
}

/**
 * Email opens and clicks: verifies the token, classifies machine activity, records the
 * event through the Ingestor (same de-duplication and Kafka acknowledgement as every other
 * event). Recording never changes what the recipient gets: the pixel is always a GIF, a
 * valid click always redirects to its signed URL, even when Kafka is away (then the event
 * is lost and counted in `mosaic_collector_email_total{outcome="failed"}`).
 */
export class EmailTracking {
  private readonly counter: Counter<'kind' | 'outcome'>;

  constructor(
    readonly signer: EmailTokenSigner,
    private readonly ingestor: Ingestor,
    readonly sources: WriteKeyCache,
    private readonly memory: EmailActivityMemory,
    private readonly logger: Logger,
    readonly options: EmailTrackingOptions,
    platform: Platform,
  ) {
    const metrics = platform.runtime.metrics;
    this.counter = getOrCreate(
      metrics,
      'mosaic_collector_email_total',
      () =>
        new Counter({
          name: 'mosaic_collector_email_total',
          help: 'Email opens and clicks by outcome (recorded, duplicate, machine, invalid_token, inactive_source, failed)',
          labelNames: ['kind', 'outcome'],
          registers: [metrics],
        }),
    );
  }

  /** Verifies and records; returns the verified claims (or undefined for a bad token). */
  async track(kind: EmailTokenKind, token: string, req: FastifyRequest): Promise<EmailTokenClaims | undefined> {
    const verified = this.signer.verify(token, kind);
    if (!verified.ok) {
      this.counter.inc({ kind, outcome: 'invalid_token' });
      this.logger.debug({ kind, reason: verified.reason, token: tokenDigest(token) }, 'email token refused');
      return undefined;
    }
    const claims = verified.claims;
    try {
      const source = await this.sources.active(claims.sourceId);
      if (!source) {
        this.counter.inc({ kind, outcome: 'inactive_source' });
        return claims;
      }
      const receivedAt = new Date();
      const nowMs = receivedAt.getTime();
      const key = emailActivityKey(claims);
      const memo =
        kind === 'open'
          ? { openedAtMs: this.memory.recordOpen(key, nowMs) }
          : this.memory.recordClick(key, claims.url ?? '', this.options.rules.burstWindowSeconds * 1000, nowMs);
      const userAgent = req.headers['user-agent'];
      const verdict = classifyEmailActivity(
        { kind, method: req.method, userAgent, ip: req.ip, issuedAtMs: claims.issuedAt * 1000, nowMs, ...memo },
        this.options.rules,
      );
      const event = buildEmailEvent({ claims, token, verdict, receivedAt, request: { ip: req.ip, userAgent } });
      const outcome = await this.ingestor.ingest([event]);
      this.counter.inc({ kind, outcome: outcome.published ? (verdict.machine ? 'machine' : 'recorded') : 'duplicate' });
    } catch (err) {
      this.counter.inc({ kind, outcome: 'failed' });
      this.logger.warn({ err, kind, token: tokenDigest(token) }, 'email event not recorded');
    }
    return claims;
  }
}

/** The rest of the path after the route prefix (Fastify decodes it). */
function wildcard(req: FastifyRequest): string {
  const value = (req.params as Record<string, unknown> | undefined)?.['*'];
  return typeof value === 'string' ? value : '';
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
      .send('<!doctype html><html><head><meta charset="utf-8"><title>Link not valid</title></head><body><h1>This link is not valid</h1><p>It may have expired or been altered. Please use the link in the original email.</p></body></html>');
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
  constructor(@Inject(EmailTracking) private readonly email: EmailTracking) {}

  // Wildcard routes: tokens are longer than Fastify's 100-character limit on `:param` values.
  @Get('e/o/*')
  @ApiOperation({
    summary: 'Open pixel: always a 1×1 transparent GIF; records "Email Opened" when the token is valid',
    description: 'Path: `/v1/e/o/<token>.gif`. Tampered, expired or unsigned tokens still get the GIF; nothing is recorded.',
  })
  @ApiResponse({ status: 200, description: 'image/gif, Cache-Control: no-store' })
  async open(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.email.track('open', tokenFromPath(wildcard(req), '.gif'), req);
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
    const claims = await this.email.track('click', tokenFromPath(wildcard(req)), req);
    if (!claims?.url) {
      invalidLink(req, reply);
      return;
    }
    void reply.status(302).header('Location', claims.url).header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').header('X-Robots-Tag', 'noindex').send();
  }

  @Post('email/rewrite')
  @HttpCode(200)
  @UseGuards(AdminAuthGuard)
  @ApiBearerAuth('admin')
  @ApiOperation({ summary: "Rewrite an HTML email for one recipient: tracked links and the open pixel (admin)" })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['html', 'sourceId', 'recipient', 'campaign', 'emailId'],
      example: { html: '<html><body><a href="https://shop.example.com/sale">Sale</a></body></html>', sourceId: 'src_…', recipient: { userId: 'u-1', email: 'ada@example.com' }, campaign: 'spring-sale', emailId: 'send-42' },
    },
  })
  @ApiOkResponse({ description: '{html, links}: the rewritten HTML and the number of links rewritten' })
  async rewrite(@Req() req: FastifyRequest): Promise<{ html: string; links: number }> {
    let body: unknown;
    try {
      body = parseJsonBody(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '');
    } catch (err) {
      if (err instanceof CollectorInputError) throw new ApiError(err.status, err.code, err.message);
      throw err;
    }
    const parsed = validateRewriteRequest(body);
    if (!parsed.ok) throw new ApiError(400, 'invalid_body', parsed.problems.join('; '), { problems: parsed.problems });
    const v = parsed.value;
    if (!(await this.email.sources.active(v.sourceId))) throw new ApiError(400, 'invalid_source', `sourceId: ${v.sourceId} is not an active source`);
    const baseUrl = this.email.options.publicUrl ?? `${req.protocol}://${req.host}`;
    return rewriteEmailHtml(v.html, {
      recipient: v.recipient,
      sourceId: v.sourceId,
      campaign: v.campaign,
      emailId: v.emailId,
      baseUrl,
      signer: this.email.signer,
      expiresInDays: v.expiresInDays ?? this.email.options.ttlDays,
    });
  }
}

/** Providers of the email endpoints (wired by CollectorModule). */
export function emailProviders(deps: {
  platform: Platform;
  config: CommonConfig & { own: CollectorEnv };
  ingestor: Ingestor;
  writeKeys: WriteKeyCache;
}): Provider[] {
  const { platform, config } = deps;
  const logger = platform.runtime.logger;
  const { keys, warning } = emailSigningKeys(config);
  if (warning) logger.warn(warning);
  const tracking = new EmailTracking(
    new EmailTokenSigner(keys),
    deps.ingestor,
    deps.writeKeys,
    new EmailActivityMemory(),
    logger,
    {
      ttlDays: config.own.COLLECTOR_EMAIL_TOKEN_TTL_DAYS,
      rules: { ...DEFAULT_MACHINE_RULES, minSecondsAfterIssue: config.own.COLLECTOR_EMAIL_MACHINE_SECONDS },
      ...(config.own.COLLECTOR_PUBLIC_URL ? { publicUrl: config.own.COLLECTOR_PUBLIC_URL.replace(/\/+$/, '') } : {}),
    },
    platform,
  );
  return [{ provide: EmailTracking, useValue: tracking }];
}
