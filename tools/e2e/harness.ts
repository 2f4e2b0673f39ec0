// Shared set-up of the browser tests: the collector (in this process, on the test file's own
// database and topics), a TopicTap on events.raw, a source, the demo shop, and headless
// Chromium (Debian's package, driven by playwright-core). These tests live outside the Nx
// projects because they drive two apps at once (the collector and the demo shop).
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page, type Request } from 'playwright-core';
import { PIPELINE_WAIT_MS, TopicTap, TEST_ADMIN_TOKEN, startTestService, testInfra, waitFor } from '@mosaic/shared-testing';
import type { StartedService } from '@mosaic/shared-service';
import { collectorDefinition } from '../../apps/collector/src/collector.definition';
import { startDemoShop, type DemoShopOptions, type RunningDemoShop } from '../../apps/demo-shop/src/server';

// A test helper (like libs/shared/testing): MOSAIC_CHROMIUM names another Chromium, as for tools/scripts/ensure-chromium.mjs.
// eslint-disable-next-line no-restricted-properties
export const CHROMIUM = process.env.MOSAIC_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** Delivery made quick for tests (production defaults: 1 s interval, 1 s first retry, 10 s heartbeat). */
export const FAST_TRACKER = { flushInterval: 100, retryBase: 300, retryMax: 2_000, videoHeartbeat: 1 };

export type Obj = Record<string, unknown>;
export interface Payload {
  type: string;
  messageId: string;
  anonymousId?: string;
  userId?: string;
  event?: string;
  name?: string;
  previousId?: string;
  properties: Obj;
  traits: Obj;
  context: Obj & { page?: Obj; campaign?: Obj; library?: Obj; consent?: Obj };
  timestamp: string;
  sourceId: string;
}

export interface Stack {
  collector: StartedService;
  collectorUrl: string;
  tap: TopicTap;
  writeKey: string;
  sourceId: string;
  /** The source's server key and identity secret (server-side decision API calls, userHash). */
  serverKey: string;
  identitySecret: string;
  browser: Browser;
  shop: RunningDemoShop;
  /** Another demo shop (other options) on a free port; stopped with the stack. */
  startShop(options?: Partial<DemoShopOptions>): Promise<RunningDemoShop>;
  stop(): Promise<void>;
}

export interface CreatedSource {
  id: string;
  writeKey: string;
  serverKey: string;
  identitySecret: string;
}

export async function createSource(collectorUrl: string, name: string): Promise<CreatedSource> {
  const res = await fetch(`${collectorUrl}/v1/sources`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`creating a source failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreatedSource;
}

/** Lets pages of these origins call the decision API with the source's write key (CORS per source). */
export async function allowOrigins(collectorUrl: string, sourceId: string, allowedOrigins: string[]): Promise<void> {
  const res = await fetch(`${collectorUrl}/v1/sources/${sourceId}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ allowedOrigins }),
  });
  if (res.status !== 200) throw new Error(`setting the allowed origins failed: ${res.status} ${await res.text()}`);
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 30_000 });
}

export async function startStack(shopOptions: Partial<DemoShopOptions> = {}): Promise<Stack> {
  const collector = await startTestService(collectorDefinition);
  const collectorUrl = collector.http.url;
  const shops: RunningDemoShop[] = [];
  let tap: TopicTap | undefined;
  let browser: Browser | undefined;
  try {
    tap = await TopicTap.start(testInfra().kafkaBrokers, collector.platform.topics.eventsRaw);
    const source = await createSource(collectorUrl, 'demo-shop');
    const startShop = async (options: Partial<DemoShopOptions> = {}): Promise<RunningDemoShop> => {
      const shop = await startDemoShop({
        collectorUrl,
        writeKey: source.writeKey,
        host: '127.0.0.1',
        port: 0,
        ...options,
        trackerOptions: { ...FAST_TRACKER, ...options.trackerOptions },
      });
      shops.push(shop);
      await allowOrigins(
        collectorUrl,
        source.id,
        shops.map((x) => new URL(x.url).origin),
      );
      return shop;
    };
    const shop = await startShop(shopOptions);
    browser = await launchChromium();
    const b = browser;
    const t = tap;
    return {
      collector,
      collectorUrl,
      tap: t,
      writeKey: source.writeKey,
      sourceId: source.id,
      serverKey: source.serverKey,
      identitySecret: source.identitySecret,
      browser: b,
      shop,
      startShop,
      stop: async () => {
        await b.close().catch(() => undefined);
        for (const s of shops) await s.close();
        await t.stop();
        await collector.stop();
      },
    };
  } catch (err) {
    await browser?.close().catch(() => undefined);
    for (const s of shops) await s.close();
    await tap?.stop().catch(() => undefined);
    await collector.stop();
    throw err;
  }
}

