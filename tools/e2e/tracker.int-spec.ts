// The tracker (mosaic.js, served by the collector) in real headless Chromium, on the demo shop:
// what it collects, asserted on the events that reached Kafka (events.raw).
import { get, type IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '@mosaic/shared-testing';
import type { Page } from 'playwright-core';
import { anonymousId, bodies, goto, named, newVisitor, ofVisitor, open, pages, sleep, startStack, waitForEvents, type Payload, type Stack } from './harness';

jest.setTimeout(60_000);

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('GET /mosaic.js', () => {
  it('is served as cacheable JavaScript with an ETag, gzipped when accepted, 304 when unchanged', async () => {
    const res = await fetch(`${stack.collectorUrl}/mosaic.js`, { headers: { 'Accept-Encoding': 'identity' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/javascript/);
    expect(res.headers.get('cache-control')).toMatch(/public, max-age=\d+/);
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    const code = await res.text();
    expect(code).toContain('mosaic.js');
    // undici's fetch would decompress: ask with a raw request to see the encoding.
    const raw = await new Promise<{ status: number; encoding?: string; body: Buffer }>((resolve, reject) => {
      const req = get(`${stack.collectorUrl}/mosaic.js`, { headers: { 'Accept-Encoding': 'gzip' } }, (r: IncomingMessage) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, encoding: r.headers['content-encoding'], body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
    });
    expect(raw.encoding).toBe('gzip');
    expect(gunzipSync(raw.body).toString('utf8')).toBe(code);
    const again = await fetch(`${stack.collectorUrl}/mosaic.js`, { headers: { 'If-None-Match': etag as string } });
    expect(again.status).toBe(304);
    process.stderr.write(`[tracker] mosaic.js: ${Buffer.byteLength(code)} bytes, ${raw.body.length} bytes gzipped\n`);
    expect(raw.body.length).toBeLessThan(10 * 1024);
  });
});

describe('page views', () => {
  it('records the landing page, single-page-app navigation (pushState, popstate) and calls queued before the script loaded', async () => {
    const { context, errors } = await newVisitor(stack);
    // Hold mosaic.js back so that the page's own calls certainly run against the snippet's stub.
    await context.route('**/mosaic.js', async (route) => {
      await sleep(300);
      await route.continue();
    });
    const page = await open(context, `${stack.shop.url}/product/CM-900`);
    const aid = await anonymousId(page);
    await page.click('#reviews-tab');
    await page.waitForURL(/tab=reviews/);
    await page.goBack();
    await page.waitForURL((u) => !u.search.includes('tab=reviews'));
    const ps = await waitForEvents(stack, ofVisitor(aid), (x) => pages(x).length >= 3 && named(x, 'Product Viewed').length >= 1);
    const views = pages(ps);
    expect(views.map((p) => p.properties['search'])).toEqual(['', '?tab=reviews', '']);
    expect(views[0]!.properties).toMatchObject({ path: '/product/CM-900', url: `${stack.shop.url}/product/CM-900`, title: 'Barista Duo · Mosaic Coffee' });
    // After an SPA navigation the referrer is the previous URL.
    expect(views[1]!.properties['referrer']).toBe(`${stack.shop.url}/product/CM-900`);
    expect(views[1]!.context.page).toMatchObject({ path: '/product/CM-900', search: '?tab=reviews' });
    // Product Viewed was called by the page before mosaic.js ran: replayed after load.
    const viewed = named(ps, 'Product Viewed')[0]!;
    expect(viewed.properties).toMatchObject({ product_id: 'CM-900', price: 899, price_tier: 'premium', currency: 'EUR' });
    expect(viewed.context.library).toMatchObject({ name: 'mosaic.js' });
    for (const p of ps) expect(p.sourceId).toBe(stack.sourceId);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('where visitors come from', () => {
  it('puts UTM parameters and click ids of the landing page into context.campaign', async () => {
    const { context, errors } = await newVisitor(stack);
    const page = await open(
      context,
      `${stack.shop.url}/category/coffee-machines?utm_source=newsletter&utm_medium=email&utm_campaign=spring-sale&utm_content=hero&gclid=Cj0KCQ-abc`,
    );
    const aid = await anonymousId(page);
    const ps = await waitForEvents(stack, ofVisitor(aid), (x) => pages(x).length >= 1 && named(x, 'Product List Viewed').length >= 1);
    const campaign = { source: 'newsletter', medium: 'email', name: 'spring-sale', content: 'hero', gclid: 'Cj0KCQ-abc' };
    expect(pages(ps)[0]!.context.campaign).toEqual(campaign);
    expect(named(ps, 'Product List Viewed')[0]!.context.campaign).toEqual(campaign);
    expect(named(ps, 'Product List Viewed')[0]!.properties).toMatchObject({
      category: 'Coffee machines',
      products: expect.arrayContaining([expect.objectContaining({ product_id: 'CM-2490', price: 2490 })]),
    });
    // The next page of the visit is not a landing page: no campaign.
    await page.click('a[href="/product/CM-100"]');
    await page.waitForURL(/CM-100/);
    const next = await waitForEvents(stack, ofVisitor(aid), (x) => pages(x).length >= 2);
    const second = pages(next)[1]!;
    expect(second.context.campaign).toBeUndefined();
    expect(second.properties['referrer']).toContain('utm_campaign=spring-sale');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('takes search-engine keywords from the referrer', async () => {
    const { context } = await newVisitor(stack);
    const page = await open(context, `${stack.shop.url}/category/grinders`, { referer: 'https://www.bing.com/search?q=flat+burr+grinder&form=QBLH' });
    const aid = await anonymousId(page);
    const [view] = pages(await waitForEvents(stack, ofVisitor(aid), (x) => pages(x).length >= 1));
    expect(view!.properties).toMatchObject({
      search_engine: 'bing',
      search_keyword: 'flat burr grinder',
      referrer: 'https://www.bing.com/search?q=flat+burr+grinder&form=QBLH',
    });
    expect(view!.context.campaign).toEqual({ source: 'bing', medium: 'organic', term: 'flat burr grinder' });

    const other = await newVisitor(stack);
    const p2 = await open(other.context, `${stack.shop.url}/`, { referer: 'https://yandex.ru/search/?text=%D0%BA%D0%BE%D1%84%D0%B5&lr=213' });
    const aid2 = await anonymousId(p2);
    const [view2] = pages(await waitForEvents(stack, ofVisitor(aid2), (x) => pages(x).length >= 1));
    expect(view2!.properties).toMatchObject({ search_engine: 'yandex', search_keyword: 'кофе' });
    await context.close();
    await other.context.close();
  });

  it('shortens long keywords without splitting an emoji, so the landing page is not refused', async () => {
    // 199 letters and an emoji: a cut at 200 code units would leave half of its surrogate pair.
    const referer = `https://www.bing.com/search?q=${'a'.repeat(199)}%F0%9F%98%80`;
    const { context, errors } = await newVisitor(stack);
    const page = await open(context, `${stack.shop.url}/category/grinders`, { referer });
    const aid = await anonymousId(page);
    const [view] = pages(await waitForEvents(stack, ofVisitor(aid), (x) => pages(x).length >= 1));
    expect(view!.properties['search_keyword']).toBe('a'.repeat(199));
    expect(view!.context.campaign).toEqual({ source: 'bing', medium: 'organic', term: 'a'.repeat(199) });
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('clicks and forms', () => {
  it('records clicks on buttons and links, named and described by data-mosaic-* attributes', async () => {
    const { context, errors } = await newVisitor(stack);
    const page = await open(context, `${stack.shop.url}/product/CM-300`);
    const aid = await anonymousId(page);
    await page.click('#add-to-cart');
    await page.click('a[href="/category/coffee-machines"] >> nth=-1');
    await page.waitForURL(/\/category\/coffee-machines$/);
    await page.click('a[href="/product/CM-900"]');
    await page.waitForURL(/CM-900/);
    const ps = await waitForEvents(
      stack,
      ofVisitor(aid),
      (x) => named(x, 'Product Added').length >= 1 && named(x, 'Product Clicked').length >= 1 && named(x, 'Link Clicked').length >= 1,
    );
    expect(named(ps, 'Product Added')[0]!.properties).toEqual({
      text: 'Add to cart',
      id: 'add-to-cart',
      product_id: 'CM-300',
      sku: 'CM-300',
      name: 'Classica Pump Espresso',
      price: 189,
      quantity: 1,
      currency: 'EUR',
      price_tier: 'mid',
    });
    expect(named(ps, 'Product Clicked')[0]!.properties).toMatchObject({
      product_id: 'CM-900',
      price: 899,
      href: `${stack.shop.url}/product/CM-900`,
      outbound: false,
    });
    expect(named(ps, 'Link Clicked')[0]!.properties).toMatchObject({ text: 'Coffee machines', href: `${stack.shop.url}/category/coffee-machines` });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('identifies from the fields a form marks, and never sends passwords or card numbers', async () => {
    const { context, requests, errors } = await newVisitor(stack);
    // Newsletter: marked fields become traits of an identify.
    const page = await open(context, `${stack.shop.url}/`);
    const aid = await anonymousId(page);
    await page.fill('#newsletter-form [name=firstName]', 'Ada');
    await page.fill('#newsletter-form [name=email]', ' Ada@Example.com ');
    await page.check('#newsletter-form [name=offers]');
    await page.click('#newsletter-form button[type=submit]');
    await page.waitForURL(/\/newsletter\/thanks$/);
    let ps = await waitForEvents(stack, ofVisitor(aid), (x) => x.some((p) => p.type === 'identify') && named(x, 'Newsletter Subscribed').length >= 1);
    expect(ps.find((p) => p.type === 'identify')!.traits).toEqual({ firstName: 'Ada', email: 'ada@example.com', marketingOptIn: true });
    expect(named(ps, 'Newsletter Subscribed')[0]!.properties).toMatchObject({ form_id: 'newsletter-form', action: '/newsletter', list: 'weekly' });

    // Login: the page identifies with a user id; a password field is never read, even when marked.
    await goto(page, `${stack.shop.url}/login`);
    await page.evaluate("document.querySelector('[name=password]').setAttribute('data-mosaic-identify', 'password')");
    await page.fill('[name=email]', 'ada@example.com');
    await page.fill('[name=password]', 'Sup3r-Secret-Passw0rd');
    await page.click('#login-form button[type=submit]');
    await page.waitForURL(`${stack.shop.url}/`);
    ps = await waitForEvents(stack, ofVisitor(aid), (x) => x.some((p) => p.type === 'identify' && !!p.userId) && named(x, 'Signed In').length >= 1);
    const login = ps.find((p) => p.type === 'identify' && p.userId)!;
    expect(login.userId).toMatch(/^cust-[0-9a-f]+$/);
    expect(login.traits).toMatchObject({ email: 'ada@example.com', firstName: 'Ada' });
    // Later events carry the user id.
    await waitForEvents(stack, ofVisitor(aid), (x) => pages(x).some((p) => p.userId === login.userId && p.properties['path'] === '/'));

    // Checkout: Order Completed with products and revenue; the card number never leaves the page.
    await goto(page, `${stack.shop.url}/product/GR-129`);
    await page.click('#add-to-cart');
    await page.click('#add-to-cart');
    await goto(page, `${stack.shop.url}/checkout`);
    await page.fill('[name=name]', 'Ada Lovelace');
    await page.fill('[name=email]', 'ada@example.com');
    await page.fill('[name=address]', '1 Analytical Way');
    await page.fill('[name=cardnumber]', '4111 1111 1111 1111');
    await page.fill('[name=cc-exp]', '12/30');
    await page.fill('[name=cvc]', '737');
    await page.click('#place-order');
    await page.waitForURL(/\/checkout\/thank-you$/);
    ps = await waitForEvents(
      stack,
      ofVisitor(aid),
      (x) => named(x, 'Order Completed').length >= 1 && pages(x).some((p) => p.properties['path'] === '/checkout/thank-you'),
    );
    const order = named(ps, 'Order Completed')[0]!;
    expect(order.userId).toBe(login.userId);
    expect(order.properties).toMatchObject({ revenue: 258, total: 258, currency: 'EUR', products: [{ product_id: 'GR-129', quantity: 2, price: 129 }] });
    expect(order.properties['order_id']).toMatch(/^ORD-/);
    const checkoutIdentify = ps.filter((p) => p.type === 'identify').pop()!;
    expect(checkoutIdentify.traits).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.com' });
    expect(checkoutIdentify.traits['card']).toBeUndefined();

    const sent = bodies(requests).join('\n');
    expect(sent).toContain('Order Completed');
    expect(sent).not.toContain('Sup3r-Secret-Passw0rd');
    expect(sent).not.toMatch(/4111[ -]?1111/);
    expect(sent).not.toContain('"737"'); // the CVC, as a JSON value
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('video', () => {
  it('follows the Segment Video spec: start, heartbeat, pause, resume, seek, progress and completion', async () => {
    const { context, errors } = await newVisitor(stack);
    const page = await open(context, `${stack.shop.url}/product/CM-900`);
    const aid = await anonymousId(page);
    const video = page.locator('#product-video');
    await video.evaluate((v: { readyState: number; load(): void }) => (v.readyState >= 1 ? undefined : v.load()));
    await page.waitForFunction("document.querySelector('#product-video').duration > 0");
    await video.evaluate((v: { play(): Promise<void> }) => v.play());
    await page.waitForFunction("document.querySelector('#product-video').currentTime > 1.3");
    await video.evaluate((v: { pause(): void }) => v.pause());
    await sleep(200);
    await video.evaluate((v: { play(): Promise<void> }) => v.play());
    await video.evaluate((v: { currentTime: number }) => {
      v.currentTime = 3;
    });
    await page.waitForFunction("document.querySelector('#product-video').ended", undefined, { timeout: 15_000 });
    const ps = await waitForEvents(stack, ofVisitor(aid), (x) => named(x, 'Video Playback Completed').length >= 1);
    const video_ = ps.filter((p) => p.type === 'track' && String(p.event).startsWith('Video'));
    const names = video_.map((p) => (p.event === 'Video Content Progress' ? `Progress ${p.properties['progress']}` : p.event));
    expect(names[0]).toBe('Video Playback Started');
    expect(names).toEqual(
      expect.arrayContaining([
        'Video Content Playing',
        'Progress 25',
        'Video Playback Paused',
        'Video Playback Resumed',
        'Video Playback Seek Started',
        'Video Playback Seek Completed',
        'Progress 50',
        'Progress 75',
        'Progress 100',
      ]),
    );
    expect(names[names.length - 1]).toBe('Video Playback Completed');
    // Order: pause before resume before the seek; milestones each once.
    const at = (n: string): number => names.indexOf(n);
    expect(at('Video Playback Paused')).toBeLessThan(at('Video Playback Resumed'));
    expect(at('Video Playback Resumed')).toBeLessThan(at('Video Playback Seek Started'));
    expect(at('Video Playback Seek Started')).toBeLessThan(at('Video Playback Seek Completed'));
    for (const m of [25, 50, 75, 100]) expect(names.filter((n) => n === `Progress ${m}`)).toHaveLength(1);
    const started = video_[0]!.properties;
    expect(started).toMatchObject({
      position: 0,
      total_length: 4,
      video_player: 'html5',
      content_asset_id: 'CM-900-demo',
      title: 'Barista Duo in four seconds',
      product_id: 'CM-900',
      sound: 0,
      full_screen: false,
      livestream: false,
    });
    const seek = video_.find((p) => p.event === 'Video Playback Seek Started')!.properties;
    expect(seek['seek_position']).toBe(3);
    expect(seek['position']).toBeLessThanOrEqual(2);
    expect(video_.find((p) => p.event === 'Video Playback Completed')!.properties).toMatchObject({ position: 4, total_length: 4 });
    // One session id for the whole viewing.
    expect(new Set(video_.map((p) => p.properties['session_id'])).size).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('page exit', () => {
  it('records time on page and the deepest scroll when the visitor leaves', async () => {
    const { context } = await newVisitor(stack, { viewport: { width: 800, height: 300 } });
    const page = await open(context, `${stack.shop.url}/product/CM-900`);
    const aid = await anonymousId(page);
    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight / 2 - 150)');
    await sleep(700);
    await page.evaluate('window.scrollTo(0, 0)');
    await sleep(700);
    await goto(page, `${stack.shop.url}/cart`);
    const ps = await waitForEvents(stack, ofVisitor(aid), (x) => named(x, 'Page Exited').length >= 1);
    const exit = named(ps, 'Page Exited')[0]!;
    expect(exit.properties['path']).toBe('/product/CM-900');
    expect(exit.properties['time_on_page']).toBeGreaterThanOrEqual(1.4);
    expect(exit.properties['time_on_page']).toBeLessThan(30);
    // Half way down (the deepest point reached, not where the visitor ended).
    expect(exit.properties['scroll_depth']).toBeGreaterThanOrEqual(45);
    expect(exit.properties['scroll_depth']).toBeLessThan(80);
    expect(exit.context.page).toMatchObject({ path: '/product/CM-900' });
    await context.close();
  });

  it('sends one Page Exited per page view, at the first switch away, however often the visitor comes back', async () => {
    const { context, errors } = await newVisitor(stack);
    await context.addInitScript(RECORD_SENT);
    const page = await open(context, `${stack.shop.url}/product/CM-900`);
    const aid = await anonymousId(page);
    await sleep(500);
    // Headless Chromium keeps every tab visible: the tab switches are played by the page itself.
    for (let i = 0; i < 3; i++) {
      await setVisibility(page, 'hidden');
      await setVisibility(page, 'visible');
    }
    await goto(page, `${stack.shop.url}/cart`); // pagehide
    const handed = (await sentMessages(page)).filter((m) => m.event === 'Page Exited');
    expect(new Set(handed.map((m) => m.messageId)).size).toBe(1);
    const [exit] = named(await waitForEvents(stack, ofVisitor(aid), (x) => named(x, 'Page Exited').length >= 1), 'Page Exited');
    expect(exit!.messageId).toBe(handed[0]!.messageId);
    expect(exit!.properties['path']).toBe('/product/CM-900');
    expect(exit!.properties['time_on_page']).toBeGreaterThanOrEqual(0.5);
    expect(errors).toEqual([]);
    await context.close();
  });
});

/**
 * An init script that records every batch the tracker hands to fetch or sendBeacon, synchronously
 * and in sessionStorage (it outlives the page), so a test can count what left a page without
 * waiting for what might still arrive.
 */
const RECORD_SENT = `(() => {
  const record = (url, body) => {
    if (String(url).indexOf('/v1/batch') < 0 || typeof body !== 'string') return;
    sessionStorage.setItem('test_sent', (sessionStorage.getItem('test_sent') || '') + body + '\\n');
  };
  const beacon = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, body) => (record(url, body), beacon(url, body));
  const fetch = window.fetch.bind(window);
  window.fetch = (url, init) => (record(url, init && init.body), fetch(url, init));
})()`;

/** The messages the tab's pages handed to the network (see RECORD_SENT); retries repeat a messageId. */
async function sentMessages(page: Page): Promise<Payload[]> {
  const log = (await page.evaluate("sessionStorage.getItem('test_sent') || ''")) as string;
  return log
    .split('\n')
    .filter(Boolean)
    .flatMap((body) => (JSON.parse(body) as { batch: Payload[] }).batch);
}

/** As if the visitor switched to another tab (hidden) or back (visible). */
async function setVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {
  await page.evaluate(`Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${state}' });
document.dispatchEvent(new Event('visibilitychange'));`);
}

describe('decide (personalised content)', () => {
  let activation: Server;
  let activationUrl: string;
  const asked: Record<string, unknown>[] = [];

  beforeAll(async () => {
    activation = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const headers = { 'Access-Control-Allow-Origin': '*', 'Content-Type': 'application/json' };
        if (req.method === 'POST' && req.url === '/v1/decide') {
          asked.push(JSON.parse(body) as Record<string, unknown>);
          res.writeHead(200, headers);
          res.end(
            JSON.stringify({
              segments: ['premium-machine-viewers'],
              slots: { 'home-banner': { html: '<strong id="personal">Your Barista Duo is waiting</strong>' } },
            }),
          );
        } else {
          res.writeHead(404, headers);
          res.end('{}');
        }
      });
    });
    await new Promise<void>((r) => activation.listen(0, '127.0.0.1', r));
    activationUrl = `http://127.0.0.1:${(activation.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => activation.close(r));
  });

  it('fills the page slots from the decision API, and keeps the default content when it is not there (404)', async () => {
    const shop = await stack.startShop({ activationUrl });
    const { context, errors } = await newVisitor(stack);
    const page = await open(context, `${shop.url}/`);
    await page.waitForSelector('[data-mosaic-slot="home-banner"] #personal');
    const aid = await anonymousId(page);
    expect(asked[0]).toMatchObject({ writeKey: stack.writeKey, anonymousId: aid, slots: ['home-banner'] });

    // The main demo shop asks the collector, which has no decision API: 404, default content.
    const page2 = await open(context, `${stack.shop.url}/`);
    const d = (await page2.evaluate("mosaic.decide({slots: ['home-banner']})")) as { fallback?: boolean; slots: object };
    expect(d).toEqual({ segments: [], slots: {}, fallback: true });
    expect(await page2.textContent('[data-mosaic-slot="home-banner"]')).toContain('Free delivery');
    // A decision service that cannot be reached rejects (the page keeps its default content).
    const unreachable = await stack.startShop({ activationUrl: `http://127.0.0.1:${await freePort()}` });
    const page3 = await open(context, `${unreachable.url}/`);
    expect(await page3.evaluate("mosaic.decide().then(() => 'resolved', (e) => 'rejected: ' + e.message)")).toMatch(/^rejected: /);
    expect(await page3.textContent('[data-mosaic-slot="home-banner"]')).toContain('Free delivery');
    expect(errors).toEqual([]);
    await context.close();
  });
});
