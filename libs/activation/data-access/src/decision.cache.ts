/**
 * The decision API's read path: which profile a visitor is, its segments, traits and computed
 * attributes — from an in-process cache kept current by a per-instance feed of
 * `profiles.changes` and `segments.membership`, read through to `activation_profiles` (by its
 * indexed identifier keys, never a scan on MongoDB) on a miss. A cold instance is correct,
 * only slower. (Keys are checked against `mosaic.sources`: ./sources.feed.ts; the feed: ./decision.feed.ts.)
 */
import type { ProfileChange, SegmentMembershipChange } from '@mosaic/contracts';
import { LruMap } from '@mosaic/shared-service';
import type { ActivationProfilesRepository, VisitorDocument } from './activation-profiles.repository';

export interface VisitorProfile {
  profileId: string;
  segments: string[];
  traits: Record<string, unknown>;
  computed: Record<string, unknown>;
}

interface Entry {
  profile: VisitorProfile;
  profileVersion: number;
  membershipVersion: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Lookups that found no profile (first-time visitors). */
  unknown: number;
  /** The newest record time the feed applied (ms), 0 before the first. */
  feedRecordAt: number;
}

export function idKey(type: string, value: string): string {
  return `${type}:${value}`;
}

export class DecisionCache {
  private readonly byProfile: LruMap<string, Entry>;
  private readonly byIdKey: LruMap<string, string>;
  /**
   * What the feed saw of profiles that were not cached: a read-through may return the store as it
   * was before those records were written to it (another consumer writes it), so they are applied
   * on top of what it read.
   */
  private readonly recent: LruMap<string, { profile?: ProfileChange; memberships: SegmentMembershipChange[] }>;
  /** Identifier keys with no profile, until when (ms): a first-time visitor's requests do not each read the store. */
  private readonly unknownUntil: LruMap<string, number>;
  readonly stats: CacheStats = { hits: 0, misses: 0, unknown: 0, feedRecordAt: 0 };

  constructor(
    private readonly profiles: ActivationProfilesRepository,
    maxEntries: number,
  ) {
    this.byProfile = new LruMap(maxEntries);
    this.byIdKey = new LruMap(maxEntries * 2);
    this.unknownUntil = new LruMap(maxEntries);
    this.recent = new LruMap(Math.min(maxEntries, 20_000));
  }

  /** How long an identifier without a profile is remembered as such (unless the feed shows its profile sooner). */
  static readonly UNKNOWN_TTL_MS = 10_000;

  /** The profile of a visitor (user id first, then anonymous id), or null for a first-time visitor. */
  async lookup(visitor: { userId?: string; anonymousId?: string }): Promise<VisitorProfile | null> {
    const keys = [
      visitor.userId ? idKey('userId', visitor.userId) : undefined,
      visitor.anonymousId ? idKey('anonymousId', visitor.anonymousId) : undefined,
    ].filter((k): k is string => k !== undefined);
    if (keys.length === 0) return null;
    for (const k of keys) {
      const id = this.byIdKey.get(k);
      const e = id ? this.byProfile.get(id) : undefined;
      if (e) {
        this.stats.hits += 1;
        return e.profile;
      }
    }
    const now = Date.now();
    if (keys.every((k) => (this.unknownUntil.get(k) ?? 0) > now)) {
      this.stats.hits += 1;
      this.stats.unknown += 1;
      return null;
    }
    this.stats.misses += 1;
    const doc = await this.profiles.findByIdKeys(keys);
    if (!doc) {
      this.stats.unknown += 1;
      for (const k of keys) this.unknownUntil.set(k, now + DecisionCache.UNKNOWN_TTL_MS);
      return null;
    }
    for (const k of keys) this.unknownUntil.delete(k);
    return this.remember(doc);
  }

  /**
   * A profile by its id (the console's preview): the cached one, else read through to the store
   * and cached as `lookup` does; null when there is no live profile with this id.
   */
  async lookupById(profileId: string): Promise<VisitorProfile | null> {
    const e = this.byProfile.get(profileId);
    if (e) {
      this.stats.hits += 1;
      return e.profile;
    }
    this.stats.misses += 1;
    const doc = await this.profiles.findVisitorById(profileId);
    return doc ? this.remember(doc) : null;
  }

  /** Caches a profile read from the store, with what the feed saw of it meanwhile applied on top. */
  private remember(doc: VisitorDocument): VisitorProfile {
    const entry: Entry = {
      profile: { profileId: doc.profileId, segments: doc.segments, traits: doc.traits, computed: doc.computed },
      profileVersion: doc.profileVersion,
      membershipVersion: doc.membershipVersion,
    };
    this.byProfile.set(doc.profileId, entry);
    for (const k of doc.idKeys) this.byIdKey.set(k, doc.profileId);
    const seen = this.recent.get(doc.profileId);
    if (seen) {
      this.recent.delete(doc.profileId);
      if (seen.profile) this.applyProfile(seen.profile);
      for (const m of seen.memberships) this.applyMembership(m);
    }
    return this.byProfile.get(doc.profileId)?.profile ?? entry.profile;
  }

  /** A profile change: updates a cached profile (and its identifier keys); a merged-away profile is dropped. */
  applyProfile(c: ProfileChange): void {
    if (c.mergedInto) {
      this.byProfile.delete(c.profileId);
      return;
    }
    for (const id of c.profile.identifiers) this.unknownUntil.delete(idKey(id.type, id.value)); // a profile now exists: read it on the next request
    const e = this.byProfile.get(c.profileId);
    if (!e) {
      const held = this.recent.get(c.profileId) ?? { memberships: [] };
      if (!held.profile || held.profile.version < c.version) held.profile = c;
      this.recent.set(c.profileId, held);
      return;
    }
    if (c.version <= e.profileVersion) return;
    e.profile = { ...e.profile, traits: c.profile.traits as Record<string, unknown>, computed: c.profile.computed as Record<string, unknown> };
    e.profileVersion = c.version;
    for (const id of c.profile.identifiers) this.byIdKey.set(idKey(id.type, id.value), c.profileId);
  }

  /** A membership change: updates a cached profile's segments. */
  applyMembership(m: SegmentMembershipChange): void {
    const e = this.byProfile.get(m.profileId);
    if (!e) {
      const held = this.recent.get(m.profileId) ?? { memberships: [] };
      held.memberships.push(m);
      if (held.memberships.length > 100) held.memberships.shift();
      this.recent.set(m.profileId, held);
      return;
    }
    if (m.profileVersion <= e.membershipVersion) return;
    const segments = e.profile.segments.filter((s) => s !== m.segmentKey);
    if (m.change === 'entered') segments.push(m.segmentKey);
    e.profile = { ...e.profile, segments: segments.sort() };
    e.membershipVersion = m.profileVersion;
  }

  get size(): number {
    return this.byProfile.size;
  }
}
