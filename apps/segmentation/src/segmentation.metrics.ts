import { Counter, Gauge, Histogram, getOrCreate, type Registry } from '@mosaic/shared-logging';

/** The segmentation service's Prometheus metrics (next to the platform's Kafka and HTTP ones). */
export function segmentationMetrics(registry: Registry) {
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    getOrCreate(registry, name, () => new Counter({ name, help, labelNames, registers: [registry] }));
  const histogram = (name: string, help: string, buckets: number[]) =>
    getOrCreate(registry, name, () => new Histogram({ name, help, buckets, registers: [registry] }));
  return {
    changes: counter('mosaic_segmentation_changes_total', 'profiles.changes messages by outcome: applied or duplicate (redelivery or replay)', ['outcome']),
    evaluations: counter('mosaic_segmentation_profile_evaluations_total', 'profile states evaluated (changes, timers, backfill)', ['source']),
    membership: counter('mosaic_segmentation_membership_changes_total', 'segments.membership messages produced', ['change']),
    cache: counter('mosaic_segmentation_cache_lookups_total', 'profile states a batch needed: hit (per-instance cache) or miss (read from MongoDB)', [
      'result',
    ]),
    conflicts: counter('mosaic_segmentation_conflicts_total', 'compare-and-set conflicts (re-read and re-applied)'),
    timersFired: counter('mosaic_segmentation_timers_fired_total', 'profile timers fired'),
    timerLateness: histogram(
      'mosaic_segmentation_timer_lateness_seconds',
      'how late a timer fired after its due time',
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    ),
    batchSeconds: histogram(
      'mosaic_segmentation_batch_seconds',
      'time to evaluate one consumer batch (reads, evaluation, writes, produce)',
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    activeSegments: getOrCreate(
      registry,
      'mosaic_segmentation_active_segments',
      () => new Gauge({ name: 'mosaic_segmentation_active_segments', help: 'segments evaluated', registers: [registry] }),
    ),
    backfilled: counter('mosaic_segmentation_backfill_profiles_total', 'profiles re-evaluated by backfills'),
  };
}

export type SegmentationMetrics = ReturnType<typeof segmentationMetrics>;
