/**
 * Who is calling the console's API. `SignedInGuard`: a live session (cookie), and on every
 * request that may change something its CSRF token in `X-CSRF-Token`. `AdminGuard` (users):
 * a signed-in admin, or `Authorization: Bearer <MOSAIC_ADMIN_TOKEN>` (the CLI; no cookie, so no
 * CSRF to defend against).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { requiresCsrfToken } from '@mosaic/console-domain';
import { ResolveSession } from '@mosaic/console-application';
import { AdminAuthGuard, ApiError } from '@mosaic/shared-service';
import { sessionIdOf, type ConsoleRequest } from './session-cookie';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

function sameToken(sent: string | string[] | undefined, expected: string): boolean {
  return typeof sent === 'string' && timingSafeEqual(digest(sent), digest(expected));
}

/** The path without the query string. */
const pathOf = (req: ConsoleRequest): string => req.url.split('?', 1)[0] ?? req.url;

@Injectable()
export class SignedInGuard implements CanActivate {
  constructor(@Inject(ResolveSession) private readonly sessions: ResolveSession) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    await this.authenticate(context.switchToHttp().getRequest<ConsoleRequest>());
    return true;
  }

  /** Sets `req.consoleUser`; 401 without a live session, 403 `csrf_failed` without the session's token. */
  async authenticate(req: ConsoleRequest): Promise<void> {
    const sessionId = sessionIdOf(req);
    const session = sessionId ? await this.sessions.execute(sessionId) : null;
    if (!sessionId || !session) throw new ApiError(401, 'not_signed_in', 'sign in first (POST /api/session)');
    if (requiresCsrfToken(req.method, pathOf(req)) && !sameToken(req.headers['x-csrf-token'], session.csrfToken)) {
      throw new ApiError(403, 'csrf_failed', "missing or wrong X-CSRF-Token (send the session's csrfToken with every change)");
    }
    req.consoleUser = session.user;
    req.sessionId = sessionId;
  }
}

@Injectable()
export class AdminGuard implements CanActivate {
  constructor(
    @Inject(SignedInGuard) private readonly signedIn: SignedInGuard,
    @Inject(AdminAuthGuard) private readonly adminToken: AdminAuthGuard,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<ConsoleRequest>();
    if (req.headers.authorization !== undefined) {
      this.adminToken.canActivate(context);
      req.consoleUser = { username: 'admin-token', role: 'admin' };
      return true;
    }
    await this.signedIn.authenticate(req);
    if (req.consoleUser?.role !== 'admin') throw new ApiError(403, 'forbidden', `role ${req.consoleUser?.role} may not manage users (admin only)`);
    return true;
  }
}
