import { applyEvent, recomputeFromEvents, toCompactProfile } from './apply';
import { classifyTouch } from './attribution';
import { mergeDaily } from './collections';
import { countryOfIp, parseUserAgent } from './device';
import { emptyPriceIndex, observePrice, pricePosition, tierOfPosition } from './price-index';
import { rfmInput, rfmScores, scoreProfile, withRfm } from './rfm';
import { CTX, applyAll, at, ev, page, track } from './test-events';

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const DESKTOP = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const shop = (path = '/', referrer?: string, search = '') => ({ page: { url: `https://shop.example${path}${search}`, referrer, search } });

describe('applyEvent basics', () => {
  it('is idempotent: the same messageId twice changes nothing', () => {
    const e = track('Order Completed', { order_id: undefined, total: 10 });
    const first = applyEvent(undefined, e, CTX);
    const again = applyEvent(first.state, e, CTX);
    expect(again.duplicate).toBe(true);
    expect(again.changed).toEqual([]);
    expect(again.state).toEqual(first.state);
    expect(first.changed).toEqual(expect.arrayContaining(['computed.orders', 'identifiers', 'computed.firstSeen']));
  });

  it('first/last seen are min/max of event time, whatever the arrival order; system email events are not activity', () => {
    const s = applyAll([ev({ event: 'X', at: at(10) }), ev({ event: 'X', at: at(-10) }), track('Email Sent', {}, at(500))]);
    expect(s.computed.firstSeen).toBe(at(-10));
    expect(s.computed.lastSeen).toBe(at(10));
    expect(s.version).toBe(3);
  });

  it('never throws on odd input and still records the event', () => {
    const odd = ev({
      type: 'track',
      event: 'Product Viewed',
      properties: { price: { x: 1 }, category: 42, product_id: null } as never,
      context: 'nope' as never,
      timestamp: 'garbage',
      receivedAt: 'garbage',
    });
    const r = applyEvent(undefined, odd, CTX);
    expect(r.state.computed.productViews).toBe(1);
    expect(r.state.computed.firstSeen).toBe(CTX.now); // no usable time: receivedAt, then ctx.now
    expect(() => applyEvent(undefined, { kind: 'event', profileId: 'x', identifiers: 'no' } as never, CTX)).not.toThrow();
  });
});

describe('sessions and page views', () => {
  const pv = (m: number) => page(shop(), at(m));
  it('splits on 30 minutes of inactivity and counts visits', () => {
    const s = applyAll([pv(0), pv(10), pv(45), pv(200)]);
    expect(s.computed.sessionCount).toBe(3);
    expect(s.computed.visits).toBe(3);
    expect(s.computed.pageViews).toBe(4);
    expect(s.computed.lastSessionStart).toBe(at(200));
  });
  it('an out-of-order event bridging two sessions joins them', () => {
    expect(applyAll([pv(0), pv(50), pv(25)]).computed.sessionCount).toBe(1);
  });
  it('the gap is configurable; server-side and email events do not open sessions', () => {
    const ctx = { ...CTX, config: { sessionGapMinutes: 5 } };
    expect(applyAll([pv(0), pv(10)], ctx).computed.sessionCount).toBe(2);
    expect(applyAll([track('Order Completed', { total: 1 }, at(0)), track('Email Opened', {}, at(100), { userAgent: DESKTOP })]).computed.sessionCount).toBe(0);
  });
  it('keeps a bounded list but still counts dropped sessions', () => {
    const s = applyAll([0, 100, 200, 300].map(pv), { ...CTX, config: { maxSessions: 2 } });
    expect(s.internal.sessions).toHaveLength(2);
    expect(s.computed.sessionCount).toBe(4);
  });
});

