/**
 * The per-instance cache of identity profiles: a bounded LRU whose entries live at most `ttlMs`,
 * serving only while the instance follows `identity.profile-writes` (the ids every instance's
 * batches and splits changed). See batch-resolver.ts in `@mosaic/identity-application` for why
 * that keeps resolution correct when another instance merges, moves or splits, and what the
 * window of staleness is.
 *
 * A read from the store races with invalidations: a profile read before another instance changed
 * it, whose invalidation arrives before the read returns, would be cached stale for good. So a
 * read is filled through {@link fill}, and what an invalidation received while it ran names is
 * not cached.
 */
import type { ProfileRecord } from '@mosaic/identity-domain';
import { LruMap } from '@mosaic/shared-service';

export interface ProfileCacheOptions {
  /** 0 disables the cache. */
  maxEntries: number;
  /** Longest life of an entry: the bound on staleness when an invalidation is lost (its writer died before sending it). */
  ttlMs: number;
  now?: () => number;
}

export interface ProfileCacheStats {
  size: number;
  maxEntries: number;
  evictions: number;
  following: boolean;
}

interface Entry {
  profile: ProfileRecord;
  cachedAt: number;
}

export class ProfileCache {
  private readonly entries: LruMap<string, Entry>;
  private readonly now: () => number;
  /** Reads under way (`fill`), and the ids invalidated while any was. */
  private readsInFlight = 0;
  private readonly invalidatedDuringReads = new Map<string, number>();
  private invalidations = 0;
  private following: () => boolean = () => false;
  private wasFollowing = false;

  constructor(private readonly opts: ProfileCacheOptions) {
    this.entries = new LruMap(opts.maxEntries);
    this.now = opts.now ?? Date.now;
  }

  get maxEntries(): number {
    return this.opts.maxEntries;
  }

  /**
   * Whether the instance currently receives every invalidation (its follower is caught up and
   * connected). While it does not, the cache neither serves nor keeps anything.
   */
  followWhile(following: () => boolean): void {
    this.following = following;
  }

  /** The cached profile (marked recently used), or undefined. */
  get(id: string): ProfileRecord | undefined {
    if (!this.serving()) return undefined;
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    if (this.now() - entry.cachedAt > this.opts.ttlMs) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.profile;
  }

  /** Caches a profile this instance just wrote (its write applied, so it is the stored document). */
  set(profile: ProfileRecord): void {
    if (this.serving()) this.entries.set(profile._id, { profile: Object.freeze({ ...profile }), cachedAt: this.now() });
  }

  /** Reads profiles from the store with `read` and caches those no invalidation named while the read ran. */
  async fill(read: () => Promise<ProfileRecord[]>): Promise<ProfileRecord[]> {
    const mark = this.invalidations;
    this.readsInFlight += 1;
    try {
      const found = await read();
      for (const profile of found) {
        if ((this.invalidatedDuringReads.get(profile._id) ?? 0) <= mark) this.set(profile);
      }
      return found;
    } finally {
      this.readsInFlight -= 1;
      if (this.readsInFlight === 0) this.invalidatedDuringReads.clear();
    }
  }

  delete(id: string): void {
    this.entries.delete(id);
  }

  /** Another instance changed these profiles. */
  invalidate(ids: readonly string[]): void {
    this.invalidations += 1;
    for (const id of ids) {
      this.entries.delete(id);
      if (this.readsInFlight > 0) this.invalidatedDuringReads.set(id, this.invalidations);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  stats(): ProfileCacheStats {
    return { size: this.entries.size, maxEntries: this.opts.maxEntries, evictions: this.entries.evictions, following: this.serving() };
  }

  /** Following now; when it stopped, what was cached may have missed invalidations and is dropped. */
  private serving(): boolean {
    const following = this.following();
    if (this.wasFollowing && !following) this.entries.clear();
    this.wasFollowing = following;
    return following;
  }
}
