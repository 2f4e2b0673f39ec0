import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { UpstreamError } from '@mosaic/console-data-access';
import { ApiError } from '@mosaic/shared-service';

/** What every answer of the console carries: it is never framed, never sniffed, and leaks no URL to other sites. */
const SECURITY_HEADERS: Record<string, string> = {
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
};

/** Cookies (the session), `reply.sendFile` over the web directory (SpaController serves it), security headers. */
export function configureConsoleFastify(instance: FastifyInstance, webDir: string): void {
  void instance.register(fastifyCookie);
  void instance.register(fastifyStatic, { root: webDir, serve: false });
  instance.addHook('onSend', async (_req, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(name)) void reply.header(name, value);
    return payload;
  });
}

/** A service the console could not get an answer from: 504 when it did not answer in time, else 502. */
export function upstreamFailure(err: UpstreamError): ApiError {
  if (err.kind === 'timeout') return new ApiError(504, 'upstream_timeout', err.message);
  return new ApiError(502, err.kind === 'failed' ? 'upstream_failed' : 'upstream_unavailable', err.message);
}
