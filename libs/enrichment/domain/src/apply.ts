/**
 * Applying one resolved event to a profile: pure, deterministic (the only clock is `ctx.now`,
 * used for `createdAt`/`updatedAt` alone), idempotent (a message id already in
 * `appliedMessageIds` changes nothing), and total (odd or wrongly typed fields are ignored).
 */
import type { CompactProfile, ResolvedEvent } from '@mosaic/contracts';
import { addToDailyBucket, applyAttribution, applyDeviceAndGeo, applyIdentity, applySeen, applySessionsAndPages, applyVideo } from './apply-activity';
import { applyNamedEvent } from './apply-commerce';
import { affinityRef, boundAffinity, decay, escapeDailyNames, pruneDaily, pushRing, roundMoney } from './collections';
import { type EnrichmentConfig, enrichmentConfig } from './config';
import { eventStep, eventTime } from './event-step';
import { type CategoryPriceIndex, pricePosition, tierOfPosition } from './price-index';
import { type ProfileState, emptyProfile } from './state';
import { videoStateOf, videoView } from './video/apply';
import { iso, isObj, ms, own, round, sameJson, str } from './util';

export { addIdentifiers } from './apply-activity';
export { eventTime } from './event-step';

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

/** The applied-message guard. */
export function isApplied(state: ProfileState | undefined, messageId: string): boolean {
  return !!state && state.appliedMessageIds.includes(messageId);
}

/**
 * The event's steps, in order, over a copy of the profile: identity and traits, activity
 * (seen, sessions, pages, attribution, device, geo), the named event's own step (products,
 * cart, orders, email, exit page), video, the day's bucket; then the guard, the version and
 * every derived attribute.
 */
export function applyEvent(state: ProfileState | undefined, resolved: ResolvedEvent, ctx: ApplyContext): ApplyResult {
  const ev = (isObj(resolved) && isObj(resolved.event) ? resolved.event : {}) as Partial<ResolvedEvent['event']>;
  const messageId = str(ev.messageId, 256);
  if (state && messageId && isApplied(state, messageId)) return { state, changed: [], duplicate: true };
  const cfg = enrichmentConfig(ctx.config);
  const s: ProfileState = state ? structuredClone(state) : emptyProfile(str(resolved.profileId) ?? 'unknown', ctx.now);
  const x = eventStep(s, ev, messageId, cfg, ctx.now);
  applyIdentity(x, resolved, ev);
  applySeen(x);
  applySessionsAndPages(x, ev);
  applyAttribution(x);
  applyDeviceAndGeo(x);
  applyNamedEvent(x);
  applyVideo(x);
  addToDailyBucket(x);
  if (messageId) s.appliedMessageIds = pushRing(s.appliedMessageIds, [messageId], cfg.maxAppliedIds);
  s.version += 1;
  s.updatedAt = ctx.now;
  finalize(s, cfg, ctx.priceIndex);
  const profile = toCompactProfile(s);
  return { state: s, changed: changedPaths(state ? profileView(state) : undefined, profile), duplicate: false, profile };
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

/** What `changedPaths` compares: a compact profile, or a state read in place (`profileView`). */
export interface ProfileView {
  identifiers: readonly { type: string; value: string }[];
  traits: Readonly<Record<string, unknown>>;
  computed: Readonly<Record<string, unknown>>;
}

/**
 * The parts of `s` a compact profile is made of, not copied: for comparing only (`changedPaths`),
 * where `toCompactProfile`'s deep copies of the state before an event were made to be thrown away.
 */
export function profileView(s: ProfileState): ProfileView {
  return { identifiers: s.identifiers, traits: s.traits, computed: s.computed as unknown as Record<string, unknown> };
}

/** Paths whose value differs between the two views, compared as JSON with keys in any order (`sameJson`). */
export function changedPaths(before: ProfileView | undefined, after: ProfileView): string[] {
  const out: string[] = [];
  if (!sameIdentifiers(before?.identifiers ?? [], after.identifiers)) out.push('identifiers');
  for (const section of ['traits', 'computed'] as const) {
    const a = before?.[section] ?? {};
    const b = after[section];
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) if (!sameJson(own(a, k), own(b, k))) out.push(`${section}.${k}`);
  }
  return out;
}

/** Same types and values in the same order (a state's identifiers carry more than the compact view's two fields). */
function sameIdentifiers(a: ProfileView['identifiers'], b: ProfileView['identifiers']): boolean {
  return a.length === b.length && a.every((x, i) => x.type === b[i]?.type && x.value === b[i]?.value);
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
