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
 */
import { canonicalIdentifiers, identifierKey, type Identifier } from './identifier';
import type { ExtractedIdentifiers } from './extract';
import { analyseProfile, isKnown, limitKeys, ownershipOf, resolveProfile, type Ownership, type ProfileAnalysis } from './graph-view';
import {
  type AuditRecord,
  type GraphView,
  type GraphWrite,
  type IdentifierRecord,
  MERGE_HISTORY_LIMIT,
  type MergeHistoryEntry,
  type MergeIntent,
  type MergeNoticePayload,
  type PendingClaim,
  type ProfileRecord,
} from './model';
import { compileRules, type CompiledRules, type IdentityRules } from './rules';

export interface PlanResolutionInput {
  messageId: string;
  extraction: ExtractedIdentifiers;
  view: GraphView;
  rules: IdentityRules;
  now: Date;
  /** Called only when a profile is created. */
  newProfileId: () => string;
  /**
   * Profiles an earlier attempt of this message wrote before a conflict (resolve.ts passes
   * them): analysed and tidied if needed; one it created that holds nothing is reused
   * instead of creating another profile.
   */
  alsoTidy?: readonly string[];
}

export interface LimitViolation {
  type: string;
  limit: number;
  /** How many identifiers of `type` the profile would have. */
  count: number;
}

export type RefusalReason = 'merge-refused' | 'attach-refused';

export interface RefusedIdentifier {
  identifier: Identifier;
  reason: RefusalReason;
  /** `limit:<type>` (or `priority` when a move was not allowed because of it). */
  rule: string;
  /** The profile it stays on (merge refused and not moved). */
  ownerProfileId?: string;
  violation: LimitViolation;
}

export interface PlannedMerge {
  loserId: string;
  survivorId: string;
  movedIdentifiers: Identifier[];
  /** The merge already happened in an earlier attempt of this message (re-emitted). */
  derived: boolean;
}

export interface PlannedMove {
  identifier: Identifier;
  fromProfileId: string;
  toProfileId: string;
  rule: string;
}

export interface ResolutionPlan {
  messageId: string;
  /** The profile the event resolves to. */
  profileId: string;
  /** The identifiers the event resolved with (refused ones excluded), by priority. */
  identifiers: Identifier[];
  writes: GraphWrite[];
  creates: { profileId: string; identifiers: Identifier[] }[];
  attaches: { profileId: string; identifiers: Identifier[] }[];
  merges: PlannedMerge[];
  moves: PlannedMove[];
  refused: RefusedIdentifier[];
  audit: AuditRecord[];
  /** Merge notices, in the order they must precede the event on `events.resolved`. */
  notices: MergeNoticePayload[];
}

export class NoIdentifiersError extends Error {
  constructor(messageId: string) {
    super(`message ${messageId} has no usable identifier`);
    this.name = 'NoIdentifiersError';
  }
}

interface Candidate {
  id: Identifier;
  key: string;
  priority: number;
  ownership: Ownership;
}

type TypeKeys = Map<string, Set<string>>;

