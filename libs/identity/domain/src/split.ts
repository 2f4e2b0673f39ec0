/**
 * Split (unmerge, issue 4 §3): a new profile takes the named identifiers of a live profile.
 *
 * Validation (errors by path): the profile exists and is live (a merged profile: split its
 * survivor); at least one identifier, valid and without duplicates; each must belong to the
 * profile; at least one identifier must stay (splitting off everything is a rename, not a
 * split); no other operation may be in progress on the profile (retry later).
 *
 * Writes, same discipline as resolution (planner.ts): the source unlists the identifiers
 * (release entries naming the new profile); the new profile is inserted with them as pending
 * acquisitions; each identity document is compare-and-set to the new profile (`movedFrom`,
 * `movedBy` = the operation id); then both profiles are committed. A split re-planned after a conflict or a
 * crash continues into the profile the first attempt created (`splitFrom.operationId`), and a
 * split that already completed is reported again with no writes (idempotent per operation id).
 *
 * The old profile keeps its history; downstream re-attributes events by the identifiers
 * they carried (the `SplitNotice`). Nothing stops a later event that carries identifiers of
 * both profiles from merging them again under the rules: block the value that caused the
 * wrong merge (rules) if it is not a person's identifier.
 */
import { applyPlan } from './apply';
import { canonicalIdentifiers, identifierKey, isValidIdentifierType, type Identifier } from './identifier';
import { analyseProfile, ownershipOf, resolveProfile, type Ownership, type ProfileAnalysis } from './graph-view';
import { loadProfileView } from './loader';
import { newProfileRecord, type AuditRecord, type GraphView, type GraphWrite, type PendingClaim, type ProfileRecord, type SplitNoticePayload } from './model';
import type { IdentityGraphStore, ProcessedMessageStore } from './ports';
import type { IdentityRules, RuleError } from './rules';

export interface SplitRequest {
  profileId: string;
  identifiers: Identifier[];
  reason: string;
  /** Unique per admin request (e.g. `split:<uuid>`); the audit's triggering id; makes retries idempotent. */
  operationId: string;
}

export interface PlanSplitInput extends SplitRequest {
  view: GraphView;
  rules: IdentityRules;
  now: Date;
  newProfileId: () => string;
}

export interface SplitPlan {
  operationId: string;
  fromProfileId: string;
  newProfileId: string;
  identifiers: Identifier[];
  writes: GraphWrite[];
  audit: AuditRecord[];
  notice: SplitNoticePayload;
  /** The split had already been applied (re-sent request): nothing to write. */
  alreadyApplied: boolean;
}

export type SplitPlanResult = { ok: true; plan: SplitPlan } | { ok: false; errors: RuleError[] };

export function planSplit(input: PlanSplitInput): SplitPlanResult {
  const { requested, seen, errors } = validateRequest(input);
  const profile = input.view.profiles.get(input.profileId);
  const profileError = profile ? mergedProfileError(input.view, profile) : { path: 'profileId', message: 'profile not found' };
  if (profileError) return { ok: false, errors: [...errors, profileError] };
  if (errors.length > 0 || !profile) return { ok: false, errors };

  const analysis = analyseProfile(input.view, profile, {
    messageId: input.operationId,
    nowMs: input.now.getTime(),
    pendingClaimTtlMs: input.rules.pendingClaimTtlMs,
  });
  if (analysis.reserved.size > 0 || analysis.releasing.size > 0 || analysis.intents.length > 0) {
    return { ok: false, errors: [{ path: 'profileId', message: 'another operation is in progress on this profile: retry shortly' }] };
  }
  const attempt = previousAttempt(input, profile, requested);
  const selection = identifiersToMove(input.view, analysis, requested, seen, attempt.done);
  if (!selection.ok) return selection;
  const { toMove } = selection;

  const ctx: SplitContext = {
    op: input.operationId,
    at: input.now.toISOString(),
    view: input.view,
    profile,
    analysis,
    target: attempt.target,
    newProfileId: attempt.targetId ?? input.newProfileId(),
    toMove,
  };
  const identifiers = canonicalIdentifiers(requested);
  const notice: SplitNoticePayload = {
    kind: 'split',
    fromProfileId: profile._id,
    newProfileId: ctx.newProfileId,
    identifiers,
    reason: input.reason,
    at: ctx.target?.splitFrom?.at ?? ctx.at,
  };
  const audit = splitAudit(ctx, notice);
  const alreadyApplied = toMove.length === 0 && !analysis.dirty && ctx.target !== undefined && !ctx.target.pending.some((p) => p.messageId === ctx.op);
  const writes = alreadyApplied ? [] : splitWrites(ctx);
  return {
    ok: true,
    plan: { operationId: ctx.op, fromProfileId: profile._id, newProfileId: ctx.newProfileId, identifiers, writes, audit, notice, alreadyApplied },
  };
}

