/**
 * Applying one resolved event to a profile: pure, deterministic (the only clock is `ctx.now`,
 * used for `createdAt`/`updatedAt` alone), idempotent (a message id already in
 * `appliedMessageIds` changes nothing), and total (odd or wrongly typed fields are ignored).
 */
import type { CompactProfile, Identifier, ResolvedEvent } from '@mosaic/contracts';
import { classifyTouch, earlierTouch, laterTouch } from './attribution';
import {
  addAffinity,
  addDaily,
  affinityRef,
  boundAffinity,
  decay,
  escapeDailyNames,
  pruneDaily,
  pushRing,
  roundMoney,
  upsertCounted,
} from './collections';
import { type EnrichmentConfig, enrichmentConfig } from './config';
import { countryOfIp, parseUserAgent } from './device';
import { type CategoryPriceIndex, pricePosition, tierOfPosition } from './price-index';
import { addToSessions } from './sessions';
import { type ProfileState, emptyProfile, withSources } from './state';
import { applyTraitWrites } from './traits';
import { applyVideoEvent, videoStateOf, videoView } from './video/apply';
import { fieldKey, iso, isObj, maxDefined, minDefined, ms, num, obj, own, round, stableJson, str } from './util';

export interface ApplyContext {
  /** ISO time of processing (wall clock, injected). */
  now: string;
  config?: Partial<EnrichmentConfig>;
  /** The service's global category price index; without it the price tier is left as is. */
  priceIndex?: CategoryPriceIndex;
}

export interface ApplyResult {
  state: ProfileState;
  /** Paths (`identifiers`, `traits.<key>`, `computed.<attribute>`) whose compact view changed. */
  changed: string[];
  duplicate: boolean;
  /** The compact view of `state` (computed for `changed` anyway); absent for duplicates. */
  profile?: CompactProfile;
}

/** Events sent by systems about the person rather than by the person (no activity). */
const SYSTEM_EVENTS = new Set(['Email Sent', 'Email Delivered', 'Email Bounced', 'Email Marked as Spam', 'Email Unsubscribed']);
const EMAIL_PREFIX = /^Email /;

export function eventTime(ev: { timestamp?: unknown; receivedAt?: unknown }, nowIso: string): number {
  return ms(ev.timestamp) ?? ms(ev.receivedAt) ?? ms(nowIso) ?? 0;
}

