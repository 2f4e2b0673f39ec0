import type { Counter, Gauge, Histogram } from '@mosaic/shared-logging';

/** The metrics the use cases record (created by the app's `segmentationMetrics`). */
export interface SegmentationUseCaseMetrics {
  changes: Counter<string>;
  evaluations: Counter<string>;
  membership: Counter<string>;
  cache: Counter<string>;
  conflicts: Counter<string>;
  timersFired: Counter<string>;
  timerLateness: Histogram<string>;
  batchSeconds: Histogram<string>;
  activeSegments: Gauge<string>;
  backfilled: Counter<string>;
}
