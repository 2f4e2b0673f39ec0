/**
 * The per-instance cache of identity documents (pointers `identifier → profileId` with their
 * version): a bounded LRU. Only identity documents are cached, never profiles — see
 * batch-resolver.ts for why that keeps resolution correct when another instance merges, moves
 * or splits, and what it costs.
 */
import type { IdentifierRecord } from '@mosaic/identity-domain';

export interface IdentifierCacheStats {
  size: number;
  maxEntries: number;
  evictions: number;
}

export class IdentifierCache {
  private readonly entries = new Map<string, IdentifierRecord>();
  private evictions = 0;

  constructor(readonly maxEntries: number) {}

  /** The cached record (and marks it recently used), or undefined. */
  get(key: string): IdentifierRecord | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  /** Caches a record as read from, or written to, the store. Records are frozen: nobody may change what the cache hands out. */
  set(record: IdentifierRecord): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(record._id);
    this.entries.set(record._id, Object.freeze({ ...record }));
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.evictions += 1;
    }
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
    return { size: this.entries.size, maxEntries: this.maxEntries, evictions: this.evictions };
  }
}
