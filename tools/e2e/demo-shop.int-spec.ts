// The demo shop without a browser: its write key (created through the collector's admin API
// on the first run, reused from the key file afterwards, replaced when the collector no longer
// knows it), its pages and its static files (Range requests, which video seeking needs).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ADMIN_TOKEN, startTestService } from '@mosaic/shared-testing';
import type { StartedService } from '@mosaic/shared-service';
import { collectorDefinition } from '../../apps/collector/src/collector.definition';
import { startDemoShop, type RunningDemoShop } from '../../apps/demo-shop/src/server';
import { resolveWriteKey } from '../../apps/demo-shop/src/write-key';

jest.setTimeout(60_000);

let collector: StartedService;
let dir: string;
const logs: string[] = [];
const log = (msg: string): void => void logs.push(msg);

beforeAll(async () => {
  collector = await startTestService(collectorDefinition);
  dir = mkdtempSync(join(tmpdir(), 'demo-shop-'));
}, 120_000);

afterAll(async () => {
  await collector?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function track(writeKey: string): Promise<number> {
  const res = await fetch(`${collector.http.url}/v1/track`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify({ writeKey, anonymousId: 'ds-1', event: 'Key Check' }),
  });
  await res.text();
  return res.status;
}

describe('the write key', () => {
  it('is created with the admin token on the first run, saved, and reused afterwards', async () => {
    const file = join(dir, 'nested', 'demo-shop-write-key');
    const settings = { writeKeyFile: file, collectorUrl: collector.http.url, adminToken: TEST_ADMIN_TOKEN, sourceName: 'demo-shop' };
    const key = await resolveWriteKey(settings, log);
    expect(readFileSync(file, 'utf8').trim()).toBe(key);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await track(key)).toBe(200);
    const sources = (await (await fetch(`${collector.http.url}/v1/sources`, { headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json()) as {
      sources: { name: string }[];
    };
    expect(sources.sources.filter((s) => s.name === 'demo-shop')).toHaveLength(1);
    // Second run: the same key, no new source.
    expect(await resolveWriteKey(settings, log)).toBe(key);
    const again = (await (await fetch(`${collector.http.url}/v1/sources`, { headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json()) as {
      sources: { name: string }[];
    };
    expect(again.sources.filter((s) => s.name === 'demo-shop')).toHaveLength(1);
  });

  it("allows the shop's origins on its source (the decision API answers only those), also on a source from an earlier run", async () => {
    const file = join(dir, 'origins-key');
    const origins = ['http://127.0.0.1:8091', 'http://localhost:8091'];
    const settings = { writeKeyFile: file, collectorUrl: collector.http.url, adminToken: TEST_ADMIN_TOKEN, sourceName: 'demo-shop-origins' };
    await resolveWriteKey({ ...settings, siteOrigins: [origins[0] as string] }, log);
    const list = async () =>
      (
        (await (await fetch(`${collector.http.url}/v1/sources`, { headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json()) as {
          sources: { name: string; allowedOrigins: string[] }[];
        }
      ).sources.find((s) => s.name === 'demo-shop-origins');
    expect((await list())?.allowedOrigins).toEqual([origins[0]]);
    await resolveWriteKey({ ...settings, siteOrigins: origins }, log);
    expect((await list())?.allowedOrigins).toEqual(origins);
  });

  it('is replaced when the collector does not know the saved one (a new database)', async () => {
    const file = join(dir, 'stale-key');
    writeFileSync(file, 'wk_not_known_to_this_collector\n');
    const key = await resolveWriteKey({ writeKeyFile: file, collectorUrl: collector.http.url, adminToken: TEST_ADMIN_TOKEN, sourceName: 'demo-shop-2' }, log);
    expect(key).not.toBe('wk_not_known_to_this_collector');
    expect(readFileSync(file, 'utf8').trim()).toBe(key);
    expect(await track(key)).toBe(200);
    expect(logs.join('\n')).toMatch(/not known to the collector/);
  });

  it('DEMO_SHOP_WRITE_KEY wins; without a key, a file or a token it says what to set', async () => {
    expect(await resolveWriteKey({ writeKey: 'given', writeKeyFile: join(dir, 'none'), collectorUrl: 'http://127.0.0.1:1', sourceName: 'x' }, log)).toBe(
      'given',
    );
    await expect(resolveWriteKey({ writeKeyFile: join(dir, 'none'), collectorUrl: collector.http.url, sourceName: 'x' }, log)).rejects.toThrow(
      /DEMO_SHOP_WRITE_KEY.*MOSAIC_ADMIN_TOKEN/,
    );
  });
});

describe('the shop', () => {
  let shop: RunningDemoShop;

  beforeAll(async () => {
    shop = await startDemoShop({ collectorUrl: 'http://127.0.0.1:8080', writeKey: 'wk_demo</script>', port: 0 });
  });

  afterAll(async () => {
    await shop?.close();
  });

  it('serves every page with the tracker snippet (its values escaped)', async () => {
    for (const path of [
      '/',
      '/category/coffee-machines',
      '/category/grinders',
      '/category/beans',
      '/product/CM-900',
      '/cart',
      '/checkout',
      '/checkout/thank-you',
      '/login',
      '/newsletter/thanks',
    ]) {
      const res = await fetch(`${shop.url}${path}`);
      expect([path, res.status]).toEqual([path, 200]);
      const html = await res.text();
      expect(html).toContain("s.src=h+'/mosaic.js'");
      expect(html).toContain('"http://127.0.0.1:8080","wk_demo\\u003c/script\\u003e"');
    }
    const home = await (await fetch(`${shop.url}/`)).text();
    expect(home).toContain('data-mosaic-slot="home-banner"');
    const machines = await (await fetch(`${shop.url}/category/coffee-machines`)).text();
    // From bargain to premium, cheapest first.
    expect(machines.indexOf('€49')).toBeLessThan(machines.indexOf('€2,490'));
    expect((await fetch(`${shop.url}/product/NOPE`)).status).toBe(404);
    expect((await fetch(`${shop.url}/category/../../etc/passwd`)).status).toBe(404);
  });

  it('answers the newsletter form with a redirect, and serves the video with Range support', async () => {
    const posted = await fetch(`${shop.url}/newsletter`, {
      method: 'POST',
      body: 'email=a%40b.c',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    });
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toBe('/newsletter/thanks');
    const whole = await fetch(`${shop.url}/assets/product-video.webm`);
    expect(whole.headers.get('content-type')).toBe('video/webm');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    const size = (await whole.arrayBuffer()).byteLength;
    expect(size).toBeGreaterThan(1000);
    expect(size).toBeLessThan(100 * 1024);
    const part = await fetch(`${shop.url}/assets/product-video.webm`, { headers: { Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${size}`);
    expect((await part.arrayBuffer()).byteLength).toBe(100);
    expect((await fetch(`${shop.url}/assets/..%2Fsrc%2Fserver.ts`)).status).toBe(404);
    expect((await fetch(`${shop.url}/health`)).status).toBe(200);
  });
});
