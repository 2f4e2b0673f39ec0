/**
 * Backfills: when a definition is created, changed, disabled, enabled or deleted, every stored
 * profile is re-evaluated for that segment in the background (pages in profile-id order,
 * throttled to a rate, interleaved with live evaluation through the evaluator's lock).
 * Progress lives in `segmentation_backfills`, so the admin API of any instance shows it and a
 * job left by a stopped instance is resumed by another after its lease (re-running a page is
 * harmless: evaluation is idempotent and writes are compare-and-set).
 */
import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type mongo } from 'mongoose';
import { ensureSchemaIndexes, openDb } from '@mosaic/shared-mongo';
import type { SegmentEvaluator } from './evaluator';
import type { SegmentProfilesStore } from './profiles.store';

export const BACKFILLS_COLLECTION = 'segmentation_backfills';

export type BackfillStatus = 'running' | 'done' | 'failed';

export interface BackfillDocument {
  /** The segment key. */
  _id: string;
  /** The segment version (or, for a deleted segment, the last one) this backfill is for. */
  version: number;
  runId: string;
  status: BackfillStatus;
  /** Profiles when it started (an estimate: profiles keep arriving). */
  total: number;
  processed: number;
  /** Profiles whose state or membership changed. */
  changed: number;
  published: number;
  lastId: string | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  holder: string | null;
  leaseUntil: Date;
  error: string | null;
}

export const BackfillSchema = new Schema(
  {
    _id: { type: String, required: true },
    version: { type: Number, required: true },
    runId: { type: String, required: true },
    status: { type: String, enum: ['running', 'done', 'failed'], required: true },
    total: Number,
    processed: Number,
    changed: Number,
    published: Number,
    lastId: { type: String, default: null },
    startedAt: Date,
    updatedAt: Date,
    finishedAt: { type: Date, default: null },
    holder: { type: String, default: null },
    leaseUntil: Date,
    error: { type: String, default: null },
  },
  { collection: BACKFILLS_COLLECTION, versionKey: false },
);
BackfillSchema.index({ status: 1, leaseUntil: 1 });

/** What the admin API shows. */
export interface BackfillProgress {
  version: number;
  status: BackfillStatus;
  total: number;
  processed: number;
  changed: number;
  published: number;
  /** processed ÷ total, capped at 1 (1 when done). */
  fraction: number;
  startedAt: string;
  finishedAt: string | null;
  /** Profiles per second so far. */
  ratePerSecond: number;
  error: string | null;
}

export interface BackfillRunnerOptions {
  conn: Connection;
  store: SegmentProfilesStore;
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
}

export function progressOf(d: BackfillDocument, now = Date.now()): BackfillProgress {
  const end = d.finishedAt?.getTime() ?? now;
  const seconds = Math.max(0.001, (end - d.startedAt.getTime()) / 1000);
  return {
    version: d.version,
    status: d.status,
    total: d.total,
    processed: d.processed,
    changed: d.changed,
    published: d.published,
    fraction: d.status === 'done' ? 1 : d.total === 0 ? 0 : Math.min(1, d.processed / d.total),
    startedAt: d.startedAt.toISOString(),
    finishedAt: d.finishedAt ? d.finishedAt.toISOString() : null,
    ratePerSecond: Math.round((d.processed / seconds) * 10) / 10,
    error: d.error,
  };
}

export class BackfillRunner {
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly pageSize: number;
  private readonly rate: number;
  private readonly leaseMs: number;

  constructor(private readonly opts: BackfillRunnerOptions) {
    this.pageSize = opts.pageSize ?? 200;
    this.rate = opts.rate ?? 500;
    this.leaseMs = opts.leaseMs ?? 30_000;
  }

  async ensureIndexes(): Promise<void> {
    await ensureSchemaIndexes(this.opts.conn, [['SegmentationBackfill', BackfillSchema]]);
  }

  get jobs(): mongo.Collection<BackfillDocument> {
    return openDb(this.opts.conn).collection<BackfillDocument>(BACKFILLS_COLLECTION);
  }

  /** Starts (or restarts) the backfill of a segment at a version. */
  async request(key: string, version: number): Promise<BackfillProgress> {
    const now = new Date();
    const doc: BackfillDocument = {
      _id: key,
      version,
      runId: randomUUID(),
      status: 'running',
      total: await this.opts.store.count(),
      processed: 0,
      changed: 0,
      published: 0,
      lastId: null,
      startedAt: now,
      updatedAt: now,
      finishedAt: null,
      holder: null,
      leaseUntil: new Date(0),
      error: null,
    };
    await this.jobs.replaceOne({ _id: key }, doc, { upsert: true });
    void this.tick();
    return progressOf(doc);
  }

  async progress(key: string): Promise<BackfillProgress | null> {
    const d = (await this.jobs.findOne({ _id: key })) as BackfillDocument | null;
    return d ? progressOf(d) : null;
  }

  async all(): Promise<Map<string, BackfillProgress>> {
    const docs = (await this.jobs.find({}).toArray()) as BackfillDocument[];
    return new Map(docs.map((d) => [d._id, progressOf(d)]));
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
      const now = new Date();
      const job = (await this.jobs.findOne({ status: 'running', $or: [{ leaseUntil: { $lt: now } }, { holder: this.opts.instanceId }] })) as BackfillDocument | null;
      if (!job) return;
      await this.run(job);
    }
  }

  private async run(job: BackfillDocument): Promise<void> {
    const { evaluator } = this.opts;
    const claim = async (set: Partial<BackfillDocument>): Promise<boolean> => {
      const r = await this.jobs.updateOne({ _id: job._id, runId: job.runId }, { $set: { ...set, holder: this.opts.instanceId, leaseUntil: new Date(Date.now() + this.leaseMs), updatedAt: new Date() } });
      return r.matchedCount > 0;
    };
    if (!(await claim({}))) return;
    let { processed, changed, published } = job;
    const keys = new Set([job._id]);
    try {
      await this.opts.ensurePlan(job._id, job.version);
      let started = Date.now();
      for await (const docs of this.opts.store.scan(job.lastId ?? undefined, this.pageSize)) {
        if (this.stopped) {
          await this.jobs.updateOne({ _id: job._id, runId: job.runId }, { $set: { holder: null, leaseUntil: new Date(0) } });
          return;
        }
        const page = await evaluator.backfillPage(keys, docs);
        processed += page.processed;
        changed += page.changed;
        published += page.published;
        const ms = Date.now() - started;
        this.opts.onPage?.(job._id, { processed: page.processed, changed: page.changed, ms });
        if (!(await claim({ processed, changed, published, lastId: page.lastId ?? null }))) return; // superseded by a newer request
        if (this.rate > 0) {
          const wait = (page.processed / this.rate) * 1000 - ms;
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        started = Date.now();
      }
      await claim({ status: 'done', finishedAt: new Date() });
    } catch (err) {
      await this.jobs.updateOne({ _id: job._id, runId: job.runId }, { $set: { status: 'failed', error: err instanceof Error ? err.message : String(err), finishedAt: new Date(), updatedAt: new Date() } });
    }
  }
}
