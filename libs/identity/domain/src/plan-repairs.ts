/**
 * Tidying and commit writes of a resolution plan (planner.ts, writes 4, 6 and 8): other
 * involved profiles that need tidying, the best-effort repointing of pointers and
 * redirects, and the survivor's final commit.
 */
import { identifierKey, type Identifier } from './identifier';
import type { GraphWrite, ProfileRecord } from './model';
import type { PlanContext } from './plan-context';
import { movesBySource } from './plan-moves';
import { capHistory, compareStrings, redirected, sortWrites, tidied } from './plan-records';

/** Write 4: other involved profiles that need tidying (a previous attempt's leftovers). */
export function tidyInvolvedProfiles(ctx: PlanContext): void {
  const { messageId: m, at, cast } = ctx;
  const written = new Set<string>([cast.survivorId, ...cast.losers.map((l) => l.profile._id), ...movesBySource(ctx).keys()]);
  for (const analysis of [...ctx.analyses.values()].sort((a, b) => compareStrings(a.profile._id, b.profile._id))) {
    if (written.has(analysis.profile._id)) continue;
    if (cast.leftovers.includes(analysis)) {
      // Created by an earlier attempt, holds nothing, not reused: nobody ever heard of it;
      // retire it as a redirect to the event's profile rather than leave an empty profile.
      const current = analysis.profile;
      const expiresAt = new Date(ctx.nowMs + ctx.rules.redirectTtlMs).toISOString();
      ctx.writes.push({ op: 'replaceProfile', expectedVersion: current.version, profile: redirected(current, [], cast.survivorId, at, m, expiresAt) });
      continue;
    }
    if (!analysis.dirty) continue;
    ctx.writes.push({ op: 'replaceProfile', expectedVersion: analysis.profile.version, profile: tidied(analysis, at, m, {}) });
  }
}

/** Where a profile's identifiers end up: a loser's go to the survivor. */
function finalOwnerOf(ctx: PlanContext): (owner: string) => string {
  const loserIds = new Set(ctx.cast.losers.map((l) => l.profile._id));
  return (owner) => (loserIds.has(owner) ? ctx.cast.survivorId : owner);
}

/** Write 6 (best effort): pointers to losers and chains repointed to the survivor (no ownership changes, so never a conflict). */
export function writeRepoints(ctx: PlanContext, mergedIdentifiers: Map<string, Identifier[]>): void {
  const { messageId: m, at, cast } = ctx;
  const finalOwner = finalOwnerOf(ctx);
  const repoints = new Map<string, GraphWrite>();
  const movedKeys = new Set(ctx.decision.moves.map((mv) => mv.candidate.key));
  for (const c of ctx.candidates) {
    if (c.ownership.state !== 'owned' || movedKeys.has(c.key)) continue;
    const target = finalOwner(c.ownership.ownerId);
    if (c.ownership.record.profileId !== target) {
      repoints.set(c.key, { op: 'repointIdentifier', key: c.key, fromProfileId: c.ownership.record.profileId, toProfileId: target, at, by: m });
    }
  }
  for (const loser of cast.losers) {
    for (const id of mergedIdentifiers.get(loser.profile._id) as Identifier[]) {
      const key = identifierKey(id);
      if (!repoints.has(key) && !movedKeys.has(key)) {
        repoints.set(key, { op: 'repointIdentifier', key, fromProfileId: loser.profile._id, toProfileId: cast.survivorId, at, by: m });
      }
    }
  }
  ctx.writes.push(...sortWrites(repoints.values()));
}

/** Write 6 (best effort), continued: redirects of redirects retargeted to where their chain ends. */
export function writeRetargets(ctx: PlanContext): void {
  const { messageId: m, at, view } = ctx;
  const finalOwner = finalOwnerOf(ctx);
  const loserIds = new Set(ctx.cast.losers.map((l) => l.profile._id));
  const retargets = new Map<string, GraphWrite>();
  const retarget = (profileId: string, to: string): void => {
    const profile = view.profiles.get(profileId);
    const from = profile?.mergedInto;
    if (profile === undefined || profile.status !== 'merged' || from === undefined || from === to || profileId === to) return;
    retargets.set(profileId, { op: 'retargetRedirect', profileId, fromMergedInto: from, toMergedInto: to, at, by: m });
  };
  for (const c of ctx.candidates) {
    if (c.ownership.state !== 'owned') continue;
    for (const id of c.ownership.path.slice(0, -1)) retarget(id, finalOwner(c.ownership.ownerId));
  }
  for (const analysis of ctx.analyses.values()) {
    const owner = finalOwner(analysis.profile._id);
    for (const entry of [...analysis.profile.mergedFrom, ...analysis.confirmed]) {
      const target = view.profiles.get(entry.profileId);
      if (target) retarget(entry.profileId, owner);
      else if (loserIds.has(analysis.profile._id)) {
        // Not loaded: we only know it pointed at the loser.
        retargets.set(entry.profileId, {
          op: 'retargetRedirect',
          profileId: entry.profileId,
          fromMergedInto: analysis.profile._id,
          toMergedInto: owner,
          at,
          by: m,
        });
      }
    }
  }
  ctx.writes.push(...sortWrites(retargets.values()));
}

/** Write 8: the survivor again, its reservations promoted and merge intents moved to `mergedFrom`. */
export function commitSurvivor(ctx: PlanContext, survivorNext: ProfileRecord | undefined): void {
  const m = ctx.messageId;
  if (!survivorNext || !(survivorNext.pending.some((p) => p.messageId === m) || survivorNext.merging.some((i) => i.messageId === m))) return;
  const own = survivorNext.merging.filter((i) => i.messageId === m);
  const committed: ProfileRecord = {
    ...survivorNext,
    version: survivorNext.version + 1,
    pending: survivorNext.pending.filter((p) => !(p.kind === 'acquire' && p.messageId === m)),
    merging: survivorNext.merging.filter((i) => i.messageId !== m),
    mergedFrom: capHistory([...survivorNext.mergedFrom, ...own.map((i) => ({ profileId: i.profileId, messageId: i.messageId, at: i.at }))]),
  };
  ctx.writes.push({ op: 'replaceProfile', expectedVersion: survivorNext.version, profile: committed });
}
