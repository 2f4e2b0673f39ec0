/**
 * The resolution planner's decision (planner.ts, "Decision"): where each identifier of the
 * event goes — the anchor's cluster, attached, merged, moved or refused under the limits —
 * and which profile of the cluster survives.
 */
import { isKnown, limitKeys, type ProfileAnalysis } from './graph-view';
import type { Candidate, Decision, Involvement, Survivorship, TypeKeys } from './plan-context';
import { compareStrings } from './plan-records';
import type { LimitViolation } from './resolution-plan';
import type { CompiledRules } from './rules';

export function decide(involvement: Involvement): Decision {
  const decision: Decision = { cluster: [], joinedBy: new Map(), clusterKeys: new Map(), accepted: [], attach: [], moves: [], refused: [], anchor: undefined };
  for (const c of involvement.candidates) {
    if (c.ownership.state === 'owned') decideOwned(involvement, decision, c, c.ownership.ownerId);
    else decideUnowned(involvement, decision, c);
  }
  return decision;
}

/** An identifier on a live profile: already in the cluster, its profile merges in, it moves, or it is refused. */
function decideOwned({ analyses, compiled }: Involvement, decision: Decision, c: Candidate, owner: string): void {
  const { cluster, clusterKeys, accepted } = decision;
  if (cluster.includes(owner)) {
    accepted.push(c);
    return;
  }
  const analysis = analyses.get(owner) as ProfileAnalysis;
  const violation = decision.anchor === undefined ? undefined : firstViolation(clusterKeys, limitKeys(analysis), compiled);
  if (violation === undefined) {
    decision.anchor ??= c;
    cluster.push(owner);
    decision.joinedBy.set(owner, c.key);
    addAll(clusterKeys, limitKeys(analysis));
    accepted.push(c);
    return;
  }
  const anchorPriority = (decision.anchor as Candidate).priority;
  const moveViolation = firstViolation(clusterKeys, single(c), compiled);
  if (c.priority > anchorPriority && moveViolation === undefined) {
    decision.moves.push({ candidate: c, from: owner, violation });
    addAll(clusterKeys, single(c));
    accepted.push(c);
  } else {
    decision.refused.push({
      identifier: c.id,
      reason: 'merge-refused',
      rule: c.priority > anchorPriority ? `limit:${(moveViolation as LimitViolation).type}` : `limit:${violation.type}`,
      ownerProfileId: owner,
      violation,
    });
  }
}

/** An unknown (or dangling) identifier: attached if the cluster stays within the limit of its type. */
function decideUnowned({ compiled }: Involvement, decision: Decision, c: Candidate): void {
  const violation = firstViolation(decision.clusterKeys, single(c), compiled);
  if (violation === undefined) {
    decision.anchor ??= c;
    decision.attach.push(c);
    addAll(decision.clusterKeys, single(c));
    decision.accepted.push(c);
  } else {
    decision.refused.push({ identifier: c.id, reason: 'attach-refused', rule: `limit:${violation.type}`, violation });
  }
}

export function chooseSurvivor({ analyses, owners, messageId: m }: Involvement, { cluster }: Decision, newProfileId: () => string): Survivorship {
  const ranked = cluster
    .map((id) => analyses.get(id) as ProfileAnalysis)
    .sort(
      (a, b) =>
        Number(isKnown(b)) - Number(isKnown(a)) || compareStrings(a.profile.createdAt, b.profile.createdAt) || compareStrings(a.profile._id, b.profile._id),
    );
  // A profile this message created in an earlier attempt that holds nothing (its pointers
  // lost a race) is reused rather than left behind as an orphan.
  const leftovers = [...analyses.values()]
    .filter((a) => !owners.has(a.profile._id) && a.profile.createdBy === m && a.members.size === 0 && a.reserved.size === 0 && a.releasing.size === 0)
    .sort((a, b) => compareStrings(a.profile._id, b.profile._id));
  const reused = ranked.length > 0 ? undefined : leftovers[0];
  const survivorAnalysis = ranked[0] ?? reused;
  const losers = ranked.slice(1).sort((a, b) => compareStrings(a.profile._id, b.profile._id));
  const survivorId = survivorAnalysis ? survivorAnalysis.profile._id : newProfileId();
  return { survivorAnalysis, reused, leftovers, losers, survivorId, isNew: survivorAnalysis === undefined };
}

function single(c: Candidate): TypeKeys {
  return new Map([[c.id.type, new Set([c.key])]]);
}

function addAll(into: TypeKeys, from: TypeKeys): void {
  for (const [type, keys] of from) {
    let set = into.get(type);
    if (!set) into.set(type, (set = new Set()));
    for (const key of keys) set.add(key);
  }
}

/** The first type whose limit the union would break by growing, or undefined if it fits. */
function firstViolation(current: TypeKeys, addition: TypeKeys, compiled: CompiledRules): LimitViolation | undefined {
  const types = [...addition.keys()].sort((a, b) => compiled.ruleFor(a).priority - compiled.ruleFor(b).priority || compareStrings(a, b));
  for (const type of types) {
    const before = current.get(type) ?? new Set<string>();
    const union = new Set([...before, ...(addition.get(type) as Set<string>)]);
    const { limit } = compiled.ruleFor(type);
    if (union.size > limit && union.size > before.size) return { type, limit, count: union.size };
  }
  return undefined;
}
