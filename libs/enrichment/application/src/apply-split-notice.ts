/**
 * A split notice: events carrying a split-off identifier move to the new profile, and both
 * profiles are recomputed from their events (state and activity digest).
 */
import type { Identifier, ResolvedEvent, SplitNotice } from '@mosaic/contracts';
import { type ProfileState, activityToText, buildActivity, changedPaths, profileView, pushRing, recomputeFromEvents } from '@mosaic/enrichment-domain';
import { type EventDocument, type ProfileDocument, documentToState, identifierKey } from '@mosaic/enrichment-data-access';
import { CONFLICT, type ApplierCore, type BatchStats, type ChangeOut, type InboundResolved, retryOnConflict } from './batch-context';
import { entryOfStoredEvent } from './activity-digest';
import { activeDocument, changeOut, uniqueIdentifiers } from './batch-documents';

type Rebuilt = { state: ProfileState; orig: ProfileDocument | null; activity: string };

const live = (d: ProfileDocument | null) => (d && d.status === 'active' ? d : null);

export async function applySplitNotice(core: ApplierCore, item: InboundResolved, notice: SplitNotice, stats: BatchStats): Promise<ChangeOut[]> {
  const { store } = core;
  const nowIso = core.now().toISOString();
  const splitKeys = new Set(notice.identifiers.map(identifierKey));
  core.cache.delete(notice.fromProfileId);
  core.cache.delete(notice.newProfileId);
  await store.moveEvents(notice.fromProfileId, notice.newProfileId, [...splitKeys]);
  return retryOnConflict(core, stats, `split ${notice.fromProfileId} → ${notice.newProfileId}: the profiles`, async () => {
    const docs = await store.getProfiles([notice.fromProfileId, notice.newProfileId]);
    const fromDoc = docs.get(notice.fromProfileId) ?? null;
    const newDoc = docs.get(notice.newProfileId) ?? null;
    // Applied before (a redelivery or replay): the notice id is in both rings.
    const applied = [fromDoc, newDoc].filter((d): d is ProfileDocument => d !== null && d.appliedMessageIds.includes(item.messageId));
    if (applied.length > 0 && (!live(fromDoc) || applied.includes(fromDoc as ProfileDocument))) {
      stats.duplicates += 1;
      return applied.map((d) => changeOut(documentToState(d), [], item, true, nowIso, 'split'));
    }
    const rebuilt = await rebuildBoth(core, notice, splitKeys, fromDoc, newDoc, item.messageId, nowIso);
    const r = await store.writeProfiles(rebuilt.map((x) => ({ expected: x.orig ? x.orig.version : null, doc: activeDocument(core, x.state, x.activity) })));
    if (!rebuilt.every((x) => r.get(x.state.profileId) === 'applied')) return CONFLICT;
    stats.splits += 1;
    stats.profilesWritten += rebuilt.length;
    return rebuilt.map((x) =>
      changeOut(x.state, x.orig ? changedPaths(profileView(documentToState(x.orig)), profileView(x.state)) : ['identifiers'], item, false, nowIso, 'split'),
    );
  });
}

/** Both profiles recomputed from their events (the source only while it is live), identifiers divided between them. */
async function rebuildBoth(
  core: ApplierCore,
  notice: SplitNotice,
  splitKeys: Set<string>,
  fromDoc: ProfileDocument | null,
  newDoc: ProfileDocument | null,
  noticeId: string,
  nowIso: string,
): Promise<Rebuilt[]> {
  const [fromEvents, newEvents] = await Promise.all([core.store.eventsOf(notice.fromProfileId), core.store.eventsOf(notice.newProfileId)]);
  const fromIdentifiers = (fromDoc?.identifiers ?? []).filter((i) => !splitKeys.has(identifierKey(i)));
  const newIdentifiers = uniqueIdentifiers([...(newDoc?.identifiers ?? []), ...notice.identifiers]);
  return [
    live(fromDoc) ? rebuild(core, notice.fromProfileId, fromDoc as ProfileDocument, fromEvents, fromIdentifiers, noticeId, nowIso) : undefined,
    rebuild(core, notice.newProfileId, live(newDoc), newEvents, newIdentifiers, noticeId, nowIso),
  ].filter((x): x is Rebuilt => x !== undefined);
}

/**
 * A profile recomputed from its stored events, keeping what events do not carry (identifiers,
 * merge history, membership version). Its applied-id ring keeps the ids applied before (events
 * that moved away stay "applied" here, so a replay does not count them twice) plus the notice's.
 */
function rebuild(
  core: ApplierCore,
  profileId: string,
  orig: ProfileDocument | null,
  events: EventDocument[],
  identifiers: Identifier[],
  noticeId: string,
  nowIso: string,
): Rebuilt {
  const resolved: ResolvedEvent[] = events.map((e) => ({
    kind: 'event',
    profileId,
    identifiers: e.identifiers,
    event: JSON.parse(e.json) as ResolvedEvent['event'],
  }));
  const state = recomputeFromEvents(profileId, resolved, { now: nowIso, config: core.cfg, priceIndex: core.opts.priceIndex?.() });
  state.identifiers = uniqueIdentifiers(identifiers);
  state.appliedMessageIds = pushRing(orig?.appliedMessageIds ?? [], [...state.appliedMessageIds, noticeId], core.cfg.maxAppliedIds);
  if (orig) {
    state.version = orig.version + 1;
    state.createdAt = orig.createdAt;
    state.membershipVersion = orig.membershipVersion;
    state.mergedFrom = orig.mergedFrom;
  } else state.version += 1;
  state.updatedAt = nowIso;
  return { state, orig, activity: activityToText(buildActivity(events.map(entryOfStoredEvent), core.cfg.maxActivityEntries)) };
}
