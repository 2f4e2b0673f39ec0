/**
 * This instance's copy of the global category price index (per-category min/max of prices seen
 * on product events) that price tiers are computed against, plus the prices observed here since
 * the last sync. The copy may be stale: `PriceIndexSyncJob` merges the observations into the
 * shared document and reloads it. Min and max are idempotent, so replays do not skew it.
 */
import { type CategoryPriceIndex, emptyPriceIndex, mergePriceIndex, observePrice } from '@mosaic/enrichment-domain';

export class PriceIndexCache {
  private index: CategoryPriceIndex = emptyPriceIndex();
  private pending: CategoryPriceIndex = emptyPriceIndex();

  current(): CategoryPriceIndex {
    return this.index;
  }

  /** In place: an event costs two small updates, whatever the number of categories (both capped, `MAX_PRICE_INDEX_CATEGORIES`). */
  observe(category: string, price: number): void {
    observePrice(this.pending, category, price);
    observePrice(this.index, category, price);
  }

  /** The observations not yet synced, handed over (and forgotten here until `restorePending`). */
  takePending(): CategoryPriceIndex {
    const pending = this.pending;
    this.pending = emptyPriceIndex();
    return pending;
  }

  /** Observations whose sync failed, kept for the next one. */
  restorePending(pending: CategoryPriceIndex): void {
    this.pending = mergePriceIndex(this.pending, pending);
  }

  /** The stored index, plus what was observed here while it was being read. */
  reload(stored: CategoryPriceIndex): number {
    this.index = mergePriceIndex(stored, this.pending);
    return Object.keys(this.index.categories).length;
  }
}
