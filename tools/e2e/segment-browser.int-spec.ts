// Interoperability: Segment's own browser library, @segment/analytics-next (its UMD build from
// node_modules, nobody here wrote it), on a test page, pointed at the collector with
// `integrations['Segment.io'].apiHost` and inline `cdnSettings` (so it never calls Segment's
// CDN). Its events are accepted and reach Kafka, in both of its delivery modes.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { TopicTap, startTestService, testInfra } from '@mosaic/shared-testing';
import type { StartedService } from '@mosaic/shared-service';
import type { Browser } from 'playwright-core';
import { collectorDefinition } from '../../apps/collector/src/collector.definition';
import { createSource, launchChromium, sleep, type Payload } from './harness';

jest.setTimeout(60_000);

const UMD = join(__dirname, '..', '..', 'node_modules', '@segment', 'analytics-next', 'dist', 'umd');

let collector: StartedService;
let tap: TopicTap;
let browser: Browser;
let site: Server;
let siteUrl: string;
let writeKey: string;

function testPage(apiHost: string, key: string, strategy: 'standard' | 'batching'): string {
  const segmentio = {
    apiKey: key,
    apiHost,
    protocol: 'http',
    ...(strategy === 'batching' ? { deliveryStrategy: { strategy: 'batching', config: { size: 3, timeout: 200 } } } : {}),
  };
  return `<!doctype html><html><head><title>Segment test page</title>
<script>window.analytics = { _cdn: location.origin };</script>
<script src="/analytics-next/bundles/index.js"></script>
</head><body><h1>analytics-next</h1><script>
window.done = AnalyticsNext.AnalyticsBrowser.load(
  { writeKey: ${JSON.stringify(key)}, cdnSettings: { integrations: { 'Segment.io': ${JSON.stringify(segmentio)} } } },
  { integrations: { 'Segment.io': ${JSON.stringify(segmentio)} } },
).then(async ([analytics]) => {
  const anon = analytics.user().anonymousId();
  await analytics.page('Docs', 'Getting started', { strategy: ${JSON.stringify(strategy)} });
  await analytics.track('Product Viewed', { product_id: 'CM-900', price: 899, strategy: ${JSON.stringify(strategy)} });
  await analytics.identify('seg-browser-${strategy}', { email: 'seg-${strategy}@example.com' });
  await analytics.group('org-42', { name: 'Coffee Club' });
  await analytics.alias('seg-browser-${strategy}-alias');
  return anon;
});
</script></body></html>`;
}

beforeAll(async () => {
  collector = await startTestService(collectorDefinition);
  tap = await TopicTap.start(testInfra().kafkaBrokers, collector.platform.topics.eventsRaw);
  writeKey = (await createSource(collector.http.url, 'segment-browser')).writeKey;
  const apiHost = `${collector.http.url.replace(/^http:\/\//, '')}/v1`;
  site = createServer((req, res) => {
    const url = req.url ?? '/';
    const bundle = /^\/analytics-next\/bundles\/([\w.-]+\.js)$/.exec(url);
    if (bundle) {
      try {
        const code = readFileSync(join(UMD, bundle[1] as string));
        res.writeHead(200, { 'Content-Type': 'application/javascript' });
        res.end(code);
      } catch {
        res.writeHead(404);
        res.end();
      }
      return;
    }
    const m = /^\/(standard|batching)$/.exec(url);
    if (m) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(testPage(apiHost, writeKey, m[1] as 'standard' | 'batching'));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => (site ? site.close(r) : r(undefined)));
  await tap?.stop();
  await collector?.stop();
});

it.each(['standard', 'batching'] as const)('accepts the events of @segment/analytics-next (%s delivery)', async (strategy) => {
  const context = await browser.newContext();
  const hosts = new Set<string>();
  const answers: number[] = [];
  const sent: Record<string, unknown>[] = [];
  const paths = new Set<string>();
  const errors: Error[] = [];
  context.on('weberror', (e) => errors.push(e.error()));
  context.on('request', (r) => hosts.add(new URL(r.url()).hostname));
  let posted = 0;
  context.on('request', (r) => {
    if (!r.url().startsWith(collector.http.url)) return;
    posted++;
    paths.add(new URL(r.url()).pathname);
    const body = JSON.parse(r.postData() ?? '{}') as Record<string, unknown> & { batch?: Record<string, unknown>[] };
    sent.push(...(body.batch ?? [body]));
  });
  context.on('response', (r) => {
    if (r.url().startsWith(collector.http.url)) answers.push(r.status());
  });
  const page = await context.newPage();
  await page.goto(`${siteUrl}/${strategy}`);
  const anon = (await page.evaluate('window.done')) as string;
  expect(anon).toMatch(/^[0-9a-f-]{36}$/);
  const mine = (p: Payload): boolean => p.anonymousId === anon;
  const deadline = Date.now() + 15_000;
  // Playwright reports the browser's requests asynchronously: on a busy machine the collector
  // may have stored a batch before this process heard of the request that carried it.
  const sentTypes = () => new Set(sent.map((m) => m['type'])).size;
  while ((tap.payloads<Payload>(mine).length < 5 || answers.length < posted || sentTypes() < 5) && Date.now() < deadline) await sleep(50);
  const ps = tap.payloads<Payload>(mine);
  const byType = Object.fromEntries(ps.map((p) => [p.type, p]));
  expect(Object.keys(byType).sort()).toEqual(['alias', 'group', 'identify', 'page', 'track']);
  expect(byType['page']).toMatchObject({
    name: 'Getting started',
    properties: { strategy, path: `/${strategy}`, url: `${siteUrl}/${strategy}`, title: 'Segment test page' },
  });
  expect((byType['page'] as unknown as { category: string }).category).toBe('Docs');
  expect(byType['track']).toMatchObject({ event: 'Product Viewed', properties: { product_id: 'CM-900', price: 899 } });
  expect(byType['identify']).toMatchObject({ userId: `seg-browser-${strategy}`, traits: { email: `seg-${strategy}@example.com` } });
  expect(byType['group']).toMatchObject({ groupId: 'org-42', traits: { name: 'Coffee Club' } });
  // Kept as the library sent it (analytics-next fills an alias's ids from its current user).
  const aliasSent = sent.find((m) => m['type'] === 'alias')!;
  expect(byType['alias']).toMatchObject({ userId: aliasSent['userId'], previousId: aliasSent['previousId'], messageId: aliasSent['messageId'] });
  expect(byType['alias']!.previousId).toBe(`seg-browser-${strategy}`);
  expect(byType['track']!.context['library']).toMatchObject({ name: 'analytics.js' });
  for (const p of ps) expect(p.messageId).toMatch(/^ajs-next-/);
  // Standard delivery posts each event to its analytics.js short path (/v1/t, /v1/p, …); batching to /v1/b.
  expect(sent).toHaveLength(5);
  expect([...paths].sort()).toEqual(strategy === 'standard' ? ['/v1/a', '/v1/g', '/v1/i', '/v1/p', '/v1/t'] : ['/v1/b']);
  expect(answers.every((s) => s === 200)).toBe(true);
  // Nothing but this machine was contacted: no CDN settings, no bundles from Segment.
  expect([...hosts]).toEqual(['127.0.0.1']);
  expect(errors).toEqual([]);
  await context.close();
});
