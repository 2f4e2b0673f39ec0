/**
 * What TTL indexes do on MongoDB, on every instance (FerretDB has none): deletes expired
 * anonymous profiles, redirects, events and tickets (`ProfileRepository.sweepExpired`).
 */
import type { ProfileRepository, SweepResult } from '@mosaic/enrichment-data-access';
import type { Counter } from '@mosaic/shared-logging';
import { PeriodicTask } from '@mosaic/shared-service';
import type { JobSchedule } from './job-schedule';

export interface ExpirySweepJobOptions {
  repository: ProfileRepository;
  schedule: JobSchedule & { metrics: { swept: Counter<string> } };
}

export class ExpirySweepJob {
  private readonly task: PeriodicTask<SweepResult>;

  constructor(opts: ExpirySweepJobOptions) {
    const { repository, schedule } = opts;
    this.task = new PeriodicTask({
      intervalMs: schedule.intervalMs,
      run: () => repository.sweepExpired(),
      onDone: (r, ms) => {
        for (const [what, n] of Object.entries(r)) schedule.metrics.swept.inc({ what }, n);
        if (r.profiles + r.redirects + r.events + r.tickets > 0) schedule.logger.info({ ...r, durationMs: ms }, 'expiry sweep');
      },
      onError: (err) => schedule.logger.warn({ err }, 'expiry sweep failed; the next one will try again'),
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One sweep now, reported like a scheduled one (undefined when it failed). */
  runOnce(): Promise<SweepResult | undefined> {
    return this.task.runOnce();
  }
}
