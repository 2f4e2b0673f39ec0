/**
 * Merges the prices this instance observed into the shared category price index (the
 * `price-index` state document, compare-and-set) and reloads it, which also picks up what the
 * other instances observed. Observations of a failed sync are kept for the next one.
 */
import type { PriceIndexCache, ProfileRepository } from '@mosaic/enrichment-data-access';
import type { Gauge } from '@mosaic/shared-logging';
import { PeriodicTask } from '@mosaic/shared-service';
import type { JobSchedule } from './job-schedule';

export interface PriceIndexSyncJobOptions {
  repository: ProfileRepository;
  cache: PriceIndexCache;
  schedule?: JobSchedule & { metrics: { priceCategories: Gauge<string> } };
}

export class PriceIndexSyncJob {
  private readonly task: PeriodicTask<{ categories: number }>;

  constructor(private readonly opts: PriceIndexSyncJobOptions) {
    const schedule = opts.schedule;
    this.task = new PeriodicTask({
      intervalMs: schedule?.intervalMs ?? 0,
      run: () => this.runOnce(),
      onDone: (r) => schedule?.metrics.priceCategories.set(r.categories),
      onError: (err) => schedule?.logger.warn({ err }, 'price index sync failed; observations are kept for the next one'),
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** Writes pending observations into the shared document and reloads it. */
  async runOnce(): Promise<{ categories: number }> {
    const { repository, cache } = this.opts;
    const pending = cache.takePending();
    try {
      const stored = Object.keys(pending.categories).length === 0 ? await repository.readPriceIndex() : await repository.addToPriceIndex(pending);
      return { categories: cache.reload(stored) };
    } catch (err) {
      cache.restorePending(pending);
      throw err;
    }
  }
}
