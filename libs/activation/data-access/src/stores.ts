/**
 * Activation's stores: configuration (destinations, triggers), deliveries and the profiles it
 * knows. Plain documents; the only concurrency that matters is a delivery's, and a delivery is
 * only ever dispatched by the instance owning its partition.
 */
import { randomBytes } from 'node:crypto';
import type { Connection, mongo } from 'mongoose';
import { MAX_BULK_UPDATES, ensureSchemaIndexes, isDuplicateKeyError, duplicateOnlyWriteErrors, openDb } from '@mosaic/shared-mongo';
import {
  ACTIVATION_COLLECTIONS,
  ACTIVATION_SCHEMAS,
  type ActivationProfileDocument,
  type DeliveryAttempt,
  type DeliveryDocument,
  type DestinationDocument,
  type ExperienceDocument,
  type TriggerDocument,
} from './documents';

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

export class ActivationStore {
  constructor(private readonly conn: Connection) {}

  async ensureIndexes(): Promise<void> {
    await ensureSchemaIndexes(this.conn, ACTIVATION_SCHEMAS);
  }

  private coll<T extends mongo.Document>(name: string): mongo.Collection<T> {
    return openDb(this.conn).collection<T>(name);
  }

  get destinations(): mongo.Collection<DestinationDocument> {
    return this.coll<DestinationDocument>(ACTIVATION_COLLECTIONS.destinations);
  }

  get triggers(): mongo.Collection<TriggerDocument> {
    return this.coll<TriggerDocument>(ACTIVATION_COLLECTIONS.triggers);
  }

  get deliveries(): mongo.Collection<DeliveryDocument> {
    return this.coll<DeliveryDocument>(ACTIVATION_COLLECTIONS.deliveries);
  }

  get experiences(): mongo.Collection<ExperienceDocument> {
    return this.coll<ExperienceDocument>(ACTIVATION_COLLECTIONS.experiences);
  }

  get profiles(): mongo.Collection<ActivationProfileDocument> {
    return this.coll<ActivationProfileDocument>(ACTIVATION_COLLECTIONS.profiles);
  }

  // ---- deliveries -------------------------------------------------------------------------------

  /** Inserts deliveries; ids that exist already (a replayed change) are left as they are. Returns the ids inserted. */
  async insertDeliveries(docs: readonly DeliveryDocument[]): Promise<string[]> {
    if (docs.length === 0) return [];
    try {
      await this.deliveries.insertMany(docs as DeliveryDocument[], { ordered: false });
      return docs.map((d) => d._id);
    } catch (err) {
      const failed = duplicateOnlyWriteErrors(err);
      if (failed === undefined) throw err;
      const dup = new Set(failed);
      return docs.filter((_, i) => !dup.has(i)).map((d) => d._id);
    }
  }

  /** Deliveries of these partitions whose next attempt is due. */
  async due(partitions: readonly number[], now: Date, limit: number, exclude: ReadonlySet<string>): Promise<DeliveryDocument[]> {
    if (partitions.length === 0) return [];
    const docs = (await this.deliveries
      .find({ partition: { $in: [...partitions] }, nextAttemptAt: { $ne: null, $lte: now } })
      .sort({ nextAttemptAt: 1 })
      .limit(limit + exclude.size)
      .toArray()) as DeliveryDocument[];
    return docs.filter((d) => !exclude.has(d._id)).slice(0, limit);
  }

  /** Records an attempt and the delivery's next state. */
  async recordAttempt(id: string, attempt: DeliveryAttempt, next: { status: DeliveryDocument['status']; nextAttemptAt: Date | null; attempts: number; deliveredAt?: Date; skipReason?: string }): Promise<void> {
    await this.deliveries.updateOne({ _id: id }, { $set: { ...next, updatedAt: new Date() }, $push: { log: attempt } } as mongo.UpdateFilter<DeliveryDocument>);
  }

