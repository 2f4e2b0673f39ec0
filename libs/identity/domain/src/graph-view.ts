/**
 * Reading a `GraphView`: who owns an identifier (pointer, then redirects), and what a live
 * profile really holds once the reservations of half-applied plans are classified.
 */
import { identifierKey, type Identifier } from './identifier';
import type { GraphView, IdentifierRecord, MergeHistoryEntry, MergeIntent, PendingClaim, ProfileRecord } from './model';

/** Longest redirect chain followed before the graph is declared corrupt. */
export const MAX_REDIRECT_HOPS = 32;

export class GraphCorruptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphCorruptionError';
  }
}

export type ProfileResolution =
  /** `path`: the profiles visited, from the one asked for to the live one (inclusive). */
  | { state: 'live'; profile: ProfileRecord; path: string[] }
  /** A profile on the chain is not in the view (expired redirect, never created). */
  | { state: 'missing'; missingId: string; path: string[] };

/** Follows `mergedInto` from `profileId` to a live profile. Throws on a cycle or a too-long chain. */
export function resolveProfile(view: GraphView, profileId: string): ProfileResolution {
  const path: string[] = [];
  let id = profileId;
  for (let hops = 0; hops <= MAX_REDIRECT_HOPS; hops += 1) {
    if (path.includes(id)) throw new GraphCorruptionError(`redirect cycle: ${[...path, id].join(' -> ')}`);
    path.push(id);
    const profile = view.profiles.get(id);
    if (!profile) return { state: 'missing', missingId: id, path };
    if (profile.status !== 'merged') return { state: 'live', profile, path };
    if (profile.mergedInto === undefined) throw new GraphCorruptionError(`merged profile ${id} has no mergedInto`);
    id = profile.mergedInto;
  }
  throw new GraphCorruptionError(`redirect chain longer than ${MAX_REDIRECT_HOPS} from ${profileId}`);
}

export type Ownership =
  | { state: 'new' }
  /** The identity document exists but its profile chain ends at a missing profile. */
  | { state: 'dangling'; record: IdentifierRecord }
  /** `path` from `record.profileId` to `ownerId` (length 1 when the pointer is direct). */
  | { state: 'owned'; record: IdentifierRecord; ownerId: string; path: string[] };

export function ownershipOf(view: GraphView, key: string): Ownership {
  const record = view.identifiers.get(key);
  if (!record) return { state: 'new' };
  const resolved = resolveProfile(view, record.profileId);
  if (resolved.state === 'missing') return { state: 'dangling', record };
  return { state: 'owned', record, ownerId: resolved.profile._id, path: resolved.path };
}

export function ownerOf(view: GraphView, key: string): string | undefined {
  const ownership = ownershipOf(view, key);
  return ownership.state === 'owned' ? ownership.ownerId : undefined;
}

/** What a live profile holds, its reservations classified (see `analyseProfile`). */
export interface ProfileAnalysis {
  profile: ProfileRecord;
  /** Committed identifiers: the profile owns them. */
  members: Map<string, Identifier>;
  /** In-flight acquisitions by other operations (listed, not owned yet): count for limits. Several operations may claim one identifier. */
  reserved: Map<string, PendingClaim[]>;
  /** In-flight releases by other operations (owned, no longer listed): count for limits. */
  releasing: Map<string, PendingClaim[]>;
  /** Merges into this profile started by other operations and still running. */
  intents: MergeIntent[];
  /** Merge intents that completed: they belong in the history now. */
  confirmed: MergeHistoryEntry[];
  /** Merges into this profile performed by the current message (for re-emitting notices). */
  ownMerges: MergeHistoryEntry[];
  /** The stored document differs from the classification (a rewrite would tidy it). */
  dirty: boolean;
}

export interface AnalyseOptions {
  /** The message being planned: its own leftovers (a previous attempt) are not reservations. */
  messageId: string;
  nowMs: number;
  pendingClaimTtlMs: number;
  /** Identifiers of the event: owned by this profile but unlisted → members (listing repaired). */
  eventKeys?: Iterable<string>;
}

/**
 * Classifies a live profile's listing against the pointers in the view. A claim or intent is
 * *dead* when it is the current message's own (an earlier attempt), its message completed
 * (`view.completedMessages`), or it is older than `pendingClaimTtlMs`.
 * - listed, pending `acquire`: owned here → member (promoted); dead → dropped; otherwise →
 *   reserved (another operation is running);
 * - listed, not pending: member (trusted: pointers of committed identifiers are only loaded
 *   for the event's identifiers; one found to lead to another live profile is dropped);
 * - `release` entries: pointer moved away → done (dropped); still here and dead → member
 *   again; otherwise → releasing;
 * - merge intents: the merged profile's chain ends here → confirmed (own ones re-derive the
 *   merge notice); dead or merged elsewhere → dropped.
 * - an event identifier owned here but neither listed nor released (only a hand-edited or
 *   corrupted graph: the loader re-reads pointers that look like this) → member, repaired.
 */