describe('products and categories', () => {
  it('counts, most recent first, bounded', () => {
    const s = applyAll(
      [
        track('Product Viewed', { product_id: 'p1', name: 'Mug', category: 'Kitchen', price: 10 }, at(0)),
        track('Product Viewed', { sku: 'p2', category: 'Garden', price: '20' }, at(5)),
        track('Product Viewed', { product_id: 'p1', category: 'Kitchen' }, at(2)),
        track('Product Viewed', { product_id: 'p3', category: 'Toys' }, at(1)),
        page({}, at(6), { category: 'Toys' }),
      ],
      { ...CTX, config: { maxProductsViewed: 2 } },
    );
    expect(s.computed.productViews).toBe(4);
    expect(s.computed.productsViewed.map((p) => [p.key, p.count])).toEqual([
      ['p2', 1],
      ['p1', 2],
    ]);
    expect(s.computed.productsViewed[1]?.name).toBe('Mug');
    expect(s.computed.categoriesVisited.map((c) => [c.key, c.count])).toEqual([
      ['Toys', 2],
      ['Garden', 1],
      ['Kitchen', 2],
    ]);
  });
});

describe('attribution', () => {
  it('classifies mediums', () => {
    const t = (ctx: Record<string, unknown>) => classifyTouch(ctx, 'x');
    expect(t(shop('/', 'https://www.google.com/search?q=red+shoes'))).toMatchObject({
      medium: 'search',
      source: 'google',
      keyword: 'red shoes',
      referrerDomain: 'google.com',
    });
    expect(t(shop('/', 'https://t.co/abc'))?.medium).toBe('social');
    expect(t(shop('/', 'https://mail.google.com/mail/u/0'))?.medium).toBe('email');
    expect(t(shop('/', 'https://blog.example.org/post'))).toMatchObject({ medium: 'referral', source: 'blog.example.org' });
    expect(t(shop('/', undefined))?.medium).toBe('direct');
    expect(t(shop('/b', 'https://www.shop.example/a'))).toBeUndefined(); // internal
    expect(t(shop('/', 'https://www.google.com/', '?gclid=abc'))).toMatchObject({ medium: 'paid', clickId: 'gclid', source: 'google' });
    expect(t(shop('/', undefined, '?msclkid=1'))).toMatchObject({ medium: 'paid', source: 'bing' });
    expect(t({ ...shop('/'), campaign: { source: 'Newsletter', medium: 'email', name: 'spring', term: 't', content: 'c' } })).toMatchObject({
      medium: 'email',
      source: 'newsletter',
      campaign: 'spring',
      term: 't',
      content: 'c',
    });
    expect(t(shop('/', 'https://facebook.com/', '?utm_source=fb&utm_medium=cpc&utm_campaign=x'))).toMatchObject({
      medium: 'paid',
      source: 'fb',
      campaign: 'x',
    });
    expect(t({})).toBeUndefined();
    expect(t({ page: { referrer: 'not a url', url: 42 } })?.medium).toBe('direct');
  });

  it('first touch = earliest by event time; last touch = latest non-direct', () => {
    const google = page(shop('/', 'https://www.google.com/search?q=x'), at(10));
    const mail = page({ ...shop('/'), campaign: { source: 'nl', medium: 'email' } }, at(100));
    const direct = page(shop('/'), at(0));
    const laterDirect = page(shop('/'), at(200));
    const internal = page(shop('/b', 'https://shop.example/a'), at(300));
    for (const order of [
      [google, mail, direct, laterDirect, internal],
      [internal, laterDirect, mail, direct, google],
    ]) {
      const s = applyAll(order);
      expect(s.computed.firstTouch?.medium).toBe('direct');
      expect(s.computed.firstTouch?.at).toBe(at(0));
      expect(s.computed.lastTouch).toMatchObject({ medium: 'email', source: 'nl' });
    }
    expect(applyAll([direct]).computed.lastTouch?.medium).toBe('direct');
  });
});

