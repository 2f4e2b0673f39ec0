/**
 * The profile document (DESIGN §5): what the data-access layer stores in MongoDB, one per
 * profile. Plain JSON (no Dates, no class instances, no undefined-valued keys that matter);
 * every array is bounded by `EnrichmentConfig`; every object key that comes from data (trait
 * names, event names) is already escaped for MongoDB (`$` leading → `＄`, `.` → `．`).
 *
 * Times: attributes a segment reads are ISO-8601 strings (`toISOString`, so they compare
 * lexicographically); bookkeeping under `internal`/`traitMeta` uses epoch milliseconds.
 */
import type { Identifier } from '@mosaic/contracts';
import type { Json } from './util';
import { type VideoAttributes, type VideoInternal, emptyVideoAttributes, emptyVideoInternal } from './video/types';

export type Medium = 'search' | 'social' | 'email' | 'paid' | 'referral' | 'direct' | 'other';
export type PriceTier = 'bargain' | 'mid' | 'premium';

/** Per-trait bookkeeping for event-time `$set` / `$set_once` / `$unset`. */
export interface TraitMeta {
  // The value of the latest `$set` is `traits[key]` itself whenever `s` is set and `u` is not.
  /** Event time (ms) of the latest `$set` or `$unset` of this trait. */
  s?: number;
  /** True when that latest write was an `$unset`. */
  u?: boolean;
  /** Event time (ms) of the earliest `$set_once` after the latest `$unset`. */
  o?: number;
  /** Value of that `$set_once`. */
  ov?: Json;
}

export interface Touch {
  at: string;
  medium: Medium;
  source?: string;
  referrerDomain?: string;
  campaign?: string;
  term?: string;
  content?: string;
  keyword?: string;
  clickId?: 'gclid' | 'msclkid' | 'fbclid';
  landingPage?: string;
}

export interface CountedItem {
  /** product id / sku (products) or category name (categories). */
  key: string;
  name?: string;
  category?: string;
  count: number;
  lastAt: string;
}

export interface CartItem {
  productId: string;
  name?: string;
  category?: string;
  price: number;
  quantity: number;
  /** Event time (ms) of the latest add/remove of this item. */
  at: number;
}

export interface DayBucket {
  /** Event name (escaped: a leading `$` becomes `＄`, `.` becomes `．`; `(page)`/`(screen)`/`(identify)`/… for non-track calls) → count. */
  events: Record<string, number>;
  /** Order revenue (minus refunds) of that day. */
  revenue: number;
  orders: number;
}

/** How many sources a profile remembers (`computed.sources`). */
export const MAX_PROFILE_SOURCES = 20;

/** `held` with the sources of `added` it lacks, in order, up to {@link MAX_PROFILE_SOURCES}. */
export function withSources(held: readonly string[] | undefined, added: readonly (string | undefined)[]): string[] {
  const out = [...(held ?? [])];
  for (const id of added) if (id !== undefined && out.length < MAX_PROFILE_SOURCES && !out.includes(id)) out.push(id);
  return out;
}

