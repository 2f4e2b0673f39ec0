/**
 * The profiles activation knows: the compact profile from `profiles.changes`
 * (`activation_profiles`) and the segments from `segments.membership` (`activation_memberships`),
 * each in its own document with its own version and one writer (see ActivationProfileDocument).
 */
import type { Connection, mongo } from 'mongoose';
import { MAX_BULK_UPDATES, bulkWriteChunked, duplicateOnlyWriteErrors, findIn, insertAbsent, limitBulkUpdates, openDb } from '@mosaic/shared-mongo';
import { foldMembershipChanges, type FoldedMembership, type MembershipStep } from '@mosaic/activation-domain';
import { ACTIVATION_COLLECTIONS, type ActivationMembershipDocument, type ActivationProfileDocument } from './documents';

interface Membership {
  segments: string[];
  membershipVersion: number;
}

/** The membership document saying `moveLegacyMemberships` ran (no profile id has this form). */
const LEGACY_MOVED_MARKER = 'mosaic:legacy-segments-moved';

export class ActivationProfilesRepository {
  constructor(
    private readonly conn: Connection,
    /** Read several profiles by `_id` one at a time (FerretDB: see `findIn`). */
    private readonly pointReads = false,
  ) {}

  private get collection(): mongo.Collection<ActivationProfileDocument> {
    return openDb(this.conn).collection<ActivationProfileDocument>(ACTIVATION_COLLECTIONS.profiles);
  }

  private get memberships(): mongo.Collection<ActivationMembershipDocument> {
    return openDb(this.conn).collection<ActivationMembershipDocument>(ACTIVATION_COLLECTIONS.memberships);
  }

  /** Stores the latest compact profile (older versions are ignored), its identifier keys and whether it was merged away. */
  async putProfile(profileId: string, profile: StoredProfile, version: number, mergedInto?: string): Promise<void> {
    await this.putProfiles([{ profileId, profile, version, ...(mergedInto ? { mergedInto } : {}) }]);
  }

  /**
   * The profiles of one Kafka batch: only the newest version of each is written, all in one
   * unordered bulk write (chunked), so a batch costs a round trip per chunk, not per change.
   * An upsert that hits a duplicate key (a newer version is held, or a re-delivered batch of
   * another instance created the document at the same moment) is tried once more as a plain
   * guarded update.
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
            chunk.map((o) => ({ updateOne: { filter: o.filter, update: { $set: o.set }, upsert: true } })),
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
   * The membership changes of one Kafka batch, as applying them one at a time with
   * `putMembership` would leave them, in one ordered bulk write (chunked) instead of a round trip
   * per change: per profile, the fold of its changes (`foldMembershipChanges`) as two updates
   * guarded by its oldest version, the exits first and then the entries with the new version, so
   * that a write cut between the two leaves only exits a replay repeats. An upsert that hits a
   * duplicate key (the document holds a version inside the batch's range: a replay of a batch
   * partly applied before; or another instance created it at the same moment) stops the ordered
   * write, and the batch is then applied one change at a time, which skips what is applied already.
   */
  async putMemberships(changes: readonly MembershipStep[]): Promise<void> {
    const ops = foldMembershipChanges(changes).flatMap((f) => membershipFoldOps(f, new Date()));
    try {
      await bulkWriteChunked(this.memberships, ops, { ordered: true });
    } catch (err) {
      if (duplicateOnlyWriteErrors(err) === undefined) throw err;
      for (const c of changes) await this.putMembership(c.profileId, c.segmentKey, c.change === 'entered', c.profileVersion);
    }
  }

  /**
   * Applies a membership change to the profile's segments (older versions are ignored): the
   * batch's write for one change (`membershipFoldOps`), so a first change that is an exit too
   * creates the document with its (empty) `segments`. A duplicate key means the document exists
   * but holds a newer version, or another instance created it at the same moment (a rebalance):
   * the guarded updates are tried once more, without the upsert.
   */
  async putMembership(profileId: string, segmentKey: string, entered: boolean, version: number): Promise<void> {
    const [fold] = foldMembershipChanges([{ profileId, segmentKey, change: entered ? 'entered' : 'exited', profileVersion: version }]);
    const ops = membershipFoldOps(fold as FoldedMembership, new Date());
    try {
      await this.memberships.bulkWrite(ops, { ordered: true });
    } catch (err) {
      if (duplicateOnlyWriteErrors(err) === undefined) throw err;
      await this.memberships.bulkWrite(ops.map(withoutUpsert), { ordered: true });
    }
  }

  /**
   * Once per database (a marker document records it): copies the segments older versions of
   * activation kept on profile documents into membership documents, before this instance
   * consumes. Reads the profile collection whole (FerretDB cannot serve `$exists` from an index);
   * a membership document that exists already is newer and stays. Returns how many were copied.
   */
  async moveLegacyMemberships(): Promise<number> {
    if (await this.memberships.findOne({ _id: LEGACY_MOVED_MARKER })) return 0;
    let copied = 0;
    let page: ActivationMembershipDocument[] = [];
    const flush = async () => {
      copied += (await insertAbsent(this.memberships, page)).length;
      page = [];
    };
    const legacy = this.collection.find({ segments: { $exists: true } }, { projection: { segments: 1, membershipVersion: 1 } });
    for await (const d of legacy) {
      page.push({ _id: d._id, segments: d.segments ?? [], membershipVersion: d.membershipVersion ?? 0, updatedAt: new Date() });
      if (page.length >= 500) await flush();
    }
    await flush();
    await insertAbsent(this.memberships, [{ _id: LEGACY_MOVED_MARKER, segments: [], membershipVersion: 0, updatedAt: new Date() }]);
    return copied;
  }

