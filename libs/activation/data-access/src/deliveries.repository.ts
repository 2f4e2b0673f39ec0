/**
 * Deliveries (`activation_deliveries`): one per trigger firing, the unit of idempotence, retries
 * and the delivery log. The instance owning a delivery's partition dispatches it.
 *
 * Every change of a delivery after its insert is a compare-and-set on its `version`
 * (`VersionedWriter`): an attempt first claims the delivery (a lease: owner and end, with
 * `nextAttemptAt` moved to the lease's end, so no other instance finds it due meanwhile), and
 * its outcome is written only while that claim is still the stored version. Two instances that
 * read the same due delivery (a rebalance) cannot both claim it, and the late write of an owner
 * whose lease ended and was taken changes nothing. A plain conditional update is not enough on
 * FerretDB 1.24, which reads and writes in separate steps (measured: 10 concurrent
 * `updateOne({_id, lease: null})` claims, more than one "won" in 29 of 30 rounds).
 *
 * Retention: a delivery that finished (delivered, dead or skipped) expires `retentionMs` after it
 * finished; a replayed one is pending again and loses its expiry. While a delivery is kept, a
 * replayed membership change finds it and sends nothing again, and frequency caps count it.
 */
import type { Connection, mongo } from 'mongoose';
import pLimit from 'p-limit';
import {
  ExpirySweeper,
  VersionedWriter,
  expiryHourOf,
  insertAbsent,
  isCasGuardConflict,
  isDuplicateKeyError,
  newTicket,
  openDb,
  type CasMode,
} from '@mosaic/shared-mongo';
import { ACTIVATION_COLLECTIONS, type DeliveryAttempt, type DeliveryDocument, type DeliveryStatus } from './documents';

/** 400 days: longer than the longest frequency-cap window (366 days). */
export const DEFAULT_DELIVERY_RETENTION_MS = 400 * 86_400_000;

/** Due queries (one per destination) a round sends at once. */
const DUE_QUERY_CONCURRENCY = 4;
/** Times a many-document update is sent again after the store's compare-and-set guard refused one of its documents. */
const GUARD_RETRIES = 5;

/** What an attempt's outcome makes of a claimed delivery. */
export interface DeliveryNext {
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
  attempts: number;
  deliveredAt?: Date;
  /** Dead with its dead letter still to be produced. */
  deadLetterDue?: true;
}

/** A destination's share of a dispatch round. */
export interface DueShare {
  destinationId: string;
  limit: number;
}

export class DeliveriesRepository {
  private readonly expiry = new ExpirySweeper();
  private readonly writer: VersionedWriter;

  /** `cas`: the store's compare-and-set mode (`detectServerProfile`); `ticket`, the default, is exact on every server. */
  constructor(
    private readonly conn: Connection,
    private readonly retentionMs: number = DEFAULT_DELIVERY_RETENTION_MS,
    options: { cas?: CasMode } = {},
  ) {
    this.writer = new VersionedWriter(conn, { mode: options.cas ?? 'ticket', ticketCollection: ACTIVATION_COLLECTIONS.tickets, instanceId: 'activation' });
  }

  private get collection(): mongo.Collection<DeliveryDocument> {
    return openDb(this.conn).collection<DeliveryDocument>(ACTIVATION_COLLECTIONS.deliveries);
  }

  async findById(id: string): Promise<DeliveryDocument | null> {
    return (await this.collection.findOne({ _id: id })) as DeliveryDocument | null;
  }

  /** Inserts deliveries; ids that exist already (a replayed change) are left as they are. Returns the ids inserted. */
  async insertNew(docs: readonly DeliveryDocument[]): Promise<string[]> {
    return (
      await insertAbsent(
        this.collection,
        docs.map((d) => ({ ...d, version: d.version ?? 0 })),
      )
    ).map((d) => d._id);
  }

  /**
   * The due deliveries of these partitions, each destination's oldest first and at most its
   * share: one query per destination (`{status, destinationId}`, both equalities the store
   * answers from an index), so a destination's backlog, however old, never fills another's
   * window. Only a pending delivery has a next attempt (FerretDB pushes neither the `$in` nor the
   * range down: it filters this destination's pending deliveries by them).
   */
  async due(shares: readonly DueShare[], partitions: readonly number[], now: Date, exclude: ReadonlySet<string>): Promise<DeliveryDocument[]> {
    if (partitions.length === 0) return [];
    const limit = pLimit(DUE_QUERY_CONCURRENCY);
    const lists = await Promise.all(shares.map((s) => limit(() => this.dueOf(s, partitions, now, exclude))));
    return lists.flat();
  }

  private async dueOf(share: DueShare, partitions: readonly number[], now: Date, exclude: ReadonlySet<string>): Promise<DeliveryDocument[]> {
    const docs = (await this.collection
      .find({ status: 'pending', destinationId: share.destinationId, partition: { $in: [...partitions] }, nextAttemptAt: { $ne: null, $lte: now } })
      .sort({ nextAttemptAt: 1 })
      .limit(share.limit + exclude.size)
      .toArray()) as DeliveryDocument[];
    return docs.filter((d) => !exclude.has(d._id)).slice(0, share.limit);
  }

  /**
   * Claims a due delivery, as read, for one attempt by `owner` until `now + leaseMs`; the claimed
   * delivery, or null when it changed since it was read (another instance claimed or finished it).
   */
  async claim(read: DeliveryDocument, owner: string, now: Date, leaseMs: number): Promise<DeliveryDocument | null> {
    const leaseUntil = new Date(now.getTime() + leaseMs);
    const lease = { leaseOwner: owner, leaseUntil, nextAttemptAt: leaseUntil, updatedAt: now };
    return read.version === undefined ? this.claimUnversioned({ ...read, ...lease, version: 1 }, owner) : this.move(read, lease);
  }

