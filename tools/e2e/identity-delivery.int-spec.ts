// The tracker's identity, consent and delivery in real headless Chromium on the demo shop:
// the anonymous-id cookie and its rolling expiry, reset(), consent gating and the offline
// queue, asserted on the events that reached Kafka.
import type { BrowserContext } from 'playwright-core';
import { waitFor } from '@mosaic/shared-testing';
import {
  anonymousId,
  goto,
  launchChromium,
  named,
  newVisitor,
  ofVisitor,
  open,
  pages,
  payloads,
  sleep,
  startCollectorProxy,
  startStack,
  waitForEvents,
  type CollectorProxy,
  type Stack,
} from './harness';

jest.setTimeout(60_000);

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function aidCookie(context: BrowserContext, url: string) {
  return (await context.cookies(url)).find((c) => c.name === 'mosaic_aid');
}

function mosaicStorage(page: import('playwright-core').Page): Promise<Record<string, string>> {
  return page.evaluate(
    "Object.fromEntries(Object.keys(localStorage).filter((k) => k.startsWith('mosaic_')).map((k) => [k, localStorage.getItem(k)]))",
  ) as Promise<Record<string, string>>;
}

describe('the anonymous id', () => {
  it('is a first-party cookie whose one-year expiry moves forward on every visit, with localStorage as fallback', async () => {
    const { context, errors } = await newVisitor(stack);
    const page = await open(context, `${stack.shop.url}/`);
    const aid = await anonymousId(page);
    expect(aid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const first = (await aidCookie(context, stack.shop.url))!;
    expect(first).toMatchObject({ value: aid, path: '/', sameSite: 'Lax', secure: false, httpOnly: false, domain: '127.0.0.1' });
    const year = 365 * 86_400;
    expect(first.expires).toBeGreaterThan(Date.now() / 1000 + year - 60);
    expect(first.expires).toBeLessThan(Date.now() / 1000 + year + 60);

    await sleep(1_500);
    await goto(page, `${stack.shop.url}/category/beans`);
    expect(await anonymousId(page)).toBe(aid);
    const second = (await aidCookie(context, stack.shop.url))!;
    expect(second.value).toBe(aid);
    // Rolling: re-set with a full year from this visit.
    expect(second.expires - first.expires).toBeGreaterThanOrEqual(1);

    // Cookie lost (cleared, or blocked): localStorage still knows the visitor, and the cookie comes back.
    await context.clearCookies();
    await page.reload();
    await page.waitForFunction('window.mosaic && window.mosaic.VERSION');
    expect(await anonymousId(page)).toBe(aid);
    expect((await aidCookie(context, stack.shop.url))!.value).toBe(aid);

    const ps = await waitForEvents(stack, ofVisitor(aid), (x) => pages(x).length >= 3);
    expect(pages(ps).map((p) => p.properties['path'])).toEqual(['/', '/category/beans', '/category/beans']);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('reset() forgets the user id, the traits and the anonymous id', async () => {
    const { context, errors } = await newVisitor(stack);
    const page = await open(context, `${stack.shop.url}/login`);
    const before = await anonymousId(page);
    await page.fill('[name=email]', 'grace@example.com');
    await page.fill('[name=password]', 'hunter2hunter2');
    await page.click('#login-form button[type=submit]');
    await page.waitForURL(`${stack.shop.url}/`);
    await page.waitForFunction('window.mosaic && window.mosaic.VERSION');
    const loggedIn = await waitForEvents(stack, ofVisitor(before), (x) => x.some((p) => p.type === 'identify'));
    const userId = loggedIn.find((p) => p.type === 'identify')!.userId!;
    expect(userId).toMatch(/^cust-/);
    expect(await mosaicStorage(page)).toMatchObject({ mosaic_uid: userId, mosaic_traits: JSON.stringify({ email: 'grace@example.com' }) });

    // Log out sends Signed Out, resets, then loads the home page again (same URL: wait for the load).
    const reloaded = page.waitForEvent('load');
    await page.click('#logout-link');
    await reloaded;
    await page.waitForFunction('window.mosaic && window.mosaic.VERSION');
    const after = await anonymousId(page);
    expect(after).not.toBe(before);
    expect((await aidCookie(context, stack.shop.url))!.value).toBe(after);
    const storage = await mosaicStorage(page);
    expect(storage['mosaic_uid']).toBeUndefined();
    expect(storage['mosaic_traits']).toBeUndefined();
    expect(storage['mosaic_aid']).toBe(after);
    expect(await page.evaluate('JSON.stringify(mosaic.user().traits())')).toBe('{}');

    // Signed Out still belongs to the person who signed out; what follows belongs to nobody known.
    const out = await waitForEvents(stack, ofVisitor(before), (x) => named(x, 'Signed Out').length >= 1);
    expect(named(out, 'Signed Out')[0]!.userId).toBe(userId);
    const next = await waitForEvents(stack, ofVisitor(after), (x) => pages(x).length >= 1);
    expect(next.every((p) => p.userId === undefined)).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('a parent cookie domain', () => {
  it('lets shop.example.test and www.example.test share one visitor (cookieDomain, and auto)', async () => {
    // Both names resolve to this machine inside this browser only.
    const browser = await launchChromium(['--host-resolver-rules=MAP *.example.test 127.0.0.1']);
    try {
      for (const cookieDomain of ['example.test', 'auto']) {
        const shop = await stack.startShop({ trackerOptions: { cookieDomain } });
        const port = new URL(shop.url).port;
        const context = await browser.newContext();
        const page = await open(context, `http://shop.example.test:${port}/`);
        const aid = await anonymousId(page);
        const cookie = (await context.cookies(`http://shop.example.test:${port}/`)).find((c) => c.name === 'mosaic_aid')!;
        expect([cookieDomain, cookie.domain, cookie.value]).toEqual([cookieDomain, '.example.test', aid]);
        await goto(page, `http://www.example.test:${port}/category/beans`);
        expect(await anonymousId(page)).toBe(aid);
        await waitForEvents(stack, ofVisitor(aid), (x) => pages(x).some((p) => String(p.properties['url']).startsWith('http://www.example.test')));
        await context.close();
      }
    } finally {
      await browser.close();
    }
  });
});

describe('consent', () => {
  it('sends and stores nothing before consent; consent records an event and starts tracking', async () => {
    const shop = await stack.startShop({ requireConsent: true });
    const { context, requests, errors } = await newVisitor(stack);
    const page = await open(context, `${shop.url}/`);
    await page.click('a[href="/category/coffee-machines"] >> nth=0');
    await page.waitForURL(/coffee-machines/);
    await page.waitForFunction('window.mosaic && window.mosaic.VERSION');
    await page.click('a[href="/product/CM-900"]');
    await page.waitForURL(/CM-900/);
    await page.waitForFunction('window.mosaic && window.mosaic.VERSION');
    await page.click('#add-to-cart');
    await sleep(800);
    expect(requests.filter((r) => r.method() === 'POST')).toEqual([]);
    expect(await aidCookie(context, shop.url)).toBeUndefined();
    expect(await mosaicStorage(page)).toEqual({});
    expect(await page.isVisible('#consent-banner')).toBe(true);

    await page.click('[data-consent=accept]');
    const aid = await anonymousId(page);
    const ps = await waitForEvents(
      stack,
      ofVisitor(aid),
      (x) => named(x, 'Consent Updated').length >= 1 && pages(x).length >= 1 && named(x, 'Product Added').length >= 1,
    );
    const consent = named(ps, 'Consent Updated')[0]!;
    expect(consent.properties).toEqual({ analytics: true, personalization: true });
    expect(consent.context.consent).toEqual({ categoryPreferences: { analytics: true, personalization: true } });
    // What happened on this page while consent was pending is sent now; earlier pages' events are gone.
    expect(pages(ps).map((p) => p.properties['path'])).toEqual(['/product/CM-900']);
    expect(named(ps, 'Product Viewed')).toHaveLength(1);
    expect((await aidCookie(context, shop.url))!.value).toBe(aid);

    // Remembered: the next page is tracked at once.
    await goto(page, `${shop.url}/cart`);
    await waitForEvents(stack, ofVisitor(aid), (x) => pages(x).some((p) => p.properties['path'] === '/cart'));
    expect(await page.isVisible('#consent-banner')).toBe(false);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('sends nothing and sets no cookie when consent is declined', async () => {
    const shop = await stack.startShop({ requireConsent: true });
    const { context, requests } = await newVisitor(stack);
    const page = await open(context, `${shop.url}/product/CM-100`);
    const aid = await anonymousId(page);
    await page.click('[data-consent=decline]');
    await page.click('#add-to-cart');
    await goto(page, `${shop.url}/cart`);
    await sleep(800);
    expect(requests.filter((r) => r.method() === 'POST')).toEqual([]);
    expect(await aidCookie(context, shop.url)).toBeUndefined();
    expect(await mosaicStorage(page)).toEqual({});
    expect(payloads(stack, ofVisitor(aid))).toEqual([]);
    await context.close();
  });
});

describe('the offline queue', () => {
  let proxy: CollectorProxy;

  afterAll(async () => {
    await proxy?.close();
  });

  it('keeps events while the collector is unreachable, across pages, and delivers each once when it is back', async () => {
    // Events go through a proxy that can make the collector unreachable (mosaic.js still loads from the collector).
    proxy = await startCollectorProxy(stack.collectorUrl);
    const shop = await stack.startShop({ trackerOptions: { apiHost: proxy.url } });
    const { context, errors, requests } = await newVisitor(stack);
    const failed: string[] = [];
    context.on('requestfailed', (r) => {
      if (r.url().startsWith(proxy.url)) failed.push(r.url());
    });
    proxy.blocked = true;
    const page = await open(context, `${shop.url}/category/grinders`);
    const aid = await anonymousId(page);
    await page.evaluate("for (let i = 0; i < 5; i++) mosaic.track('Offline Test', { seq: i })");
    // The first send and at least one retry fail.
    await waitFor(() => failed.length >= 2, { message: 'two failed sends' });
    // Leave the page while still offline (its beacon fails too); the next page takes the queue over.
    await goto(page, `${shop.url}/product/GR-39`);
    await page.evaluate("mosaic.track('Offline Test', { seq: 5 })");
    await sleep(500);
    const queued = (await page.evaluate(
      "Object.keys(localStorage).filter((k) => k.startsWith('mosaic_q.')).map((k) => localStorage.getItem(k)).join('')",
    )) as string;
    for (let i = 0; i <= 5; i++) expect(queued).toContain(`"seq":${i}`);
    expect(queued).toContain('Page Exited');
    expect(payloads(stack, ofVisitor(aid))).toEqual([]);
    expect(proxy.accepted).toEqual([]);

    proxy.blocked = false;
    await waitForEvents(
      stack,
      ofVisitor(aid),
      (x) => named(x, 'Offline Test').length >= 6 && pages(x).length >= 2 && named(x, 'Page Exited').length >= 1,
      20_000,
    );
    await sleep(1_000); // anything sent twice would show up now
    const all = payloads(stack, ofVisitor(aid));
    expect(
      named(all, 'Offline Test')
        .map((p) => p.properties['seq'])
        .sort(),
    ).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(all.map((p) => p.messageId)).size).toBe(all.length);
    expect(pages(all).map((p) => p.properties['path'])).toEqual(['/category/grinders', '/product/GR-39']);
    // Each event was accepted by the collector once: retries never became second sends.
    expect([...proxy.accepted].sort()).toEqual(all.map((p) => p.messageId).sort());
    // Event time is when it happened, not when it was finally delivered.
    const offline = named(all, 'Offline Test').find((p) => p.properties['seq'] === 0)!;
    expect(Date.parse(offline.timestamp)).toBeLessThan(Date.parse((offline as unknown as { receivedAt: string }).receivedAt) - 500);
    expect(await page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('mosaic_q.')).length")).toBe(0);
    expect(requests.filter((r) => r.method() === 'POST')).toEqual([]); // nothing went to the collector directly
    expect(errors).toEqual([]);
    await context.close();
  });
});
