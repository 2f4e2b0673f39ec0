/**
 * Expiry without TTL indexes and without reading whole collections. FerretDB 1.24 has no TTL
 * indexes, so the services delete expired documents themselves every few minutes; but it pushes
 * no range (`expiresAt < now`) down to PostgreSQL, so each of those deletes read every document
 * of its collection (processed-message records and events: the largest collections there are),
 * every time. Each document with an `expiresAt` is therefore also filed under its hour,
 * `expiryHour` (indexed), and a sweep deletes the hours that have ended by equality, each
 * from its index.
 *
 * - **Filing:** the hour of `max(expiresAt, now at the write)`, so nothing is filed under an
 *   hour that had already ended when it was written (an imported old event expires at the end of
 *   the hour it was stored in).
 * - **Sweeping:** the last `EXPIRY_LOOKBACK_HOURS` ended hours, every round (an hour a late write
 *   landed in after it was swept is swept again). The first sweep of a process deletes by the
 *   range instead, once: it catches what expired while no instance ran that long, and documents
 *   written before `expiryHour` existed. A document expires at most an hour (plus the sweep
 *   interval) after its `expiresAt`; on MongoDB its TTL index, where there is one, is sooner.
 */
import type { mongo } from 'mongoose';

const HOUR_MS = 3_600_000;
/** Ended hours each sweep deletes again. */
export const EXPIRY_LOOKBACK_HOURS = 48;

/** The hour (since the epoch) a document expiring at `expiresAt` is filed under when written at `now`. */
export function expiryHourOf(expiresAt: Date, now: Date = new Date()): number {
  return Math.floor(Math.max(expiresAt.getTime(), now.getTime()) / HOUR_MS);
}

/** Deletes expired documents collection by collection; remembers which it has swept by range. */
export class ExpirySweeper {
  private readonly rangeSwept = new Set<string>();

  /** Deletes the documents of `collection` meeting `where` that expired before `now`; how many. */
  async deleteExpired<T extends mongo.Document>(collection: mongo.Collection<T>, where: mongo.Document, now: Date = new Date()): Promise<number> {
    const key = `${collection.collectionName}|${JSON.stringify(where)}`;
    if (!this.rangeSwept.has(key)) {
      const r = await collection.deleteMany({ ...where, expiresAt: { $lt: now } } as unknown as mongo.Filter<T>);
      this.rangeSwept.add(key);
      return r.deletedCount ?? 0;
    }
    const current = Math.floor(now.getTime() / HOUR_MS);
    let deleted = 0;
    for (let hour = current - EXPIRY_LOOKBACK_HOURS; hour < current; hour += 1) {
      deleted += (await collection.deleteMany({ ...where, expiryHour: hour } as unknown as mongo.Filter<T>)).deletedCount ?? 0;
    }
    return deleted;
  }
}
