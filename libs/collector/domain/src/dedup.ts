/**
 * Per-process de-duplication of messages by key (`sourceId:messageId`, see `dedupKey`).
 *
 * Two structures:
 * - the **window**: keys whose events Kafka has acknowledged, remembered for `windowMs`
 *   and at most `maxEntries` (the oldest are evicted first). Only acknowledged keys are
 *   remembered, so a retry of a request whose first attempt failed is NOT dropped;
 * - the **in-flight set**: keys being produced right now, so that two concurrent requests
 *   carrying the same message (an SDK retrying after a client-side timeout while the first
 *   attempt is still running) do not both produce it. In-flight keys are never evicted;
 *   they are bounded by the number of messages in concurrent requests.
 *
 * Intended use by the HTTP layer, per message:
 * ```
 * switch (dedup.begin(key)) {
 *   case 'duplicate': skip (answer as accepted);
 *   case 'in_flight': const acked = await dedup.whenSettled(key);
 *                     if (acked) skip; else retry begin(key);
 *   case 'acquired':  produce; then dedup.endInFlight(key, { acked: true | false });
 * }
 * ```
 * (The lower-level `seen`, `remember`, `beginInFlight` are also available.) This is a
 * best-effort, per-instance guard; downstream stages are idempotent on messageId anyway.
 * The clock is injected (`() => epoch ms`) so the policy stays pure and testable.
 */

export interface DedupWindowOptions {
  /** How long an acknowledged key is remembered, in ms (> 0). */
  windowMs: number;
  /** Most keys remembered at once (> 0); the oldest are evicted first. */
  maxEntries: number;
  /** Current time in epoch ms, e.g. `Date.now`. */
  clock: () => number;
}

export type DedupDecision = 'acquired' | 'duplicate' | 'in_flight';

interface InFlight {
  waiters: ((acked: boolean) => void)[];
}

export class DedupWindow {
  private readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;
  /** key → time remembered; Map iteration order = insertion order = oldest first. */
  private readonly entries = new Map<string, number>();
  private readonly inFlight = new Map<string, InFlight>();

  constructor(options: DedupWindowOptions) {
    if (!(options.windowMs > 0)) throw new RangeError('DedupWindow windowMs must be > 0');
    if (!(options.maxEntries > 0) || !Number.isInteger(options.maxEntries)) {
      throw new RangeError('DedupWindow maxEntries must be a positive integer');
    }
    this.windowMs = options.windowMs;
    this.maxEntries = options.maxEntries;
    this.clock = options.clock;
  }

  /** Remembered keys (expired ones may still count until the next call that prunes). */
  get size(): number {
    return this.entries.size;
  }

  /** Keys currently in flight. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** True if `key` was remembered less than `windowMs` ago. */
  seen(key: string): boolean {
    const at = this.entries.get(key);
    if (at === undefined) return false;
    if (this.clock() - at >= this.windowMs) {
      this.entries.delete(key);
      return false;
    }
    return true;
  }

  /** Remembers `key` as of now (call after Kafka acknowledged its event). */
  remember(key: string): void {
    const now = this.clock();
    this.entries.delete(key);
    this.entries.set(key, now);
    this.prune(now);
  }

  /** True if `key` is being produced right now. */
  isInFlight(key: string): boolean {
    return this.inFlight.has(key);
  }

  /**
   * Marks `key` in flight. Returns false (and changes nothing) if it already is, or if it
   * was seen within the window; the caller must then not produce it.
   */
  beginInFlight(key: string): boolean {
    return this.begin(key) === 'acquired';
  }

  /** Like `beginInFlight`, but says why a key was not acquired. */
  begin(key: string): DedupDecision {
    if (this.seen(key)) return 'duplicate';
    if (this.inFlight.has(key)) return 'in_flight';
    this.inFlight.set(key, { waiters: [] });
    return 'acquired';
  }

  /**
   * Ends the in-flight state of `key`. With `{ acked: true }` the key is also remembered.
   * Anyone waiting in `whenSettled` learns the outcome. Unknown keys are ignored.
   */
  endInFlight(key: string, outcome: { acked: boolean } = { acked: false }): void {
    const entry = this.inFlight.get(key);
    if (outcome.acked) this.remember(key);
    if (entry === undefined) return;
    this.inFlight.delete(key);
    for (const waiter of entry.waiters) waiter(outcome.acked);
  }

  /**
   * Resolves when the in-flight `key` ends: true if it was acknowledged (drop the
   * repeat), false if it failed (the caller may `begin` it itself). Resolves at once with
   * `seen(key)` when the key is not in flight.
   */
  whenSettled(key: string): Promise<boolean> {
    const entry = this.inFlight.get(key);
    if (entry === undefined) return Promise.resolve(this.seen(key));
    return new Promise<boolean>((resolve) => entry.waiters.push(resolve));
  }

  /** Drops expired keys from the oldest end, then the oldest keys beyond `maxEntries`. */
  private prune(now: number): void {
    for (const [key, at] of this.entries) {
      if (now - at < this.windowMs) break;
      this.entries.delete(key);
    }
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}
