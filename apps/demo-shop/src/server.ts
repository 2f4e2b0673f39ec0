/**
 * The demo shop's HTTP server (node:http, no framework): server-rendered pages that carry the
 * tracker, static assets (with Range support, which video seeking needs), /health and /ready.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve } from 'node:path';
import { isCategory, productBySku } from './catalog';
import { cartPage, categoryPage, checkoutPage, homePage, loginPage, messagePage, productPage, type PageContext } from './pages';

export const DEFAULT_DEMO_SHOP_PORT = 8091;

export interface DemoShopOptions {
  /** The collector's base URL as browsers reach it. */
  collectorUrl: string;
  writeKey: string;
  /** The decision API (activation) as browsers reach it; default: the collector URL. */
  activationUrl?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  requireConsent?: boolean;
  /** More options for `mosaic.load` (tests make delivery faster, for example). */
  trackerOptions?: Record<string, unknown>;
  publicDir?: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface RunningDemoShop {
  url: string;
  port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.webm': 'video/webm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** public/ next to the sources, also when running the build from dist/ (which holds only compiled code). */
export function findPublicDir(): string {
  const candidates = [resolve(__dirname, '..', 'public'), resolve(__dirname, '..', '..', '..', '..', 'apps', 'demo-shop', 'public')];
  const found = candidates.find((d) => existsSync(join(d, 'shop.js')));
  if (!found) throw new Error(`demo shop assets not found in ${candidates.join(' or ')}`);
  return found;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/html; charset=utf-8', headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

function serveAsset(req: IncomingMessage, res: ServerResponse, dir: string, name: string): void {
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name) || !TYPES[extname(name)]) return send(res, 404, 'not found', 'text/plain');
  const file = join(dir, name);
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return send(res, 404, 'not found', 'text/plain');
  }
  const headers: Record<string, string | number> = {
    'Content-Type': TYPES[extname(name)] as string,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'public, max-age=60',
    'X-Content-Type-Options': 'nosniff',
  };
  const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
  if (range && (range[1] || range[2])) {
    let start = range[1] ? Number(range[1]) : size - Number(range[2]);
    let end = range[1] && range[2] ? Number(range[2]) : size - 1;
    start = Math.max(0, start);
    end = Math.min(size - 1, end);
    if (start > end || start >= size) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` });
      res.end();
      return;
    }
    res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': end - start + 1 });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file, { start, end }).pipe(res);
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': size });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).pipe(res);
}

export function startDemoShop(o: DemoShopOptions): Promise<RunningDemoShop> {
  const dir = o.publicDir ?? findPublicDir();
  const ctx: PageContext = {
    collectorUrl: o.collectorUrl.replace(/\/+$/, ''),
    writeKey: o.writeKey,
    requireConsent: !!o.requireConsent,
    trackerOptions: {
      apiHost: o.collectorUrl.replace(/\/+$/, ''),
      activationHost: (o.activationUrl ?? o.collectorUrl).replace(/\/+$/, ''),
      requireConsent: !!o.requireConsent,
      ...o.trackerOptions,
    },
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://shop.invalid');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (req.method === 'POST') {
      // Forms without JavaScript still land somewhere sensible; the body is not kept.
      req.resume();
      const to = path === '/newsletter' ? '/newsletter/thanks' : '/';
      res.writeHead(303, { Location: to, 'Content-Length': 0 });
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed', 'text/plain', { Allow: 'GET, HEAD, POST' });
    if (path === '/health' || path === '/ready') return send(res, 200, '{"status":"ok"}', 'application/json');
    if (path.startsWith('/assets/')) return serveAsset(req, res, dir, path.slice('/assets/'.length));
    if (path === '/favicon.ico') return send(res, 204, '', 'text/plain');
    if (path === '/') return send(res, 200, homePage(ctx));
    const category = /^\/category\/([a-z-]+)$/.exec(path);
    if (category && isCategory(category[1] as string)) return send(res, 200, categoryPage(ctx, category[1] as Parameters<typeof categoryPage>[1]));
    const product = /^\/product\/([A-Za-z0-9-]+)$/.exec(path);
    const p = product ? productBySku(product[1] as string) : undefined;
    if (p) return send(res, 200, productPage(ctx, p));
    if (path === '/cart') return send(res, 200, cartPage(ctx));
    if (path === '/checkout' || path === '/checkout/thank-you') return send(res, 200, checkoutPage(ctx));
    if (path === '/login') return send(res, 200, loginPage(ctx));
    if (path === '/newsletter/thanks') return send(res, 200, messagePage(ctx, 'Thanks for subscribing', 'Look out for our first letter on Friday.'));
    return send(res, 404, messagePage(ctx, 'Not found', 'There is no such page in this shop.'));
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      o.log?.('request failed', { err: String(err), url: req.url });
      if (!res.headersSent) send(res, 500, 'internal error', 'text/plain');
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolveStart, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? DEFAULT_DEMO_SHOP_PORT, o.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const host = !o.host || o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
      resolveStart({
        url: `http://${host}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
