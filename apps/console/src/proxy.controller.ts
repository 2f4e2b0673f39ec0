import { All, Body, Controller, Inject, Param, Req, Res, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { ConsoleUser } from '@mosaic/console-domain';
import { ForwardRequest, type ForwardOutcome, type ProxiedRequest } from '@mosaic/console-application';
import { UpstreamError, type UpstreamAnswer } from '@mosaic/console-data-access';
import { ApiError, MOSAIC_LOGGER } from '@mosaic/shared-service';
import type { Logger } from '@mosaic/shared-logging';
import { SignedInGuard } from './console-auth.guard';
import { upstreamFailure } from './http';
import type { ConsoleRequest } from './session-cookie';

const REFUSALS: Record<Exclude<ForwardOutcome, { ok: true }>['reason'], number> = { unknown_service: 404, invalid_path: 400, forbidden: 403 };

/** The path after `/api/svc/<service>`, still percent-encoded as sent (the router's wildcard value is decoded). */
function rawPathOf(req: ConsoleRequest): string {
  const [, , , , ...rest] = (req.url.split('?', 1)[0] ?? '').split('/');
  return `/${rest.join('/')}`;
}

const queryOf = (req: ConsoleRequest): string => (req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');

function proxiedRequest(req: ConsoleRequest, user: ConsoleUser, service: string, body: unknown): ProxiedRequest {
  const idempotencyKey = req.headers['idempotency-key'];
  return {
    user,
    service,
    method: req.method,
    rawPath: rawPathOf(req),
    query: queryOf(req),
    body,
    ...(typeof idempotencyKey === 'string' ? { idempotencyKey } : {}),
  };
}

/** The service's answer as it is; the headers keep the console's origin from rendering it as a page. */
function passOn(reply: FastifyReply, answer: UpstreamAnswer, service: string): void {
  if (answer.status === 401) {
    throw new ApiError(
      502,
      'upstream_refused',
      `${service} refused the console's admin token: MOSAIC_ADMIN_TOKEN must be the same for the console and the services`,
    );
  }
  void reply.status(answer.status).header('X-Content-Type-Options', 'nosniff').header('Content-Security-Policy', "default-src 'none'; sandbox");
  if (answer.contentType) void reply.header('Content-Type', answer.contentType);
  if (answer.retryAfter) void reply.header('Retry-After', answer.retryAfter);
  void reply.send(answer.body.length > 0 ? answer.body : undefined);
}

/**
 * `/api/svc/<service>/<path>`: a signed-in user's request to one of the five services, sent
 * with the admin token when the user's role allows it (ForwardRequest).
 */
@ApiTags('services (proxy)')
@UseGuards(SignedInGuard)
@Controller('api/svc')
export class ProxyController {
  constructor(
    @Inject(ForwardRequest) private readonly forward: ForwardRequest,
    @Inject(MOSAIC_LOGGER) private readonly logger: Logger,
  ) {}

  @All(':service/*')
  @ApiOperation({
    summary: "Forwards to the service's /<path> (query kept) with the admin token; the answer's status and body come back as they are",
    description: '404 unknown_service; 403 forbidden when the role may not; 502 upstream_unavailable; 504 upstream_timeout.',
  })
  async proxy(@Req() req: ConsoleRequest, @Param('service') service: string, @Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    const user = req.consoleUser;
    if (!user) throw new ApiError(401, 'not_signed_in', 'sign in first (POST /api/session)');
    let outcome: ForwardOutcome;
    try {
      outcome = await this.forward.execute(proxiedRequest(req, user, service, body));
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      throw upstreamFailure(err);
    }
    if (!outcome.ok) {
      if (outcome.reason === 'forbidden') this.logger.warn({ username: user.username, role: user.role, service, method: req.method }, outcome.message);
      throw new ApiError(REFUSALS[outcome.reason], outcome.reason, outcome.message);
    }
    passOn(reply, outcome.answer, service);
  }
}