/** A fresh browser context (its own cookies and storage: a new visitor), failing on page errors. */
export async function newVisitor(
  stack: Stack,
  options: BrowserContextOptions = {},
): Promise<{ context: BrowserContext; errors: Error[]; requests: Request[] }> {
  const context = await stack.browser.newContext(options);
  const errors: Error[] = [];
  const requests: Request[] = [];
  context.on('weberror', (e) => errors.push(e.error()));
  context.on('request', (r) => {
    if (r.url().startsWith(stack.collectorUrl)) requests.push(r);
  });
  return { context, errors, requests };
}

/** Opens a page and waits until mosaic.js has replaced the snippet's stub. */
export async function open(context: BrowserContext, url: string, options: { referer?: string } = {}): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url, { referer: options.referer });
  await page.waitForFunction('window.mosaic && window.mosaic.VERSION', undefined, { timeout: 10_000 });
  return page;
}

export async function goto(page: Page, url: string, options: { referer?: string } = {}): Promise<void> {
  await page.goto(url, { referer: options.referer });
  await page.waitForFunction('window.mosaic && window.mosaic.VERSION', undefined, { timeout: 10_000 });
}

export function anonymousId(page: Page): Promise<string> {
  return page.evaluate('window.mosaic.user().anonymousId()') as Promise<string>;
}

export function payloads(stack: Stack, filter: (p: Payload) => boolean = () => true): Payload[] {
  return stack.tap.payloads<Payload>().filter(filter);
}

/**
 * Waits until the events matching `filter` that reached Kafka satisfy `until`; returns them. The
 * default bound is the pipeline wait: the tracker's batches, the collector and the broker all sit
 * on a machine that may be busy (a liveness bound; it returns as soon as `until` holds).
 */
export async function waitForEvents(
  stack: Stack,
  filter: (p: Payload) => boolean,
  until: (ps: Payload[]) => boolean,
  timeoutMs = PIPELINE_WAIT_MS,
  message = 'events',
): Promise<Payload[]> {
  return waitFor(
    () => {
      const ps = payloads(stack, filter);
      return until(ps) ? ps : false;
    },
    { timeoutMs, intervalMs: 50, message },
  );
}

export const ofVisitor =
  (aid: string) =>
  (p: Payload): boolean =>
    p.anonymousId === aid;
export const named = (ps: Payload[], event: string): Payload[] => ps.filter((p) => p.type === 'track' && p.event === event);
export const pages = (ps: Payload[]): Payload[] => ps.filter((p) => p.type === 'page');

/** The request bodies the page sent to the collector (fetch, sendBeacon), as text. */
export function bodies(requests: Request[]): string[] {
  return requests.map((r) => r.postData() ?? '');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface CollectorProxy {
  url: string;
  /** true: every connection is reset, as if the collector were unreachable. */
  blocked: boolean;
  /** messageIds of the batches the collector answered 200 through this proxy. */
  accepted: string[];
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy in front of the collector that a test can switch to "unreachable"
 * (connections reset). Unlike request interception in the browser, it also stops sendBeacon.
 */
export async function startCollectorProxy(target: string): Promise<CollectorProxy> {
  const to = new URL(target);
  const proxy: CollectorProxy = { url: '', blocked: false, accepted: [], close: async () => undefined };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (proxy.blocked) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const out = httpRequest(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host } },
        (upstream) => {
          const reply: Buffer[] = [];
          upstream.on('data', (c: Buffer) => reply.push(c));
          upstream.on('end', () => {
            if (upstream.statusCode === 200 && req.method === 'POST' && req.url === '/v1/batch') {
              try {
                proxy.accepted.push(...(JSON.parse(body.toString('utf8')) as { batch: { messageId: string }[] }).batch.map((m) => m.messageId));
              } catch {
                /* not JSON */
              }
            }
            res.writeHead(upstream.statusCode ?? 502, upstream.headers);
            res.end(Buffer.concat(reply));
          });
        },
      );
      out.on('error', () => req.socket.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return proxy;
}
