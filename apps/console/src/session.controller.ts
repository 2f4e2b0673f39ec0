import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ResolveSession, SignIn } from '@mosaic/console-application';
import { signInThrottleKey, type SignInThrottle } from '@mosaic/console-domain';
import { ConsoleSessionsRepository } from '@mosaic/console-data-access';
import { ApiError, MOSAIC_LOGGER } from '@mosaic/shared-service';
import type { Logger } from '@mosaic/shared-logging';
import { SignedInGuard } from './console-auth.guard';
import type { SpaSettings } from './console.config';
import { COOKIE_OPTIONS, SIGN_IN_THROTTLE, SPA_SETTINGS, type CookieOptions } from './console.tokens';
import { SessionResponse, SignInDto } from './session.dto';
import { clearSessionCookie, sessionIdOf, setSessionCookie, type ConsoleRequest } from './session-cookie';

function credentials(req: ConsoleRequest, body: unknown): { username: string; password: string } {
  // A cross-site form can post text/plain or form data, never application/json.
  if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) {
    throw new ApiError(415, 'unsupported_media_type', 'sign in with Content-Type: application/json');
  }
  const { username, password } = (body ?? {}) as Record<string, unknown>;
  if (typeof username !== 'string' || typeof password !== 'string') throw new ApiError(400, 'invalid_request', 'username and password: required strings');
  return { username, password };
}

/** Signing in and out (the session cookie), and who is signed in. */
@ApiTags('session')
@Controller('api/session')
export class SessionController {
  constructor(
    @Inject(SignIn) private readonly signIn: SignIn,
    @Inject(ResolveSession) private readonly resolve: ResolveSession,
    @Inject(ConsoleSessionsRepository) private readonly sessions: ConsoleSessionsRepository,
    @Inject(COOKIE_OPTIONS) private readonly cookie: CookieOptions,
    @Inject(SIGN_IN_THROTTLE) private readonly throttle: SignInThrottle | null,
    @Inject(MOSAIC_LOGGER) private readonly logger: Logger,
    @Inject(SPA_SETTINGS) private readonly settings: SpaSettings,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Sign in: sets the session cookie; 401 invalid_credentials for an unknown user or a wrong password alike; 429 too_many_attempts (with Retry-After) after CONSOLE_SIGNIN_MAX_FAILURES wrong passwords for the username within CONSOLE_SIGNIN_WINDOW_MINUTES',
  })
  @ApiBody({ type: SignInDto })
  @ApiOkResponse({ type: SessionResponse })
  async create(@Req() req: ConsoleRequest, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<SessionResponse> {
    const { username, password } = credentials(req, body);
    const key = signInThrottleKey(username);
    this.beginAttempt(key, req);
    const session = await this.signIn.execute(username, password).catch((err: unknown) => {
      this.throttle?.abandoned(key, Date.now());
      throw err;
    });
    if (!session) {
      this.throttle?.failed(key, Date.now());
      this.logger.warn({ username: username.slice(0, 64), ip: req.ip }, 'console sign-in refused');
      throw new ApiError(401, 'invalid_credentials', 'wrong username or password');
    }
    this.throttle?.succeeded(key);
    this.logger.info({ username: session.user.username, role: session.user.role }, 'console sign-in');
    setSessionCookie(reply, session.sessionId, { secure: this.cookie.secure, maxAgeSeconds: this.cookie.ttlHours * 3600 });
    return { user: session.user, csrfToken: session.csrfToken, settings: this.settings };
  }

  /** Counts the attempt; 429 while the username has had too many wrong passwords lately (the password is not even checked). */
  private beginAttempt(key: string, req: ConsoleRequest): void {
    const waitMs = this.throttle?.begin(key, Date.now()) ?? 0;
    if (waitMs <= 0) return;
    const seconds = Math.ceil(waitMs / 1000);
    this.logger.warn({ username: key.slice(0, 64), ip: req.ip, retryAfterSeconds: seconds }, 'console sign-in throttled');
    throw new ApiError(429, 'too_many_attempts', `too many wrong passwords for this user: try again in ${seconds} s`, undefined, {
      'Retry-After': String(seconds),
    });
  }

  @Get()
  @ApiOperation({ summary: "The signed-in user, the CSRF token and the app's settings; 401 not_signed_in" })
  @ApiOkResponse({ type: SessionResponse })
  async current(@Req() req: ConsoleRequest): Promise<SessionResponse> {
    const sessionId = sessionIdOf(req);
    const session = sessionId ? await this.resolve.execute(sessionId) : null;
    if (!session) throw new ApiError(401, 'not_signed_in', 'not signed in');
    return { ...session, settings: this.settings };
  }

  @Delete()
  @HttpCode(204)
  @UseGuards(SignedInGuard)
  @ApiOperation({ summary: 'Sign out: the session is deleted and the cookie cleared (X-CSRF-Token required)' })
  async remove(@Req() req: ConsoleRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    if (req.sessionId) await this.sessions.delete(req.sessionId);
    clearSessionCookie(reply, this.cookie.secure);
  }
}
