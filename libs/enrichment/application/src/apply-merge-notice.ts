/**
 * A merge notice: the loser becomes a redirect first (compare-and-set, so no event can still
 * land on it afterwards: they follow the redirect), its events move to the survivor, then its
 * state is folded into the survivor (`foldMerge`, idempotent through `mergedFrom`).
 */
import type { MergeNotice } from '@mosaic/contracts';
import {
  type ProfileState,
  activityFromText,
  activityToText,
  alreadyFolded,
  changedPaths,
  emptyProfile,
  foldMerge,
  mergeActivity,
  toCompactProfile,
} from '@mosaic/enrichment-domain';
import { type ProfileDocument, documentToState, redirectMinuteOf, stateToDocument } from '@mosaic/enrichment-data-access';
import { type ApplierCore, type BatchStats, type ChangeOut, type InboundResolved, jitter } from './batch-context';
import { activityFromEvents } from './activity-digest';
import { activeDocument, changeOut } from './batch-documents';

interface MergeStep {
  core: ApplierCore;
  item: InboundResolved;
  notice: MergeNotice;
  stats: BatchStats;
  now: Date;
  nowIso: string;
}

export async function applyMergeNotice(core: ApplierCore, item: InboundResolved, notice: MergeNotice, stats: BatchStats): Promise<ChangeOut[]> {
  const now = core.now();
  const step: MergeStep = { core, item, notice, stats, now, nowIso: now.toISOString() };
  core.cache.delete(notice.loserId);
  core.cache.delete(notice.survivorId);
  const loser = await turnLoserIntoRedirect(step);
  const loserState = documentToState(loser);
  if (loser.mergedInto !== notice.survivorId) return []; // merged elsewhere before this notice: that merge folded it
  const out = await foldIntoSurvivor(step, loserState, loser.activity);
  // The loser's own change: it is a redirect now.
  const loserOut = changeOut(loserState, ['mergedInto'], item, false, step.nowIso, 'merge');
  loserOut.change.mergedInto = notice.survivorId;
  out.unshift(loserOut);
  return out;
}

/**
 * 1. The loser becomes a redirect (or already is one), filed under the minute of this write
 * (`redirectMinute`), where batches of the loser's partition that raced it look for it (`followMerges`).
 */
async function turnLoserIntoRedirect({ core, notice, stats, now, nowIso }: MergeStep): Promise<ProfileDocument> {
  const { store } = core;
  for (let attempt = 1; ; attempt += 1) {
    if (attempt > core.maxAttempts) throw new Error(`merge ${notice.loserId} → ${notice.survivorId}: the loser kept changing`);
    const current = await store.getProfile(notice.loserId);
    if (current && current.status === 'merged') return current;
    const state = current ? documentToState(current) : emptyProfile(notice.loserId, nowIso);
    const doc = stateToDocument(
      { ...state, version: state.version + 1, updatedAt: nowIso },
      {
        status: 'merged',
        mergedInto: notice.survivorId,
        mergedAt: notice.at,
        redirectMinute: redirectMinuteOf(core.now()),
        expiresAt: new Date(now.getTime() + core.opts.redirectTtlMs),
        writeId: store.newWriteId(),
        // kept on the redirect until the fold has read it (a fold redelivered after a crash still finds it)
        activity: current ? current.activity : '[]',
      },
    );
    const r = await store.writeProfiles([{ expected: current ? current.version : null, doc }]);
    if (r.get(notice.loserId) === 'applied') return doc;
    stats.conflicts += 1;
    await jitter(attempt);
  }
}

/** 2. Its data goes to the survivor, or where the survivor itself went since; 3. its events join the survivor's timeline. */
async function foldIntoSurvivor(
  { core, item, notice, stats, nowIso }: MergeStep,
  loserState: ProfileState,
  loserActivity: string | undefined,
): Promise<ChangeOut[]> {
  const { store } = core;
  for (let attempt = 1; ; attempt += 1) {
    if (attempt > core.maxAttempts) throw new Error(`merge ${notice.loserId} → ${notice.survivorId}: the survivor kept changing`);
    const { doc: target, path } = await store.resolve(notice.survivorId);
    const targetId = target ? target._id : (path[path.length - 1] as string);
    core.cache.delete(targetId);
    if (target && target.status !== 'active') throw new Error(`merge ${notice.loserId} → ${notice.survivorId}: redirect chain does not end at a live profile`);
    await store.moveEvents(notice.loserId, targetId);
    const base = target ? documentToState(target) : emptyProfile(targetId, nowIso);
    if (alreadyFolded(base, notice.loserId)) {
      stats.duplicates += 1;
      return [changeOut(base, [], item, true, nowIso, 'merge')];
    }
    const folded = foldMerge(base, loserState, notice, { config: core.cfg, priceIndex: core.opts.priceIndex?.() });
    const activity = await mergedActivity(core, targetId, target, loserActivity);
    const r = await store.writeProfiles([{ expected: target ? target.version : null, doc: activeDocument(core, folded, activity) }]);
    if (r.get(targetId) === 'applied') {
      stats.merges += 1;
      stats.profilesWritten += 1;
      const after = toCompactProfile(folded);
      return [changeOut(folded, changedPaths(toCompactProfile(base), after), item, false, nowIso, 'merge', after)];
    }
    stats.conflicts += 1;
    await jitter(attempt);
  }
}

/**
 * The survivor's digest: both digests, in time order, capped. When either profile has none (stored
 * before digests), the survivor's events — the loser's moved there already — give it.
 */
async function mergedActivity(core: ApplierCore, targetId: string, target: ProfileDocument | null, loserActivity: string | undefined): Promise<string> {
  const max = core.cfg.maxActivityEntries;
  const loser = activityFromText(loserActivity);
  const survivor = target ? activityFromText(target.activity) : [];
  if (loser && survivor) return activityToText(mergeActivity(survivor, loser, max));
  return activityToText(await activityFromEvents(core.store, targetId, max));
}