describe('device, bot, geo', () => {
  it('parses device type, OS and browser; latest by event time wins; bot is sticky', () => {
    expect(parseUserAgent(IPHONE)).toMatchObject({ type: 'mobile', os: 'iOS', browser: 'Mobile Safari', bot: false });
    expect(parseUserAgent(DESKTOP)).toMatchObject({ type: 'desktop', os: 'Windows', browser: 'Chrome' });
    const s = applyAll([
      page({ userAgent: DESKTOP }, at(10)),
      page({ userAgent: IPHONE }, at(0)),
      page({ userAgent: 'Googlebot/2.1 (+http://www.google.com/bot.html)' }, at(-5)),
    ]);
    expect(s.computed.device).toMatchObject({ type: 'desktop', browser: 'Chrome', at: at(10) });
    expect(s.computed.bot).toBe(true);
    expect(applyAll([page({ userAgent: IPHONE })]).computed.bot).toBe(false);
  });

  it('country from public IPv4 only', () => {
    expect(countryOfIp('8.8.8.8')).toBe('US');
    expect(countryOfIp('::ffff:81.2.69.160')).toBe('GB');
    for (const ip of [
      '10.1.2.3',
      '192.168.0.1',
      '172.16.5.4',
      '127.0.0.1',
      '100.64.0.1',
      '169.254.1.1',
      '::1',
      '2a00:1450::1',
      '999.1.1.1',
      'x',
      42,
      undefined,
    ]) {
      expect(countryOfIp(ip)).toBeUndefined();
    }
    const s = applyAll([page({ ip: '8.8.8.8' }, at(5)), page({ ip: '81.2.69.160' }, at(0)), page({ ip: '10.0.0.1' }, at(9))]);
    expect(s.computed.geo).toEqual({ country: 'US', at: at(5) });
  });
});

describe('category affinity', () => {
  it('decays exponentially to the latest event time, independent of arrival order', () => {
    const a = track('Product Viewed', { product_id: 'a', category: 'Coffee' }, '2026-01-01T00:00:00.000Z');
    const b = track('Product Viewed', { product_id: 'b', category: 'Tea' }, '2026-01-31T00:00:00.000Z');
    const s1 = applyAll([a, b]);
    const s2 = applyAll([b, a]);
    expect(s1.computed.categoryAffinity).toEqual([
      { category: 'Tea', score: 1 },
      { category: 'Coffee', score: 0.5 },
    ]);
    expect(s2.computed.categoryAffinity).toEqual(s1.computed.categoryAffinity);
    expect(s1.computed.topCategory).toBe('Tea');
    const s3 = applyAll([a, b], { ...CTX, config: { affinityHalfLifeDays: 15 } });
    expect(s3.computed.categoryAffinity[1]?.score).toBe(0.25);
  });
  it('weights adds and purchases more than views', () => {
    const s = applyAll([
      track('Product Added', { product_id: 'a', category: 'Coffee', price: 1 }),
      track('Product Viewed', { product_id: 'b', category: 'Tea' }),
    ]);
    expect(s.computed.categoryAffinity.map((x) => x.category)).toEqual(['Coffee', 'Tea']);
  });
});

describe('price tier', () => {
  let index = emptyPriceIndex();
  for (const p of [10, 50, 100]) index = observePrice(index, 'Coffee.Machines', p);
  index = observePrice(index, 'Coffee.Machines', -3);
  it('index keeps min/max per (escaped) category and ignores bad prices', () => {
    expect(index.categories['Coffee\uFF0EMachines']).toEqual({ min: 10, max: 100, n: 3 });
  });
  it('tertiles of the visitor average in the category range', () => {
    expect(tierOfPosition(0.2)).toBe('bargain');
    expect(tierOfPosition(0.5)).toBe('mid');
    expect(tierOfPosition(0.9)).toBe('premium');
    expect(pricePosition([{ category: 'Coffee.Machines', n: 2, sum: 190 }], index)).toBeCloseTo(0.9444, 4);
    expect(pricePosition([{ category: 'Unknown', n: 2, sum: 190 }], index)).toBeUndefined();
    const view = (p: number) => track('Product Viewed', { product_id: `x${p}`, category: 'Coffee.Machines', price: p });
    const ctx = { ...CTX, priceIndex: index };
    expect(applyAll([view(95), view(90)], ctx).computed.priceTier).toBe('premium');
    expect(applyAll([view(15)], ctx).computed.priceTier).toBe('bargain');
    expect(applyAll([view(55)], ctx).computed).toMatchObject({ priceTier: 'mid', pricePosition: 0.5 });
    expect(applyAll([view(55)]).computed.priceTier).toBeUndefined(); // no index, no tier
  });
});

