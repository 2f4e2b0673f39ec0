import { Counter, Gauge, Histogram, getOrCreate, type Registry } from '@mosaic/shared-logging';

/** The identity service's Prometheus metrics (next to the platform's Kafka and HTTP ones). */
export function identityMetrics(registry: Registry) {
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    getOrCreate(registry, name, () => new Counter({ name, help, labelNames, registers: [registry] }));
  return {
    events: counter(
      'mosaic_identity_events_total',
      'events.raw messages by outcome: resolved, duplicate (replayed from the processed record), unresolvable (dead-lettered)',
      ['outcome'],
    ),
    created: counter('mosaic_identity_profiles_created_total', 'profiles created (new visitors, splits)'),
    merges: counter('mosaic_identity_merges_total', 'profiles merged into another (one per loser)'),
    moves: counter('mosaic_identity_moves_total', 'identifiers moved by merge protection, by rule', ['rule']),
    refusals: counter('mosaic_identity_refusals_total', 'identifiers a limit kept off the event’s profile, by rule', ['rule']),
    dropped: counter('mosaic_identity_identifiers_dropped_total', 'identifier values not used (invalid, blocked, ignored)', ['reason']),
    splits: counter('mosaic_identity_splits_total', 'profiles split through the admin API'),
    cache: counter(
      'mosaic_identity_cache_lookups_total',
      'identity-document lookups of a batch: hit (cache, confirmed), miss (read from MongoDB), stale (cached but changed)',
      ['result'],
    ),
    profileCache: counter(
      'mosaic_identity_profile_cache_lookups_total',
      'profile lookups of a batch’s prefetch: hit (profile cache), miss (read from MongoDB)',
      ['result'],
    ),
    writes: counter('mosaic_identity_store_writes_total', 'conditional graph writes by result: applied, conflict, skipped', ['result']),
    replans: counter('mosaic_identity_replans_total', 're-plans after a conflicting write'),
    swept: counter('mosaic_identity_swept_total', 'documents deleted by the expiry sweep', ['what']),
    cacheEntries: getOrCreate(
      registry,
      'mosaic_identity_cache_entries',
      () => new Gauge({ name: 'mosaic_identity_cache_entries', help: 'identity documents in the per-instance cache', registers: [registry] }),
    ),
    profileCacheEntries: getOrCreate(
      registry,
      'mosaic_identity_profile_cache_entries',
      () => new Gauge({ name: 'mosaic_identity_profile_cache_entries', help: 'profiles in the per-instance cache', registers: [registry] }),
    ),
    rulesVersion: getOrCreate(
      registry,
      'mosaic_identity_rules_version',
      () => new Gauge({ name: 'mosaic_identity_rules_version', help: 'version of the identity rules in use (0 = defaults)', registers: [registry] }),
    ),
    resolution: getOrCreate(
      registry,
      'mosaic_identity_resolution_seconds',
      () =>
        new Histogram({
          name: 'mosaic_identity_resolution_seconds',
          help: 'time to resolve one event (plan and writes; the batch’s shared reads are in mosaic_identity_batch_reads_seconds)',
          buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [registry],
        }),
    ),
    batchReads: getOrCreate(
      registry,
      'mosaic_identity_batch_reads_seconds',
      () =>
        new Histogram({
          name: 'mosaic_identity_batch_reads_seconds',
          help: 'time of a batch’s shared reads (processed records, pointers, profiles)',
          buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5, 10],
          registers: [registry],
        }),
    ),
  };
}

export type IdentityMetrics = ReturnType<typeof identityMetrics>;