  /** Marks a delivery skipped (no attempt). */
  async skip(id: string, reason: string): Promise<void> {
    await this.deliveries.updateOne({ _id: id }, { $set: { status: 'skipped', skipReason: reason, nextAttemptAt: null, updatedAt: new Date() } });
  }

  /** How many deliveries of a trigger a profile got since `since` (frequency caps). */
  async sentSince(triggerId: string, profileId: string, since: Date): Promise<number> {
    return this.deliveries.countDocuments({ triggerId, profileId, createdAt: { $gte: since }, status: { $ne: 'skipped' } });
  }

  /** Dead (or, with `ids`, these) deliveries back to pending, attempts reset. Returns how many. */
  async replay(filter: { destinationId?: string; ids?: readonly string[] }, now = new Date()): Promise<number> {
    const q: mongo.Filter<DeliveryDocument> = { status: 'dead' };
    if (filter.destinationId) q.destinationId = filter.destinationId;
    if (filter.ids) q._id = { $in: [...filter.ids] };
    const r = await this.deliveries.updateMany(q, { $set: { status: 'pending', attempts: 0, nextAttemptAt: now, updatedAt: now } });
    return r.modifiedCount;
  }

  async listDeliveries(q: { destinationId?: string; status?: string; profileId?: string; limit: number; before?: Date }): Promise<DeliveryDocument[]> {
    const filter: mongo.Filter<DeliveryDocument> = {};
    if (q.destinationId) filter.destinationId = q.destinationId;
    if (q.status) filter.status = q.status as DeliveryDocument['status'];
    if (q.profileId) filter.profileId = q.profileId;
    if (q.before) filter.createdAt = { $lt: q.before };
    return (await this.deliveries.find(filter).sort({ createdAt: -1 }).limit(q.limit).toArray()) as DeliveryDocument[];
  }

  // ---- profiles -------------------------------------------------------------------------------------

  /** Stores the latest compact profile (older versions are ignored), its identifier keys and whether it was merged away. */
  async putProfile(profileId: string, profile: StoredProfile, version: number, mergedInto?: string): Promise<void> {
    await this.putProfiles([{ profileId, profile, version, ...(mergedInto ? { mergedInto } : {}) }]);
  }

  /**
   * The profiles of one Kafka batch: only the newest version of each is written, all in one
   * unordered bulk write (chunked), so a batch costs a round trip per chunk, not per change.
   * An upsert that hits a duplicate key (a newer version is held, or the membership consumer
   * created the document at the same moment) is tried once more as a plain guarded update.
   */
  async putProfiles(changes: readonly ProfilePut[]): Promise<void> {
    const newest = new Map<string, ProfilePut>();
    for (const c of changes) if ((newest.get(c.profileId)?.version ?? -Infinity) < c.version) newest.set(c.profileId, c);
    const ops = [...newest.values()].map((c) => ({ filter: { _id: c.profileId, profileVersion: { $lt: c.version } } as mongo.Filter<ActivationProfileDocument>, set: profileSet(c) }));
    for (let i = 0; i < ops.length; i += MAX_BULK_UPDATES) {
      const chunk = ops.slice(i, i + MAX_BULK_UPDATES);
      try {
        await this.profiles.bulkWrite(chunk.map((o) => ({ updateOne: { filter: o.filter, update: { $set: o.set, $setOnInsert: NEW_PROFILE_FIELDS }, upsert: true } })), { ordered: false });
      } catch (err) {
        const failed = duplicateOnlyWriteErrors(err);
        if (failed === undefined) throw err;
        await this.profiles.bulkWrite(failed.map((k) => chunk[k] as (typeof chunk)[number]).map((o) => ({ updateOne: { filter: o.filter, update: { $set: o.set } } })), { ordered: false });
      }
    }
  }

