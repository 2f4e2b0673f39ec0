/**
 * Events a racing merge stranded on a redirect follow it: checked once per Kafka batch, after its
 * last event insert, before the commit.
 *
 * The merge runs on the survivor's partition (merges are keyed by survivor), the loser's events on
 * the loser's. If the merge makes the loser a redirect and moves its events after a segment of the
 * loser's partition wrote the profile but before it stored the events, the survivor holds these
 * events' effects (the fold read the profile as written) but not the events, which a later split
 * or timeline read would miss. Either the merge's move comes after the events were stored and
 * takes them, or this check comes after the redirect was written and sees it.
 *
 * What it asks, at a small constant cost per batch (issue "Throughput": never one query per profile
 * or event on the common path):
 *
 * 1. **Redirects the batch's events were addressed to** (or passed through while resolving): the
 *    batch read them as redirects, so it knows them without a query, however old they are. After
 *    a crash between an event insert and this check, the redelivered events follow the redirect
 *    and their stored copies are still on it: these are moved (one update per such redirect).
 * 2. **Redirects written while the batch ran**: a redirect is filed under the 5-second slot of
 *    its writer's clock (`redirectSlots`, indexed; apply-merge-notice.ts files it again if its
 *    write took longer than the clock bound, so it is never filed more than that bound before
 *    it could be read). The slots from the batch's start minus twice the bound to now plus the
 *    bound (`redirectSlotsToAsk`: the merging instance's clock may be up to `maxClockSkewMs`
 *    behind or ahead of this one's), normally four, are asked by one equality on FerretDB, which
 *    serves no range and no `$in` from an index (one `$in` on MongoDB): a redirect is filed under
 *    its slot and the three after it, so asking the last slot finds all four. What comes
 *    back is intersected with the profiles the batch stored events on. This covers every
 *    profile the batch saw live in the store (read it, or wrote it with its compare-and-set)
 *    after it started: a merge that strands its events must make it a redirect after that.
 *    What a batch reads grows with the merges of the last ~20 seconds, not with the profiles.
 * 3. **Profiles the batch knew only from its cache** and stored events on without writing them
 *    (every event a duplicate: a redelivery after a failed attempt, a replay): the copy may be
 *    older than a redirect written before the batch started, so these are asked by `_id` and
 *    `status` (one query each on FerretDB; only on redeliveries and replays).
 *
 * Redirects stored before `redirectSlots` existed are in no slot. They were all written before
 * any batch running now started (the field is written with every redirect since), so 2 never
 * needs them; 1 and 3 do not depend on the field. (While a rolling upgrade runs, a merge on an
 * instance still on the older version files under `redirectSlot`, which this one does not ask:
 * for those seconds the race is open, as it was before this check.)
 */
import { redirectSlotOf } from '@mosaic/enrichment-data-access';
import type { ApplierCore } from './batch-context';

/**
 * How far apart the clocks of two enrichment instances may be, by default (the merging instance
 * files the redirect by its clock, the checking one asks by its own): NTP keeps servers within
 * milliseconds; `ENRICHMENT_MAX_CLOCK_SKEW_MS` raises it.
 */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5_000;

/**
 * The slots a redirect that became readable between `startedAt` and `now` can be
 * filed under: filed at most `skew` before it was readable (apply-merge-notice.ts), by a clock up
 * to `skew` behind or ahead of this one.
 */
export function redirectSlotsToAsk(startedAt: number, now: number, skew = DEFAULT_MAX_CLOCK_SKEW_MS): number[] {
  const slots: number[] = [];
  const last = redirectSlotOf(Math.max(startedAt, now) + skew);
  for (let s = redirectSlotOf(Math.min(startedAt, now) - 2 * skew); s <= last; s += 1) slots.push(s);
  return slots;
}

/** What one batch learns, while applying its events, about the profiles it stored events on. */
export class StoredEventsWatch {
  /** Profiles events were stored on that the batch saw live in the store (read or written) after it started. */
  private readonly seenLive = new Set<string>();
  /** Profiles events were stored on that the batch knew only from its cache. */
  private readonly cachedOnly = new Set<string>();
  /** Redirects the stored events were addressed to or passed through → the profile they were stored on. */
  private readonly addressedRedirects = new Map<string, string>();

  constructor(readonly startedAt: number) {}

  /** Events were stored on `profileId`; `seenLive`: the batch read it from the store or wrote it. */
  storedOn(profileId: string, seenLive: boolean): void {
    (seenLive ? this.seenLive : this.cachedOnly).add(profileId);
  }

  /** An event stored on `profileId` was addressed to, or resolved through, the redirect `redirectId`. */
  addressedVia(redirectId: string, profileId: string): void {
    this.addressedRedirects.set(redirectId, profileId);
  }

  get empty(): boolean {
    return this.seenLive.size === 0 && this.cachedOnly.size === 0 && this.addressedRedirects.size === 0;
  }

  /** Step 1: known redirects and where their events go. */
  redirects(): ReadonlyMap<string, string> {
    return this.addressedRedirects;
  }

  /** Step 2: whether the batch stored events on `profileId`. */
  storedOnLiveCopy(profileId: string): boolean {
    return this.seenLive.has(profileId) || this.cachedOnly.has(profileId);
  }

  /** Step 3: profiles known only from the cache (seen live in another segment of the batch: step 2 covers them), not among `found`. */
  unverified(found: ReadonlyMap<string, string>): string[] {
    return [...this.cachedOnly].filter((id) => !this.seenLive.has(id) && !found.has(id));
  }
}

/** The three steps above; the events of every redirect found go where it leads (idempotent: a redelivered batch does it again). */
export async function followMerges(core: ApplierCore, watch: StoredEventsWatch): Promise<void> {
  if (watch.empty) return;
  for (const [redirectId, profileId] of watch.redirects()) await core.store.moveEvents(redirectId, profileId);
  const filed = await core.store.redirectsFiledIn(redirectSlotsToAsk(watch.startedAt, core.now().getTime(), core.maxClockSkewMs));
  const losers = new Map([...filed].filter(([id]) => watch.storedOnLiveCopy(id)));
  for (const [id, into] of await core.store.mergedAmong(watch.unverified(losers))) losers.set(id, into);
  for (const [loserId, into] of losers) {
    core.cache.delete(loserId);
    const { doc, path } = await core.store.resolve(into);
    await core.store.moveEvents(loserId, doc ? doc._id : (path[path.length - 1] as string));
  }
}
