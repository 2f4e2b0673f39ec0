/**
 * Segment sizes over time (`segmentation_size_history`): one document per segment per sampling
 * interval, written by whichever instance samples that interval first.
 *
 * - **One writer per interval:** a point's `_id` is `<segment key>|<interval start>`, inserted
 *   if absent. Every instance samples every interval; the first insert lands, the others (and a
 *   restarted instance sampling the same interval again) find the id taken. Only inserts decide
 *   races on FerretDB 1.24 (see segment-sizes.repository.ts).
 * - **Reads by equality:** FerretDB 1.24 pushes only equality filters down to PostgreSQL, not
 *   ranges or `$in`, so each point is filed under `bucket` = `<segment key>|<UTC day>`
 *   (indexed) and a range of time is read as one equality per day.
 * - **Retention:** each point carries `expiresAt` (and its `expiryHour`, for the shared
 *   `ExpirySweeper`, which deletes ended hours by equality; FerretDB has no TTL indexes).
 */
import { Schema, type Connection, type mongo } from 'mongoose';
import { dayOf, type SizePoint } from '@mosaic/segmentation-domain';
import { ExpirySweeper, ensureSchemaIndexes, expiryHourOf, insertAbsent, openDb } from '@mosaic/shared-mongo';

export const SIZE_HISTORY_COLLECTION = 'segmentation_size_history';

/** 400 days by default (`SEGMENTATION_SIZE_HISTORY_RETENTION_DAYS`). */
export const DEFAULT_SIZE_HISTORY_RETENTION_MS = 400 * 86_400_000;

export interface SizeHistoryDocument {
  /** `<segment key>|<interval start, ISO>`: the same for every instance sampling that interval. */
  _id: string;
  segment: string;
  /** `<segment key>|<UTC day of at>`: what reads ask by equality. */
  bucket: string;
  /** The start of the sampling interval. */
  at: Date;
  size: number;
  expiresAt: Date;
  expiryHour: number;
}

export const SizeHistorySchema = new Schema(
  {
    _id: { type: String, required: true },
    segment: { type: String, required: true },
    bucket: { type: String, required: true },
    at: { type: Date, required: true },
    size: { type: Number, required: true },
    expiresAt: { type: Date, required: true },
    expiryHour: { type: Number, required: true },
  },
  { collection: SIZE_HISTORY_COLLECTION, versionKey: false },
);
SizeHistorySchema.index({ bucket: 1 });
SizeHistorySchema.index({ expiryHour: 1 });

export function sizeHistoryBucket(segment: string, day: string): string {
  return `${segment}|${day}`;
}

export class SizeHistoryRepository {
  private readonly expiry = new ExpirySweeper();

  constructor(
    private readonly conn: Connection,
    private readonly retentionMs: number = DEFAULT_SIZE_HISTORY_RETENTION_MS,
  ) {}

  async ensureIndexes(): Promise<void> {
    await ensureSchemaIndexes(this.conn, [['SegmentationSizeHistory', SizeHistorySchema]]);
  }

  private get collection(): mongo.Collection<SizeHistoryDocument> {
    return openDb(this.conn).collection<SizeHistoryDocument>(SIZE_HISTORY_COLLECTION);
  }

  /**
   * Records the sizes of the interval starting at `at` (one insert command); segments whose
   * point for it exists, written by any instance, are left as they are. Returns the keys written.
   */
  async record(at: Date, sizes: ReadonlyMap<string, number>, now: Date = new Date()): Promise<string[]> {
    const expiresAt = new Date(at.getTime() + this.retentionMs);
    const expiryHour = expiryHourOf(expiresAt, now);
    const day = dayOf(at.getTime());
    const docs: SizeHistoryDocument[] = [...sizes].map(([segment, size]) => ({
      _id: `${segment}|${at.toISOString()}`,
      segment,
      bucket: sizeHistoryBucket(segment, day),
      at,
      size,
      expiresAt,
      expiryHour,
    }));
    return (await insertAbsent(this.collection, docs)).map((d) => d.segment);
  }

  /** A segment's points of one UTC day (unordered): one indexed equality. */
  async pointsOfDay(segment: string, day: string): Promise<SizePoint[]> {
    const docs = await this.collection.find({ bucket: sizeHistoryBucket(segment, day) }, { projection: { at: 1, size: 1 } }).toArray();
    return docs.map((d) => ({ at: d.at.toISOString(), size: d.size }));
  }

  /** Deletes the points past their retention; how many. */
  async sweepExpired(now: Date = new Date()): Promise<number> {
    return this.expiry.deleteExpired(this.collection, {}, now);
  }
}
