/** The session cookie: `mosaic_console`, HttpOnly, SameSite=Strict, Path=/, Secure when configured. */
import type {} from '@fastify/cookie'; // its types: req.cookies, reply.setCookie
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleUser } from '@mosaic/console-domain';

export const SESSION_COOKIE = 'mosaic_console';

/** A request whose sender the guards identified. */
export type ConsoleRequest = FastifyRequest & { consoleUser?: ConsoleUser; sessionId?: string };

export function sessionIdOf(req: FastifyRequest): string | undefined {
  const value = req.cookies?.[SESSION_COOKIE];
  return value ? value : undefined;
}

export function setSessionCookie(reply: FastifyReply, sessionId: string, opts: { secure: boolean; maxAgeSeconds: number }): void {
  void reply.setCookie(SESSION_COOKIE, sessionId, { httpOnly: true, sameSite: 'strict', path: '/', secure: opts.secure, maxAge: opts.maxAgeSeconds });
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  void reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/', secure });
}
