/**
 * Deliveries (`activation_deliveries`): one per trigger firing, the unit of idempotence, retries
 * and the delivery log. A delivery is only ever dispatched by the instance owning its partition.
 *
 * Retention: a delivery that finished (delivered, dead or skipped) expires `retentionMs` after it
 * finished; a replayed one is pending again and loses its expiry. While a delivery is kept, a
 * replayed membership change finds it and sends nothing again, and frequency caps count it.
 */
import type { Connection, mongo } from 'mongoose';
import { ExpirySweeper, expiryHourOf, insertAbsent, openDb } from '@mosaic/shared-mongo';
import { ACTIVATION_COLLECTIONS, type DeliveryAttempt, type DeliveryDocument, type DeliveryStatus } from './documents';

/** 400 days: longer than the longest frequency-cap window (366 days). */
export const DEFAULT_DELIVERY_RETENTION_MS = 400 * 86_400_000;

export class DeliveriesRepository {
  private readonly expiry = new ExpirySweeper();

  constructor(
    private readonly conn: Connection,
    private readonly retentionMs: number = DEFAULT_DELIVERY_RETENTION_MS,
  ) {}

  private get collection(): mongo.Collection<DeliveryDocument> {
    return openDb(this.conn).collection<DeliveryDocument>(ACTIVATION_COLLECTIONS.deliveries);
  }

  async findById(id: string): Promise<DeliveryDocument | null> {
    return (await this.collection.findOne({ _id: id })) as DeliveryDocument | null;
  }

  /** Inserts deliveries; ids that exist already (a replayed change) are left as they are. Returns the ids inserted. */
  async insertNew(docs: readonly DeliveryDocument[]): Promise<string[]> {
    return (await insertAbsent(this.collection, docs)).map((d) => d._id);
  }

  /**
   * Deliveries of these partitions whose next attempt is due. Only a pending delivery has a next
   * attempt; the status equality is what the store answers from an index (FerretDB pushes neither
   * the `$in` nor the range down: without it every round read the whole delivery log).
   */
  async due(partitions: readonly number[], now: Date, limit: number, exclude: ReadonlySet<string>): Promise<DeliveryDocument[]> {
    if (partitions.length === 0) return [];
    const docs = (await this.collection
      .find({ status: 'pending', partition: { $in: [...partitions] }, nextAttemptAt: { $ne: null, $lte: now } })
      .sort({ nextAttemptAt: 1 })
      .limit(limit + exclude.size)
      .toArray()) as DeliveryDocument[];
    return docs.filter((d) => !exclude.has(d._id)).slice(0, limit);
  }

  /** Records an attempt and the delivery's next state. */
  async recordAttempt(
    id: string,
    attempt: DeliveryAttempt,
    next: { status: DeliveryDocument['status']; nextAttemptAt: Date | null; attempts: number; deliveredAt?: Date; skipReason?: string },
  ): Promise<void> {
    const now = new Date();
    await this.collection.updateOne({ _id: id }, {
      $set: { ...next, updatedAt: now, ...this.expiryOnceFinished(next.status, now) },
      $push: { log: attempt },
    } as mongo.UpdateFilter<DeliveryDocument>);
  }

  /** Marks a delivery skipped (no attempt). */
  async skip(id: string, reason: string): Promise<void> {
    const now = new Date();
    await this.collection.updateOne(
      { _id: id },
      { $set: { status: 'skipped', skipReason: reason, nextAttemptAt: null, updatedAt: now, ...this.expiryOnceFinished('skipped', now) } },
    );
  }

  private expiryOnceFinished(status: DeliveryStatus, now: Date): Pick<DeliveryDocument, 'expiresAt' | 'expiryHour'> {
    if (status === 'pending') return {};
    const expiresAt = new Date(now.getTime() + this.retentionMs);
    return { expiresAt, expiryHour: expiryHourOf(expiresAt, now) };
  }

  /** MongoDB deletes finished deliveries itself (FerretDB refuses TTL indexes: `sweepExpired` there). */
  async ensureTtlIndex(): Promise<void> {
    await this.collection.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
  }

  /** Deletes the finished deliveries past their retention; how many. */
  async sweepExpired(now: Date = new Date()): Promise<number> {
    return this.expiry.deleteExpired(this.collection, { status: { $ne: 'pending' } }, now);
  }

  /** How many deliveries of a trigger a profile got since `since` (frequency caps). */
  async sentSince(triggerId: string, profileId: string, since: Date): Promise<number> {
    return this.collection.countDocuments({ triggerId, profileId, createdAt: { $gte: since }, status: { $ne: 'skipped' } });
  }

  /** Dead (or, with `ids`, these) deliveries back to pending, attempts reset. Returns how many. */
  async replay(filter: { destinationId?: string; ids?: readonly string[] }, now = new Date()): Promise<number> {
    const q: mongo.Filter<DeliveryDocument> = { status: 'dead' };
    if (filter.destinationId) q.destinationId = filter.destinationId;
    if (filter.ids) q._id = { $in: [...filter.ids] };
    const r = await this.collection.updateMany(q, {
      $set: { status: 'pending', attempts: 0, nextAttemptAt: now, updatedAt: now },
      $unset: { expiresAt: '', expiryHour: '' },
    });
    return r.modifiedCount;
  }

  async list(q: { destinationId?: string; status?: string; profileId?: string; limit: number; before?: Date }): Promise<DeliveryDocument[]> {
    const filter: mongo.Filter<DeliveryDocument> = {};
    if (q.destinationId) filter.destinationId = q.destinationId;
    if (q.status) filter.status = q.status as DeliveryDocument['status'];
    if (q.profileId) filter.profileId = q.profileId;
    if (q.before) filter.createdAt = { $lt: q.before };
    return (await this.collection.find(filter).sort({ createdAt: -1 }).limit(q.limit).toArray()) as DeliveryDocument[];
  }
}