describe('cart and orders', () => {
  const add = (id: string, price: number, m: number, quantity?: unknown) => track('Product Added', { product_id: id, price, quantity }, at(m));
  it('adds, removes, values the cart and is cleared by an order', () => {
    const s = applyAll([add('a', 10, 0, 2), add('b', 5, 1), add('a', 10, 2), track('Product Removed', { product_id: 'b' }, at(3)), add('c', 1, 4, 'many')]);
    expect(s.computed.cart.items.map((i) => [i.productId, i.quantity])).toEqual([
      ['c', 1],
      ['a', 3],
    ]);
    expect(s.computed.cart).toMatchObject({ value: 31, itemCount: 4, updatedAt: at(4) });
    const after = applyAll([track('Order Completed', { order_id: 'o1', total: 31 }, at(10))], CTX, s);
    expect(after.computed.cart).toMatchObject({ items: [], value: 0, clearedAt: at(10) });
  });
  it('an add older than the order arriving late does not refill the cart; a newer one does', () => {
    const s = applyAll([track('Order Completed', { total: 5 }, at(10)), add('a', 10, 5), add('b', 3, 15)]);
    expect(s.computed.cart.items.map((i) => i.productId)).toEqual(['b']);
  });
  it('orders, revenue, LTV, AOV, first/last order regardless of arrival order (imports)', () => {
    const online = track('Order Completed', { order_id: 'o2', total: 100 }, '2026-02-01T00:00:00.000Z');
    const imported = track('Order Completed', { order_id: 'pos-1', revenue: '50' }, '2025-06-01T00:00:00.000Z');
    const byProducts = track('Order Completed', { products: [{ price: 10, quantity: 3 }, { price: 'x' }, 'junk'] }, '2025-12-01T00:00:00.000Z');
    const dup = track('Order Completed', { order_id: 'o2', total: 100 }, '2026-02-01T00:00:00.000Z');
    const refund = track('Order Refunded', { order_id: 'o2', total: 20 }, '2026-02-03T00:00:00.000Z');
    const s = applyAll([online, imported, byProducts, dup, refund]);
    expect(s.computed.orders).toEqual({
      count: 3,
      revenue: 180,
      refunds: 20,
      lifetimeValue: 160,
      averageOrderValue: 60,
      firstOrderAt: '2025-06-01T00:00:00.000Z',
      lastOrderAt: '2026-02-01T00:00:00.000Z',
    });
    expect(s.computed.daily['2026-02-01']).toMatchObject({ revenue: 100, orders: 1 });
    expect(s.computed.daily['2026-02-03']).toMatchObject({ revenue: -20 });
    expect(s.computed.daily['2025-06-01']).toBeUndefined(); // older than the 90-day window
  });
});

