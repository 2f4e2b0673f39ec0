/**
 * The expiry sweep, instead of TTL indexes (FerretDB 1.24 refuses them): every
 * `intervalMs`, delete merged profiles whose redirect expired and processed-message records
 * past their expiry (`MongoIdentityRepository.sweepExpired`, a `deleteMany` by an indexed date).
 * Every instance runs it; it is idempotent, so instances need no coordination (a few
 * redundant, cheap deletes). The first sweep runs one interval after start.
 */
import type { MongoIdentityRepository, SweepResult } from '@mosaic/identity-data-access';
import { PeriodicTask } from '@mosaic/shared-service';

export interface ExpirySweepJobOptions {
  repository: Pick<MongoIdentityRepository, 'sweepExpired'>;
  /** 0 disables the sweep. */
  intervalMs: number;
  now?: () => Date;
  onSwept?: (result: SweepResult, durationMs: number) => void;
  onError?: (err: unknown) => void;
}

export class ExpirySweepJob extends PeriodicTask<SweepResult> {
  constructor(opts: ExpirySweepJobOptions) {
    super({
      intervalMs: opts.intervalMs,
      run: () => opts.repository.sweepExpired((opts.now ?? (() => new Date()))()),
      onDone: opts.onSwept,
      onError: opts.onError,
    });
  }
}
