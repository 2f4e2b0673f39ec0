/**
 * The records of a resolution plan that are not writes (planner.ts): notices and audit of
 * what an earlier attempt of the message already did, and of the refusals.
 */
import { canonicalIdentifiers } from './identifier';
import type { PlanContext } from './plan-context';
import { anchorInfo, createdAudit, mergeAudit, mergeNotice, movedAudit, refusedAudit } from './plan-records';

/**
 * Effects of this message that already happened (earlier attempt, crash): re-derived from
 * the state (`mergedFrom`/intents, `createdBy`, `movedBy`), so re-planning re-emits the same
 * notices and audit records (their ids are deterministic).
 */
export function rederiveEarlierEffects(ctx: PlanContext): void {
  const { messageId: m, view, audit, cast } = ctx;
  const derivedLosers = new Set<string>();
  for (const analysis of ctx.analyses.values()) {
    for (const entry of analysis.ownMerges) {
      if (derivedLosers.has(entry.profileId)) continue;
      derivedLosers.add(entry.profileId);
      const loser = view.profiles.get(entry.profileId);
      const moved = loser ? canonicalIdentifiers(loser.identifiers) : [];
      const survivor = analysis.profile._id;
      ctx.merges.push({ loserId: entry.profileId, survivorId: survivor, movedIdentifiers: moved, derived: true });
      const reason = `merged by message ${m} (re-emitted)`;
      ctx.notices.push(mergeNotice(survivor, entry.profileId, reason, m, moved, entry.at));
      audit.push(mergeAudit(m, entry.at, survivor, entry.profileId, moved, { linkedBy: null, survivorReason: null, rederived: true }));
    }
    if (analysis.profile.createdBy === m && analysis !== cast.reused && !cast.leftovers.includes(analysis)) {
      audit.push(createdAudit(m, analysis.profile.createdAt, analysis.profile._id, canonicalIdentifiers(analysis.members.values())));
    }
  }
  for (const c of ctx.candidates) {
    if (c.ownership.state !== 'owned' || c.ownership.record.movedBy !== m || c.ownership.record.movedFrom === undefined) continue;
    if (ctx.decision.moves.some((mv) => mv.candidate.key === c.key)) continue;
    audit.push(movedAudit(m, c.ownership.record.updatedAt, c.id, c.ownership.record.movedFrom, c.ownership.ownerId, 'rederived', {}));
  }
}

export function auditRefusals({ messageId: m, at, audit, cast, decision }: PlanContext): void {
  for (const r of decision.refused) {
    audit.push(
      refusedAudit(m, at, cast.survivorId, r.identifier, r.rule, {
        ownerProfileId: r.ownerProfileId ?? null,
        violation: r.violation,
        outcome: r.reason === 'merge-refused' ? 'kept' : 'dropped',
        anchor: anchorInfo(decision.anchor),
      }),
    );
  }
}
