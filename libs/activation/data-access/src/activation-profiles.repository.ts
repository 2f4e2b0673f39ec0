/**
 * The profiles activation knows (`activation_profiles`): the compact profile from
 * `profiles.changes` and the segments from `segments.membership`, each guarded by its own version.
 */
import type { Connection, mongo } from 'mongoose';
import { MAX_BULK_UPDATES, duplicateOnlyWriteErrors, findIn, isDuplicateKeyError, limitBulkUpdates, openDb } from '@mosaic/shared-mongo';
import { ACTIVATION_COLLECTIONS, type ActivationProfileDocument } from './documents';

export class ActivationProfilesRepository {
  constructor(
    private readonly conn: Connection,
    /** Read several profiles by `_id` one at a time (FerretDB: see `findIn`). */
    private readonly pointReads = false,
  ) {}

  private get collection(): mongo.Collection<ActivationProfileDocument> {
    return openDb(this.conn).collection<ActivationProfileDocument>(ACTIVATION_COLLECTIONS.profiles);
  }

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
    const ops = [...newest.values()].map((c) => ({
      filter: { _id: c.profileId, profileVersion: { $lt: c.version } } as mongo.Filter<ActivationProfileDocument>,
      set: profileSet(c),
    }));
    for (let i = 0; i < ops.length; i += MAX_BULK_UPDATES) {
      const chunk = ops.slice(i, i + MAX_BULK_UPDATES);
      try {
        await limitBulkUpdates(() =>
          this.collection.bulkWrite(
            chunk.map((o) => ({ updateOne: { filter: o.filter, update: { $set: o.set, $setOnInsert: NEW_PROFILE_FIELDS }, upsert: true } })),
            { ordered: false },
          ),
        );
      } catch (err) {
        const failed = duplicateOnlyWriteErrors(err);
        if (failed === undefined) throw err;
        await limitBulkUpdates(() =>
          this.collection.bulkWrite(
            failed.map((k) => chunk[k] as (typeof chunk)[number]).map((o) => ({ updateOne: { filter: o.filter, update: { $set: o.set } } })),
            { ordered: false },
          ),
        );
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
      await this.collection.updateOne(filter, update, { upsert: true });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const { $setOnInsert: _ignored, ...rest } = update as Record<string, unknown>;
      void _ignored;
      await this.collection.updateOne(filter, rest as mongo.UpdateFilter<ActivationProfileDocument>);
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
  async findByIdKeys(keys: readonly string[]): Promise<{
    profileId: string;
    segments: string[];
    traits: Record<string, unknown>;
    computed: Record<string, unknown>;
    idKeys: string[];
    profileVersion: number;
    membershipVersion: number;
  } | null> {
    // One indexed equality per key, in the caller's order: FerretDB would scan the whole
    // collection for an `$in` (find-in.ts), and the first key that matches wins anyway.
    for (const k of keys) {
      const docs = (await this.collection.find({ idKeys: k }).toArray()) as ActivationProfileDocument[];
      const d = docs.find((x) => !x.mergedInto && x.profile);
      if (!d) continue;
      const p = JSON.parse(d.profile as string) as { traits?: Record<string, unknown>; computed?: Record<string, unknown> };
      return {
        profileId: d._id,
        segments: d.segments ?? [],
        traits: p.traits ?? {},
        computed: p.computed ?? {},
        idKeys: d.idKeys ?? [],
        profileVersion: d.profileVersion,
        membershipVersion: d.membershipVersion,
      };
    }
    return null;
  }

  /** Several profiles in one query (the dispatcher reads a round's profiles at once). */
  async findByIds(profileIds: readonly string[]): Promise<Map<string, { profile: Record<string, unknown> | null; segments: string[] }>> {
    const out = new Map<string, { profile: Record<string, unknown> | null; segments: string[] }>();
    if (profileIds.length === 0) return out;
    const docs = (await findIn(this.collection, '_id', profileIds, { pointReads: this.pointReads })) as ActivationProfileDocument[];
    for (const d of docs) out.set(d._id, { profile: d.profile ? (JSON.parse(d.profile) as Record<string, unknown>) : null, segments: d.segments ?? [] });
    return out;
  }

  async findById(profileId: string): Promise<{ profile: Record<string, unknown> | null; segments: string[] } | null> {
    const d = (await this.collection.findOne({ _id: profileId })) as ActivationProfileDocument | null;
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
  return {
    profile: JSON.stringify(c.profile),
    profileVersion: c.version,
    idKeys,
    updatedAt: new Date(),
    ...(c.mergedInto ? { mergedInto: c.mergedInto } : {}),
  };
}
