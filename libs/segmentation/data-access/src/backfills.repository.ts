/**
 * Backfill jobs in MongoDB (`segmentation_backfills`): one document per segment key with its
 * progress, the instance holding it and until when (a lease), so the admin API of any instance
 * shows it and a job left by a stopped instance is taken over by another.
 */
import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type mongo } from 'mongoose';
import { ensureSchemaIndexes, openDb } from '@mosaic/shared-mongo';

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
  /** The last profile of the last page done (shown only: a job taken over scans from the start). */
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
  /** Seconds left at that rate (0 when done; null when failed or before the first page). */
  etaSeconds: number | null;
  error: string | null;
}

export function progressOf(d: BackfillDocument, now = Date.now()): BackfillProgress {
  const end = d.finishedAt?.getTime() ?? now;
  const seconds = Math.max(0.001, (end - d.startedAt.getTime()) / 1000);
  const rate = d.processed / seconds;
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
    ratePerSecond: Math.round(rate * 10) / 10,
    etaSeconds: d.status === 'done' ? 0 : d.status === 'failed' || rate === 0 ? null : Math.ceil(Math.max(0, d.total - d.processed) / rate),
    error: d.error,
  };
}

export class BackfillsRepository {
  constructor(private readonly conn: Connection) {}

  async ensureIndexes(): Promise<void> {
    await ensureSchemaIndexes(this.conn, [['SegmentationBackfill', BackfillSchema]]);
  }

  get jobs(): mongo.Collection<BackfillDocument> {
    return openDb(this.conn).collection<BackfillDocument>(BACKFILLS_COLLECTION);
  }

  /** Starts (or restarts, with a new run id) the backfill of a segment at a version, unheld. */
  async start(key: string, version: number, total: number): Promise<BackfillProgress> {
    const now = new Date();
    const doc: BackfillDocument = {
      _id: key,
      version,
      runId: randomUUID(),
      status: 'running',
      total,
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

  /** A running job this instance holds, or one whose lease ran out. */
  async findRunnable(instanceId: string, now = new Date()): Promise<BackfillDocument | null> {
    return (await this.jobs.findOne({ status: 'running', $or: [{ leaseUntil: { $lt: now } }, { holder: instanceId }] })) as BackfillDocument | null;
  }

  /** Renews the lease of this run (with progress in `set`); false when a newer request superseded it. */
  async claim(job: BackfillDocument, instanceId: string, leaseMs: number, set: Partial<BackfillDocument> = {}): Promise<boolean> {
    const r = await this.jobs.updateOne(
      { _id: job._id, runId: job.runId },
      { $set: { ...set, holder: instanceId, leaseUntil: new Date(Date.now() + leaseMs), updatedAt: new Date() } },
    );
    return r.matchedCount > 0;
  }

  /** Gives the run up (a stopping instance): another takes it over at once. */
  async release(job: BackfillDocument): Promise<void> {
    await this.jobs.updateOne({ _id: job._id, runId: job.runId }, { $set: { holder: null, leaseUntil: new Date(0) } });
  }

  async fail(job: BackfillDocument, error: string): Promise<void> {
    await this.jobs.updateOne({ _id: job._id, runId: job.runId }, { $set: { status: 'failed', error, finishedAt: new Date(), updatedAt: new Date() } });
  }
}
