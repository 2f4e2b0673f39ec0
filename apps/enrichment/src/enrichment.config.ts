import { DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_CLOCK_SKEW_MS } from '@mosaic/enrichment-application';
import { intVar, z } from '@mosaic/shared-config';

/** The enrichment service's own environment variables (the common ones are in @mosaic/shared-config). */
export const enrichmentEnvSchema = z.object({
  /** Inactivity that ends a session (visit). */
  ENRICHMENT_SESSION_GAP_MINUTES: intVar(30, 1, 24 * 60),
  /** Half-life of category affinity scores. */
  ENRICHMENT_AFFINITY_HALF_LIFE_DAYS: intVar(30, 1, 3_650),
  /** Anonymous profiles expire after this long without activity (rolling, like the cookie). Known profiles never expire. */
  ENRICHMENT_ANONYMOUS_TTL_DAYS: intVar(365, 1, 3_650),
  /** Merged-away profiles stay as redirects this long. */
  ENRICHMENT_REDIRECT_TTL_DAYS: intVar(30, 1, 3_650),
  /** Events are kept (timeline, split recomputation, replay guard) this long after their time. */
  ENRICHMENT_EVENT_RETENTION_DAYS: intVar(400, 1, 36_500),
  /** How often every instance deletes expired profiles, redirects and events (what TTL indexes do on MongoDB); 0 disables. */
  ENRICHMENT_SWEEP_INTERVAL_SECONDS: intVar(300, 0, 7 * 86_400),
  /** How often RFM scores are recomputed over the population (one instance at a time); 0 disables. */
  ENRICHMENT_RFM_INTERVAL_SECONDS: intVar(3_600, 0, 30 * 86_400),
  /** How often an instance merges its price observations into the shared category price index and reloads it; 0 disables. */
  ENRICHMENT_PRICE_INDEX_SYNC_SECONDS: intVar(30, 0, 86_400),
  /**
   * Profile documents kept in memory per instance (LRU; stale copies are caught by the compare-and-set and re-read); 0 disables.
   * Each miss is a store round trip: size it to the profiles of the instance's partitions (about 5 KB of memory each, plus about 80 bytes per event in the activity digest).
   */
  ENRICHMENT_CACHE_MAX_ENTRIES: intVar(200_000, 0, 10_000_000),
  /** Events per read-apply-write round of a Kafka batch (a heartbeat follows each: lower it if the store is slow enough for a round to approach the consumer session timeout). */
  ENRICHMENT_SEGMENT_EVENTS: intVar(100, 1, 10_000),
  /** Entries of each profile's activity digest (its latest events, compact; what the console's contact page draws first). About 80 bytes each on the profile document. */
  ENRICHMENT_ACTIVITY_MAX_ENTRIES: intVar(10_000, 100, 50_000),
  /** Read/apply/write attempts per batch segment when profiles keep changing (then the batch is retried, then the DLQ). */
  ENRICHMENT_MAX_ATTEMPTS: intVar(DEFAULT_MAX_ATTEMPTS, 1, 1_000),
  /**
   * How far apart the enrichment instances' clocks may be (NTP keeps them within milliseconds). A batch reads the redirects
   * filed in about 3× this window plus its own duration, to move events a racing merge left on a merged-away profile (docs/enrichment.md).
   */
  ENRICHMENT_MAX_CLOCK_SKEW_MS: intVar(DEFAULT_MAX_CLOCK_SKEW_MS, 0, 600_000),
  /** Compare-and-set: `auto` (native on MongoDB; on FerretDB guarded where the store's guard answers, else ticket), `native`, `guarded`, `ticket` (see docs/enrichment.md). */
  ENRICHMENT_STORE_CAS: z.enum(['auto', 'native', 'guarded', 'ticket']).default('auto'),
  /** Ticket mode: a ticket older than this whose write never happened is completed by the next writer. */
  ENRICHMENT_TICKET_LEASE_MS: intVar(3_000, 100, 600_000),
});

export type EnrichmentEnv = z.infer<typeof enrichmentEnvSchema>;
