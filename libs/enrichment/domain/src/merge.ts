/**
 * Folding a merged-away profile (loser) into the survivor. Idempotent through `mergedFrom`
 * (a loser already folded, directly or transitively, is not folded again) and the union of
 * `appliedMessageIds` (a loser's event redelivered to the survivor is recognised as applied).
 *
 * Order-independent (folding B then C into A equals C then B; property-tested):
 * identifiers (as a set), every counter (page/product views, orders, revenue, refunds, email,
 * daily buckets), video sessions and videos (by id; played intervals as unions), first/last
 * seen, first/last order, sessions (interval union), first/last touch, bot flag, category affinity (up to float rounding), `$set_once` traits,
 * viewed/visited items (while under their bounds), geo/device/exit page (latest by event time).
 * Order-dependent by design: `$set` traits present in several losers but not in the survivor
 * (the first folded wins — "the survivor wins conflicts" once it has the trait); the cart on an
 * exact tie of last cart activity; trimming when a bound is exceeded.
 */
import type { MergeNotice } from '@mosaic/contracts';
import { addIdentifiers, finalize } from './apply';
import { earlierTouch, laterTouch } from './attribution';
import { mergeAffinity, mergeCounted, mergeDaily, pushRing, roundMoney } from './collections';
import { type EnrichmentConfig, enrichmentConfig } from './config';
import type { CategoryPriceIndex } from './price-index';
import { mergeSessions } from './sessions';
import { type ProfileState, withSources } from './state';
import { foldTraits } from './traits';
import { foldVideo, videoStateOf, videoView } from './video/apply';
import { iso, maxDefined, minDefined, ms } from './util';

export interface FoldContext {
  config?: Partial<EnrichmentConfig>;
  priceIndex?: CategoryPriceIndex;
}

function laterOf<T>(a: T | undefined, aAt: number | undefined, b: T | undefined, bAt: number | undefined): [T | undefined, number | undefined] {
  if (b === undefined || bAt === undefined) return [a, aAt];
  if (a === undefined || aAt === undefined || bAt > aAt) return [b, bAt];
  return [a, aAt];
}

function minIso(a: string | undefined, b: string | undefined): string | undefined {
  const t = minDefined(ms(a), ms(b));
  return t === undefined ? undefined : iso(t);
}

function maxIso(a: string | undefined, b: string | undefined): string | undefined {
  const t = maxDefined(ms(a), ms(b));
  return t === undefined ? undefined : iso(t);
}

export function alreadyFolded(survivor: ProfileState, loserId: string): boolean {
  return survivor.profileId === loserId || survivor.mergedFrom.includes(loserId);
}

