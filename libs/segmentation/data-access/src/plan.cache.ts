/**
 * The active segments as the evaluator sees them: loaded from the definitions store, kept
 * current by polling (definitions are few; a change made through another instance is seen
 * within the refresh interval) and by an immediate reload after a change made here.
 */
import { planSegments, type SegmentPlan } from '@mosaic/segmentation-domain';
import { Reloader } from '@mosaic/shared-service';
import type { SegmentDefinitionsRepository, StoredSegment } from './definitions.repository';

export class PlanCache {
  private plan: SegmentPlan & { skipped: { key: string; reason: string }[] } = planSegments([]);
  private stored: StoredSegment[] = [];
  private readonly reloader = new Reloader(async () => {
    const all = await this.definitions.list();
    this.stored = all;
    this.plan = planSegments(all.filter((s) => s.status === 'active').map((s) => ({ key: s.key, version: s.version, definition: s.definition })));
  });

  constructor(private readonly definitions: SegmentDefinitionsRepository) {}

  current(): SegmentPlan {
    return this.plan;
  }

  /** Segments left out of evaluation (a reference to an inactive segment), with why. */
  skipped(): readonly { key: string; reason: string }[] {
    return this.plan.skipped;
  }

  /** Every stored segment as of the last reload. */
  segments(): readonly StoredSegment[] {
    return this.stored;
  }

  /** Reloads the definitions: resolves once a load that began after this call is held (see `Reloader`). */
  reload(): Promise<void> {
    return this.reloader.reload();
  }

  /** Reloads until the plan holds `key` at `version` or later (or it is no longer stored as active). */
  async ensure(key: string, version: number): Promise<void> {
    for (let i = 0; i < 3; i += 1) {
      const held = this.stored.find((s) => s.key === key);
      if (held && held.version >= version) return;
      await this.reload();
    }
  }
}
