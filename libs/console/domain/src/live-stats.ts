/**
 * The console's live view, kept from the records as they arrive (pure: the caller passes the
 * clock). Counts use arrival time, not the events' own timestamps: an import of last year's
 * events is busy now, and its visitors are not "active".
 */

/** Events per second over the last complete seconds (the current second is still filling). */
export class EventRate {
  private readonly buckets = new Map<number, number>();

  constructor(private readonly windowSeconds = 10) {}

  record(count: number, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + count);
    this.prune(second);
  }

  perSecond(nowMs: number): number {
    const current = Math.floor(nowMs / 1000);
    this.prune(current);
    let total = 0;
    for (const [second, count] of this.buckets) if (second < current) total += count;
    return Math.round((total / this.windowSeconds) * 10) / 10;
  }

  private prune(currentSecond: number): void {
    for (const second of this.buckets.keys()) if (second < currentSecond - this.windowSeconds) this.buckets.delete(second);
  }
}

/**
 * Distinct visitors seen within the window. The map is kept in order of last arrival (an id
 * seen again moves to the end), so expiry only looks at its front: memory is bounded by the
 * visitors active in the window, and each arrival costs O(1).
 */
export class ActiveVisitors {
  private readonly lastSeen = new Map<string, number>();
  private latest = 0;

  constructor(private readonly windowMs = 5 * 60_000) {}

  seen(visitorId: string, nowMs: number): void {
    this.latest = Math.max(this.latest, nowMs);
    this.lastSeen.delete(visitorId);
    this.lastSeen.set(visitorId, this.latest);
  }

  count(nowMs: number): number {
    for (const [id, at] of this.lastSeen) {
      if (at > nowMs - this.windowMs) break;
      this.lastSeen.delete(id);
    }
    return this.lastSeen.size;
  }
}

/** The newest `limit` items, newest first. */
export class RecentItems<T> {
  private readonly items: T[] = [];

  constructor(private readonly limit = 50) {}

  push(item: T): void {
    this.items.unshift(item);
    if (this.items.length > this.limit) this.items.length = this.limit;
  }

  list(): T[] {
    return [...this.items];
  }
}
