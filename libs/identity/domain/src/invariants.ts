/**
 * Invariants of an identity graph, checked by the domain's property tests and usable by the
 * service's tests against any store snapshot. Returns the violations (empty = fine).
 *
 * Always (also while other plans are half applied):
 * - every identity document leads, through redirects, to a live profile (no cycle, nothing
 *   missing) — so no identifier points at two live profiles, and nothing at none;
 * - every merged profile's redirect chain ends at a live profile;
 * - every live profile owns (by pointer) at most `limit` identifiers of each type — unless
 *   `allowOverLimit` names profiles known to predate a lowered limit;
 * - no identifier is listed as committed (listed, not pending) by two live profiles.
 * Quiescent (no plan in flight), additionally (orphans excepted, see `findOrphanProfiles`):
 * - no pending claim or merge intent is left on any profile;
 * - each live profile lists exactly the identifiers it owns;
 * - redirects point directly at live profiles (`strictRedirects`: no profile merged into a redirect).
 */
import { identifierKey } from './identifier';
import { MAX_REDIRECT_HOPS } from './graph-view';
import type { IdentifierRecord, ProfileRecord } from './model';
import { compileRules, type IdentityRules } from './rules';

export interface InvariantOptions {
  quiescent?: boolean;
  strictRedirects?: boolean;
  /**
   * Messages that completed (processed records): claims and intents they left behind (a
   * crashed attempt, on a profile the re-delivery did not reach) are dead — no plan counts
   * them — and the next write of their profile drops them; quiescent checks ignore them.
   */
  completedMessages?: ReadonlySet<string>;
  /** With `nowMs`: claims older than `rules.pendingClaimTtlMs` are dead too. */
  nowMs?: number;
}