export function addIdentifiers(list: Identifier[], more: unknown, max: number): Identifier[] {
  const out = [...list];
  const seen = new Set(list.map((i) => `${i.type}\u0000${i.value}`));
  if (!Array.isArray(more)) return out;
  for (const i of more) {
    const type = isObj(i) ? str(i['type'], 64) : undefined;
    const value = isObj(i) ? str(i['value'], 512) : undefined;
    if (!type || !value || out.length >= max) continue;
    const k = `${type}\u0000${value}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ type, value });
    }
  }
  return out;
}

function productOf(p: Record<string, unknown>): { id?: string; name?: string; category?: string; price?: number; quantity?: number } {
  return {
    id: str(p['product_id'], 256) ?? str(p['sku'], 256) ?? str(p['id'], 256),
    name: str(p['name'], 256),
    category: str(p['category'], 256),
    price: num(p['price']),
    quantity: num(p['quantity']),
  };
}

/** The applied-message guard. */
export function isApplied(state: ProfileState | undefined, messageId: string): boolean {
  return !!state && state.appliedMessageIds.includes(messageId);
}

export function applyEvent(state: ProfileState | undefined, resolved: ResolvedEvent, ctx: ApplyContext): ApplyResult {
  const ev = (isObj(resolved) && isObj(resolved.event) ? resolved.event : {}) as Partial<ResolvedEvent['event']>;
  const messageId = str(ev.messageId, 256);
  if (state && messageId && isApplied(state, messageId)) return { state, changed: [], duplicate: true };
  const cfg = enrichmentConfig(ctx.config);
  const s: ProfileState = state ? structuredClone(state) : emptyProfile(str(resolved.profileId) ?? 'unknown', ctx.now);
  const c = s.computed;
  const I = s.internal;
  const t = eventTime(ev, ctx.now);
  const at = iso(t);
  const type = str(ev.type) ?? 'track';
  const name = type === 'track' ? str(ev.event, 256) : undefined;
  const props = obj(ev.properties);
  const context = obj(ev.context);
  const halfLife = cfg.affinityHalfLifeDays * 86_400_000;

  s.identifiers = addIdentifiers(s.identifiers, resolved.identifiers, cfg.maxIdentifiers);
  c.sources = withSources(c.sources, [str(ev.sourceId, 256)]);
  applyTraitWrites(s, ev, t, cfg.maxTraits);

  const system = name !== undefined && SYSTEM_EVENTS.has(name);
  if (!system) {
    c.firstSeen = iso(minDefined(ms(c.firstSeen), t) as number);
    c.lastSeen = iso(maxDefined(ms(c.lastSeen), t) as number);
  }

  // sessions: activity from a browser or app (page/screen, or a track with page/UA context)
  const isPage = type === 'page' || type === 'screen';
  const interactive = isPage || (type === 'track' && !(name && EMAIL_PREFIX.test(name)) && (isObj(context['page']) || typeof context['userAgent'] === 'string'));
  if (interactive) {
    const r = addToSessions(I.sessions, t, isPage, cfg.sessionGapMinutes * 60_000, cfg.maxSessions);
    I.sessions = r.sessions;
    I.sessionsDropped += r.dropped;
  }

  if (isPage) {
    c.pageViews += 1;
    const cat = str(ev.category, 256) ?? str(props['category'], 256);
    if (cat) c.categoriesVisited = upsertCounted(c.categoriesVisited, { key: cat, lastAt: at }, 1, cfg.maxCategories);
  }

  if (isPage || isObj(context['campaign'])) {
    const touch = classifyTouch(context, at);
    if (touch) {
      c.firstTouch = earlierTouch(c.firstTouch, touch);
      c.lastTouch = laterTouch(c.lastTouch, touch);
    }
  }

  const ua = str(context['userAgent'], 2048);
  if (ua) {
    const d = parseUserAgent(ua);
    if (d.bot) c.bot = true;
    if (I.deviceAt === undefined || t >= I.deviceAt) {
      I.deviceAt = t;
      const { bot: _bot, ...rest } = d;
      c.device = { ...rest, at };
    }
  }
  const country = countryOfIp(context['ip']);
  if (country && (I.geoAt === undefined || t >= I.geoAt)) {
    I.geoAt = t;
    c.geo = { country, at };
  }

  let revenue = 0;
  let orders = 0;
  switch (name) {
    case 'Product Viewed': {
      const p = productOf(props);
      c.productViews += 1;
      if (p.id) c.productsViewed = upsertCounted(c.productsViewed, { key: p.id, name: p.name, category: p.category, lastAt: at }, 1, cfg.maxProductsViewed);
      if (p.category) {
        c.categoriesVisited = upsertCounted(c.categoriesVisited, { key: p.category, lastAt: at }, 1, cfg.maxCategories);
        I.affinity = addAffinity(I.affinity, p.category, cfg.affinityWeights.view, t, halfLife);
        if (p.price !== undefined && p.price > 0) {
          const cur = I.prices.find((x) => x.category === p.category);
          if (cur) {
            cur.n += 1;
            cur.sum = roundMoney(cur.sum + p.price);
          }
          else if (I.prices.length < cfg.maxCategories) I.prices.push({ category: p.category, n: 1, sum: p.price });
        }
      }
      break;
    }
    case 'Product List Viewed':
    case 'Product Category Viewed': {
      const cat = str(props['category'], 256);
      if (cat) {
        c.categoriesVisited = upsertCounted(c.categoriesVisited, { key: cat, lastAt: at }, 1, cfg.maxCategories);
        I.affinity = addAffinity(I.affinity, cat, cfg.affinityWeights.listView, t, halfLife);
      }
      break;
    }
    case 'Product Added':
    case 'Product Removed': {
      const p = productOf(props);
      if (p.category && name === 'Product Added') I.affinity = addAffinity(I.affinity, p.category, cfg.affinityWeights.add, t, halfLife);
      if (!p.id || (I.cartClearedAt !== undefined && t <= I.cartClearedAt)) break;
      I.cartAt = maxDefined(I.cartAt, t);
      const items = c.cart.items;
      const idx = items.findIndex((x) => x.productId === p.id);
      const q = p.quantity !== undefined && p.quantity > 0 ? Math.floor(p.quantity) || 1 : undefined;
      if (name === 'Product Added') {
        const item = items[idx];
        if (item) {
          item.quantity += q ?? 1;
          if (t >= item.at) {
            item.at = t;
            if (p.price !== undefined && p.price >= 0) item.price = p.price;
            if (p.name) item.name = p.name;
          }
        } else if (items.length < cfg.maxCartItems) {
          items.push({ productId: p.id, ...(p.name ? { name: p.name } : {}), ...(p.category ? { category: p.category } : {}), price: p.price !== undefined && p.price >= 0 ? p.price : 0, quantity: q ?? 1, at: t });
        }
      } else {
        const item = items[idx];
        if (item) {
          item.quantity -= q ?? item.quantity;
          item.at = Math.max(item.at, t);
          if (item.quantity <= 0) items.splice(idx, 1);
        }
      }
      break;
    }
    case 'Order Completed': {
      const orderId = str(props['order_id'], 256) ?? str(props['checkout_id'], 256);
      if (orderId && I.orderIds.includes(orderId)) break; // the same order again (online + import)
      if (orderId) I.orderIds = pushRing(I.orderIds, [orderId], cfg.maxOrderIds);
      const products = Array.isArray(props['products']) ? props['products'].filter(isObj).map(productOf) : [];
      const fromProducts = products.reduce((sum, p) => sum + (p.price ?? 0) * (p.quantity ?? 1), 0);
      const amount = num(props['total']) ?? num(props['revenue']) ?? num(props['value']) ?? fromProducts;
      revenue = Number.isFinite(amount) && amount > 0 ? amount : 0;
      orders = 1;
      c.orders.count += 1;
      c.orders.revenue = roundMoney(c.orders.revenue + revenue);
      c.orders.firstOrderAt = iso(minDefined(ms(c.orders.firstOrderAt), t) as number);
      c.orders.lastOrderAt = iso(maxDefined(ms(c.orders.lastOrderAt), t) as number);
      for (const p of products) if (p.category) I.affinity = addAffinity(I.affinity, p.category, cfg.affinityWeights.purchase, t, halfLife);
      // the cart is emptied of everything added up to the order
      I.cartClearedAt = maxDefined(I.cartClearedAt, t);
      c.cart.items = c.cart.items.filter((x) => x.at > (I.cartClearedAt as number));
      break;
    }
    case 'Order Refunded': {
      const amount = num(props['total']) ?? num(props['revenue']) ?? num(props['value']);
      if (amount !== undefined && amount > 0) {
        c.orders.refunds = roundMoney(c.orders.refunds + amount);
        revenue = -amount;
      }
      break;
    }
    case 'Email Sent':
      c.email.sent += 1;
      break;
    case 'Email Delivered':
      c.email.delivered += 1;
      break;
    case 'Email Opened':
      if (props['machine'] === true) c.email.machineOpened += 1;
      else {
        c.email.opened += 1;
        c.email.lastOpenAt = iso(maxDefined(ms(c.email.lastOpenAt), t) as number);
      }
      break;
    case 'Email Link Clicked':
      if (props['machine'] === true) c.email.machineClicked += 1;
      else c.email.clicked += 1;
      break;
    case 'Page Exited': {
      const url = str(props['url'], 2048) ?? str(props['path'], 2048) ?? str(obj(context['page'])['url'], 2048) ?? str(obj(context['page'])['path'], 2048);
      if (url && (I.exitAt === undefined || t >= I.exitAt)) {
        I.exitAt = t;
        c.lastExitPage = { url, at };
      }
      break;
    }
    default:
      break;
  }
  if (name && name.startsWith('Video ') && messageId) {
    I.video = applyVideoEvent(videoStateOf(I, c.video), name, props, t, messageId, cfg);
    c.video = videoView(I.video, cfg);
  }

  const bucketName = name !== undefined ? fieldKey(name) : `(${type})`;
  addDaily(c.daily, t, bucketName, revenue, orders, cfg.maxEventNamesPerDay);

  if (messageId) s.appliedMessageIds = pushRing(s.appliedMessageIds, [messageId], cfg.maxAppliedIds);
  s.version += 1;
  s.updatedAt = ctx.now;
  finalize(s, cfg, ctx.priceIndex);
  const profile = toCompactProfile(s);
  return { state: s, changed: changedPaths(state ? toCompactProfile(state) : undefined, profile), duplicate: false, profile };
}

/** Recomputes every derived attribute from the stored facts (deterministic). */
export function finalize(s: ProfileState, cfg: EnrichmentConfig, priceIndex?: CategoryPriceIndex): void {
  const c = s.computed;
  const I = s.internal;
  const halfLife = cfg.affinityHalfLifeDays * 86_400_000;
  c.sessionCount = I.sessions.length + I.sessionsDropped;
  c.visits = c.sessionCount;
  const lastSession = I.sessions[0];
  if (lastSession) c.lastSessionStart = iso(lastSession.start);
  const ref = affinityRef(I.affinity, ms(c.lastSeen));
  if (ref !== undefined) {
    I.affinity = boundAffinity(I.affinity, ref, halfLife, cfg.maxCategories);
    c.categoryAffinity = I.affinity
      .map((x) => ({ category: x.category, score: round(decay(x.score, x.at, ref, halfLife), 4) }))
      .sort((a, b) => b.score - a.score || (a.category < b.category ? -1 : 1));
    const top = c.categoryAffinity[0];
    if (top) c.topCategory = top.category;
  }
  if (priceIndex) {
    const pos = pricePosition(I.prices, priceIndex);
    if (pos === undefined) {
      delete c.pricePosition;
      delete c.priceTier;
    } else {
      c.pricePosition = pos;
      c.priceTier = tierOfPosition(pos);
    }
  }
  c.cart.items.sort((a, b) => b.at - a.at || (a.productId < b.productId ? -1 : 1));
  c.cart.value = roundMoney(c.cart.items.reduce((sum, x) => sum + x.price * x.quantity, 0));
  c.cart.itemCount = c.cart.items.reduce((sum, x) => sum + x.quantity, 0);
  if (I.cartAt !== undefined) c.cart.updatedAt = iso(I.cartAt);
  if (I.cartClearedAt !== undefined) c.cart.clearedAt = iso(I.cartClearedAt);
  c.orders.lifetimeValue = roundMoney(c.orders.revenue - c.orders.refunds);
  c.orders.averageOrderValue = c.orders.count > 0 ? roundMoney(c.orders.revenue / c.orders.count) : 0;
  if (c.email.opened > 0) c.email.offerResponsiveness = round(c.email.clicked / c.email.opened, 4);
  else delete c.email.offerResponsiveness;
  if (!I.video) {
    // a profile stored before per-video records: its old counters carry over
    I.video = videoStateOf(I, c.video);
    c.video = videoView(I.video, cfg);
  }
  delete (I as { videoSessions?: unknown }).videoSessions; // the per-session shares of before
  c.daily = pruneDaily(escapeDailyNames(c.daily), cfg.dailyBucketDays);
}

/** The compact view carried on `profiles.changes`. */
export function toCompactProfile(s: ProfileState): CompactProfile {
  return {
    identifiers: s.identifiers.map((i) => ({ type: i.type, value: i.value })),
    traits: structuredClone(s.traits),
    computed: structuredClone(s.computed) as unknown as Record<string, unknown>,
    membershipVersion: s.membershipVersion,
  };
}

export function changedPaths(before: CompactProfile | undefined, after: CompactProfile): string[] {
  const out: string[] = [];
  if (stableJson(before?.identifiers ?? []) !== stableJson(after.identifiers)) out.push('identifiers');
  for (const section of ['traits', 'computed'] as const) {
    const a = before?.[section] ?? {};
    const b = after[section];
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) if (stableJson(own(a, k)) !== stableJson(own(b, k))) out.push(`${section}.${k}`);
  }
  return out;
}

/**
 * A profile rebuilt from its events (splits): sorted by event time (then receive time, then
 * message id) and applied one by one to an empty profile with id `profileId`.
 */
export function recomputeFromEvents(profileId: string, events: ResolvedEvent[], ctx: ApplyContext): ProfileState {
  const key = (r: ResolvedEvent) => [eventTime(r.event ?? {}, ctx.now), ms(r.event?.receivedAt) ?? 0, String(r.event?.messageId ?? '')] as const;
  const sorted = [...events].sort((a, b) => {
    const [ta, ra, ma] = key(a);
    const [tb, rb, mb] = key(b);
    return ta - tb || ra - rb || (ma < mb ? -1 : ma > mb ? 1 : 0);
  });
  let state: ProfileState = emptyProfile(profileId, ctx.now);
  for (const r of sorted) state = applyEvent(state, r, ctx).state;
  return state;
}
