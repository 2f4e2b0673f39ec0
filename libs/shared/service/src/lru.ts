/** A bounded map that evicts the least recently used entry (per-instance caches of documents). */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();
  private evicted = 0;

  /** `maxEntries` ≤ 0 disables the cache (nothing is stored). */
  constructor(readonly maxEntries: number) {}

  /** The value (marked recently used), or undefined. */
  get(key: K): V | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  set(key: K, value: V): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as K);
      this.evicted += 1;
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  get evictions(): number {
    return this.evicted;
  }
}