describe('RFM', () => {
  const pop = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => ({ recencyDays: i * 10, frequency: i, monetary: i * 100 }));
  const t = rfmScores(pop);
  it('quintile thresholds and scores 1..5', () => {
    [2.8, 4.6, 6.4, 8.2].forEach((v, i) => expect(t.frequency[i]).toBeCloseTo(v, 9));
    expect(scoreProfile(t, { recencyDays: 5, frequency: 10, monetary: 1000 })).toEqual({ r: 5, f: 5, m: 5 });
    expect(scoreProfile(t, { recencyDays: 100, frequency: 1, monetary: 100 })).toEqual({ r: 1, f: 1, m: 1 });
    expect(scoreProfile(t, { recencyDays: 50, frequency: 5, monetary: 500 })).toEqual({ r: 3, f: 3, m: 3 });
    expect(scoreProfile(rfmScores([]), { recencyDays: 1, frequency: 1, monetary: 1 })).toEqual({ r: 1, f: 5, m: 5 });
  });
  it('input from a profile and stored with withRfm', () => {
    const s = applyAll([track('Order Completed', { total: 40 }, '2026-02-20T00:00:00.000Z')]);
    expect(rfmInput(s, '2026-03-01T00:00:00.000Z')).toEqual({ recencyDays: 9, frequency: 1, monetary: 40 });
    expect(rfmInput(applyAll([page({})]), NOWISH)).toBeUndefined();
    const r = withRfm(s, { r: 5, f: 1, m: 2 }, '2026-03-01T00:00:00Z');
    expect(toCompactProfile(r).computed['rfm']).toEqual({ r: 5, f: 1, m: 2, at: '2026-03-01T00:00:00.000Z' });
    expect(r.version).toBe(s.version + 1);
  });
});
const NOWISH = '2026-03-01T00:00:00.000Z';