  /**
   * An upsert guarded by a version filter. A duplicate key means the document exists but the
   * filter did not match it — a newer version is held — or another writer inserted it at the
   * same moment (the profile and membership consumers both create profiles): so the update is
   * tried once more, now against the existing document.
   */
  private async upsertIfNewer(filter: mongo.Filter<ActivationProfileDocument>, update: mongo.UpdateFilter<ActivationProfileDocument>): Promise<void> {
    try {
      await this.profiles.updateOne(filter, update, { upsert: true });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const { $setOnInsert: _ignored, ...rest } = update as Record<string, unknown>;
      void _ignored;
      await this.profiles.updateOne(filter, rest as mongo.UpdateFilter<ActivationProfileDocument>);
    }
  }

  /** Applies a membership change to the profile's segments (older versions are ignored). */
  async putMembership(profileId: string, segmentKey: string, entered: boolean, version: number): Promise<void> {
    await this.upsertIfNewer({ _id: profileId, membershipVersion: { $lt: version } }, {
      ...(entered ? { $addToSet: { segments: segmentKey } } : { $pull: { segments: segmentKey } }),
      $set: { membershipVersion: version, updatedAt: new Date() },
      $setOnInsert: { profile: null, profileVersion: -1 },
    } as mongo.UpdateFilter<ActivationProfileDocument>);
  }

  /** The live profile holding one of these identifier keys (the first key that matches wins). */
  async profileByIdKeys(keys: readonly string[]): Promise<{ profileId: string; segments: string[]; traits: Record<string, unknown>; computed: Record<string, unknown>; idKeys: string[]; profileVersion: number; membershipVersion: number } | null> {
    const docs = (await this.profiles.find({ idKeys: { $in: [...keys] } }).toArray()) as ActivationProfileDocument[];
    const live = docs.filter((d) => !d.mergedInto && d.profile);
    for (const k of keys) {
      const d = live.find((x) => (x.idKeys ?? []).includes(k));
      if (!d) continue;
      const p = JSON.parse(d.profile as string) as { traits?: Record<string, unknown>; computed?: Record<string, unknown> };
      return { profileId: d._id, segments: d.segments ?? [], traits: p.traits ?? {}, computed: p.computed ?? {}, idKeys: d.idKeys ?? [], profileVersion: d.profileVersion, membershipVersion: d.membershipVersion };
    }
    return null;
  }

  /** Several profiles in one query (the dispatcher reads a round's profiles at once). */
  async profilesByIds(profileIds: readonly string[]): Promise<Map<string, { profile: Record<string, unknown> | null; segments: string[] }>> {
    const out = new Map<string, { profile: Record<string, unknown> | null; segments: string[] }>();
    if (profileIds.length === 0) return out;
    const docs = (await this.profiles.find({ _id: { $in: [...new Set(profileIds)] } }).toArray()) as ActivationProfileDocument[];
    for (const d of docs) out.set(d._id, { profile: d.profile ? (JSON.parse(d.profile) as Record<string, unknown>) : null, segments: d.segments ?? [] });
    return out;
  }

  async profile(profileId: string): Promise<{ profile: Record<string, unknown> | null; segments: string[] } | null> {
    const d = (await this.profiles.findOne({ _id: profileId })) as ActivationProfileDocument | null;
    if (!d) return null;
    return { profile: d.profile ? (JSON.parse(d.profile) as Record<string, unknown>) : null, segments: d.segments ?? [] };
  }
}

/** A compact profile as activation keeps it (what decisions and payloads read). */
export type StoredProfile = { identifiers: readonly { type: string; value: string }[] } & Record<string, unknown>;

/** One `profiles.changes` message's part that activation stores. */
export interface ProfilePut {
  profileId: string;
  profile: StoredProfile;
  version: number;
  mergedInto?: string;
}

/** What a new profile document starts with besides the change (its membership comes from the other topic). */
const NEW_PROFILE_FIELDS = { segments: [], membershipVersion: 0 };

function profileSet(c: ProfilePut): Partial<ActivationProfileDocument> {
  const idKeys = c.profile.identifiers.map((i) => `${i.type}:${i.value}`);
  return { profile: JSON.stringify(c.profile), profileVersion: c.version, idKeys, updatedAt: new Date(), ...(c.mergedInto ? { mergedInto: c.mergedInto } : {}) };
}
