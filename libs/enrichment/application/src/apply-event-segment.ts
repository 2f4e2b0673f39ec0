/**
 * One read-apply-write round of consecutive events: the target profiles are read (cache, then
 * MongoDB, redirects followed), every event applied in order, the changed profiles written with
 * compare-and-set, the events stored. Profiles that conflicted are re-read and their events
 * re-applied, up to `maxAttempts` rounds.
 */
import type { ResolvedEvent } from '@mosaic/contracts';
import { type ActivityEntry, type ProfileState, activityEntryOf, applyEvent, priceObservationOf } from '@mosaic/enrichment-domain';
import { type EventDocument, type ProfileDocument, documentToState } from '@mosaic/enrichment-data-access';
import { type ApplierCore, type BatchStats, type ChangeOut, type InboundResolved, jitter } from './batch-context';
import { appendedActivity } from './activity-digest';
import { activeDocument, changeOut, eventDocument } from './batch-documents';
import type { StoredEventsWatch } from './follow-merges';

/**
 * The live profile an id resolves to: `doc` (null: none stored, it is created), whether that copy
 * was read from the store in this round (not taken from the cache), and the redirects passed
 * (the id itself first, when it is one).
 */
type Target = { id: string; doc: ProfileDocument | null; fromStore: boolean; via: string[] };
type Pending = { item: InboundResolved; index: number };

interface Working {
  id: string;
  orig: ProfileDocument | null;
  state: ProfileState | undefined;
  /** `orig` was read from the store in this round (or is none: a profile to create). */
  fromStore: boolean;
  dirty: boolean;
  /** Digest entries of the events applied (not duplicates). */
  added: ActivityEntry[];
  items: { index: number; out: ChangeOut; event?: EventDocument; via: readonly string[] }[];
}

const PRICE_EVENTS = new Set(['Product Viewed', 'Product Added']);

/** `watch` learns which profiles this segment stored events on, and the redirects the events were addressed to (`followMerges`). */
export async function applyEventSegment(
  core: ApplierCore,
  items: readonly InboundResolved[],
  stats: BatchStats,
  watch: StoredEventsWatch,
): Promise<ChangeOut[]> {
  const results = new Map<number, ChangeOut>();
  let pending: Pending[] = items.map((item, index) => ({ item, index }));
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    if (attempt > core.maxAttempts)
      throw new Error(`profiles kept changing under ${pending.length} event(s) (${core.maxAttempts} attempts); the batch is retried`);
    if (attempt > 1) await jitter(attempt);
    // identity's hint is trusted once: a profile found after all (a re-delivery) conflicts on insert, and is read from then on
    const working = await applyToTargets(core, pending, stats, attempt === 1 ? createdProfiles(pending) : new Set());
    pending = await writeWorking(core, items, working, results, stats, watch);
  }
  return items.map((_, i) => results.get(i) as ChangeOut);
}

/** Profiles identity created for one of these events (`profileCreated`): nothing of them is stored yet. */
function createdProfiles(pending: readonly Pending[]): Set<string> {
  const ids = new Set<string>();
  for (const { item } of pending) if (item.payload.kind === 'event' && item.payload.profileCreated === true) ids.add(item.payload.profileId);
  return ids;
}

/** Applies the pending events, in order, to the current state of their target profiles (`created`: known not to be stored yet). */
async function applyToTargets(core: ApplierCore, pending: readonly Pending[], stats: BatchStats, created: ReadonlySet<string>): Promise<Map<string, Working>> {
  const nowIso = core.now().toISOString();
  const targets = await targetsOf(
    core,
    pending.map((p) => (p.item.payload as ResolvedEvent).profileId),
    stats,
    created,
  );
  const working = new Map<string, Working>();
  const known = await storedEventIds(core, pending, targets);
  for (const { item, index } of pending) {
    const resolved = item.payload as ResolvedEvent;
    const target = targets.get(resolved.profileId) as Target;
    let w = working.get(target.id);
    if (!w) {
      w = {
        id: target.id,
        orig: target.doc,
        state: target.doc ? documentToState(target.doc) : undefined,
        fromStore: target.fromStore || !target.doc,
        dirty: false,
        added: [],
        items: [],
      };
      working.set(target.id, w);
    }
    const input: ResolvedEvent = target.id === resolved.profileId ? resolved : { ...resolved, profileId: target.id };
    const dup = known.has(item.messageId);
    const res =
      dup && w.state
        ? { state: w.state, changed: [], duplicate: true }
        : applyEvent(w.state, input, { now: nowIso, config: core.cfg, priceIndex: core.opts.priceIndex?.() });
    w.state = res.state;
    if (!res.duplicate) {
      w.dirty = true;
      w.added.push(activityEntryOf(input, item.messageId, nowIso));
    }
    w.items.push({
      index,
      out: changeOut(res.state, res.changed, item, res.duplicate, nowIso, 'event', res.profile),
      event: eventDocument(core, input, item),
      via: target.via,
    });
  }
  return working;
}