/** What the steps of a split plan share once the request is valid. */
interface SplitContext {
  op: string;
  at: string;
  view: GraphView;
  /** The live profile split. */
  profile: ProfileRecord;
  analysis: ProfileAnalysis;
  /** The new profile of a previous attempt of this operation, if any. */
  target: ProfileRecord | undefined;
  newProfileId: string;
  /** The identifiers still to move (a previous attempt may have moved some). */
  toMove: Identifier[];
}

/** The requested identifiers (valid, de-duplicated) and the request's errors by path. */
function validateRequest(input: PlanSplitInput): { requested: Identifier[]; seen: Set<string>; errors: RuleError[] } {
  const errors: RuleError[] = [];
  if (!Array.isArray(input.identifiers) || input.identifiers.length === 0) {
    errors.push({ path: 'identifiers', message: 'name at least one identifier to split off' });
  }
  const requested: Identifier[] = [];
  const seen = new Set<string>();
  (input.identifiers ?? []).forEach((id, i) => {
    if (typeof id?.type !== 'string' || !isValidIdentifierType(id.type)) {
      errors.push({ path: `identifiers[${i}].type`, message: 'unknown identifier type' });
      return;
    }
    if (typeof id.value !== 'string' || id.value.trim() === '') {
      errors.push({ path: `identifiers[${i}].value`, message: 'must be a non-empty string' });
      return;
    }
    const key = identifierKey(id);
    if (seen.has(key)) {
      errors.push({ path: `identifiers[${i}]`, message: `duplicate identifier ${key}` });
      return;
    }
    seen.add(key);
    requested.push({ type: id.type, value: id.value });
  });
  if (typeof input.reason !== 'string' || input.reason.trim() === '')
    errors.push({ path: 'reason', message: 'say why (it goes into the audit and the notice)' });
  return { requested, seen, errors };
}

/** A merged profile cannot be split: its survivor can. */
function mergedProfileError(view: GraphView, profile: ProfileRecord): RuleError | undefined {
  if (profile.status !== 'merged') return undefined;
  const resolved = resolveProfile(view, profile._id);
  const survivor = resolved.state === 'live' ? resolved.profile._id : profile.mergedInto;
  return { path: 'profileId', message: `profile was merged into ${survivor}: split that profile` };
}

/**
 * A previous attempt of this operation: its new profile is named by the source's release
 * entries (written first) or owns identifiers already moved.
 */
function previousAttempt(
  input: PlanSplitInput,
  profile: ProfileRecord,
  requested: Identifier[],
): { target: ProfileRecord | undefined; targetId: string | undefined; done: Set<string> } {
  const { view, operationId: op } = input;
  let targetId = profile.pending.find((c) => c.kind === 'release' && c.messageId === op && c.peer !== undefined)?.peer;
  const done = new Set<string>();
  for (const id of requested) {
    const ownership = ownershipOf(view, identifierKey(id));
    if (ownership.state !== 'owned') continue;
    const owner = view.profiles.get(ownership.ownerId) as ProfileRecord;
    if (owner.splitFrom?.operationId === op && owner.splitFrom.profileId === profile._id) {
      targetId = owner._id;
      done.add(identifierKey(id));
    }
  }
  return { target: targetId === undefined ? undefined : view.profiles.get(targetId), targetId, done };
}

