import { z } from '@mosaic/shared-config';

/** The segmentation service's own environment variables (the common ones are in @mosaic/shared-config). */
export const segmentationEnvSchema = z.object({
  /** Compare-and-set: `auto` (native on MongoDB; on FerretDB guarded where the store's guard answers, else ticket), `native`, `guarded`, `ticket`. */
  SEGMENTATION_STORE_CAS: z.enum(['auto', 'native', 'guarded', 'ticket']).default('auto'),
  /** How often the owner of a partition looks for due timers (ms). */
  SEGMENTATION_TIMER_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /** Profiles handled per timer round. */
  SEGMENTATION_TIMER_BATCH: z.coerce.number().int().min(1).max(10_000).default(200),
  /** How often definitions changed through another instance are picked up (ms). */
  SEGMENTATION_DEFINITIONS_REFRESH_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
  /** Backfill throttle: profiles per second at most (0 = unthrottled). */
  SEGMENTATION_BACKFILL_RATE: z.coerce.number().int().min(0).default(500),
  /** Backfill page size (profiles per read-evaluate-write round). */
  SEGMENTATION_BACKFILL_PAGE: z.coerce.number().int().min(1).max(5000).default(200),
  /** How often recorded membership changes are folded into the segments' size counters. */
  SEGMENTATION_SIZES_FOLD_MS: z.coerce.number().int().min(100).max(600_000).default(1000),
  /** Sampling interval of segment sizes over time (ms): one point per segment per interval, aligned to the epoch. */
  SEGMENTATION_SIZE_HISTORY_INTERVAL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(300_000),
  /** How long sampled sizes are kept (days). */
  SEGMENTATION_SIZE_HISTORY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(400),
  /** How often compare-and-set tickets older than an hour are deleted (seconds; 0 = never): every profile write leaves one. */
  SEGMENTATION_TICKET_SWEEP_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  /** Where enrichment keeps events (read to rebuild event windows of new definitions). */
  SEGMENTATION_EVENTS_COLLECTION: z.string().min(1).default('enrichment_events'),
  /** Profile states cached per instance (0 = off); each miss is a store round trip (about 3 KB of memory each). */
  SEGMENTATION_CACHE_MAX_ENTRIES: z.coerce.number().int().min(0).default(200_000),
  /** Changes per read-evaluate-write round of a Kafka batch; the consumer heartbeats after each round (lower it when the store is slow). */
  SEGMENTATION_SEGMENT_CHANGES: z.coerce.number().int().min(1).max(10_000).default(50),
  /** Re-reads of a profile that keeps changing within one batch. */
  SEGMENTATION_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  /** Clustering job interval (seconds; 0 = off). */
  SEGMENTATION_CLUSTER_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(3600),
  /** Contact list (`GET /v1/profiles`): indexed reads per request at most; a sparse filter then answers a partial page and a cursor. */
  SEGMENTATION_LIST_MAX_QUERIES: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Contact list: documents read per request at most, matching or not (about 0.3 ms each on FerretDB, docs/benchmarks.md); every read is capped to stay within it, and a shard (profiles ÷ 4,096) must hold fewer. */
  SEGMENTATION_LIST_MAX_DOCUMENTS: z.coerce.number().int().min(1).max(1_000_000).default(800),
  /** Clusters (k of k-means). */
  SEGMENTATION_CLUSTER_K: z.coerce.number().int().min(2).max(50).default(5),
});

export type SegmentationEnv = z.infer<typeof segmentationEnvSchema>;