export function foldMerge(survivor: ProfileState, loser: ProfileState, notice: MergeNotice, ctx: FoldContext = {}): ProfileState {
  if (alreadyFolded(survivor, loser.profileId)) return survivor;
  const cfg = enrichmentConfig(ctx.config);
  const s = structuredClone(survivor);
  const L = structuredClone(loser);
  const c = s.computed;
  const lc = L.computed;
  const I = s.internal;
  const LI = L.internal;

  s.identifiers = addIdentifiers(addIdentifiers(s.identifiers, L.identifiers, cfg.maxIdentifiers), notice.movedIdentifiers, cfg.maxIdentifiers);
  foldTraits(s, L, cfg);
  c.sources = withSources(c.sources, lc.sources ?? []);

  c.firstSeen = minIso(c.firstSeen, lc.firstSeen);
  c.lastSeen = maxIso(c.lastSeen, lc.lastSeen);
  if (c.firstSeen === undefined) delete c.firstSeen;
  if (c.lastSeen === undefined) delete c.lastSeen;
  const sessions = mergeSessions(I.sessions, LI.sessions, cfg.sessionGapMinutes * 60_000, cfg.maxSessions);
  I.sessions = sessions.sessions;
  I.sessionsDropped += LI.sessionsDropped + sessions.dropped;
  c.pageViews += lc.pageViews;
  c.productViews += lc.productViews;
  c.productsViewed = mergeCounted(c.productsViewed, lc.productsViewed, cfg.maxProductsViewed);
  c.categoriesVisited = mergeCounted(c.categoriesVisited, lc.categoriesVisited, cfg.maxCategories);
  const ft = earlierTouch(c.firstTouch, lc.firstTouch);
  const lt = laterTouch(c.lastTouch, lc.lastTouch);
  if (ft) c.firstTouch = ft;
  if (lt) c.lastTouch = lt;
  c.bot = c.bot || lc.bot;
  [c.device, I.deviceAt] = laterOf(c.device, I.deviceAt, lc.device, LI.deviceAt);
  [c.geo, I.geoAt] = laterOf(c.geo, I.geoAt, lc.geo, LI.geoAt);
  [c.lastExitPage, I.exitAt] = laterOf(c.lastExitPage, I.exitAt, lc.lastExitPage, LI.exitAt);
  for (const k of ['device', 'geo', 'lastExitPage', 'deviceAt', 'geoAt', 'exitAt'] as const) {
    const holder = (k.endsWith('At') ? I : c) as unknown as Record<string, unknown>;
    if (holder[k] === undefined) delete holder[k];
  }

  I.affinity = mergeAffinity(I.affinity, LI.affinity, cfg.affinityHalfLifeDays * 86_400_000);
  for (const p of LI.prices) {
    const cur = I.prices.find((x) => x.category === p.category);
    if (cur) {
      cur.n += p.n;
      cur.sum = roundMoney(cur.sum + p.sum);
    } else if (I.prices.length < cfg.maxCategories) I.prices.push({ ...p });
  }

  // cart: the most recently active one, minus anything added before the latest order of either
  const cleared = maxDefined(I.cartClearedAt, LI.cartClearedAt);
  if (LI.cartAt !== undefined && (I.cartAt === undefined || LI.cartAt > I.cartAt)) {
    c.cart = lc.cart;
    I.cartAt = LI.cartAt;
  }
  if (cleared !== undefined) {
    I.cartClearedAt = cleared;
    c.cart.items = c.cart.items.filter((x) => x.at > cleared);
  }

  c.orders.count += lc.orders.count;
  c.orders.revenue = roundMoney(c.orders.revenue + lc.orders.revenue);
  c.orders.refunds = roundMoney(c.orders.refunds + lc.orders.refunds);
  const fo = minIso(c.orders.firstOrderAt, lc.orders.firstOrderAt);
  const lo = maxIso(c.orders.lastOrderAt, lc.orders.lastOrderAt);
  if (fo) c.orders.firstOrderAt = fo;
  if (lo) c.orders.lastOrderAt = lo;
  I.orderIds = pushRing(I.orderIds, LI.orderIds, cfg.maxOrderIds);

  for (const k of ['sent', 'delivered', 'opened', 'machineOpened', 'clicked', 'machineClicked'] as const) c.email[k] += lc.email[k];
  const lastOpen = maxIso(c.email.lastOpenAt, lc.email.lastOpenAt);
  if (lastOpen) c.email.lastOpenAt = lastOpen;
  I.video = foldVideo(videoStateOf(I, c.video), videoStateOf(LI, lc.video), cfg);
  c.video = videoView(I.video, cfg);
  c.daily = mergeDaily(c.daily, lc.daily, cfg);

  s.appliedMessageIds = pushRing(s.appliedMessageIds, L.appliedMessageIds, cfg.maxAppliedIds);
  s.mergedFrom = pushRing(s.mergedFrom, [...L.mergedFrom, L.profileId], cfg.maxMergedFrom);
  s.version += 1;
  const at = ms(notice.at);
  s.updatedAt = at === undefined ? s.updatedAt : iso(at);
  finalize(s, cfg, ctx.priceIndex);
  return s;
}