export function planResolution(input: PlanResolutionInput): ResolutionPlan {
  const { messageId: m, view } = input;
  const compiled = compileRules(input.rules);
  const at = input.now.toISOString();
  const nowMs = input.now.getTime();

  const candidates = collectCandidates(input.extraction, view, compiled);
  if (candidates.length === 0) throw new NoIdentifiersError(m);
  const eventKeys = candidates.map((c) => c.key);

  // Every live profile an identifier of the event leads to, classified.
  const analyses = new Map<string, ProfileAnalysis>();
  for (const c of candidates) {
    if (c.ownership.state !== 'owned' || analyses.has(c.ownership.ownerId)) continue;
    const profile = view.profiles.get(c.ownership.ownerId) as ProfileRecord;
    analyses.set(profile._id, analyseProfile(view, profile, { messageId: m, nowMs, pendingClaimTtlMs: input.rules.pendingClaimTtlMs, eventKeys }));
  }

  // Not candidates' owners, but to be tidied: sources of this message's own moves (their
  // release entries) and profiles an earlier attempt wrote.
  const owners = new Set(analyses.keys());
  const extra = new Set<string>(input.alsoTidy ?? []);
  for (const c of candidates) {
    if (c.ownership.state === 'owned' && c.ownership.record.movedBy === m && c.ownership.record.movedFrom !== undefined) extra.add(c.ownership.record.movedFrom);
  }
  for (const id of extra) {
    if (!view.profiles.has(id)) continue;
    const resolved = resolveProfile(view, id);
    if (resolved.state !== 'live' || analyses.has(resolved.profile._id)) continue;
    analyses.set(resolved.profile._id, analyseProfile(view, resolved.profile, { messageId: m, nowMs, pendingClaimTtlMs: input.rules.pendingClaimTtlMs, eventKeys }));
  }

  // ---- decision --------------------------------------------------------------------------
  const cluster: string[] = [];
  const joinedBy = new Map<string, string>();
  const clusterKeys: TypeKeys = new Map();
  const accepted: Candidate[] = [];
  const attach: Candidate[] = [];
  const moves: { candidate: Candidate; from: string; violation: LimitViolation }[] = [];
  const refused: RefusedIdentifier[] = [];
  let anchor: Candidate | undefined;

  for (const c of candidates) {
    if (c.ownership.state === 'owned') {
      const owner = c.ownership.ownerId;
      if (cluster.includes(owner)) {
        accepted.push(c);
        continue;
      }
      const analysis = analyses.get(owner) as ProfileAnalysis;
      const violation = anchor === undefined ? undefined : firstViolation(clusterKeys, limitKeys(analysis), compiled);
      if (violation === undefined) {
        anchor ??= c;
        cluster.push(owner);
        joinedBy.set(owner, c.key);
        addAll(clusterKeys, limitKeys(analysis));
        accepted.push(c);
        continue;
      }
      const anchorPriority = (anchor as Candidate).priority;
      const moveViolation = firstViolation(clusterKeys, single(c), compiled);
      if (c.priority > anchorPriority && moveViolation === undefined) {
        moves.push({ candidate: c, from: owner, violation });
        addAll(clusterKeys, single(c));
        accepted.push(c);
      } else {
        refused.push({
          identifier: c.id,
          reason: 'merge-refused',
          rule: c.priority > anchorPriority ? `limit:${(moveViolation as LimitViolation).type}` : `limit:${violation.type}`,
          ownerProfileId: owner,
          violation,
        });
      }
      continue;
    }
    const violation = firstViolation(clusterKeys, single(c), compiled);
    if (violation === undefined) {
      anchor ??= c;
      attach.push(c);
      addAll(clusterKeys, single(c));
      accepted.push(c);
    } else {
      refused.push({ identifier: c.id, reason: 'attach-refused', rule: `limit:${violation.type}`, violation });
    }
  }

  // ---- survivor ---------------------------------------------------------------------------
  const ranked = cluster
    .map((id) => analyses.get(id) as ProfileAnalysis)
    .sort((a, b) => Number(isKnown(b)) - Number(isKnown(a)) || compareStrings(a.profile.createdAt, b.profile.createdAt) || compareStrings(a.profile._id, b.profile._id));
  // A profile this message created in an earlier attempt that holds nothing (its pointers
  // lost a race) is reused rather than left behind as an orphan.
  const leftovers = [...analyses.values()]
    .filter((a) => !owners.has(a.profile._id) && a.profile.createdBy === m && a.members.size === 0 && a.reserved.size === 0 && a.releasing.size === 0)
    .sort((a, b) => compareStrings(a.profile._id, b.profile._id));
  const reused = ranked.length > 0 ? undefined : leftovers[0];
  const survivorAnalysis = ranked[0] ?? reused;
  const losers = ranked.slice(1).sort((a, b) => compareStrings(a.profile._id, b.profile._id));
  const survivorId = survivorAnalysis ? survivorAnalysis.profile._id : input.newProfileId();
  const isNew = survivorAnalysis === undefined;

  const writes: GraphWrite[] = [];
  const audit: AuditRecord[] = [];
  const notices: MergeNoticePayload[] = [];
  const merges: PlannedMerge[] = [];

  // ---- effects of this message that already happened (earlier attempt, crash) -----------
  const derivedLosers = new Set<string>();
  for (const analysis of analyses.values()) {
    for (const entry of analysis.ownMerges) {
      if (derivedLosers.has(entry.profileId)) continue;
      derivedLosers.add(entry.profileId);
      const loser = view.profiles.get(entry.profileId);
      const moved = loser ? canonicalIdentifiers(loser.identifiers) : [];
      const survivor = analysis.profile._id;
      merges.push({ loserId: entry.profileId, survivorId: survivor, movedIdentifiers: moved, derived: true });
      const reason = `merged by message ${m} (re-emitted)`;
      notices.push(mergeNotice(survivor, entry.profileId, reason, m, moved, entry.at));
      audit.push(mergeAudit(m, entry.at, survivor, entry.profileId, moved, { linkedBy: null, survivorReason: null, rederived: true }));
    }
    if (analysis.profile.createdBy === m && analysis !== reused && !leftovers.includes(analysis)) {
      audit.push(createdAudit(m, analysis.profile.createdAt, analysis.profile._id, canonicalIdentifiers(analysis.members.values())));
    }
  }
  for (const c of candidates) {
    if (c.ownership.state !== 'owned' || c.ownership.record.movedBy !== m || c.ownership.record.movedFrom === undefined) continue;
    if (moves.some((mv) => mv.candidate.key === c.key)) continue;
    audit.push(movedAudit(m, c.ownership.record.updatedAt, c.id, c.ownership.record.movedFrom, c.ownership.ownerId, 'rederived', {}));
  }

  // ---- survivor document ----------------------------------------------------------------
  const acquire = (id: Identifier, peer?: string): PendingClaim => ({ kind: 'acquire', type: id.type, value: id.value, messageId: m, at, ...(peer === undefined ? {} : { peer }) });
  const listing = new Map<string, Identifier>();
  const pending = new ClaimSet();
  const merging: MergeIntent[] = [];
  const history: MergeHistoryEntry[] = [];
  if (survivorAnalysis) {
    for (const [key, id] of survivorAnalysis.members) listing.set(key, id);
    for (const [key, claims] of survivorAnalysis.reserved) {
      listing.set(key, asIdentifier(claims));
      for (const claim of claims) pending.add(claim);
    }
    for (const claims of survivorAnalysis.releasing.values()) for (const claim of claims) pending.add(claim);
    merging.push(...survivorAnalysis.intents);
    history.push(...survivorAnalysis.profile.mergedFrom, ...survivorAnalysis.confirmed);
  }
  const mergedIdentifiers = new Map<string, Identifier[]>();
  for (const loser of losers) {
    const moved = new Map<string, Identifier>();
    for (const [key, id] of loser.members) {
      moved.set(key, id);
      if (!listing.has(key)) {
        listing.set(key, id);
        pending.add(acquire(id, loser.profile._id));
      }
    }
    for (const [key, claims] of loser.reserved) {
      moved.set(key, asIdentifier(claims));
      listing.set(key, asIdentifier(claims));
      for (const claim of claims) pending.add(claim);
    }
    for (const claims of loser.releasing.values()) for (const claim of claims) pending.add(claim);
    merging.push(...loser.intents, { profileId: loser.profile._id, messageId: m, at });
    history.push(...loser.profile.mergedFrom, ...loser.confirmed);
    mergedIdentifiers.set(loser.profile._id, canonicalIdentifiers(moved.values()));
  }
  for (const c of attach) {
    listing.set(c.key, c.id);
    pending.add(acquire(c.id));
  }
  for (const mv of moves) {
    listing.set(mv.candidate.key, mv.candidate.id);
    pending.add(acquire(mv.candidate.id, mv.from));
  }

  const survivorChanges = isNew || losers.length > 0 || attach.length > 0 || moves.length > 0;
  let survivorNext: ProfileRecord | undefined;
  if (isNew) {
    survivorNext = {
      _id: survivorId,
      status: 'active',
      version: 1,
      identifiers: canonicalIdentifiers(listing.values()),
      pending: pending.list(),
      merging: [],
      mergedFrom: [],
      known: hasUserId(listing.values()),
      createdAt: at,
      createdBy: m,
      updatedAt: at,
      updatedBy: m,
    };
    writes.push({ op: 'insertProfile', profile: survivorNext });
    audit.push(createdAudit(m, at, survivorId, survivorNext.identifiers));
  } else if (survivorChanges || (survivorAnalysis as ProfileAnalysis).dirty) {
    const current = (survivorAnalysis as ProfileAnalysis).profile;
    survivorNext = {
      ...current,
      version: current.version + 1,
      identifiers: canonicalIdentifiers(listing.values()),
      pending: pending.list(),
      merging: dedupeIntents(merging),
      mergedFrom: capHistory(history),
      known: hasUserId(listing.values()),
      updatedAt: at,
      updatedBy: m,
    };
    writes.push({ op: 'replaceProfile', expectedVersion: current.version, profile: survivorNext });
    if (reused) audit.push(createdAudit(m, current.createdAt, survivorId, survivorNext.identifiers));
  }

  // ---- losers -----------------------------------------------------------------------------
  const survivorKnown = survivorAnalysis ? isKnown(survivorAnalysis) : false;
  for (const loser of losers) {
    const current = loser.profile;
    const moved = mergedIdentifiers.get(current._id) as Identifier[];
    writes.push({
      op: 'replaceProfile',
      expectedVersion: current.version,
      profile: {
        ...current,
        status: 'merged',
        version: current.version + 1,
        identifiers: moved,
        pending: [],
        merging: [],
        mergedInto: survivorId,
        mergedAt: at,
        mergedBy: m,
        expiresAt: new Date(nowMs + input.rules.redirectTtlMs).toISOString(),
        updatedAt: at,
        updatedBy: m,
      },
    });
    const linkedBy = joinedBy.get(current._id) as string;
    const survivorReason = survivorKnown && !isKnown(loser) ? 'known profile survives an anonymous one' : 'older profile survives';
    merges.push({ loserId: current._id, survivorId, movedIdentifiers: moved, derived: false });
    notices.push(mergeNotice(survivorId, current._id, `${linkedBy} links both profiles; ${survivorReason}`, m, moved, at));
    audit.push(mergeAudit(m, at, survivorId, current._id, moved, { linkedBy, survivorReason, rederived: false }));
  }

  // ---- move sources -----------------------------------------------------------------------
  const sources = new Map<string, typeof moves>();
  for (const mv of moves) sources.set(mv.from, [...(sources.get(mv.from) ?? []), mv]);
  const sourceCommits: GraphWrite[] = [];
  for (const [sourceId, sourceMoves] of [...sources].sort(([a], [b]) => compareStrings(a, b))) {
    const analysis = analyses.get(sourceId) as ProfileAnalysis;
    const movedKeys = new Set(sourceMoves.map((mv) => mv.candidate.key));
    const released = sourceMoves.map((mv): PendingClaim => ({ kind: 'release', type: mv.candidate.id.type, value: mv.candidate.id.value, messageId: m, at, peer: survivorId }));
    const next = tidied(analysis, at, m, { without: movedKeys, extraPending: released });
    writes.push({ op: 'replaceProfile', expectedVersion: analysis.profile.version, profile: next });
    sourceCommits.push({
      op: 'replaceProfile',
      expectedVersion: next.version,
      profile: { ...next, version: next.version + 1, pending: next.pending.filter((p) => !(p.kind === 'release' && p.messageId === m)) },
    });
  }

  // ---- tidy other involved profiles ---------------------------------------------------------
  const written = new Set<string>([survivorId, ...losers.map((l) => l.profile._id), ...sources.keys()]);
  for (const analysis of [...analyses.values()].sort((a, b) => compareStrings(a.profile._id, b.profile._id))) {
    if (written.has(analysis.profile._id)) continue;
    if (leftovers.includes(analysis)) {
      // Created by an earlier attempt, holds nothing, not reused: nobody ever heard of it;
      // retire it as a redirect to the event's profile rather than leave an empty profile.
      const current = analysis.profile;
      writes.push({
        op: 'replaceProfile',
        expectedVersion: current.version,
        profile: { ...current, status: 'merged', version: current.version + 1, identifiers: [], pending: [], merging: [], mergedInto: survivorId, mergedAt: at, mergedBy: m, expiresAt: new Date(nowMs + input.rules.redirectTtlMs).toISOString(), updatedAt: at, updatedBy: m },
      });
      continue;
    }
    if (!analysis.dirty) continue;
    writes.push({ op: 'replaceProfile', expectedVersion: analysis.profile.version, profile: tidied(analysis, at, m, {}) });
  }

  // ---- identity documents ---------------------------------------------------------------------
  const pointerWrites: GraphWrite[] = [];
  for (const c of attach) {
    if (c.ownership.state === 'dangling') {
      const record = c.ownership.record;
      pointerWrites.push({ op: 'replaceIdentifier', expectedVersion: record.version, identifier: { ...record, profileId: survivorId, version: record.version + 1, updatedAt: at, updatedBy: m } });
    } else {
      pointerWrites.push({ op: 'insertIdentifier', identifier: newIdentifierRecord(c.id, survivorId, at, m) });
    }
  }
  for (const mv of moves) {
    const record = (mv.candidate.ownership as Extract<Ownership, { state: 'owned' }>).record;
    pointerWrites.push({
      op: 'replaceIdentifier',
      expectedVersion: record.version,
      identifier: { ...record, profileId: survivorId, version: record.version + 1, movedFrom: mv.from, movedBy: m, updatedAt: at, updatedBy: m },
    });
    const rule = `limit:${mv.violation.type}`;
    audit.push(movedAudit(m, at, mv.candidate.id, mv.from, survivorId, rule, { anchor: anchorInfo(anchor), priority: mv.candidate.priority, violation: mv.violation }));
    audit.push(refusedAudit(m, at, survivorId, mv.candidate.id, rule, { ownerProfileId: mv.from, violation: mv.violation, outcome: 'moved' }));
  }
  pointerWrites.sort((a, b) => compareStrings(writeKey(a), writeKey(b)));
  writes.push(...pointerWrites);

  // ---- best-effort tidying: pointers and redirects --------------------------------------------
  const loserIds = new Set(losers.map((l) => l.profile._id));
  const finalOwner = (owner: string): string => (loserIds.has(owner) ? survivorId : owner);
  const repoints = new Map<string, GraphWrite>();
  const movedKeys = new Set(moves.map((mv) => mv.candidate.key));
  for (const c of candidates) {
    if (c.ownership.state !== 'owned' || movedKeys.has(c.key)) continue;
    const target = finalOwner(c.ownership.ownerId);
    if (c.ownership.record.profileId !== target) {
      repoints.set(c.key, { op: 'repointIdentifier', key: c.key, fromProfileId: c.ownership.record.profileId, toProfileId: target, at, by: m });
    }
  }
  for (const loser of losers) {
    for (const id of mergedIdentifiers.get(loser.profile._id) as Identifier[]) {
      const key = identifierKey(id);
      if (!repoints.has(key) && !movedKeys.has(key)) {
        repoints.set(key, { op: 'repointIdentifier', key, fromProfileId: loser.profile._id, toProfileId: survivorId, at, by: m });
      }
    }
  }
  const retargets = new Map<string, GraphWrite>();
  const retarget = (profileId: string, to: string): void => {
    const profile = view.profiles.get(profileId);
    const from = profile?.mergedInto;
    if (profile === undefined || profile.status !== 'merged' || from === undefined || from === to || profileId === to) return;
    retargets.set(profileId, { op: 'retargetRedirect', profileId, fromMergedInto: from, toMergedInto: to, at, by: m });
  };
  for (const c of candidates) {
    if (c.ownership.state !== 'owned') continue;
    for (const id of c.ownership.path.slice(0, -1)) retarget(id, finalOwner(c.ownership.ownerId));
  }
  for (const analysis of analyses.values()) {
    const owner = finalOwner(analysis.profile._id);
    for (const entry of [...analysis.profile.mergedFrom, ...analysis.confirmed]) {
      const target = view.profiles.get(entry.profileId);
      if (target) retarget(entry.profileId, owner);
      else if (loserIds.has(analysis.profile._id)) {
        // Not loaded: we only know it pointed at the loser.
        retargets.set(entry.profileId, { op: 'retargetRedirect', profileId: entry.profileId, fromMergedInto: analysis.profile._id, toMergedInto: owner, at, by: m });
      }
    }
  }
  writes.push(...[...repoints.values()].sort((a, b) => compareStrings(writeKey(a), writeKey(b))));
  writes.push(...[...retargets.values()].sort((a, b) => compareStrings(writeKey(a), writeKey(b))));

  // ---- commits ------------------------------------------------------------------------------
  writes.push(...sourceCommits);
  if (survivorNext && (survivorNext.pending.some((p) => p.messageId === m) || survivorNext.merging.some((i) => i.messageId === m))) {
    const own = survivorNext.merging.filter((i) => i.messageId === m);
    const committed: ProfileRecord = {
      ...survivorNext,
      version: survivorNext.version + 1,
      pending: survivorNext.pending.filter((p) => !(p.kind === 'acquire' && p.messageId === m)),
      merging: survivorNext.merging.filter((i) => i.messageId !== m),
      mergedFrom: capHistory([...survivorNext.mergedFrom, ...own.map((i) => ({ profileId: i.profileId, messageId: i.messageId, at: i.at }))]),
    };
    writes.push({ op: 'replaceProfile', expectedVersion: survivorNext.version, profile: committed });
  }

  // ---- refusals -----------------------------------------------------------------------------
  for (const r of refused) {
    audit.push(refusedAudit(m, at, survivorId, r.identifier, r.rule, { ownerProfileId: r.ownerProfileId ?? null, violation: r.violation, outcome: r.reason === 'merge-refused' ? 'kept' : 'dropped', anchor: anchorInfo(anchor) }));
  }

  const attachIds = canonicalIdentifiers(attach.map((c) => c.id));
  return {
    messageId: m,
    profileId: survivorId,
    identifiers: accepted.map((c) => ({ type: c.id.type, value: c.id.value })),
    writes,
    creates: isNew || reused ? [{ profileId: survivorId, identifiers: canonicalIdentifiers(listing.values()) }] : [],
    attaches: !isNew && !reused && attachIds.length > 0 ? [{ profileId: survivorId, identifiers: attachIds }] : [],
    merges,
    moves: moves.map((mv) => ({ identifier: mv.candidate.id, fromProfileId: mv.from, toProfileId: survivorId, rule: `limit:${mv.violation.type}` })),
    refused,
    audit: dedupeAudit(audit),
    notices,
  };
}

