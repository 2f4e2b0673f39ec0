import type { SourceView } from './sources.repository';

export interface WriteKeyLookup {
  findActiveByWriteKey(writeKey: string): Promise<SourceView | null>;
  get(id: string): Promise<SourceView | null>;
}

interface Entry {
  source: SourceView | null;
  expires: number;
}

/**
 * The collector's one cache of sources, by write key (ingestion) and by id (email links,
 * imports): keeps those lookups off MongoDB on the hot path. Positive entries live `ttlMs`;
 * `invalidateSource` (called for every change on the sources topic, whichever instance made
 * it) drops a source at once. Unknown keys and ids are remembered briefly so a flood of bad
 * ones cannot hammer the store. A lookup that was running when a source changed may have read
 * the store before the change (a revoked key still active): its caller gets that answer, but it
 * is not kept.
 */
export class WriteKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byId = new Map<string, Entry>();
  /**
   * Bumped by every invalidation; a lookup keeps its answer only if none came while it ran.
   * One counter for all sources: a write key's source is unknown until its lookup answers,
   * and sources change rarely enough that an unrelated change costing one extra lookup is nothing.
   */
  private generation = 0;

  constructor(
    private readonly lookup: WriteKeyLookup,
    private readonly ttlMs = 30_000,
    private readonly negativeTtlMs = 5_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The active source of a write key, or null (unknown or revoked). */
  resolve(writeKey: string): Promise<SourceView | null> {
    return this.cached(this.entries, writeKey, () => this.lookup.findActiveByWriteKey(writeKey));
  }

  /** The source of an id when it exists and is not revoked, else null. */
  active(sourceId: string): Promise<SourceView | null> {
    return this.cached(this.byId, sourceId, async () => {
      const found = await this.lookup.get(sourceId);
      return found && found.revokedAt === null ? found : null;
    });
  }

  invalidateSource(sourceId: string): void {
    this.generation++;
    for (const [key, e] of this.entries) if (e.source?.id === sourceId) this.entries.delete(key);
    this.byId.delete(sourceId);
  }

  private async cached(map: Map<string, Entry>, key: string, load: () => Promise<SourceView | null>): Promise<SourceView | null> {
    const hit = map.get(key);
    const t = this.now();
    if (hit && hit.expires > t) return hit.source;
    const generation = this.generation;
    const source = await load();
    if (generation !== this.generation) return source;
    if (map.size >= this.maxEntries) map.delete(map.keys().next().value as string);
    map.set(key, { source, expires: t + (source ? this.ttlMs : this.negativeTtlMs) });
    return source;
  }
}
