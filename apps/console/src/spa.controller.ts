import { existsSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type {} from '@fastify/static'; // its types: reply.sendFile
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '@mosaic/shared-service';
import { WEB_DIR } from './console.tokens';

/** Paths that are never the single-page app: the JSON API, and where API docs live. */
const NOT_THE_APP = /^\/(api|docs)(\/|$)/;

/** Vite's content-hashed files: a new build has new names, so they may be cached for good. */
const IMMUTABLE = /^assets\//;

/**
 * The single-page app built into the web directory: its files as they are, and `index.html`
 * for every other path, so that client-side routes (`/contacts/p_123`) load. 503 until the app
 * is built.
 */
@ApiExcludeController()
@Controller()
export class SpaController {
  constructor(@Inject(WEB_DIR) private readonly dir: string) {}

  @Get('*')
  serve(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    const path = req.url.split('?', 1)[0] ?? '/';
    if (NOT_THE_APP.test(path)) throw new ApiError(404, 'not_found', `no route ${req.method} ${path}`);
    if (!existsSync(join(this.dir, 'index.html'))) {
      throw new ApiError(
        503,
        'console_not_built',
        `the console's web app is not built (no ${join(this.dir, 'index.html')}): run \`npm run build\`, then restart the console`,
      );
    }
    const file = this.fileOf(path) ?? 'index.html';
    void reply.header('Cache-Control', IMMUTABLE.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');
    void reply.sendFile(file, this.dir, { cacheControl: false });
  }

  /** The file of the web directory a path names (relative to it), or undefined when there is none. */
  private fileOf(path: string): string | undefined {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return undefined;
    }
    const full = resolve(this.dir, `.${decoded}`);
    if (!full.startsWith(this.dir + sep)) return undefined;
    try {
      return statSync(full).isFile() ? relative(this.dir, full).split(sep).join('/') : undefined;
    } catch {
      return undefined;
    }
  }
}