// ---------------------------------------------------------------------------------------------

function collectCandidates(extraction: ExtractedIdentifiers, view: GraphView, compiled: CompiledRules): Candidate[] {
  const byKey = new Map<string, Candidate>();
  const add = (id: Identifier): void => {
    const key = identifierKey(id);
    if (!byKey.has(key)) byKey.set(key, { id: { type: id.type, value: id.value }, key, priority: compiled.ruleFor(id.type).priority, ownership: ownershipOf(view, key) });
  };
  for (const id of extraction.identifiers) add(id);
  for (const alias of extraction.aliases) {
    const owned = alias.candidates.find((c) => ownershipOf(view, identifierKey(c)).state === 'owned');
    const pick = owned ?? alias.candidates.find((c) => c.type === 'anonymousId') ?? alias.candidates[0];
    if (pick) add(pick);
  }
  return [...byKey.values()].sort((a, b) => a.priority - b.priority || compareStrings(a.id.type, b.id.type) || compareStrings(a.id.value, b.id.value));
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

class ClaimSet {
  private readonly claims = new Map<string, PendingClaim>();
  add(claim: PendingClaim): void {
    this.claims.set(`${claim.kind}|${claim.messageId}|${identifierKey(claim)}`, claim);
  }
  list(): PendingClaim[] {
    return [...this.claims.values()];
  }
}

/** The profile rewritten from its analysis (leftovers dropped, committed claims promoted). */
function tidied(analysis: ProfileAnalysis, at: string, m: string, options: { without?: Set<string>; extraPending?: PendingClaim[] }): ProfileRecord {
  const listing = new Map<string, Identifier>();
  const pending = new ClaimSet();
  for (const [key, id] of analysis.members) if (!options.without?.has(key)) listing.set(key, id);
  for (const [key, claims] of analysis.reserved) {
    listing.set(key, asIdentifier(claims));
    for (const claim of claims) pending.add(claim);
  }
  for (const claims of analysis.releasing.values()) for (const claim of claims) pending.add(claim);
  for (const claim of options.extraPending ?? []) pending.add(claim);
  const current = analysis.profile;
  return {
    ...current,
    version: current.version + 1,
    identifiers: canonicalIdentifiers(listing.values()),
    pending: pending.list(),
    merging: dedupeIntents(analysis.intents),
    mergedFrom: capHistory([...current.mergedFrom, ...analysis.confirmed]),
    known: hasUserId(listing.values()),
    updatedAt: at,
    updatedBy: m,
  };
}

function asIdentifier(claims: PendingClaim[]): Identifier {
  const claim = claims[0] as PendingClaim;
  return { type: claim.type, value: claim.value };
}

function newIdentifierRecord(id: Identifier, profileId: string, at: string, m: string): IdentifierRecord {
  return { _id: identifierKey(id), type: id.type, value: id.value, profileId, version: 1, createdAt: at, updatedAt: at, updatedBy: m };
}

function hasUserId(ids: Iterable<Identifier>): boolean {
  for (const id of ids) if (id.type === 'userId') return true;
  return false;
}

function dedupeIntents(intents: MergeIntent[]): MergeIntent[] {
  const byId = new Map<string, MergeIntent>();
  for (const intent of intents) byId.set(`${intent.profileId}|${intent.messageId}`, intent);
  return [...byId.values()];
}

function capHistory(entries: MergeHistoryEntry[]): MergeHistoryEntry[] {
  const byId = new Map<string, MergeHistoryEntry>();
  for (const entry of entries) if (!byId.has(entry.profileId)) byId.set(entry.profileId, entry);
  const list = [...byId.values()];
  return list.length > MERGE_HISTORY_LIMIT ? list.slice(list.length - MERGE_HISTORY_LIMIT) : list;
}

function dedupeAudit(records: AuditRecord[]): AuditRecord[] {
  const byId = new Map<string, AuditRecord>();
  for (const record of records) if (!byId.has(record.id)) byId.set(record.id, record);
  return [...byId.values()];
}

function writeKey(write: GraphWrite): string {
  switch (write.op) {
    case 'insertIdentifier':
    case 'replaceIdentifier':
      return write.identifier._id;
    case 'repointIdentifier':
      return write.key;
    case 'retargetRedirect':
      return write.profileId;
    default:
      return write.profile._id;
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function anchorInfo(anchor: Candidate | undefined): Record<string, unknown> | null {
  return anchor ? { identifier: anchor.key, priority: anchor.priority } : null;
}

export function mergeNotice(survivorId: string, loserId: string, reason: string, m: string, moved: Identifier[], at: string): MergeNoticePayload {
  return { kind: 'merge', survivorId, loserId, reason, triggeringMessageId: m, movedIdentifiers: moved.map((id) => ({ type: id.type, value: id.value })), at };
}

function mergeAudit(m: string, at: string, survivorId: string, loserId: string, moved: Identifier[], extra: Record<string, unknown>): AuditRecord {
  return { id: `${m}:merge:${loserId}`, kind: 'merge', at, triggeringMessageId: m, rule: 'shared-identifier', profileId: survivorId, details: { survivorId, loserId, movedIdentifiers: moved, ...extra } };
}

function createdAudit(m: string, at: string, profileId: string, identifiers: Identifier[]): AuditRecord {
  return { id: `${m}:created:${profileId}`, kind: 'created', at, triggeringMessageId: m, rule: 'new-identifiers', profileId, details: { identifiers } };
}

function movedAudit(m: string, at: string, id: Identifier, from: string, to: string, rule: string, extra: Record<string, unknown>): AuditRecord {
  return { id: `${m}:moved:${identifierKey(id)}`, kind: 'moved', at, triggeringMessageId: m, rule, profileId: to, details: { identifier: id, fromProfileId: from, toProfileId: to, ...extra } };
}

function refusedAudit(m: string, at: string, profileId: string, id: Identifier, rule: string, extra: Record<string, unknown>): AuditRecord {
  return { id: `${m}:refused:${identifierKey(id)}`, kind: 'refused', at, triggeringMessageId: m, rule, profileId, details: { identifier: id, ...extra } };
}

/** The live profile an identifier resolves to in a view, if any (admin lookups). */
export function profileForIdentifier(view: GraphView, id: Identifier): string | undefined {
  const record = view.identifiers.get(identifierKey(id));
  if (!record) return undefined;
  const resolved = resolveProfile(view, record.profileId);
  return resolved.state === 'live' ? resolved.profile._id : undefined;
}
