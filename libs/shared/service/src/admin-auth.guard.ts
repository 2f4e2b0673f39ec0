import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { CommonConfig } from '@mosaic/shared-config';
import { ApiError } from './errors';
import { MOSAIC_CONFIG } from './tokens';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Admin endpoints take `Authorization: Bearer <MOSAIC_ADMIN_TOKEN>`. */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  private readonly expected: Buffer;
  constructor(@Inject(MOSAIC_CONFIG) config: CommonConfig) {
    this.expected = digest(config.adminToken);
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const header = req.headers.authorization;
    const challenge = { 'WWW-Authenticate': 'Bearer realm="mosaic-admin"' };
    if (!header) throw new ApiError(401, 'unauthorized', 'admin endpoint: missing Authorization: Bearer <admin token>', undefined, challenge);
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match) throw new ApiError(401, 'unauthorized', 'admin endpoint: Authorization must be "Bearer <admin token>"', undefined, challenge);
    if (!timingSafeEqual(digest(match[1]!.trim()), this.expected)) {
      throw new ApiError(401, 'unauthorized', 'admin endpoint: invalid admin token', undefined, challenge);
    }
    return true;
  }
}
