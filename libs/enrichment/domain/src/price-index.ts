/**
 * Price tier (bargain / mid / premium).
 *
 * `CategoryPriceIndex` is a plain document of per-category price ranges (running min and max
 * of every price seen on a product event, plus a count). The service keeps one globally (min and
 * max do not change when an event is replayed; `n` counts observations, replays included, and
 * decides which categories stay once the index is full: `MAX_PRICE_INDEX_CATEGORIES`).
 * The visitor keeps, per category, the count and sum of the prices they viewed.
 *
 * Definition: for each category the visitor viewed, position = (visitor's average viewed
 * price − category min) / (category max − category min), clamped to [0,1]; categories whose
 * range is empty (max = min) or whose index has fewer than `minObservations` prices are
 * skipped. The profile's position is the average of those positions weighted by the number of
 * the visitor's views in each category; tier = tertile of it: < 1/3 bargain, > 2/3 premium,
 * else mid. No tier until at least one category qualifies.
 */
import type { PriceTier } from './state';
import { fieldKey, own, round } from './util';

export interface CategoryPriceIndex {
  /** escaped category → range */
  categories: Record<string, { min: number; max: number; n: number }>;
}

export const MIN_OBSERVATIONS = 3;

/**
 * Categories an index holds at most. Category names come from events (a public write key can
 * send any), so beyond this the least seen are dropped: names of up to 256 characters keep the
 * shared state document under about 4 MB, far below MongoDB's 16 MB.
 */
export const MAX_PRICE_INDEX_CATEGORIES = 5_000;

export function emptyPriceIndex(): CategoryPriceIndex {
  return { categories: {} };
}

/**
 * Observes `price` in `category`, **in place** (non-positive prices ignored), and returns the
 * index. A new category that takes it past `maxCategories` makes room (`capPriceIndex`).
 */
export function observePrice(index: CategoryPriceIndex, category: string, price: number, maxCategories = MAX_PRICE_INDEX_CATEGORIES): CategoryPriceIndex {
  if (!Number.isFinite(price) || price <= 0 || !category) return index;
  const key = fieldKey(category);
  const cur = own(index.categories, key);
  if (cur) index.categories[key] = { min: Math.min(cur.min, price), max: Math.max(cur.max, price), n: cur.n + 1 };
  else {
    const size = sizeOf(index) + 1;
    index.categories[key] = { min: price, max: price, n: 1 };
    sizes.set(index.categories, size);
    if (size > maxCategories) capPriceIndex(index, maxCategories);
  }
  return index;
}

/**
 * Number of categories of each categories map these functions changed, so that a new category
 * costs no count of the keys (the maps are plain objects, as stored). Changes made elsewhere
 * must go through `capPriceIndex`, which counts afresh.
 */
const sizes = new WeakMap<object, number>();

function sizeOf(index: CategoryPriceIndex): number {
  let n = sizes.get(index.categories);
  if (n === undefined) {
    n = Object.keys(index.categories).length;
    sizes.set(index.categories, n);
  }
  return n;
}

/** A new index with both indexes' observations, capped to `maxCategories`. */
export function mergePriceIndex(a: CategoryPriceIndex, b: CategoryPriceIndex, maxCategories = MAX_PRICE_INDEX_CATEGORIES): CategoryPriceIndex {
  const out: CategoryPriceIndex = { categories: { ...a.categories } };
  for (const [k, v] of Object.entries(b.categories)) {
    const c = own(out.categories, k);
    out.categories[k] = c ? { min: Math.min(c.min, v.min), max: Math.max(c.max, v.max), n: c.n + v.n } : { ...v };
  }
  return capPriceIndex(out, maxCategories);
}

/**
 * Keeps an index within `maxCategories`, in place: past it, only the most seen nine tenths are
 * kept (most observations first, then by name), so the next drop is a tenth of the bound away
 * and a stream of new names costs a sort per `maxCategories / 10` of them, not one per event.
 */
export function capPriceIndex(index: CategoryPriceIndex, maxCategories = MAX_PRICE_INDEX_CATEGORIES): CategoryPriceIndex {
  const keys = Object.keys(index.categories);
  sizes.set(index.categories, keys.length);
  if (keys.length <= maxCategories) return index;
  const keep = Math.max(1, Math.floor(maxCategories * 0.9));
  const ranked = keys.sort((x, y) => (index.categories[y] as { n: number }).n - (index.categories[x] as { n: number }).n || (x < y ? -1 : x > y ? 1 : 0));
  for (const k of ranked.slice(keep)) delete index.categories[k];
  sizes.set(index.categories, keep);
  return index;
}

export function tierOfPosition(p: number): PriceTier {
  if (p < 1 / 3) return 'bargain';
  if (p > 2 / 3) return 'premium';
  return 'mid';
}

export function pricePosition(
  visitor: { category: string; n: number; sum: number }[],
  index: CategoryPriceIndex,
  minObservations = MIN_OBSERVATIONS,
): number | undefined {
  let w = 0;
  let acc = 0;
  for (const v of visitor) {
    const range = own(index.categories, fieldKey(v.category));
    if (!range || range.n < minObservations || !(range.max > range.min) || v.n <= 0) continue;
    const avg = v.sum / v.n;
    const pos = Math.min(1, Math.max(0, (avg - range.min) / (range.max - range.min)));
    acc += pos * v.n;
    w += v.n;
  }
  return w === 0 ? undefined : round(acc / w);
}
