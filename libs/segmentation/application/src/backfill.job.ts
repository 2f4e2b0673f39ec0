/**
 * Backfills: when a definition is created, changed, disabled, enabled or deleted, every stored
 * profile is re-evaluated for that segment in the background (pages of one scan in the store's
 * order, throttled to a rate, interleaved with live evaluation through the evaluator's lock).
 * Progress lives in `segmentation_backfills`, so the admin API of any instance shows it and a
 * job left by a stopped instance is taken over by another after its lease. The taker scans from
 * the start again (an unsorted scan has no position to resume from; a sorted one costs FerretDB
 * a read and sort of the whole collection): re-evaluating a profile is harmless, since
 * evaluation is idempotent and writes are compare-and-set, and profiles already done need no
 * write, so `processed` counts the new scan while `changed` and `published` carry on.
 */
import type { BackfillDocument, BackfillProgress, BackfillsRepository, SegmentProfilesRepository } from '@mosaic/segmentation-data-access';
import type { SegmentEvaluator } from './segment-evaluator';

export interface BackfillJobOptions {
  backfills: BackfillsRepository;
  store: SegmentProfilesRepository;
  evaluator: SegmentEvaluator;
  /** Makes sure the evaluator's plan includes at least this version of the segment (reloads definitions). */
  ensurePlan: (key: string, version: number) => Promise<void>;
  instanceId: string;
  /** Profiles per page (default 200). */
  pageSize?: number;
  /** Profiles per second at most (default 500; 0 = unthrottled). */
  rate?: number;
  /** A job whose holder has not renewed for this long is taken over (default 30 s). */
  leaseMs?: number;
  onPage?: (key: string, page: { processed: number; changed: number; ms: number }) => void;
  /** A pass started by `request` failed (the store unavailable); the periodic `tick` resumes the job. */
  onError?: (err: unknown) => void;
}

export class BackfillJob {
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly pageSize: number;
  private readonly rate: number;
  private readonly leaseMs: number;

  constructor(private readonly opts: BackfillJobOptions) {
    this.pageSize = opts.pageSize ?? 200;
    this.rate = opts.rate ?? 500;
    this.leaseMs = opts.leaseMs ?? 30_000;
  }

  /** Starts (or restarts) the backfill of a segment at a version. */
  async request(key: string, version: number): Promise<BackfillProgress> {
    const progress = await this.opts.backfills.start(key, version, await this.opts.store.count());
    // Not awaited (the request answers at once); unhandled, a rejection would exit Node.
    this.tick().catch((err: unknown) => this.opts.onError?.(err));
    return progress;
  }

  /** Runs the jobs that need a runner (one pass; joins a pass in progress). */
  tick(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async pass(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const job = await this.opts.backfills.findRunnable(this.opts.instanceId);
      if (!job) return;
      await this.run(job);
    }
  }

  private claim(job: BackfillDocument, set: Partial<BackfillDocument> = {}): Promise<boolean> {
    return this.opts.backfills.claim(job, this.opts.instanceId, this.leaseMs, set);
  }

  private async run(job: BackfillDocument): Promise<void> {
    if (!(await this.claim(job))) return;
    try {
      await this.opts.ensurePlan(job._id, job.version);
      if (await this.pages(job)) await this.claim(job, { status: 'done', finishedAt: new Date() });
    } catch (err) {
      await this.opts.backfills.fail(job, err instanceof Error ? err.message : String(err));
    }
  }

  /** Re-evaluates every profile; false when it stopped before the end (stopping, or superseded). */
  private async pages(job: BackfillDocument): Promise<boolean> {
    let { changed, published } = job;
    let processed = 0;
    const keys = new Set([job._id]);
    let started = Date.now();
    for await (const docs of this.opts.store.scan(this.pageSize)) {
      if (this.stopped) {
        await this.opts.backfills.release(job);
        return false;
      }
      const page = await this.opts.evaluator.backfillPage(keys, docs);
      processed += page.processed;
      changed += page.changed;
      published += page.published;
      const ms = Date.now() - started;
      this.opts.onPage?.(job._id, { processed: page.processed, changed: page.changed, ms });
      if (!(await this.claim(job, { processed, changed, published, lastId: page.lastId ?? null }))) return false; // superseded by a newer request
      await this.throttle(page.processed, ms);
      started = Date.now();
    }
    return true;
  }

  private async throttle(processed: number, ms: number): Promise<void> {
    if (this.rate <= 0) return;
    const wait = (processed / this.rate) * 1000 - ms;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}