/** The requested identifiers not moved yet; each must belong to the profile, and one must stay. */
function identifiersToMove(
  view: GraphView,
  analysis: ProfileAnalysis,
  requested: Identifier[],
  seen: Set<string>,
  done: Set<string>,
): { ok: true; toMove: Identifier[] } | { ok: false; errors: RuleError[] } {
  const profile = analysis.profile;
  const errors: RuleError[] = [];
  const toMove: Identifier[] = [];
  requested.forEach((id, i) => {
    const key = identifierKey(id);
    if (done.has(key)) return;
    const ownership = ownershipOf(view, key);
    if (!analysis.members.has(key) || ownership.state !== 'owned' || ownership.ownerId !== profile._id) {
      errors.push({ path: `identifiers[${i}]`, message: `${key} does not belong to profile ${profile._id}` });
      return;
    }
    toMove.push(id);
  });
  const remaining = [...analysis.members.keys()].filter((key) => !seen.has(key));
  if (errors.length === 0 && remaining.length === 0) {
    errors.push({ path: 'identifiers', message: 'cannot split off every identifier of a profile: at least one must stay' });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, toMove };
}

function splitAudit({ op, profile, newProfileId }: SplitContext, notice: SplitNoticePayload): AuditRecord[] {
  const { identifiers, reason } = notice;
  return [
    {
      id: `${op}:split:${profile._id}`,
      kind: 'split',
      at: notice.at,
      triggeringMessageId: op,
      rule: 'admin-split',
      profileId: profile._id,
      details: { fromProfileId: profile._id, newProfileId, identifiers, reason },
    },
    {
      id: `${op}:created:${newProfileId}`,
      kind: 'created',
      at: notice.at,
      triggeringMessageId: op,
      rule: 'admin-split',
      profileId: newProfileId,
      details: { identifiers, splitFrom: profile._id },
    },
  ];
}

/** The source unlists, the new profile acquires, the identity documents move, then both profiles commit. */
function splitWrites(ctx: SplitContext): GraphWrite[] {
  const { op, at, profile, analysis, toMove, newProfileId } = ctx;
  const writes: GraphWrite[] = [];
  const movedKeys = new Set(toMove.map(identifierKey));
  const keep = [...analysis.members].filter(([key]) => !movedKeys.has(key)).map(([, id]) => id);
  const sourceNext: ProfileRecord = {
    ...profile,
    version: profile.version + 1,
    identifiers: canonicalIdentifiers(keep),
    pending: toMove.map((id): PendingClaim => ({ kind: 'release', type: id.type, value: id.value, messageId: op, at, peer: newProfileId })),
    merging: [],
    mergedFrom: [...profile.mergedFrom, ...analysis.confirmed],
    known: keep.some((id) => id.type === 'userId'),
    updatedAt: at,
    updatedBy: op,
  };
  // The source first: from then on a retry finds the new profile's id in its release entries.
  writes.push({ op: 'replaceProfile', expectedVersion: profile.version, profile: sourceNext });
  const targetNext = writeTarget(ctx, writes);
  for (const id of toMove) {
    const record = (ownershipOf(ctx.view, identifierKey(id)) as Extract<Ownership, { state: 'owned' }>).record;
    writes.push({
      op: 'replaceIdentifier',
      expectedVersion: record.version,
      identifier: { ...record, profileId: newProfileId, version: record.version + 1, movedFrom: profile._id, movedBy: op, updatedAt: at, updatedBy: op },
    });
  }
  writes.push({ op: 'replaceProfile', expectedVersion: sourceNext.version, profile: { ...sourceNext, version: sourceNext.version + 1, pending: [] } });
  writes.push({
    op: 'replaceProfile',
    expectedVersion: targetNext.version,
    profile: { ...targetNext, version: targetNext.version + 1, pending: targetNext.pending.filter((p) => p.messageId !== op) },
  });
  return writes;
}