export interface ComputedAttributes {
  /**
   * The collector sources this profile has events from, in order of their first event, at most
   * {@link MAX_PROFILE_SOURCES}: the decision API shows the profile only to these sources.
   * Absent on profiles stored before it existed (until their next event).
   */
  sources?: string[];
  firstSeen?: string;
  lastSeen?: string;
  /** Sessions (visits): runs of activity separated by more than `sessionGapMinutes`. */
  sessionCount: number;
  visits: number;
  lastSessionStart?: string;
  pageViews: number;
  productViews: number;
  /** Most recently viewed first; bounded by `maxProductsViewed`. */
  productsViewed: CountedItem[];
  /** Most recently visited first; bounded by `maxCategories`. */
  categoriesVisited: CountedItem[];
  firstTouch?: Touch;
  lastTouch?: Touch;
  device?: { type: string; os?: string; osVersion?: string; browser?: string; browserVersion?: string; at: string };
  /** True once any event came with a bot user agent (sticky). */
  bot: boolean;
  geo?: { country: string; at: string };
  /** Scores decayed to `lastSeen`, highest first; bounded by `maxCategories`. */
  categoryAffinity: { category: string; score: number }[];
  topCategory?: string;
  /** Weighted position (0..1) of the visitor's average viewed price in its categories' ranges. */
  pricePosition?: number;
  priceTier?: PriceTier;
  cart: { items: CartItem[]; value: number; itemCount: number; updatedAt?: string; clearedAt?: string };
  orders: {
    count: number;
    revenue: number;
    refunds: number;
    lifetimeValue: number;
    averageOrderValue: number;
    firstOrderAt?: string;
    lastOrderAt?: string;
  };
  /** Set by the periodic RFM job (`withRfm`). */
  rfm?: { r: number; f: number; m: number; at: string };
  email: {
    sent: number;
    delivered: number;
    opened: number;
    machineOpened: number;
    clicked: number;
    machineClicked: number;
    lastOpenAt?: string;
    /** clicked / opened (human only); undefined before the first open. */
    offerResponsiveness?: number;
  };
  /** Video engagement (docs/enrichment.md "Video"): totals, per-video records, live sessions. */
  video: VideoAttributes;
  lastExitPage?: { url: string; at: string };
  /** Daily buckets (UTC day → counts), the last `dailyBucketDays` days before the latest event. */
  daily: Record<string, DayBucket>;
}

export interface ProfileInternal {
  /** Most recent first; bounded by `maxSessions`. Times in ms. */
  sessions: { start: number; end: number; events: number; pageViews: number }[];
  /** Sessions that fell off the bounded list (still counted in sessionCount). */
  sessionsDropped: number;
  /** Raw affinity: score as of `at` (ms). */
  affinity: { category: string; score: number; at: number }[];
  /** The visitor's viewed prices per category. */
  prices: { category: string; n: number; sum: number }[];
  /** Recent order ids (dedupe of online + imported copies of one order). */
  orderIds: string[];
  /** Video sessions' position reports and per-video tallies (absent on profiles stored before it existed). */
  video?: VideoInternal;
  /** Event times (ms) that order the "latest wins" attributes. */
  deviceAt?: number;
  geoAt?: number;
  exitAt?: number;
  cartAt?: number;
  cartClearedAt?: number;
}

export interface ProfileState {
  schemaVersion: 1;
  profileId: string;
  /** +1 per applied message or fold; the `version` of `profiles.changes`. */
  version: number;
  /** Owned by segmentation; carried through untouched. */
  membershipVersion: number;
  createdAt: string;
  updatedAt: string;
  identifiers: Identifier[];
  traits: Record<string, Json>;
  traitMeta: Record<string, TraitMeta>;
  computed: ComputedAttributes;
  internal: ProfileInternal;
  /** Ring of the last `maxAppliedIds` applied message ids, newest last. */
  appliedMessageIds: string[];
  /** Profile ids folded into this one (newest last), for fold idempotence. */
  mergedFrom: string[];
}

export function emptyProfile(profileId: string, nowIso: string): ProfileState {
  return {
    schemaVersion: 1,
    profileId,
    version: 0,
    membershipVersion: 0,
    createdAt: nowIso,
    updatedAt: nowIso,
    identifiers: [],
    traits: {},
    traitMeta: {},
    computed: {
      sessionCount: 0,
      visits: 0,
      pageViews: 0,
      productViews: 0,
      productsViewed: [],
      categoriesVisited: [],
      bot: false,
      categoryAffinity: [],
      cart: { items: [], value: 0, itemCount: 0 },
      orders: { count: 0, revenue: 0, refunds: 0, lifetimeValue: 0, averageOrderValue: 0 },
      email: { sent: 0, delivered: 0, opened: 0, machineOpened: 0, clicked: 0, machineClicked: 0 },
      video: emptyVideoAttributes(),
      daily: {},
    },
    internal: { sessions: [], sessionsDropped: 0, affinity: [], prices: [], orderIds: [], video: emptyVideoInternal() },
    appliedMessageIds: [],
    mergedFrom: [],
  };
}
