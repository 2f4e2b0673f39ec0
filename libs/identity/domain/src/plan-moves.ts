/**
 * Identifier writes of a resolution plan (planner.ts, writes 3, 5 and 7): the sources of
 * moved identifiers releasing them, and the identity documents changing hands.
 */
import type { ProfileAnalysis, Ownership } from './graph-view';
import type { GraphWrite, PendingClaim } from './model';
import type { MoveDecision, PlanContext } from './plan-context';
import { anchorInfo, compareStrings, movedAudit, newIdentifierRecord, refusedAudit, sortWrites, tidied } from './plan-records';

/** The moves of the plan by source profile. */
export function movesBySource(ctx: PlanContext): Map<string, MoveDecision[]> {
  const sources = new Map<string, MoveDecision[]>();
  for (const mv of ctx.decision.moves) sources.set(mv.from, [...(sources.get(mv.from) ?? []), mv]);
  return sources;
}

/**
 * Write 3: each source of a moved identifier replaced, the identifier unlisted with a
 * `release` entry. Returns write 7, each source again with its release entries removed
 * (to be written after the identity documents).
 */
export function writeMoveSources(ctx: PlanContext): GraphWrite[] {
  const { messageId: m, at } = ctx;
  const sourceCommits: GraphWrite[] = [];
  for (const [sourceId, sourceMoves] of [...movesBySource(ctx)].sort(([a], [b]) => compareStrings(a, b))) {
    const analysis = ctx.analyses.get(sourceId) as ProfileAnalysis;
    const movedKeys = new Set(sourceMoves.map((mv) => mv.candidate.key));
    const released = sourceMoves.map((mv): PendingClaim => ({
      kind: 'release',
      type: mv.candidate.id.type,
      value: mv.candidate.id.value,
      messageId: m,
      at,
      peer: ctx.cast.survivorId,
    }));
    const next = tidied(analysis, at, m, { without: movedKeys, extraPending: released });
    ctx.writes.push({ op: 'replaceProfile', expectedVersion: analysis.profile.version, profile: next });
    sourceCommits.push({
      op: 'replaceProfile',
      expectedVersion: next.version,
      profile: { ...next, version: next.version + 1, pending: next.pending.filter((p) => !(p.kind === 'release' && p.messageId === m)) },
    });
  }
  return sourceCommits;
}

/**
 * Write 5: identity documents — inserts of new identifiers, compare-and-set of moved ones and
 * of dangling ones (pointing at a profile that no longer exists): the moment they change hands.
 */
export function writeIdentityDocuments(ctx: PlanContext): void {
  const { messageId: m, at, audit, decision } = ctx;
  const { survivorId } = ctx.cast;
  const pointerWrites: GraphWrite[] = [];
  for (const c of decision.attach) {
    if (c.ownership.state === 'dangling') {
      const record = c.ownership.record;
      pointerWrites.push({
        op: 'replaceIdentifier',
        expectedVersion: record.version,
        identifier: { ...record, profileId: survivorId, version: record.version + 1, updatedAt: at, updatedBy: m },
      });
    } else {
      pointerWrites.push({ op: 'insertIdentifier', identifier: newIdentifierRecord(c.id, survivorId, at, m) });
    }
  }
  for (const mv of decision.moves) {
    const record = (mv.candidate.ownership as Extract<Ownership, { state: 'owned' }>).record;
    pointerWrites.push({
      op: 'replaceIdentifier',
      expectedVersion: record.version,
      identifier: { ...record, profileId: survivorId, version: record.version + 1, movedFrom: mv.from, movedBy: m, updatedAt: at, updatedBy: m },
    });
    const rule = `limit:${mv.violation.type}`;
    audit.push(
      movedAudit(m, at, mv.candidate.id, mv.from, survivorId, rule, {
        anchor: anchorInfo(decision.anchor),
        priority: mv.candidate.priority,
        violation: mv.violation,
      }),
    );
    audit.push(refusedAudit(m, at, survivorId, mv.candidate.id, rule, { ownerProfileId: mv.from, violation: mv.violation, outcome: 'moved' }));
  }
  ctx.writes.push(...sortWrites(pointerWrites));
}
