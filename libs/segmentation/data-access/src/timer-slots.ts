/**
 * How segmentation finds the profiles whose timers are due without reading every profile.
 *
 * FerretDB 1.24 pushes neither a range (`timerAt <= now`) nor an `$in` down to PostgreSQL, so
 * "what is due" as one range query read the whole `segmentation_profiles` collection every
 * round (every second): its cost grew with the number of stored profiles (timer lateness p50
 * 253 ms at 100,000 profiles, 1.23 s at 1,000,000). Each document is therefore filed under the
 * minute of its timer (`timerSlot`, indexed), an equality the store answers from its index, and
 * a round asks only the minutes still open: normally the current one and the one or two before.
 *
 * - **Filing:** the minute of `max(timerAt, now)` at the write, so nothing is filed under a
 *   minute that had already ended when it was written.
 * - **Closing a minute:** once it returned nothing due and ended more than `CLOSE_GRACE_MS` ago
 *   (a write that took its minute just before the minute ended has landed by then; the grace
 *   also covers the clocks of other instances that far apart). A closed minute is not asked again.
 * - **Sweeps** (the whole collection, as before, once): at the first round; whenever this
 *   instance's partitions change (a rebalance hands it timers it never looked at, perhaps left
 *   unfired by an instance that died); when more than `MAX_OPEN_SLOTS` minutes are open (the
 *   process stood still, or its clock jumped); and until a sweep returns fewer than the round's
 *   limit (then it saw everything due). The minute rounds then start at the grace before now,
 *   and the earlier minutes the sweep found due timers in are asked too until they are empty (a
 *   profile that failed to fire stays in view).
 *   Documents written before `timerSlot` existed are fired by sweeps only, until their next write.
 */

/** The width of a timer slot. */
export const TIMER_SLOT_MS = 60_000;
/** How long after its end a minute stays open. */
export const CLOSE_GRACE_MS = 60_000;
/** More open minutes than this and the next round sweeps instead. */
export const MAX_OPEN_SLOTS = 30;

export function slotOf(ms: number): number {
  return Math.floor(ms / TIMER_SLOT_MS);
}

/** The minute a document with this timer is filed under when written at `now`. */
export function timerSlotOf(timerAt: Date | null, now: Date): number | null {
  return timerAt === null ? null : slotOf(Math.max(timerAt.getTime(), now.getTime()));
}

export interface FiledTimer {
  timerAt: Date | null;
  timerSlot?: number | null;
}

/** Due documents of one minute (`slot`), or of every minute (no slot: a sweep), oldest first, at most `limit`. */
export type DueQuery<T> = (slot: number | undefined, limit: number) => Promise<T[]>;

export class TimerSlots {
  /** The partitions the minutes are open for; the first open minute; earlier minutes a sweep found due timers in. */
  private open: { partitions: string; from: number; stragglers: Set<number> } | null = null;
  /** Sweeps so far (tests and metrics: a sweep per round would mean the minutes never open). */
  sweeps = 0;

  /** The documents due at `now` of these partitions, at most `limit`, through `query`. */
  async due<T extends FiledTimer>(partitions: readonly number[], now: number, limit: number, query: DueQuery<T>): Promise<T[]> {
    const key = [...partitions].sort((a, b) => a - b).join(',');
    const current = slotOf(now);
    const open = this.open;
    if (!open || open.partitions !== key || current - open.from > MAX_OPEN_SLOTS || current < open.from) return this.sweep(key, now, limit, query);
    const found: T[] = [];
    for (const slot of [...open.stragglers].sort((a, b) => a - b)) {
      if (found.length >= limit) return found;
      const docs = await query(slot, limit - found.length);
      found.push(...docs);
      if (docs.length === 0) open.stragglers.delete(slot);
    }
    for (let slot = open.from; slot <= current && found.length < limit; slot += 1) {
      const docs = await query(slot, limit - found.length);
      found.push(...docs);
      if (slot === open.from && docs.length === 0 && (slot + 1) * TIMER_SLOT_MS + CLOSE_GRACE_MS <= now) open.from = slot + 1;
    }
    return found;
  }

  private async sweep<T extends FiledTimer>(key: string, now: number, limit: number, query: DueQuery<T>): Promise<T[]> {
    this.open = null;
    this.sweeps += 1;
    const docs = await query(undefined, limit);
    if (docs.length < limit) {
      const from = slotOf(now - CLOSE_GRACE_MS);
      this.open = { partitions: key, from, stragglers: new Set(docs.map(filedSlot).filter((slot) => slot < from)) };
    }
    return docs;
  }
}

/** The minute a returned document is filed under (a document written before slots: its timer's). */
function filedSlot(d: FiledTimer): number {
  if (typeof d.timerSlot === 'number') return d.timerSlot;
  return d.timerAt ? slotOf(d.timerAt.getTime()) : Number.POSITIVE_INFINITY;
}
