// The event mix of the benchmarks (bench-enrichment.mjs, bench-pipeline.mjs): a coffee shop's
// tracked events for a set of people, deterministic, and a profile document built from them.
import { randomUUID } from 'node:crypto';
import { prng } from './bench-util.mjs';

const PRODUCTS = [
  { product_id: 'cm-900', name: 'Barista Pro 900', category: 'coffee machines', price: 899 },
  { product_id: 'cm-450', name: 'Barista Home 450', category: 'coffee machines', price: 449 },
  { product_id: 'cm-120', name: 'Drip Classic', category: 'coffee machines', price: 119 },
  { product_id: 'gr-200', name: 'Burr Grinder 200', category: 'grinders', price: 189 },
  { product_id: 'gr-060', name: 'Hand Grinder', category: 'grinders', price: 59 },
  { product_id: 'bn-eth', name: 'Ethiopia Yirgacheffe 1kg', category: 'coffee beans', price: 32 },
  { product_id: 'bn-col', name: 'Colombia Huila 1kg', category: 'coffee beans', price: 27 },
  { product_id: 'bn-esp', name: 'Espresso Blend 1kg', category: 'coffee beans', price: 22 },
  { product_id: 'mg-set', name: 'Cappuccino Cups (6)', category: 'mugs', price: 39 },
  { product_id: 'mg-one', name: 'Travel Mug', category: 'mugs', price: 18 },
  { product_id: 'ac-tmp', name: 'Tamper 58mm', category: 'accessories', price: 45 },
  { product_id: 'ac-jug', name: 'Milk Jug 600ml', category: 'accessories', price: 25 },
];
const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0',
];
const CAMPAIGNS = [
  {
    query: '?utm_source=newsletter&utm_medium=email&utm_campaign=nov',
    campaign: { source: 'newsletter', medium: 'email', name: 'nov' },
    referrer: 'https://mail.example.com/',
  },
  {
    query: '?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=abc123',
    campaign: { source: 'google', medium: 'cpc', name: 'brand' },
    referrer: 'https://www.google.com/',
  },
  { query: '', referrer: 'https://www.google.com/' },
  { query: '', referrer: 'https://www.instagram.com/' },
  { query: '' },
];
const PAGES = ['/', '/coffee-machines', '/grinders', '/coffee-beans', '/mugs', '/accessories', '/blog/how-to-dial-in-espresso', '/cart'];

/** The event of `kind` for the person `s` (its fields on `base`); `pick` and `rnd` draw from the source's generator. */
function buildEvent(kind, s, base, { product, pick, rnd }) {
  switch (kind) {
    case 'page': {
      const c = pick(CAMPAIGNS);
      const path = pick(PAGES);
      return {
        ...base,
        type: 'page',
        properties: { path, title: `Shop ${path}` },
        context: {
          page: { url: `https://shop.example.com${path}${c.query}`, path, ...(c.referrer ? { referrer: c.referrer } : {}) },
          ...(c.campaign ? { campaign: c.campaign } : {}),
          userAgent: s.ua,
          locale: 'de-DE',
          ip: '203.0.113.7',
        },
      };
    }
    case 'view':
      return {
        ...base,
        type: 'track',
        event: 'Product Viewed',
        properties: { ...product, currency: 'EUR' },
        context: { page: { url: `https://shop.example.com/p/${product.product_id}` }, userAgent: s.ua },
      };
    case 'add':
      s.cart.push(product);
      return {
        ...base,
        type: 'track',
        event: 'Product Added',
        properties: { ...product, currency: 'EUR', quantity: 1 },
        context: { page: { url: `https://shop.example.com/p/${product.product_id}` }, userAgent: s.ua },
      };
    case 'order': {
      const items = s.cart.length > 0 ? s.cart.splice(0) : [product];
      s.orders += 1;
      const total = items.reduce((sum, p) => sum + p.price, 0);
      return {
        ...base,
        type: 'track',
        event: 'Order Completed',
        properties: { order_id: `o-${s.profileId}-${s.orders}`, total, currency: 'EUR', products: items.map((p) => ({ ...p, quantity: 1 })) },
        context: { page: { url: 'https://shop.example.com/checkout/done' }, userAgent: s.ua },
      };
    }
    default: {
      s.userId = s.userId ?? `u-${s.profileId}`;
      const n = s.profileId.split('-').at(-1);
      return {
        ...base,
        type: 'identify',
        traits: {
          email: `visitor${n}@example.com`,
          firstName: 'Visitor',
          lastName: `No ${n}`,
          plan: pick(['free', 'plus', 'pro']),
          newsletter: rnd() < 0.5,
          $set_once: { firstSeenSource: 'bench' },
        },
        context: { userAgent: s.ua },
      };
    }
  }
}

/**
 * Resolved events for a set of profiles, as identity would produce them: each profile has its
 * own anonymous id, user agent and clock (event times move forward 1–180 minutes per event,
 * from 20 days ago, never past now); after an identify its events carry the user id too.
 */
export function eventSource(runId, profiles, seed = 42) {
  const rnd = prng(seed);
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const start = Date.now() - 20 * 86_400_000;
  const state = profiles.map((profileId, i) => ({
    profileId,
    anonymousId: `anon-${profileId}`,
    userId: undefined,
    ua: USER_AGENTS[i % USER_AGENTS.length],
    clock: start + i * 60_000,
    orders: 0,
    cart: [],
  }));
  let seq = 0;
  function next(s, kind) {
    s.clock = Math.min(Date.now(), s.clock + Math.round((1 + rnd() * 179) * 60_000));
    const now = new Date().toISOString();
    const messageId = `e-${runId}-${(seq += 1)}`;
    const product = pick(PRODUCTS);
    const base = {
      messageId,
      anonymousId: s.anonymousId,
      properties: {},
      traits: {},
      context: {},
      timestamp: new Date(s.clock).toISOString(),
      receivedAt: now,
      sourceId: 'src_bench',
    };
    const event = buildEvent(kind, s, base, { product, pick, rnd });
    if (s.userId) event.userId = s.userId;
    const identifiers = [...(s.userId ? [{ type: 'userId', value: s.userId }] : []), { type: 'anonymousId', value: s.anonymousId }];
    return { kind: 'event', profileId: s.profileId, event, identifiers };
  }
  // Mix: 40 % page views, 30 % Product Viewed, 12 % Product Added, 10 % identify, 8 % Order Completed.
  const mixed = (s) => {
    const r = rnd();
    return next(s, r < 0.4 ? 'page' : r < 0.7 ? 'view' : r < 0.82 ? 'add' : r < 0.92 ? 'identify' : 'order');
  };
  return { state, next, mixed };
}

/**
 * A profile document as the enrichment service stores it: the domain (dist/libs/enrichment/domain)
 * folds `events` events of this mix into a state, stored with the service's own mapping
 * (dist/libs/enrichment/data-access documents.js: a few top-level fields, the rest as JSON text).
 */
export function sampleProfileDocument(domain, documents, events) {
  const gen = eventSource('sample', ['p-sample-0'], 7);
  const now = new Date().toISOString();
  let state = domain.applyEvent(undefined, gen.next(gen.state[0], 'page'), { now }).state;
  for (let i = 1; i < events; i += 1) state = domain.applyEvent(state, gen.mixed(gen.state[0]), { now }).state;
  return documents.toStoredProfile(
    documents.stateToDocument(state, { status: 'active', writeId: randomUUID(), expiresAt: new Date(Date.now() + 365 * 86_400_000) }),
  );
}