export function analyseProfile(view: GraphView, profile: ProfileRecord, options: AnalyseOptions): ProfileAnalysis {
  const id = profile._id;
  const analysis: ProfileAnalysis = {
    profile,
    members: new Map(),
    reserved: new Map(),
    releasing: new Map(),
    intents: [],
    confirmed: [],
    ownMerges: [],
    dirty: false,
  };
  const completed = view.completedMessages;
  /** A claim or intent nobody is working on any more (see the function comment). */
  const dead = (messageId: string, at: string): boolean =>
    messageId === options.messageId || (completed?.has(messageId) ?? false) || Date.parse(at) + options.pendingClaimTtlMs < options.nowMs;
  const acquires = new Map<string, PendingClaim[]>();
  const releases = new Map<string, PendingClaim[]>();
  for (const claim of profile.pending) {
    const key = identifierKey(claim);
    const byKey = claim.kind === 'acquire' ? acquires : releases;
    byKey.set(key, [...(byKey.get(key) ?? []), claim]);
  }
  const owner = (key: string): string | undefined => ownerOf(view, key);

  for (const item of profile.identifiers) {
    const key = identifierKey(item);
    const claims = acquires.get(key);
    if (claims) {
      acquires.delete(key);
      const alive = claims.filter((c) => !dead(c.messageId, c.at));
      if (owner(key) === id) {
        analysis.members.set(key, { type: item.type, value: item.value });
        analysis.dirty = true;
      } else if (alive.length === 0) {
        analysis.dirty = true;
      } else {
        if (alive.length < claims.length) analysis.dirty = true;
        analysis.reserved.set(key, alive);
      }
      continue;
    }
    const record = view.identifiers.get(key);
    if (record) {
      const o = owner(key);
      if (o !== undefined && o !== id) {
        analysis.dirty = true;
        continue;
      }
    }
    analysis.members.set(key, { type: item.type, value: item.value });
  }
  // Acquire entries without a listing: meaningless, drop.
  if (acquires.size > 0) analysis.dirty = true;

  for (const [key, claims] of releases) {
    const alive = claims.filter((c) => !dead(c.messageId, c.at));
    const first = claims[0] as PendingClaim;
    if (owner(key) !== id) {
      analysis.dirty = true;
    } else if (alive.length === 0) {
      analysis.members.set(key, { type: first.type, value: first.value });
      analysis.dirty = true;
    } else {
      if (alive.length < claims.length) analysis.dirty = true;
      analysis.releasing.set(key, alive);
    }
  }

  for (const key of options.eventKeys ?? []) {
    if (analysis.members.has(key) || analysis.reserved.has(key) || analysis.releasing.has(key)) continue;
    if (owner(key) !== id) continue;
    const record = view.identifiers.get(key) as IdentifierRecord;
    analysis.members.set(key, { type: record.type, value: record.value });
    analysis.dirty = true;
  }

  for (const intent of profile.merging) {
    const target = view.profiles.get(intent.profileId);
    const resolved = target ? resolveProfile(view, intent.profileId) : undefined;
    if (target && target.status === 'merged' && resolved?.state === 'live' && resolved.profile._id === id) {
      const entry = { profileId: intent.profileId, messageId: intent.messageId, at: intent.at };
      analysis.confirmed.push(entry);
      if (intent.messageId === options.messageId) analysis.ownMerges.push(entry);
      analysis.dirty = true;
    } else if (target && target.status !== 'merged' && !dead(intent.messageId, intent.at)) {
      analysis.intents.push(intent);
    } else {
      analysis.dirty = true;
    }
  }
  for (const entry of profile.mergedFrom) {
    if (entry.messageId === options.messageId && !analysis.ownMerges.some((e) => e.profileId === entry.profileId)) {
      analysis.ownMerges.push(entry);
    }
  }
  return analysis;
}

/** Keys that count towards the limits of an analysed profile, by type. */
export function limitKeys(analysis: ProfileAnalysis): Map<string, Set<string>> {
  const byType = new Map<string, Set<string>>();
  const add = (type: string, key: string): void => {
    let set = byType.get(type);
    if (!set) byType.set(type, (set = new Set()));
    set.add(key);
  };
  for (const [key, id] of analysis.members) add(id.type, key);
  for (const [key, claims] of analysis.reserved) add((claims[0] as PendingClaim).type, key);
  for (const [key, claims] of analysis.releasing) add((claims[0] as PendingClaim).type, key);
  return byType;
}

/** True if the analysed profile has a committed `userId`. */
export function isKnown(analysis: ProfileAnalysis): boolean {
  for (const id of analysis.members.values()) if (id.type === 'userId') return true;
  return false;
}