/** Writes the changed profiles, then the events of those that landed; returns the events of those that conflicted. */
async function writeWorking(
  core: ApplierCore,
  items: readonly InboundResolved[],
  working: Map<string, Working>,
  results: Map<number, ChangeOut>,
  stats: BatchStats,
  watch: StoredEventsWatch,
): Promise<Pending[]> {
  const dirty = [...working.values()].filter((w) => w.dirty);
  const activity = await Promise.all(dirty.map((w) => appendedActivity(core, w.orig, w.added)));
  const written = new Map(dirty.map((w, i) => [w.id, activeDocument(core, w.state as ProfileState, activity[i])]));
  const outcome = await core.store.writeProfiles(dirty.map((w) => ({ expected: w.orig ? w.orig.version : null, doc: written.get(w.id) as ProfileDocument })));
  const next: Pending[] = [];
  const events: EventDocument[] = [];
  for (const w of working.values()) {
    if (w.dirty && outcome.get(w.id) !== 'applied') {
      stats.conflicts += 1;
      core.cache.delete(w.id);
      for (const i of w.items) next.push({ item: items[i.index] as InboundResolved, index: i.index });
      continue;
    }
    if (w.dirty) {
      stats.profilesWritten += 1;
      core.cache.set(w.id, written.get(w.id) as ProfileDocument);
    }
    // Written here, or read from the store this round: it was live after the batch started.
    watch.storedOn(w.id, w.dirty || w.fromStore);
    for (const i of w.items) {
      results.set(i.index, i.out);
      if (i.event) events.push(i.event);
      for (const redirect of i.via) watch.addressedVia(redirect, w.id);
      if (i.out.duplicate) stats.duplicates += 1;
      else {
        stats.applied += 1;
        observePrices(core, items[i.index] as InboundResolved);
      }
    }
  }
  await core.store.putEvents(events);
  return next.sort((a, b) => a.index - b.index);
}

/** The live profile each id resolves to (following redirects; a missing one is itself, to be created). */
async function targetsOf(core: ApplierCore, ids: readonly string[], stats: BatchStats, created: ReadonlySet<string>): Promise<Map<string, Target>> {
  const { docs, read } = await readWithRedirects(core, ids, stats, created);
  const out = new Map<string, Target>();
  for (const id of new Set(ids)) {
    let current = id;
    const seen = new Set<string>();
    for (;;) {
      const d = docs.get(current);
      if (!d || d.status !== 'merged' || !d.mergedInto || seen.has(d.mergedInto) || seen.size > 10) break;
      seen.add(current);
      current = d.mergedInto;
    }
    const d = docs.get(current) ?? null;
    out.set(id, { id: current, doc: d && d.status === 'active' ? d : null, fromStore: read.has(current), via: [...seen] });
  }
  return out;
}

/**
 * The documents of `ids` and of the profiles they redirect to (cache first, up to 10 hops; `created`
 * ones are not read), and the ids looked up in the store (found or not).
 */
async function readWithRedirects(
  core: ApplierCore,
  ids: readonly string[],
  stats: BatchStats,
  created: ReadonlySet<string>,
): Promise<{ docs: Map<string, ProfileDocument>; read: Set<string> }> {
  const docs = new Map<string, ProfileDocument>();
  const read = new Set<string>();
  let wanted = [...new Set(ids)];
  for (let hop = 0; hop <= 10 && wanted.length > 0; hop += 1) {
    const toRead: string[] = [];
    for (const id of wanted) {
      const hit = core.cache.get(id);
      if (hit) {
        docs.set(id, hit);
        stats.cacheHits += 1;
      } else if (created.has(id)) stats.createdUnread += 1;
      else toRead.push(id);
    }
    stats.cacheMisses += toRead.length;
    for (const id of toRead) read.add(id);
    const found = await core.store.getProfiles(toRead);
    for (const [id, d] of found) {
      docs.set(id, d);
      core.cache.set(id, d);
    }
    wanted = wanted
      .map((id) => docs.get(id))
      .filter((d): d is ProfileDocument => d !== undefined && d.status === 'merged' && !!d.mergedInto && !docs.has(d.mergedInto))
      .map((d) => d.mergedInto as string);
  }
  return { docs, read };
}

/** Message ids of `pending` already stored as events, looked up only for profiles whose applied-id ring is full. */
async function storedEventIds(core: ApplierCore, pending: readonly Pending[], targets: Map<string, Target>): Promise<Set<string>> {
  const candidates: string[] = [];
  for (const { item } of pending) {
    const target = targets.get((item.payload as ResolvedEvent).profileId);
    const ring = target?.doc?.appliedMessageIds;
    if (ring && ring.length >= core.cfg.maxAppliedIds && !ring.includes(item.messageId)) candidates.push(item.messageId);
  }
  return core.store.findStoredEventIds(candidates);
}

function observePrices(core: ApplierCore, item: InboundResolved): void {
  if (!core.opts.observePrice || item.payload.kind !== 'event') return;
  const ev = item.payload.event;
  if (ev.type !== 'track' || !ev.event || !PRICE_EVENTS.has(ev.event)) return;
  const seen = priceObservationOf(ev.properties);
  if (seen) core.opts.observePrice(seen.category, seen.price);
}