/** The new profile: inserted, or (a previous attempt's) replaced, with the moved identifiers as acquisitions. */
function writeTarget({ op, at, profile, target, toMove, newProfileId }: SplitContext, writes: GraphWrite[]): ProfileRecord {
  const acquire = (id: Identifier): PendingClaim => ({ kind: 'acquire', type: id.type, value: id.value, messageId: op, at, peer: profile._id });
  let targetNext: ProfileRecord;
  if (target) {
    const listing = canonicalIdentifiers([...target.identifiers, ...toMove]);
    targetNext = {
      ...target,
      version: target.version + 1,
      identifiers: listing,
      pending: [...target.pending.filter((p) => p.messageId !== op), ...toMove.map((id) => acquire(id))],
      known: listing.some((id) => id.type === 'userId'),
      updatedAt: at,
      updatedBy: op,
    };
    writes.push({ op: 'replaceProfile', expectedVersion: target.version, profile: targetNext });
  } else {
    const listing = canonicalIdentifiers(toMove);
    targetNext = newProfileRecord(newProfileId, at, op, {
      identifiers: listing,
      pending: toMove.map((id) => acquire(id)),
      known: listing.some((id) => id.type === 'userId'),
      splitFrom: { profileId: profile._id, operationId: op, at },
    });
    writes.push({ op: 'insertProfile', profile: targetNext });
  }
  return targetNext;
}

export interface SplitDeps {
  rules: IdentityRules;
  now: () => Date;
  newProfileId: () => string;
  maxAttempts?: number;
}

export type SplitOutcome = { ok: true; plan: SplitPlan; attempts: number } | { ok: false; errors: RuleError[]; attempts: number };

/** Load → plan → apply, re-planning on conflicts. The caller stores `plan.audit` and produces `plan.notice`. */
export async function splitProfile(
  store: IdentityGraphStore & Partial<Pick<ProcessedMessageStore, 'getProcessed'>>,
  request: SplitRequest,
  deps: SplitDeps,
): Promise<SplitOutcome> {
  const maxAttempts = deps.maxAttempts ?? 10;
  const extraKeys = Array.isArray(request.identifiers)
    ? request.identifiers.filter((id) => typeof id?.type === 'string' && typeof id.value === 'string').map(identifierKey)
    : [];
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    const base = await loadProfileView(store, request.profileId);
    const view = await withIdentifiers(store, base, extraKeys);
    const result = planSplit({ ...request, view, rules: deps.rules, now: deps.now(), newProfileId: deps.newProfileId });
    if (!result.ok) return { ok: false, errors: result.errors, attempts: attempt };
    const applied = await applyPlan(store, result.plan);
    if (applied.status === 'applied') return { ok: true, plan: result.plan, attempts: attempt };
  }
  return { ok: false, errors: [{ path: 'profileId', message: `still conflicting after ${maxAttempts} attempts: retry` }], attempts: maxAttempts };
}

async function withIdentifiers(
  store: IdentityGraphStore & Partial<Pick<ProcessedMessageStore, 'getProcessed'>>,
  view: GraphView,
  keys: string[],
): Promise<GraphView> {
  const identifiers = new Map(view.identifiers);
  const profiles = new Map(view.profiles);
  for (const record of await store.getIdentifiers(keys.filter((k) => !identifiers.has(k)))) identifiers.set(record._id, record);
  let frontier = [...new Set([...identifiers.values()].map((r) => r.profileId))].filter((id) => !profiles.has(id));
  for (let round = 0; frontier.length > 0 && round < 32; round += 1) {
    const found = await store.getProfiles(frontier);
    for (const p of found) profiles.set(p._id, p);
    frontier = found.filter((p) => p.status === 'merged' && p.mergedInto !== undefined && !profiles.has(p.mergedInto)).map((p) => p.mergedInto as string);
  }
  // Leftovers of messages that completed do not count as operations in progress.
  const completedMessages = new Set<string>();
  if (store.getProcessed) {
    const getProcessed = store.getProcessed.bind(store);
    const ids = new Set([...profiles.values()].flatMap((p) => [...p.pending.map((c) => c.messageId), ...p.merging.map((i) => i.messageId)]));
    for (const id of ids) if ((await getProcessed(id)) !== null) completedMessages.add(id);
  }
  return { identifiers, profiles, completedMessages };
}
