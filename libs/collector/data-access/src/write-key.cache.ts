import type { SourceView } from './sources.repository';

export interface WriteKeyLookup {
  findActiveByWriteKey(writeKey: string): Promise<SourceView | null>;
}

/**
 * Keeps write-key lookups off MongoDB on the hot path. Positive entries live `ttlMs`
 * (a revocation made on another instance takes effect within that time; on this instance
 * at once), unknown keys are remembered briefly so a flood of bad keys cannot hammer the store.
 */
export class WriteKeyCache {
  private readonly entries = new Map<string, { source: SourceView | null; expires: number }>();

  constructor(
    private readonly lookup: WriteKeyLookup,
    private readonly ttlMs = 30_000,
    private readonly negativeTtlMs = 5_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async resolve(writeKey: string): Promise<SourceView | null> {
    const hit = this.entries.get(writeKey);
    const t = this.now();
    if (hit && hit.expires > t) return hit.source;
    const source = await this.lookup.findActiveByWriteKey(writeKey);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(writeKey, { source, expires: t + (source ? this.ttlMs : this.negativeTtlMs) });
    return source;
  }

  invalidateSource(sourceId: string): void {
    for (const [key, e] of this.entries) if (e.source?.id === sourceId) this.entries.delete(key);
  }
}
