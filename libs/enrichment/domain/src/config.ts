/** Tunables of the enrichment domain. All bounds are hard caps on the stored document. */
export interface EnrichmentConfig {
  /** Inactivity that ends a session (default 30 minutes). */
  sessionGapMinutes: number;
  /** Half-life of category affinity scores (default 30 days). */
  affinityHalfLifeDays: number;
  /** Affinity weight per signal. */
  affinityWeights: { view: number; listView: number; add: number; purchase: number };
  /** Size of the applied-message-id ring kept on the document (default 500). */
  maxAppliedIds: number;
  maxIdentifiers: number;
  /** Merged-away profile ids remembered for fold idempotence. */
  maxMergedFrom: number;
  maxSessions: number;
  maxProductsViewed: number;
  maxCategories: number;
  maxCartItems: number;
  maxOrderIds: number;
  /** Live video sessions kept per profile (older ones are closed into their video's tally). */
  maxVideoSessions: number;
  /** Videos kept per profile (older ones only count in the totals). */
  maxVideos: number;
  /** Position reports held per live video session (older ones are credited for good). */
  maxVideoReports: number;
  /** Played intervals kept per session or video (beyond, the closest two are joined). */
  maxVideoIntervals: number;
  /** Closed video session ids remembered (their late events are ignored). */
  maxClosedVideoSessions: number;
  /** Days of daily buckets kept, counted back from the latest event day (default 90). */
  dailyBucketDays: number;
  /** Distinct event names counted per day; more are counted under `(other)`. */
  maxEventNamesPerDay: number;
  /**
   * Characters of the distinct event names of all daily buckets together (default 65,536); a new
   * name past it is counted under `(other)`. The buckets travel in every `profiles.changes`
   * message, which Kafka refuses past 1 MB.
   */
  maxDailyNameChars: number;
  /** Traits kept (keys beyond are ignored on $set). */
  maxTraits: number;
  /**
   * Bytes of traits kept: keys and values as JSON (UTF-8), `$set_once` values held behind a
   * `$set` included (default 256 KiB). A write that would pass it is ignored (traits.ts).
   */
  maxTraitBytes: number;
  /** Entries of the activity digest (the newest events; activity.ts), kept beside the state. */
  maxActivityEntries: number;
}

export const DEFAULT_ENRICHMENT_CONFIG: Readonly<EnrichmentConfig> = Object.freeze({
  sessionGapMinutes: 30,
  affinityHalfLifeDays: 30,
  affinityWeights: Object.freeze({ view: 1, listView: 0.5, add: 3, purchase: 5 }),
  maxAppliedIds: 500,
  maxIdentifiers: 100,
  maxMergedFrom: 200,
  maxSessions: 50,
  maxProductsViewed: 50,
  maxCategories: 50,
  maxCartItems: 100,
  maxOrderIds: 200,
  maxVideoSessions: 20,
  maxVideos: 20,
  maxVideoReports: 64,
  maxVideoIntervals: 32,
  maxClosedVideoSessions: 100,
  dailyBucketDays: 90,
  maxEventNamesPerDay: 100,
  maxDailyNameChars: 65_536,
  maxTraits: 500,
  maxTraitBytes: 262_144,
  maxActivityEntries: 10_000,
}) as EnrichmentConfig;

export function enrichmentConfig(partial: Partial<EnrichmentConfig> = {}): EnrichmentConfig {
  return {
    ...DEFAULT_ENRICHMENT_CONFIG,
    ...partial,
    affinityWeights: { ...DEFAULT_ENRICHMENT_CONFIG.affinityWeights, ...(partial.affinityWeights ?? {}) },
  };
}
