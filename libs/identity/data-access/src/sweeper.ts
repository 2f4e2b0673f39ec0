/**
 * The expiry sweep, instead of TTL indexes (FerretDB 1.24 refuses them): every
 * `intervalMs`, delete merged profiles whose redirect expired and processed-message records
 * past their expiry (`MongoIdentityStore.sweepExpired`, a `deleteMany` by an indexed date).
 * Every instance runs it; it is idempotent, so instances need no coordination (a few
 * redundant, cheap deletes). The first sweep runs one interval after start.
 */
import type { MongoIdentityStore, SweepResult } from './mongo-identity-store';

export interface ExpirySweeperOptions {
  store: Pick<MongoIdentityStore, 'sweepExpired'>;
  /** 0 disables the sweep. */
  intervalMs: number;
  now?: () => Date;
  onSwept?: (result: SweepResult, durationMs: number) => void;
  onError?: (err: unknown) => void;
}

export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepResult | undefined> | undefined;
  private stopped = false;

  constructor(private readonly opts: ExpirySweeperOptions) {}

  start(): void {
    if (this.opts.intervalMs <= 0 || this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.runOnce(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** One sweep now (skipped while one is running). Errors go to `onError` (the next interval tries again). */
  runOnce(): Promise<SweepResult | undefined> {
    this.running ??= (async () => {
      const started = Date.now();
      try {
        const result = await this.opts.store.sweepExpired((this.opts.now ?? (() => new Date()))());
        this.opts.onSwept?.(result, Date.now() - started);
        return result;
      } catch (err) {
        this.opts.onError?.(err);
        return undefined;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
