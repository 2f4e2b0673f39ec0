/**
 * Price tier (bargain / mid / premium).
 *
 * `CategoryPriceIndex` is a plain document of per-category price ranges (running min and max
 * of every price seen on a product event, plus a count). The service keeps one globally (it is
 * tiny and idempotent: min/max do not change when an event is replayed; `n` is informational).
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

export function emptyPriceIndex(): CategoryPriceIndex {
  return { categories: {} };
}

/** Returns a new index with `price` observed in `category` (non-positive prices ignored). */
export function observePrice(index: CategoryPriceIndex, category: string, price: number): CategoryPriceIndex {
  if (!Number.isFinite(price) || price <= 0 || !category) return index;
  const key = fieldKey(category);
  const cur = own(index.categories, key);
  const next = cur ? { min: Math.min(cur.min, price), max: Math.max(cur.max, price), n: cur.n + 1 } : { min: price, max: price, n: 1 };
  return { categories: { ...index.categories, [key]: next } };
}

export function mergePriceIndex(a: CategoryPriceIndex, b: CategoryPriceIndex): CategoryPriceIndex {
  const out: CategoryPriceIndex = { categories: { ...a.categories } };
  for (const [k, v] of Object.entries(b.categories)) {
    const c = own(out.categories, k);
    out.categories[k] = c ? { min: Math.min(c.min, v.min), max: Math.max(c.max, v.max), n: c.n + v.n } : { ...v };
  }
  return out;
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
