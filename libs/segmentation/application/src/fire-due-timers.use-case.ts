import type { SegmentEvaluator } from './segment-evaluator';
import type { SegmentationUseCaseMetrics } from './metrics';

export interface FireDueTimersOptions {
  evaluator: SegmentEvaluator;
  metrics: SegmentationUseCaseMetrics;
  /** The `profiles.changes` partitions this instance owns now (their timers are its to fire). */
  assignedPartitions: () => readonly number[];
  /** Profiles per round. */
  batch: number;
}

/** One timer round over the partitions this instance owns (repeats while full rounds come back). */
export class FireDueTimers {
  private pausedUntil = 0;

  constructor(private readonly opts: FireDueTimersOptions) {}

  async execute(): Promise<number> {
    // A store that scans for due timers (FerretDB) must not spend all its time doing so: the
    // next round waits at least four times as long as the last query took.
    if (Date.now() < this.pausedUntil) return 0;
    const { evaluator, metrics, batch } = this.opts;
    const assigned = this.opts.assignedPartitions();
    let fired = 0;
    for (let round = 0; round < 50; round += 1) {
      const r = await evaluator.fireDue(assigned, batch);
      this.pausedUntil = Date.now() + 4 * r.queryMs;
      fired += r.fired;
      metrics.timersFired.inc(r.fired);
      metrics.evaluations.inc({ source: 'timer' }, r.fired);
      for (const ms of r.lateness) metrics.timerLateness.observe(ms / 1000);
      if (r.due < batch) break;
    }
    return fired;
  }
}
