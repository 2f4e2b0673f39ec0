/**
 * Merge writes of a resolution plan (planner.ts, writes 1 and 2): the survivor's document,
 * listing everything it gains as reservations, then each loser turned into a redirect.
 */
import { canonicalIdentifiers, type Identifier } from './identifier';
import { isKnown, type ProfileAnalysis } from './graph-view';
import { newProfileRecord, type MergeHistoryEntry, type MergeIntent, type PendingClaim, type ProfileRecord } from './model';
import type { PlanContext } from './plan-context';
import { asIdentifier, capHistory, ClaimSet, createdAudit, dedupeIntents, hasUserId, mergeAudit, mergeNotice, redirected } from './plan-records';

/** What the survivor will hold, gathered from itself, the losers, and the attached and moved identifiers. */
interface SurvivorHoldings {
  listing: Map<string, Identifier>;
  pending: ClaimSet;
  merging: MergeIntent[];
  history: MergeHistoryEntry[];
  /** Loser → the identifiers it hands over (its listing as a redirect). */
  mergedIdentifiers: Map<string, Identifier[]>;
}

export interface SurvivorDocument {
  listing: Map<string, Identifier>;
  mergedIdentifiers: Map<string, Identifier[]>;
  /** The survivor as written (undefined when it needs no write). */
  next: ProfileRecord | undefined;
}

/** Write 1: the survivor, inserted or replaced at its version, gains as `pending: acquire`, a merge intent per loser. */
export function writeSurvivor(ctx: PlanContext): SurvivorDocument {
  const { messageId: m, at, cast, decision } = ctx;
  const { survivorAnalysis, survivorId, isNew } = cast;
  const holdings = gatherHoldings(ctx);
  const { listing, pending } = holdings;
  const survivorChanges = isNew || cast.losers.length > 0 || decision.attach.length > 0 || decision.moves.length > 0;
  let next: ProfileRecord | undefined;
  if (isNew) {
    next = newProfileRecord(survivorId, at, m, {
      identifiers: canonicalIdentifiers(listing.values()),
      pending: pending.list(),
      known: hasUserId(listing.values()),
    });
    ctx.writes.push({ op: 'insertProfile', profile: next });
    ctx.audit.push(createdAudit(m, at, survivorId, next.identifiers));
  } else if (survivorChanges || (survivorAnalysis as ProfileAnalysis).dirty) {
    const current = (survivorAnalysis as ProfileAnalysis).profile;
    next = {
      ...current,
      version: current.version + 1,
      identifiers: canonicalIdentifiers(listing.values()),
      pending: pending.list(),
      merging: dedupeIntents(holdings.merging),
      mergedFrom: capHistory(holdings.history),
      known: hasUserId(listing.values()),
      updatedAt: at,
      updatedBy: m,
    };
    ctx.writes.push({ op: 'replaceProfile', expectedVersion: current.version, profile: next });
    if (cast.reused) ctx.audit.push(createdAudit(m, current.createdAt, survivorId, next.identifiers));
  }
  return { listing, mergedIdentifiers: holdings.mergedIdentifiers, next };
}

function gatherHoldings({ messageId: m, at, cast, decision }: PlanContext): SurvivorHoldings {
  const acquire = (id: Identifier, peer?: string): PendingClaim => ({
    kind: 'acquire',
    type: id.type,
    value: id.value,
    messageId: m,
    at,
    ...(peer === undefined ? {} : { peer }),
  });
  const holdings: SurvivorHoldings = { listing: new Map(), pending: new ClaimSet(), merging: [], history: [], mergedIdentifiers: new Map() };
  const { listing, pending } = holdings;
  const survivor = cast.survivorAnalysis;
  if (survivor) {
    for (const [key, id] of survivor.members) listing.set(key, id);
    for (const [key, claims] of survivor.reserved) {
      listing.set(key, asIdentifier(claims));
      for (const claim of claims) pending.add(claim);
    }
    for (const claims of survivor.releasing.values()) for (const claim of claims) pending.add(claim);
    holdings.merging.push(...survivor.intents);
    holdings.history.push(...survivor.profile.mergedFrom, ...survivor.confirmed);
  }
  for (const loser of cast.losers) takeOver(holdings, loser, acquire, { profileId: loser.profile._id, messageId: m, at });
  for (const c of decision.attach) {
    listing.set(c.key, c.id);
    pending.add(acquire(c.id));
  }
  for (const mv of decision.moves) {
    listing.set(mv.candidate.key, mv.candidate.id);
    pending.add(acquire(mv.candidate.id, mv.from));
  }
  return holdings;
}

/** A loser's members become the survivor's acquisitions; its reservations, releases, intents and history carry over. */
function takeOver(holdings: SurvivorHoldings, loser: ProfileAnalysis, acquire: (id: Identifier, peer?: string) => PendingClaim, intent: MergeIntent): void {
  const { listing, pending } = holdings;
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
  holdings.merging.push(...loser.intents, intent);
  holdings.history.push(...loser.profile.mergedFrom, ...loser.confirmed);
  holdings.mergedIdentifiers.set(loser.profile._id, canonicalIdentifiers(moved.values()));
}

/**
 * Write 2: each loser replaced at the version planned against, `status: merged` — the moment
 * the merge happens (its identifiers now resolve to the survivor through the redirect); the
 * version check guarantees the loser did not change since planning.
 */
export function writeLosers(ctx: PlanContext, mergedIdentifiers: Map<string, Identifier[]>): void {
  const { messageId: m, at, cast } = ctx;
  const { survivorId } = cast;
  const survivorKnown = cast.survivorAnalysis ? isKnown(cast.survivorAnalysis) : false;
  const expiresAt = new Date(ctx.nowMs + ctx.rules.redirectTtlMs).toISOString();
  for (const loser of cast.losers) {
    const current = loser.profile;
    const moved = mergedIdentifiers.get(current._id) as Identifier[];
    ctx.writes.push({ op: 'replaceProfile', expectedVersion: current.version, profile: redirected(current, moved, survivorId, at, m, expiresAt) });
    const linkedBy = ctx.decision.joinedBy.get(current._id) as string;
    const survivorReason = survivorKnown && !isKnown(loser) ? 'known profile survives an anonymous one' : 'older profile survives';
    ctx.merges.push({ loserId: current._id, survivorId, movedIdentifiers: moved, derived: false });
    ctx.notices.push(mergeNotice(survivorId, current._id, `${linkedBy} links both profiles; ${survivorReason}`, m, moved, at));
    ctx.audit.push(mergeAudit(m, at, survivorId, current._id, moved, { linkedBy, survivorReason, rederived: false }));
  }
}
