/**
 * The resolution planner: given an event's identifiers and the graph around them, decide
 * which profile the event belongs to and which single-document writes make the graph say so.
 * Pure: the clock and the profile-id generator are inputs.
 *
 * ## Decision (DESIGN §4)
 * The event's identifiers are taken in priority order (rules: userId 1, email 2, phone 3,
 * external 4, anonymousId 5; then type, value). The first is the **anchor**: its profile (or
 * a new one) is where the event goes. Each further identifier is then, in turn:
 * - already in the cluster → nothing to do;
 * - unknown → attached, if the cluster stays within the limit of its type (else refused);
 * - on another live profile P → P **merges** into the cluster if every type of the union
 *   stays within its limit. Otherwise the merge is refused (**merge protection**) and the
 *   identifier is **moved** from P to the event's profile, from this event on, provided it
 *   has a strictly lower priority than the anchor and fits; else it stays on P (refused).
 *   P keeps everything else, including its history.
 * So on a shared laptop whose cookie belongs to A (userId a), B logging in (userId b) does not
 * merge A and B: the event goes to B's profile (created if needed) and the cookie moves to B.
 * Limits only ever block growth: a profile already over a lowered limit can still be the
 * anchor, and merges that add nothing of an over-limit type are allowed.
 *
 * The cluster's **survivor** is the known profile (committed userId) over anonymous ones,
 * then the oldest (createdAt, then id). The others are the losers: they become redirects
 * (`mergedInto`, `expiresAt`), the survivor gains their identifiers, and a merge notice per
 * loser precedes the event on `events.resolved`.
 *
 * ## Writes, in this order (every prefix is a state a later plan can read and continue)
 * 1. the survivor: inserted, or replaced at its version, listing everything it gains as
 *    `pending: acquire` (a reservation: other planners count it for limits), plus a merge
 *    intent per loser;
 * 2. each loser: replaced at the version planned against, `status: merged` — this is the
 *    moment the merge happens (its identifiers now resolve to the survivor through the
 *    redirect); the version check guarantees the loser did not change since planning;
 * 3. each source of a moved identifier: replaced, identifier unlisted with a `release` entry;
 * 4. other involved profiles that need tidying (a previous attempt's leftovers);
 * 5. identity documents: inserts of new identifiers, compare-and-set of moved ones and of
 *    dangling ones (pointing at a profile that no longer exists) — the moment they change hands;
 * 6. best-effort: pointers to losers and chains repointed to the survivor, redirects of
 *    redirects retargeted (no ownership changes, so never a conflict);
 * 7. each move source again, its release entries removed; 8. the survivor again, its
 *    reservations promoted and merge intents moved to `mergedFrom`.
 * A conflict at any strict write stops the plan; the caller re-reads and re-plans, and the
 * new plan completes or undoes what the prefix started (graph-view.ts classifies leftovers).
 * Effects of the message that already happened (merges, creations, moves) are re-derived
 * from the state (`mergedFrom`/intents, `createdBy`, `movedBy`), so re-planning after a
 * conflict or a crash re-emits the same notices and audit records (ids are deterministic).
 *
 * `planResolution` below runs these steps in this order over one `PlanContext`
 * (plan-context.ts): decision and survivor in plan-decision.ts, writes 1–2 in
 * plan-merges.ts, 3, 5 and 7 in plan-moves.ts, 4, 6 and 8 in plan-repairs.ts, re-derived
 * effects and refusals in plan-notices.ts, document and record builders in plan-records.ts.
 */
import { canonicalIdentifiers, identifierKey, type Identifier } from './identifier';
import { resolveProfile } from './graph-view';
import type { GraphView } from './model';
import { involve, type PlanContext } from './plan-context';
import { chooseSurvivor, decide } from './plan-decision';
import { writeLosers, writeSurvivor } from './plan-merges';
import { writeIdentityDocuments, writeMoveSources } from './plan-moves';
import { auditRefusals, rederiveEarlierEffects } from './plan-notices';
import { dedupeAudit } from './plan-records';
import { commitSurvivor, tidyInvolvedProfiles, writeRepoints, writeRetargets } from './plan-repairs';
import { NoIdentifiersError, type PlanResolutionInput, type ResolutionPlan } from './resolution-plan';

export * from './resolution-plan';
export { mergeNotice } from './plan-records';

export function planResolution(input: PlanResolutionInput): ResolutionPlan {
  const involvement = involve(input);
  if (involvement.candidates.length === 0) throw new NoIdentifiersError(input.messageId);
  const decision = decide(involvement);
  const cast = chooseSurvivor(involvement, decision, input.newProfileId);
  const ctx: PlanContext = { ...involvement, decision, cast, writes: [], audit: [], notices: [], merges: [] };

  rederiveEarlierEffects(ctx);
  const survivor = writeSurvivor(ctx); // 1
  writeLosers(ctx, survivor.mergedIdentifiers); // 2
  const sourceCommits = writeMoveSources(ctx); // 3 (and 7, written below)
  tidyInvolvedProfiles(ctx); // 4
  writeIdentityDocuments(ctx); // 5
  writeRepoints(ctx, survivor.mergedIdentifiers); // 6
  writeRetargets(ctx);
  ctx.writes.push(...sourceCommits); // 7
  commitSurvivor(ctx, survivor.next); // 8
  auditRefusals(ctx);
  return assemblePlan(ctx, survivor.listing);
}

function assemblePlan(ctx: PlanContext, listing: Map<string, Identifier>): ResolutionPlan {
  const { survivorId, isNew, reused } = ctx.cast;
  const { accepted, attach, moves, refused } = ctx.decision;
  const attachIds = canonicalIdentifiers(attach.map((c) => c.id));
  return {
    messageId: ctx.messageId,
    profileId: survivorId,
    identifiers: accepted.map((c) => ({ type: c.id.type, value: c.id.value })),
    writes: ctx.writes,
    creates: isNew || reused ? [{ profileId: survivorId, identifiers: canonicalIdentifiers(listing.values()) }] : [],
    attaches: !isNew && !reused && attachIds.length > 0 ? [{ profileId: survivorId, identifiers: attachIds }] : [],
    merges: ctx.merges,
    moves: moves.map((mv) => ({ identifier: mv.candidate.id, fromProfileId: mv.from, toProfileId: survivorId, rule: `limit:${mv.violation.type}` })),
    refused,
    audit: dedupeAudit(ctx.audit),
    notices: ctx.notices,
  };
}

/** The live profile an identifier resolves to in a view, if any (admin lookups). */
export function profileForIdentifier(view: GraphView, id: Identifier): string | undefined {
  const record = view.identifiers.get(identifierKey(id));
  if (!record) return undefined;
  const resolved = resolveProfile(view, record.profileId);
  return resolved.state === 'live' ? resolved.profile._id : undefined;
}