  /** The memberships of these profiles: their own documents, else what a legacy profile document (of `legacy`) held. */
  private async membershipsOf(ids: readonly string[], legacy: ReadonlyMap<string, ActivationProfileDocument>): Promise<Map<string, Membership>> {
    const out = new Map<string, Membership>();
    for (const id of ids) {
      const l = legacy.get(id);
      if (l?.segments) out.set(id, { segments: l.segments, membershipVersion: l.membershipVersion ?? 0 });
    }
    const own = (await findIn(this.memberships, '_id', ids, { pointReads: this.pointReads })) as ActivationMembershipDocument[];
    // `?? []`: documents created before 2026-12-07 by a first change that was an exit (`putMembership`'s `$pull` upsert then) have no `segments`.
    for (const m of own) out.set(m._id, { segments: m.segments ?? [], membershipVersion: m.membershipVersion });
    return out;
  }

  /** The live profile holding one of these identifier keys (the first key that matches wins). */
  async findByIdKeys(keys: readonly string[]): Promise<VisitorDocument | null> {
    // One indexed equality per key, in the caller's order: FerretDB would scan the whole
    // collection for an `$in` (find-in.ts), and the first key that matches wins anyway.
    for (const k of keys) {
      const docs = (await this.collection.find({ idKeys: k }).toArray()) as ActivationProfileDocument[];
      const d = docs.find((x) => !x.mergedInto && x.profile);
      if (d) return this.visitorOf(d);
    }
    return null;
  }

  /** The live profile with this id, as `findByIdKeys` answers it (a merged-away profile: null). */
  async findVisitorById(profileId: string): Promise<VisitorDocument | null> {
    const d = (await this.collection.findOne({ _id: profileId })) as ActivationProfileDocument | null;
    return d && !d.mergedInto && d.profile ? this.visitorOf(d) : null;
  }

  private async visitorOf(d: ActivationProfileDocument): Promise<VisitorDocument> {
    const p = JSON.parse(d.profile as string) as { traits?: Record<string, unknown>; computed?: Record<string, unknown> };
    const m = (await this.membershipsOf([d._id], new Map([[d._id, d]]))).get(d._id) ?? { segments: [], membershipVersion: 0 };
    return {
      profileId: d._id,
      segments: m.segments,
      traits: p.traits ?? {},
      computed: p.computed ?? {},
      idKeys: d.idKeys ?? [],
      profileVersion: d.profileVersion,
      membershipVersion: m.membershipVersion,
    };
  }

  /**
   * Several profiles in one query (the dispatcher reads a round's profiles at once), each with its
   * segments; a profile whose memberships arrived before its first change has `profile: null`.
   */
  async findByIds(profileIds: readonly string[]): Promise<Map<string, { profile: Record<string, unknown> | null; segments: string[] }>> {
    const out = new Map<string, { profile: Record<string, unknown> | null; segments: string[] }>();
    if (profileIds.length === 0) return out;
    const ids = [...new Set(profileIds)];
    const docs = (await findIn(this.collection, '_id', ids, { pointReads: this.pointReads })) as ActivationProfileDocument[];
    const byId = new Map(docs.map((d) => [d._id, d]));
    const memberships = await this.membershipsOf(ids, byId);
    for (const id of ids) {
      const d = byId.get(id);
      const m = memberships.get(id);
      if (!d && !m) continue;
      out.set(id, { profile: d?.profile ? (JSON.parse(d.profile) as Record<string, unknown>) : null, segments: m?.segments ?? [] });
    }
    return out;
  }

  async findById(profileId: string): Promise<{ profile: Record<string, unknown> | null; segments: string[] } | null> {
    return (await this.findByIds([profileId])).get(profileId) ?? null;
  }
}

/** A live profile with its segments, as the decision cache holds it. */
export interface VisitorDocument {
  profileId: string;
  segments: string[];
  traits: Record<string, unknown>;
  computed: Record<string, unknown>;
  idKeys: string[];
  profileVersion: number;
  membershipVersion: number;
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

/** A profile's fold as the two guarded updates of an ordered bulk write: exits (when any), then entries and the new version. */
function membershipFoldOps(f: FoldedMembership, now: Date): mongo.AnyBulkWriteOperation<ActivationMembershipDocument>[] {
  const filter = { _id: f.profileId, membershipVersion: { $lt: f.fromVersion } };
  const exits: mongo.AnyBulkWriteOperation<ActivationMembershipDocument>[] =
    // `$pullAll`: FerretDB 1.24 takes `$pull`'s `{ $in: [...] }` for a value to match, and removes nothing.
    f.exit.length > 0 ? [{ updateOne: { filter, update: { $pullAll: { segments: f.exit } } } }] : [];
  // `$each` of no entries still creates `segments` on an insert (FerretDB 1.24 drops an empty `$setOnInsert` array).
  const enter = {
    $addToSet: { segments: { $each: f.enter } },
    $set: { membershipVersion: f.toVersion, updatedAt: now },
  } as mongo.UpdateFilter<ActivationMembershipDocument>;
  return [...exits, { updateOne: { filter, update: enter, upsert: true } }];
}

/** The same update, never inserting. */
function withoutUpsert(op: mongo.AnyBulkWriteOperation<ActivationMembershipDocument>): mongo.AnyBulkWriteOperation<ActivationMembershipDocument> {
  return 'updateOne' in op ? { updateOne: { ...op.updateOne, upsert: false } } : op;
}
