import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface TrackerScript {
  code: Buffer;
  gzip: Buffer;
  etag: string;
}

interface TrackerBundler {
  buildTracker(): { code: string };
}

/**
 * The tracker in `dir` (`libs/tracker/`): the built `mosaic.js` when running the build
 * (tools/scripts/build.mjs bundles it there), or the tracker's sources and bundler when running
 * from source (tests), where the bundle is made on the fly with swc (a dev dependency).
 */
export function loadTrackerScript(dir: string): TrackerScript {
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

export interface TrackerScriptAnswer {
  status: 200 | 304;
  etag: string;
  /** The body is gzipped (send `Content-Encoding: gzip`). */
  gzip: boolean;
  body?: Buffer;
}

/** `GET /mosaic.js`: the script loaded once, revalidated by ETag (304), gzipped when accepted. */
export class ServeTrackerScript {
  private script: TrackerScript | undefined;

  constructor(private readonly dir: string) {}

  /** Loads the script now (at start-up), so a missing build fails the start rather than the first request. */
  load(): void {
    this.script = loadTrackerScript(this.dir);
  }

  execute(req: { ifNoneMatch?: string | string[]; acceptEncoding?: string | string[] }): TrackerScriptAnswer {
    const s = this.script ?? (this.script = loadTrackerScript(this.dir));
    if (etagMatches(req.ifNoneMatch, s.etag)) return { status: 304, etag: s.etag, gzip: false };
    const gzip = /\bgzip\b/i.test(String(req.acceptEncoding ?? ''));
    return { status: 200, etag: s.etag, gzip, body: gzip ? s.gzip : s.code };
  }
}
