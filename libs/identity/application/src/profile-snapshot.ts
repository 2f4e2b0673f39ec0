import { MAX_REDIRECT_HOPS, type GraphWrite, type ProfileRecord } from '@mosaic/identity-domain';
import type { BatchIdentityStore, ProfileCache } from '@mosaic/identity-data-access';

/** The profile traffic of one batch (part of `BatchCounters`). */
export interface ProfileReadCounters {
  profileCacheHits: number;
  profileCacheMisses: number;
  reads: number;
}

/**
 * The profiles a batch plans with (batch-resolver.ts): from the instance's `ProfileCache`, the
 * rest from MongoDB, and the batch's own writes. It knows which came from the cache (a pointer
 * they do not confirm is checked against a fresh read of them) and which profiles the batch
 * changed (announced to the other instances).
 */
export class ProfileSnapshot {
  private readonly profiles = new Map<string, ProfileRecord | null>();
  private readonly fromCache = new Set<string>();
  /** Profiles this batch changed in the store, not counting creations (other instances drop them from their caches). */
  readonly written = new Set<string>();

  constructor(
    private readonly store: Pick<BatchIdentityStore, 'getProfiles'>,
    private readonly cache: ProfileCache,
    private readonly counters: ProfileReadCounters,
  ) {}

  has(id: string): boolean {
    return this.profiles.has(id);
  }

  /** The profile (null: read and absent; undefined: not in the snapshot). */
  get(id: string): ProfileRecord | null | undefined {
    return this.profiles.get(id);
  }

  /** Reads the profiles of `ids` not in the snapshot and their redirect chains, cache first. */
  async fetchChains(ids: readonly string[]): Promise<void> {
    let frontier = [...new Set(ids)].filter((id) => !this.profiles.has(id));
    for (let round = 0; frontier.length > 0 && round <= MAX_REDIRECT_HOPS; round += 1) {
      const found = await this.read(frontier, { cached: true });
      frontier = [...new Set(found.filter((p) => p.status === 'merged' && p.mergedInto !== undefined).map((p) => p.mergedInto as string))].filter(
        (id) => !this.profiles.has(id),
      );
    }
  }

  /**
   * Puts `ids` into the snapshot: from the profile cache when `cached` allows, the rest from
   * MongoDB (through the cache, which keeps what no invalidation named meanwhile). Returns those found.
   */
  async read(ids: readonly string[], { cached }: { cached: boolean }): Promise<ProfileRecord[]> {
    const found: ProfileRecord[] = [];
    const misses: string[] = [];
    for (const id of ids) {
      const hit = cached ? this.cache.get(id) : undefined;
      if (hit === undefined) {
        misses.push(id);
        continue;
      }
      this.profiles.set(id, hit);
      this.fromCache.add(id);
      found.push(hit);
    }
    if (cached) {
      this.counters.profileCacheHits += found.length;
      this.counters.profileCacheMisses += misses.length;
    }
    if (misses.length === 0) return found;
    this.counters.reads += 1;
    const read = await this.cache.fill(() => this.store.getProfiles(misses));
    for (const id of misses) this.profiles.set(id, null);
    for (const profile of read) {
      this.profiles.set(profile._id, profile);
      this.fromCache.delete(profile._id);
    }
    return [...found, ...read];
  }

  /** The profile ids of the chain from `profileId` through redirects, as far as the snapshot knows it. */
  chainIds(profileId: string): string[] {
    const ids: string[] = [];
    let id: string | undefined = profileId;
    for (let hops = 0; id !== undefined && hops <= MAX_REDIRECT_HOPS && !ids.includes(id); hops += 1) {
      ids.push(id);
      const profile = this.profiles.get(id);
      id = profile && profile.status === 'merged' ? profile.mergedInto : undefined;
    }
    return ids;
  }

  /** Forgets those of `ids` that came from the cache, so they are read fresh. True if any did. */
  dropCached(ids: readonly string[]): boolean {
    const cached = ids.filter((id) => this.fromCache.has(id));
    for (const id of cached) this.forget(id);
    return cached.length > 0;
  }

  /** Forgets a profile here and in the cache: whoever needs it next reads it from MongoDB. */
  forget(id: string): void {
    this.profiles.delete(id);
    this.fromCache.delete(id);
    this.cache.delete(id);
  }

  /** A profile write of the batch was applied. */
  applied(write: Extract<GraphWrite, { op: 'insertProfile' | 'replaceProfile' | 'retargetRedirect' }>): void {
    if (write.op === 'retargetRedirect') {
      // The stored version is not known here (the filter is on the redirect): read it again when needed.
      this.forget(write.profileId);
      this.written.add(write.profileId);
      return;
    }
    this.profiles.set(write.profile._id, write.profile);
    this.fromCache.delete(write.profile._id);
    this.cache.set(write.profile);
    // A profile created now is in no other instance's cache.
    if (write.op === 'replaceProfile') this.written.add(write.profile._id);
  }
}
