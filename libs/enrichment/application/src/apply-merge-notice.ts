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
  profileView,
  toCompactProfile,
} from '@mosaic/enrichment-domain';
import { type ProfileDocument, documentToState, redirectSlotsOf, stateToDocument } from '@mosaic/enrichment-data-access';
import { CONFLICT, type ApplierCore, type BatchStats, type ChangeOut, type InboundResolved, retryOnConflict } from './batch-context';
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
 * 1. The loser becomes a redirect (or already is one), filed under the slot of this write
 * (`redirectSlots`), where batches of the loser's partition that raced it look for it
 * (`followMerges`). Those batches ask slots back to the clock bound before they started, so a
 * redirect must not be filed more than that bound before it became readable: a write that took
 * longer is filed again under the current slot, before the loser's events move. A redirect found
 * already written (a redelivered notice, a replay) is left as it is: were the process to die
 * between a slow write and its filing again, the redelivered notice moves the loser's events only
 * now, after everything a batch stored on the loser before the restart.
 */
async function turnLoserIntoRedirect(step: MergeStep): Promise<ProfileDocument> {
  const { core, notice, stats, now, nowIso } = step;
  const { store } = core;
  return retryOnConflict(core, stats, `merge ${notice.loserId} → ${notice.survivorId}: the loser`, async () => {
    const current = await store.getProfile(notice.loserId);
    if (current && current.status === 'merged') return current;
    const state = current ? documentToState(current) : emptyProfile(notice.loserId, nowIso);
    const filedAt = core.now().getTime();
    const doc = stateToDocument(
      { ...state, version: state.version + 1, updatedAt: nowIso },
      {
        status: 'merged',
        mergedInto: notice.survivorId,
        mergedAt: notice.at,
        redirectSlots: redirectSlotsOf(filedAt),
        expiresAt: new Date(now.getTime() + core.opts.redirectTtlMs),
        writeId: store.newWriteId(),
        // kept on the redirect until the fold has read it (a fold redelivered after a crash still finds it)
        activity: current ? current.activity : '[]',
      },
    );
    const r = await store.writeProfiles([{ expected: current ? current.version : null, doc }]);
    if (r.get(notice.loserId) !== 'applied') return CONFLICT;
    return core.now().getTime() - filedAt <= core.maxClockSkewMs ? doc : refileRedirect(step, doc);
  });
}

/** The redirect filed again under the current slot (compare-and-set; re-read on a conflict). */
async function refileRedirect({ core, notice, stats }: MergeStep, redirect: ProfileDocument): Promise<ProfileDocument> {
  const { store } = core;
  return retryOnConflict(core, stats, `merge ${notice.loserId} → ${notice.survivorId}: the redirect`, async (attempt) => {
    const current = attempt === 1 ? redirect : await store.getProfile(notice.loserId);
    if (!current || current.status !== 'merged')
      throw new Error(`merge ${notice.loserId} → ${notice.survivorId}: the redirect disappeared while it was filed again`);
    const doc: ProfileDocument = { ...current, version: current.version + 1, redirectSlots: redirectSlotsOf(core.now()), writeId: store.newWriteId() };
    const r = await store.writeProfiles([{ expected: current.version, doc }]);
    return r.get(notice.loserId) === 'applied' ? doc : CONFLICT;
  });
}

/** 2. Its data goes to the survivor, or where the survivor itself went since; 3. its events join the survivor's timeline. */
async function foldIntoSurvivor(
  { core, item, notice, stats, nowIso }: MergeStep,
  loserState: ProfileState,
  loserActivity: string | undefined,
): Promise<ChangeOut[]> {
  const { store } = core;
  return retryOnConflict(core, stats, `merge ${notice.loserId} → ${notice.survivorId}: the survivor`, async () => {
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
    if (r.get(targetId) !== 'applied') return CONFLICT;
    stats.merges += 1;
    stats.profilesWritten += 1;
    const after = toCompactProfile(folded);
    return [changeOut(folded, changedPaths(profileView(base), after), item, false, nowIso, 'merge', after)];
  });
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
