import type { PlanCache } from '@mosaic/segmentation-data-access';
import type { BackfillJob } from './backfill.job';
import type { SegmentationUseCaseMetrics } from './metrics';

/** After a definition changed here (created, updated, disabled, enabled, deleted): evaluate with it now and backfill it. */
export class ReevaluateSegment {
  constructor(
    private readonly plans: PlanCache,
    private readonly backfill: BackfillJob,
    private readonly metrics: SegmentationUseCaseMetrics,
  ) {}

  async execute(key: string, version: number): Promise<void> {
    await this.plans.reload();
    this.metrics.activeSegments.set(this.plans.current().segments.length);
    await this.backfill.request(key, version);
  }
}
