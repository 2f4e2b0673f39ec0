import { Counter, Gauge, Histogram, getOrCreate, type Registry } from '@mosaic/shared-logging';

/** The enrichment service's Prometheus metrics (next to the platform's Kafka and HTTP ones). */
export function enrichmentMetrics(registry: Registry) {
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    getOrCreate(registry, name, () => new Counter({ name, help, labelNames, registers: [registry] }));
  return {
    messages: counter(
      'mosaic_enrichment_messages_total',
      'events.resolved messages by outcome: applied, duplicate (already applied: replay or redelivery), merge, split',
      ['outcome'],
    ),
    conflicts: counter('mosaic_enrichment_conflicts_total', 'profile compare-and-set conflicts (another writer changed the profile; re-read and re-applied)'),
    cache: counter(
      'mosaic_enrichment_cache_lookups_total',
      'profile documents a batch needed: hit (per-instance cache), miss (read from MongoDB) or created (new profile: identity created it for the event, nothing to read)',
      ['result'],
    ),
    cacheEntries: getOrCreate(
      registry,
      'mosaic_enrichment_cache_entries',
      () => new Gauge({ name: 'mosaic_enrichment_cache_entries', help: 'profile documents in the per-instance cache', registers: [registry] }),
    ),
    profilesWritten: counter('mosaic_enrichment_profiles_written_total', 'profile documents written'),
    changes: counter('mosaic_enrichment_changes_total', 'profiles.changes messages produced'),
    swept: counter('mosaic_enrichment_swept_total', 'documents deleted by the expiry sweep', ['what']),
    rfmUpdated: counter('mosaic_enrichment_rfm_updated_total', 'profiles whose RFM scores the periodic job changed'),
    rfmPopulation: getOrCreate(
      registry,
      'mosaic_enrichment_rfm_population',
      () => new Gauge({ name: 'mosaic_enrichment_rfm_population', help: 'profiles with orders in the last RFM run', registers: [registry] }),
    ),
    priceCategories: getOrCreate(
      registry,
      'mosaic_enrichment_price_index_categories',
      () => new Gauge({ name: 'mosaic_enrichment_price_index_categories', help: 'categories in the category price index', registers: [registry] }),
    ),
    applyLatency: getOrCreate(
      registry,
      'mosaic_enrichment_apply_seconds',
      () =>
        new Histogram({
          name: 'mosaic_enrichment_apply_seconds',
          help: 'time to apply one consumer batch (reads, apply, writes, produce)',
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [registry],
        }),
    ),
    eventLag: getOrCreate(
      registry,
      'mosaic_enrichment_event_lag_seconds',
      () =>
        new Histogram({
          name: 'mosaic_enrichment_event_lag_seconds',
          help: 'from the collector receiving an event to its change being produced',
          buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
          registers: [registry],
        }),
    ),
  };
}

export type EnrichmentMetrics = ReturnType<typeof enrichmentMetrics>;
