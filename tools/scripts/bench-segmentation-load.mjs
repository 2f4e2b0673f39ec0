// The load of the segmentation benchmark (bench-segmentation.mjs): its 50 segments and the
// profile changes it produces, deterministic.
import { prng } from './bench-util.mjs';

export const HOUR = 3_600_000;
const DAY = 86_400_000;
const CATEGORIES = ['coffee machines', 'grinders', 'coffee beans', 'mugs', 'accessories'];

/** The 50 segments. */
export function segments() {
  const out = [];
  for (let i = 1; i <= 10; i += 1) out.push({ key: `ltv-${i * 100}`, condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: i * 100 } });
  const plans = ['free', 'pro', 'team', 'enterprise', 'trial'];
  for (let i = 0; i < 10; i += 1)
    out.push({
      key: `trait-${i}`,
      condition:
        i < 5
          ? { trait: 'plan', op: 'equals', value: plans[i] }
          : { trait: 'country', op: 'in', value: [['US', 'CA'], ['DE', 'AT'], ['FR'], ['GB', 'IE'], ['JP']][i - 5] },
    });
  for (let i = 0; i < 15; i += 1) {
    out.push({
      key: `views-${i}`,
      condition: {
        event: 'Product Viewed',
        where: [
          { property: 'category', op: 'equals', value: CATEGORIES[i % 5] },
          { property: 'price', op: 'gte', value: (i % 3) * 100 },
        ],
        aggregate: { fn: 'count', op: 'gte', value: 1 + (i % 4) },
        within: { amount: 1 + (i % 7), unit: 'days' },
      },
    });
  }
  for (let i = 0; i < 5; i += 1)
    out.push({
      key: `spend-${i}`,
      condition: {
        event: 'Order Completed',
        aggregate: { fn: 'sum', property: 'total', op: 'gt', value: 100 * (i + 1) },
        within: { amount: 30, unit: 'days' },
      },
    });
  for (let i = 0; i < 5; i += 1)
    out.push({
      key: `cart-${i}`,
      condition: { sequence: { first: { event: 'Product Added' }, thenNot: { event: 'Order Completed' }, within: { amount: i + 2, unit: 'hours' } } },
    });
  out.push({ key: 'tier-gold', priority: 3, exclusivityGroup: 'tier', condition: { segment: 'ltv-500' } });
  out.push({ key: 'tier-silver', priority: 2, exclusivityGroup: 'tier', condition: { segment: 'ltv-200' } });
  out.push({ key: 'tier-bronze', priority: 1, exclusivityGroup: 'tier', condition: { segment: 'ltv-100' } });
  out.push({ key: 'premium-coffee', condition: { all: [{ segment: 'views-0' }, { attribute: 'priceTier', op: 'equals', value: 'premium' }] } });
  out.push({ key: 'flag-on', condition: { trait: 'benchFlag', op: 'equals', value: true } });
  return out;
}

/** A stream of profile changes over `ids` (what enrichment produces), deterministic. */
export function changeSource(seed, ids) {
  const rnd = prng(seed);
  const state = new Map(ids.map((id) => [id, { version: 0, orders: 0, ltv: 0, plan: 'free', country: 'US' }]));
  let n = 0;
  return (id, now = Date.now()) => {
    const s = state.get(id);
    s.version += 1;
    n += 1;
    const r = rnd();
    let trigger;
    let changed = [];
    if (r < 0.6) {
      const cat = CATEGORIES[Math.floor(rnd() * 5)];
      trigger = { event: 'Product Viewed', properties: { category: cat, price: Math.round(rnd() * 900) } };
      changed = ['computed.productViews'];
    } else if (r < 0.75) {
      trigger = { event: 'Product Added', properties: { product_id: 'x', price: 100 } };
      changed = ['computed.cart'];
    } else if (r < 0.87) {
      const total = Math.round(rnd() * 300);
      s.orders += 1;
      s.ltv += total;
      trigger = { event: 'Order Completed', properties: { total } };
      changed = ['computed.orders'];
    } else {
      s.plan = ['free', 'pro', 'team', 'enterprise', 'trial'][Math.floor(rnd() * 5)];
      s.country = ['US', 'DE', 'FR', 'GB', 'JP'][Math.floor(rnd() * 5)];
      trigger = { eventType: 'identify' };
      changed = ['traits.plan', 'traits.country'];
    }
    const at = new Date(now - Math.floor(rnd() * DAY)).toISOString();
    return {
      profileId: id,
      version: s.version,
      changed,
      profile: {
        identifiers: [{ type: 'userId', value: `u-${id}` }],
        traits: { plan: s.plan, country: s.country },
        computed: { orders: { count: s.orders, lifetimeValue: s.ltv }, priceTier: s.ltv > 400 ? 'premium' : 'mid' },
        membershipVersion: 0,
      },
      trigger: {
        messageId: `bench-${seed}-${n}`,
        kind: 'event',
        eventType: trigger.eventType ?? 'track',
        ...(trigger.event ? { event: trigger.event, properties: trigger.properties } : {}),
        timestamp: at,
      },
      at: new Date(now).toISOString(),
    };
  };
}

/** The next change of the flag-flipping person `id` (state in `flipState`): benchFlag toggles, so flag-on is entered or exited. */
export function flipChange(flipState, id, messageId) {
  const s = flipState.get(id) ?? { version: 0, flag: false, mv: 0 };
  s.version += 1;
  s.flag = !s.flag;
  s.mv += 1;
  flipState.set(id, s);
  const change = {
    profileId: id,
    version: s.version,
    changed: ['traits.benchFlag'],
    profile: { identifiers: [], traits: { benchFlag: s.flag }, computed: {}, membershipVersion: 0 },
    trigger: { messageId, kind: 'event', eventType: 'identify', timestamp: new Date().toISOString() },
    at: new Date().toISOString(),
  };
  return { change, key: `${id}|flag-on|${s.mv}` };
}

/** A cart of `id` (Product Added at `addedAt`, no order): its "cart-0" deadline falls 2 hours later. */
export function cartChange(id, messageId, addedAt) {
  return {
    profileId: id,
    version: 1,
    changed: ['computed.cart'],
    profile: { identifiers: [], traits: {}, computed: {}, membershipVersion: 0 },
    trigger: { messageId, kind: 'event', eventType: 'track', event: 'Product Added', properties: {}, timestamp: new Date(addedAt).toISOString() },
    at: new Date().toISOString(),
  };
}

/** A stored segmentation profile `id` (the service's document shape) with a random lifetime value, for the backfill. */
export function backfillDocument(domain, id, partition, random, writeId) {
  const state = {
    ...domain.emptyState(id),
    sourceVersion: 1,
    profile: {
      identifiers: [{ type: 'userId', value: `u-${id}` }],
      traits: { plan: 'pro' },
      computed: { orders: { count: 1, lifetimeValue: Math.round(random() * 1000) } },
    },
  };
  return { _id: id, partition, version: 1, writeId, state: JSON.stringify(state), segments: [], timerAt: null, outbox: null, updatedAt: new Date() };
}
