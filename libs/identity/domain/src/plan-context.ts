/**
 * What the steps of a resolution plan (planner.ts) share: the message and the graph around
 * it, the event's identifiers as candidates, every live profile involved, and — once made —
 * the decision, the survivor and the plan being written.
 */
import { identifierKey, type Identifier } from './identifier';
import type { ExtractedIdentifiers } from './extract';
import { analyseProfile, ownershipOf, resolveProfile, type Ownership, type ProfileAnalysis } from './graph-view';
import type { AuditRecord, GraphView, GraphWrite, MergeNoticePayload, ProfileRecord } from './model';
import { compareStrings } from './plan-records';
import type { LimitViolation, PlannedMerge, PlanResolutionInput, RefusedIdentifier } from './resolution-plan';
import { compileRules, type CompiledRules, type IdentityRules } from './rules';

/** An identifier of the event, with its rule priority and where it points in the view. */
export interface Candidate {
  id: Identifier;
  key: string;
  priority: number;
  ownership: Ownership;
}

/** Identifier keys by type (what limits count). */
export type TypeKeys = Map<string, Set<string>>;

/** What is known before deciding. */
export interface Involvement {
  readonly messageId: string;
  readonly view: GraphView;
  readonly rules: IdentityRules;
  readonly compiled: CompiledRules;
  /** The plan's clock, as written (`at`) and in milliseconds. */
  readonly at: string;
  readonly nowMs: number;
  /** The event's identifiers, by priority (then type, value). */
  readonly candidates: Candidate[];
  /** Every live profile the plan involves, analysed. */
  readonly analyses: Map<string, ProfileAnalysis>;
  /** Of those, the profiles an identifier of the event leads to. */
  readonly owners: Set<string>;
}

/** An identifier moved to the event's profile because the merge with its owner was refused. */
export interface MoveDecision {
  candidate: Candidate;
  from: string;
  violation: LimitViolation;
}

/** Where each identifier of the event goes (plan-decision.ts). */
export interface Decision {
  /** Live profiles that end up as one: the anchor's first, then in the order they joined. */
  cluster: string[];
  /** Profile → the key of the identifier that brought it into the cluster. */
  joinedBy: Map<string, string>;
  clusterKeys: TypeKeys;
  /** The identifiers the event resolves with, by priority. */
  accepted: Candidate[];
  /** Unknown (or dangling) identifiers attached to the event's profile. */
  attach: Candidate[];
  moves: MoveDecision[];
  refused: RefusedIdentifier[];
  anchor: Candidate | undefined;
}

/** Which profile survives, which lose (plan-decision.ts). */
export interface Survivorship {
  /** The surviving profile as it is now; undefined when a new one is created. */
  survivorAnalysis: ProfileAnalysis | undefined;
  /** A profile an earlier attempt created, reused as the survivor. */
  reused: ProfileAnalysis | undefined;
  /** Profiles an earlier attempt of this message created that hold nothing. */
  leftovers: ProfileAnalysis[];
  losers: ProfileAnalysis[];
  survivorId: string;
  isNew: boolean;
}

export interface PlanContext extends Involvement {
  readonly decision: Decision;
  readonly cast: Survivorship;
  /** The plan being written, in order. */
  readonly writes: GraphWrite[];
  readonly audit: AuditRecord[];
  readonly notices: MergeNoticePayload[];
  readonly merges: PlannedMerge[];
}

/** The event's candidates and every live profile involved (none of either when no identifier is usable). */
export function involve(input: PlanResolutionInput): Involvement {
  const compiled = compileRules(input.rules);
  const nowMs = input.now.getTime();
  const candidates = collectCandidates(input.extraction, input.view, compiled);
  const base = { messageId: input.messageId, view: input.view, rules: input.rules, compiled, at: input.now.toISOString(), nowMs, candidates };
  const { analyses, owners } = analyseInvolved(base, input.alsoTidy ?? []);
  return { ...base, analyses, owners };
}

function collectCandidates(extraction: ExtractedIdentifiers, view: GraphView, compiled: CompiledRules): Candidate[] {
  const byKey = new Map<string, Candidate>();
  const add = (id: Identifier): void => {
    const key = identifierKey(id);
    if (!byKey.has(key))
      byKey.set(key, { id: { type: id.type, value: id.value }, key, priority: compiled.ruleFor(id.type).priority, ownership: ownershipOf(view, key) });
  };
  for (const id of extraction.identifiers) add(id);
  for (const alias of extraction.aliases) {
    const owned = alias.candidates.find((c) => ownershipOf(view, identifierKey(c)).state === 'owned');
    const pick = owned ?? alias.candidates.find((c) => c.type === 'anonymousId') ?? alias.candidates[0];
    if (pick) add(pick);
  }
  return [...byKey.values()].sort((a, b) => a.priority - b.priority || compareStrings(a.id.type, b.id.type) || compareStrings(a.id.value, b.id.value));
}

function analyseInvolved(
  base: Omit<Involvement, 'analyses' | 'owners'>,
  alsoTidy: readonly string[],
): { analyses: Map<string, ProfileAnalysis>; owners: Set<string> } {
  const { messageId: m, view, candidates, nowMs } = base;
  const eventKeys = candidates.map((c) => c.key);
  const analyse = (profile: ProfileRecord): ProfileAnalysis =>
    analyseProfile(view, profile, { messageId: m, nowMs, pendingClaimTtlMs: base.rules.pendingClaimTtlMs, eventKeys });

  // Every live profile an identifier of the event leads to, classified.
  const analyses = new Map<string, ProfileAnalysis>();
  for (const c of candidates) {
    if (c.ownership.state !== 'owned' || analyses.has(c.ownership.ownerId)) continue;
    const profile = view.profiles.get(c.ownership.ownerId) as ProfileRecord;
    analyses.set(profile._id, analyse(profile));
  }

  // Not candidates' owners, but to be tidied: sources of this message's own moves (their
  // release entries) and profiles an earlier attempt wrote.
  const owners = new Set(analyses.keys());
  const extra = new Set<string>(alsoTidy);
  for (const c of candidates) {
    if (c.ownership.state === 'owned' && c.ownership.record.movedBy === m && c.ownership.record.movedFrom !== undefined)
      extra.add(c.ownership.record.movedFrom);
  }
  for (const id of extra) {
    if (!view.profiles.has(id)) continue;
    const resolved = resolveProfile(view, id);
    if (resolved.state !== 'live' || analyses.has(resolved.profile._id)) continue;
    analyses.set(resolved.profile._id, analyse(resolved.profile));
  }
  return { analyses, owners };
}
