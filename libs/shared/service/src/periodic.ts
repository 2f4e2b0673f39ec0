/**
 * A job every instance runs on an interval (expiry sweeps, periodic recomputation): one run
 * at a time (a run still going when the next is due is not doubled), errors reported and the
 * next interval tries again, timers unref'd, `stop()` waits for a run in progress. The first
 * run happens one interval after `start()`.
 */
export interface PeriodicTaskOptions<T> {
  /** 0 disables the timer (`runOnce` still works). */
  intervalMs: number;
  run: () => Promise<T>;
  onDone?: (result: T, durationMs: number) => void;
  onError?: (err: unknown) => void;
}

export class PeriodicTask<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T | undefined> | undefined;
  private stopped = false;

  constructor(private readonly opts: PeriodicTaskOptions<T>) {}

  start(): void {
    if (this.opts.intervalMs <= 0 || this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.runOnce(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** One run now (joins a run in progress). Errors go to `onError` and resolve to undefined. */
  runOnce(): Promise<T | undefined> {
    this.running ??= (async () => {
      const started = Date.now();
      try {
        const result = await this.opts.run();
        this.opts.onDone?.(result, Date.now() - started);
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

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
