/**
 * The per-instance cache of identity documents (pointers `identifier → profileId` with their
 * version): a bounded LRU. A pointer is used only when the profiles of its chain confirm it —
 * see batch-resolver.ts in `@mosaic/identity-application` for why that keeps resolution correct
 * when another instance merges, moves or splits, and what it costs. Profiles have their own
 * cache (profile.cache.ts).
 */
import type { IdentifierRecord } from '@mosaic/identity-domain';
import { LruMap } from '@mosaic/shared-service';

export interface IdentifierCacheStats {
  size: number;
  maxEntries: number;
  evictions: number;
}

export class IdentifierCache {
  private readonly entries: LruMap<string, IdentifierRecord>;

  constructor(readonly maxEntries: number) {
    this.entries = new LruMap(maxEntries);
  }

  /** The cached record (and marks it recently used), or undefined. */
  get(key: string): IdentifierRecord | undefined {
    return this.entries.get(key);
  }

  /** Caches a record as read from, or written to, the store. Records are frozen: nobody may change what the cache hands out. */
  set(record: IdentifierRecord): void {
    this.entries.set(record._id, Object.freeze({ ...record }));
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  stats(): IdentifierCacheStats {
    return { size: this.entries.size, maxEntries: this.maxEntries, evictions: this.entries.evictions };
  }
}