describe('email, video, exit page, daily buckets', () => {
  it('email engagement separates machine opens and computes responsiveness', () => {
    const s = applyAll([
      track('Email Sent', {}, at(0)),
      track('Email Delivered', {}, at(1)),
      track('Email Opened', { machine: false }, at(5)),
      track('Email Opened', {}, at(3)),
      track('Email Opened', { machine: true }, at(50)),
      track('Email Link Clicked', {}, at(6)),
      track('Email Link Clicked', { machine: true }, at(7)),
    ]);
    expect(s.computed.email).toEqual({
      sent: 1,
      delivered: 1,
      opened: 2,
      machineOpened: 1,
      clicked: 1,
      machineClicked: 1,
      lastOpenAt: at(5),
      offerResponsiveness: 0.5,
    });
    expect(applyAll([track('Email Sent', {})]).computed.email.offerResponsiveness).toBeUndefined();
  });
  it('video: sessions of known videos with position reports count; the rest is ignored (details: video/video.spec.ts)', () => {
    const s = applyAll([
      track('Video Playback Started', { session_id: 'v1', content_asset_id: 'a', position: 0, total_length: 100 }, at(0)),
      track('Video Content Playing', { session_id: 'v1', content_asset_id: 'a', position: 40, total_length: 100 }, at(1)),
      track('Video Playback Started', { session_id: 'v2' }, at(2)),
      track('Video Content Progress', { session_id: 'v3', content_asset_id: 'b', progress: 50 }, at(3)),
    ]);
    expect(s.computed.video).toMatchObject({ started: 1, completed: 0, videosStarted: 1, secondsWatched: 40, shareWatched: 0.4 });
  });
  it('last exit page is the latest by event time', () => {
    const s = applyAll([
      track('Page Exited', { path: '/b' }, at(10)),
      track('Page Exited', { url: 'https://shop.example/a' }, at(5)),
      track('Page Exited', {}, at(20)),
    ]);
    expect(s.computed.lastExitPage).toEqual({ url: '/b', at: at(10) });
  });
  it('daily per-event counts, escaped names, bounded days and names', () => {
    const ctx = { ...CTX, config: { dailyBucketDays: 2, maxEventNamesPerDay: 2 } };
    const s = applyAll(
      [
        track('a.b', {}, '2026-01-01T01:00:00Z'),
        track('a.b', {}, '2026-01-01T02:00:00Z'),
        page({}, '2026-01-01T03:00:00Z'),
        track('c', {}, '2026-01-01T04:00:00Z'),
        track('c', {}, '2026-01-02T04:00:00Z'),
        track('c', {}, '2026-01-03T04:00:00Z'),
        track('old', {}, '2025-12-01T04:00:00Z'),
      ],
      ctx,
    );
    expect(Object.keys(s.computed.daily).sort()).toEqual(['2026-01-02', '2026-01-03']);
    const s2 = applyAll([track('a.b', {}, '2026-01-01T01:00:00Z'), page({}, '2026-01-01T03:00:00Z'), track('c', {}, '2026-01-01T04:00:00Z')], ctx);
    expect(s2.computed.daily['2026-01-01']?.events).toEqual({ 'a\uFF0Eb': 1, '(page)': 1, '(other)': 1 });
  });
  it('daily names hold at most maxDailyNameChars characters over all days: a new name past it counts under (other), known names still count', () => {
    const ctx = { ...CTX, config: { maxDailyNameChars: 20 } };
    const name = (i: number) => `name-${String(i).padStart(3, '0')}`; // 8 characters
    const s = applyAll(
      [
        track(name(1), {}, '2026-01-01T01:00:00Z'),
        track(name(2), {}, '2026-01-02T01:00:00Z'),
        track(name(3), {}, '2026-01-03T01:00:00Z'),
        track(name(1), {}, '2026-01-04T01:00:00Z'),
      ],
      ctx,
    );
    expect(s.computed.daily['2026-01-02']?.events).toEqual({ [name(2)]: 1 });
    expect(s.computed.daily['2026-01-03']?.events).toEqual({ '(other)': 1 }); // 8 + 8 + 8 > 20
    expect(s.computed.daily['2026-01-04']?.events).toEqual({ '(other)': 1 }); // new to its day: 8 + 8 + 7 + 8 > 20
    // the default keeps the buckets of 90 days of 100 new 256-character names (2.3 MB) far under Kafka's 1 MB
    const flood = Array.from({ length: 90 * 101 }, (_, i) =>
      track(`${'x'.repeat(250)}${i}`, {}, new Date(Date.parse('2026-01-01T00:00:00Z') + Math.floor(i / 101) * 86_400_000).toISOString()),
    );
    expect(JSON.stringify(applyAll(flood, CTX).computed.daily).length).toBeLessThan(100_000);
  });
  it("a merge keeps the survivor under maxDailyNameChars: the loser's new names past it count under (other)", () => {
    const limits = { maxEventNamesPerDay: 100, maxDailyNameChars: 10 };
    const survivor = { '2026-01-01': { events: { abcdef: 2 }, revenue: 0, orders: 0 } };
    const loser = { '2026-01-01': { events: { abcdef: 1, ghijkl: 4 }, revenue: 5, orders: 1 }, '2026-01-02': { events: { xy: 1 }, revenue: 0, orders: 0 } };
    expect(mergeDaily(survivor, loser, limits)).toEqual({
      '2026-01-01': { events: { abcdef: 3, '(other)': 4 }, revenue: 5, orders: 1 },
      '2026-01-02': { events: { '(other)': 1 }, revenue: 0, orders: 0 },
    });
  });
});

describe('recomputeFromEvents', () => {
  it('equals sorted sequential application, whatever the input order', () => {
    const events = [
      page(shop('/', 'https://www.google.com/search?q=x'), at(0)),
      track('Product Added', { product_id: 'a', price: 2 }, at(1)),
      ev({ type: 'identify', userId: 'u', traits: { $set_once: { s: 1 }, plan: 'a' }, at: at(2) }),
      track('Order Completed', { total: 2 }, at(3)),
      ev({ type: 'identify', userId: 'u', traits: { $set_once: { s: 2 }, plan: 'b' }, at: at(4) }),
    ];
    const sequential = applyAll(events, CTX, recomputeFromEvents('p9', [], CTX));
    const shuffled = recomputeFromEvents('p9', [events[4], events[2], events[0], events[3], events[1]] as never, CTX);
    expect(shuffled).toEqual(sequential);
    expect(shuffled.profileId).toBe('p9');
    expect(shuffled.traits).toEqual({ s: 1, plan: 'b' });
  });
});