export function checkGraphInvariants(
  state: { identifiers: readonly IdentifierRecord[]; profiles: readonly ProfileRecord[] },
  rules: IdentityRules,
  options: InvariantOptions = {},
): string[] {
  const compiled = compileRules(rules);
  const violations: string[] = [];
  const profiles = new Map(state.profiles.map((p) => [p._id, p]));
  const liveEnd = (id: string): string | undefined => {
    const seen = new Set<string>();
    let current = profiles.get(id);
    while (current && current.status === 'merged') {
      if (seen.has(current._id) || seen.size > MAX_REDIRECT_HOPS) return undefined;
      seen.add(current._id);
      current = current.mergedInto === undefined ? undefined : profiles.get(current.mergedInto);
    }
    return current?._id;
  };

  const owned = new Map<string, Map<string, Set<string>>>();
  for (const record of state.identifiers) {
    const owner = liveEnd(record.profileId);
    if (owner === undefined) {
      violations.push(`identifier ${record._id} -> ${record.profileId} does not lead to a live profile`);
      continue;
    }
    if (record._id !== identifierKey(record)) violations.push(`identifier ${record._id} has type/value ${identifierKey(record)}`);
    let byType = owned.get(owner);
    if (!byType) owned.set(owner, (byType = new Map()));
    let keys = byType.get(record.type);
    if (!keys) byType.set(record.type, (keys = new Set()));
    keys.add(record._id);
  }
  for (const profile of state.profiles) {
    if (profile.status !== 'merged') continue;
    const end = liveEnd(profile._id);
    if (end === undefined) violations.push(`merged profile ${profile._id} -> ${profile.mergedInto} does not end at a live profile`);
    if (options.strictRedirects && profiles.get(profile.mergedInto ?? '')?.status !== 'active') {
      violations.push(`merged profile ${profile._id} is merged into a non-live profile ${profile.mergedInto}`);
    }
  }
  for (const [owner, byType] of owned) {
    for (const [type, keys] of byType) {
      const { limit } = compiled.ruleFor(type);
      if (keys.size > limit) violations.push(`profile ${owner} owns ${keys.size} ${type} identifiers (limit ${limit}): ${[...keys].join(', ')}`);
    }
  }
  const orphans = new Set(findOrphanProfiles(state));
  const committedBy = new Map<string, string>();
  const dead = (messageId: string, at: string): boolean =>
    (options.completedMessages?.has(messageId) ?? false) || (options.nowMs !== undefined && Date.parse(at) + rules.pendingClaimTtlMs < options.nowMs);
  for (const profile of state.profiles) {
    if (profile.status === 'merged') continue;
    const pending = new Set(profile.pending.filter((p) => p.kind === 'acquire').map(identifierKey));
    for (const id of profile.identifiers) {
      const key = identifierKey(id);
      if (pending.has(key)) continue;
      const other = committedBy.get(key);
      if (other !== undefined) violations.push(`identifier ${key} is committed on two live profiles: ${other}, ${profile._id}`);
      committedBy.set(key, profile._id);
    }
    if (options.quiescent && !orphans.has(profile._id)) {
      const live = profile.pending.filter((p) => !dead(p.messageId, p.at));
      if (live.length > 0)
        violations.push(`profile ${profile._id} has pending claims left: ${live.map((p) => `${p.kind} ${identifierKey(p)} by ${p.messageId}`).join(', ')}`);
      if (profile.merging.some((i) => !dead(i.messageId, i.at))) violations.push(`profile ${profile._id} has merge intents left`);
      const own = new Set([...(owned.get(profile._id)?.values() ?? [])].flatMap((s) => [...s]));
      // A dead acquire claim is committed if the pointer leads here (the next plan promotes
      // it) and void otherwise (the next plan drops it); a dead release whose pointer still
      // leads here never happened (the next plan lists the identifier again).
      const deadAcquires = new Set(profile.pending.filter((p) => p.kind === 'acquire' && dead(p.messageId, p.at)).map(identifierKey));
      const deadReleases = profile.pending.filter((p) => p.kind === 'release' && dead(p.messageId, p.at)).map(identifierKey);
      const listed = new Set([
        ...profile.identifiers.map(identifierKey).filter((k) => !deadAcquires.has(k) || own.has(k)),
        ...deadReleases.filter((k) => own.has(k)),
      ]);
      const missing = [...own].filter((k) => !listed.has(k));
      const extra = [...listed].filter((k) => !own.has(k));
      if (missing.length > 0 || extra.length > 0) {
        violations.push(`profile ${profile._id} lists ${[...listed].join(',')} but owns ${[...own].join(',')}`);
      }
      if (deadAcquires.size === 0 && deadReleases.length === 0 && profile.known !== profile.identifiers.some((id) => id.type === 'userId'))
        violations.push(`profile ${profile._id} has a wrong known flag`);
    }
  }
  return violations;
}

/**
 * Live profiles nothing leads to and that hold nothing committed: left by a create whose
 * process crashed after inserting the profile and before its first identity document (the
 * re-delivery creates another; within one process a re-plan reuses it). Unreachable, so they
 * never receive an event and nobody downstream ever heard of them; a periodic sweep may
 * delete those older than `pendingClaimTtlMs` (`identities.find({profileId})` empty).
 */
export function findOrphanProfiles(state: { identifiers: readonly IdentifierRecord[]; profiles: readonly ProfileRecord[] }): string[] {
  const profiles = new Map(state.profiles.map((p) => [p._id, p]));
  const reached = new Set<string>();
  for (const record of state.identifiers) {
    let current = profiles.get(record.profileId);
    for (let hops = 0; current && hops <= MAX_REDIRECT_HOPS; hops += 1) {
      reached.add(current._id);
      current = current.status === 'merged' && current.mergedInto !== undefined ? profiles.get(current.mergedInto) : undefined;
    }
  }
  return state.profiles
    .filter((p) => p.status === 'active' && !reached.has(p._id) && p.mergedFrom.length === 0)
    .filter((p) => {
      const acquiring = new Set(p.pending.filter((c) => c.kind === 'acquire').map(identifierKey));
      return p.pending.every((c) => c.kind === 'acquire') && p.identifiers.every((id) => acquiring.has(identifierKey(id)));
    })
    .map((p) => p._id);
}