  /**
   * A delivery stored before versions counts as version 0. Its move to version 1 is taken by a
   * ticket (a unique insert: exact on every store, where a conditional write on the missing field
   * is not on FerretDB, and its guard checks only documents that have a version); the instance
   * holding the ticket claims it, any other gets null.
   */
  private async claimUnversioned(doc: DeliveryDocument, owner: string): Promise<DeliveryDocument | null> {
    try {
      await this.writer.tickets.insertOne(newTicket(ACTIVATION_COLLECTIONS.deliveries, doc, 0, owner));
    } catch (err) {
      if (isDuplicateKeyError(err)) return null;
      throw err;
    }
    const r = await this.collection.replaceOne({ _id: doc._id, version: { $exists: false } }, doc);
    return r.matchedCount === 1 ? doc : null;
  }

  /**
   * Records a claimed delivery's attempt and next state, if the claim is still the stored version
   * (its lease held): the delivery as written, or null, and nothing written, when it was lost.
   */
  async recordAttempt(claimed: DeliveryDocument, attempt: DeliveryAttempt, next: DeliveryNext): Promise<DeliveryDocument | null> {
    const now = new Date();
    return this.move(claimed, { ...next, log: [...claimed.log, attempt], updatedAt: now, ...this.expiryOnceFinished(next.status, now) });
  }

  /** Marks a claimed delivery skipped (no attempt); false when the claim was lost. */
  async skip(claimed: DeliveryDocument, reason: string): Promise<boolean> {
    const now = new Date();
    return (
      (await this.move(claimed, { status: 'skipped', skipReason: reason, nextAttemptAt: null, updatedAt: now, ...this.expiryOnceFinished('skipped', now) })) !==
      null
    );
  }

  /**
   * The delivery moved on by one version with `changes` and without a lease, if it is still at
   * the version `from` was read at; null otherwise.
   */
  private async move(from: DeliveryDocument, changes: Partial<DeliveryDocument>): Promise<DeliveryDocument | null> {
    const version = from.version ?? 0;
    const { leaseOwner: _owner, leaseUntil: _until, ...rest } = from;
    const doc: DeliveryDocument = { ...rest, ...changes, version: version + 1 };
    return (await this.writer.replace(this.collection, from._id, version, doc)) === 'applied' ? doc : null;
  }

  /**
   * Ends every pending delivery of a destination (deleted: nothing can send them any more) as
   * skipped with `reason`; how many. An attempt under way loses its lease: its outcome is not
   * recorded (its request may still reach the endpoint).
   */
  async skipPendingOf(destinationId: string, reason: string, now = new Date()): Promise<number> {
    return this.updateManyRetrying(
      { status: 'pending', destinationId },
      {
        $set: { status: 'skipped', skipReason: reason, nextAttemptAt: null, updatedAt: now, ...this.expiryOnceFinished('skipped', now) },
        $unset: { leaseOwner: '', leaseUntil: '' },
        $inc: { version: 1 },
      },
    );
  }

  /**
   * `updateMany`, sent again when the store's compare-and-set guard refused a document that a
   * compare-and-set changed between FerretDB's read and its write (FerretDB stops the statement
   * there): the next try reads the documents as they are now. How many were changed by the last try.
   */
  private async updateManyRetrying(filter: mongo.Filter<DeliveryDocument>, update: mongo.UpdateFilter<DeliveryDocument>): Promise<number> {
    for (let tries = 1; ; tries += 1) {
      try {
        return (await this.collection.updateMany(filter, update)).modifiedCount;
      } catch (err) {
        if (!isCasGuardConflict(err) || tries >= GUARD_RETRIES) throw err;
      }
    }
  }

  /** Dead deliveries of these partitions whose dead letter is still to be produced (an indexed equality; nearly always none). */
  async deadLettersDue(partitions: readonly number[], limit: number): Promise<DeliveryDocument[]> {
    if (partitions.length === 0) return [];
    return (await this.collection
      .find({ deadLetterDue: true, partition: { $in: [...partitions] } })
      .limit(limit)
      .toArray()) as DeliveryDocument[];
  }

  /** Its dead letter was produced: the flag goes (unless the delivery changed since, e.g. was replayed). */
  async deadLettered(d: DeliveryDocument): Promise<void> {
    const { deadLetterDue: _due, ...rest } = d;
    await this.move(rest, {});
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
    await this.writer.sweepTickets(now); // claims of deliveries stored before versions, and in ticket mode those crashed writers left
    return this.expiry.deleteExpired(this.collection, { status: { $ne: 'pending' } }, now);
  }

  /** How many deliveries of a trigger a profile got since `since` (frequency caps). */
  async sentSince(triggerId: string, profileId: string, since: Date): Promise<number> {
    return this.collection.countDocuments({ triggerId, profileId, createdAt: { $gte: since }, status: { $ne: 'skipped' } });
  }

  /**
   * Dead (or, with `ids`, these) deliveries back to pending, attempts reset; a dead letter still
   * to be produced is not (the delivery is tried again). Returns how many. The version moves on,
   * so a write based on the dead delivery (clearing its dead-letter flag) cannot undo this.
   */
  async replay(filter: { destinationId?: string; ids?: readonly string[] }, now = new Date()): Promise<number> {
    const q: mongo.Filter<DeliveryDocument> = { status: 'dead' };
    if (filter.destinationId) q.destinationId = filter.destinationId;
    if (filter.ids) q._id = { $in: [...filter.ids] };
    const r = await this.collection.updateMany(q, {
      $set: { status: 'pending', attempts: 0, nextAttemptAt: now, updatedAt: now },
      $unset: { expiresAt: '', expiryHour: '', deadLetterDue: '' },
      $inc: { version: 1 },
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
