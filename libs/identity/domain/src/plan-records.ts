/**
 * The documents a resolution plan writes and the records it reports (planner.ts): profile
 * rewrites, identity documents, audit records, merge notices, and the orderings that keep
 * a plan's writes deterministic.
 */
import { canonicalIdentifiers, identifierKey, type Identifier } from './identifier';
import type { ProfileAnalysis } from './graph-view';
import {
  type AuditRecord,
  type GraphWrite,
  type IdentifierRecord,
  MERGE_HISTORY_LIMIT,
  type MergeHistoryEntry,
  type MergeIntent,
  type MergeNoticePayload,
  type PendingClaim,
  type ProfileRecord,
} from './model';

export class ClaimSet {
  private readonly claims = new Map<string, PendingClaim>();
  add(claim: PendingClaim): void {
    this.claims.set(`${claim.kind}|${claim.messageId}|${identifierKey(claim)}`, claim);
  }
  list(): PendingClaim[] {
    return [...this.claims.values()];
  }
}

/** The profile rewritten from its analysis (leftovers dropped, committed claims promoted). */
export function tidied(analysis: ProfileAnalysis, at: string, m: string, options: { without?: Set<string>; extraPending?: PendingClaim[] }): ProfileRecord {
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

/** A profile retired as a redirect to `survivorId`, holding `identifiers` (kept for the record). */
export function redirected(current: ProfileRecord, identifiers: Identifier[], survivorId: string, at: string, m: string, expiresAt: string): ProfileRecord {
  return {
    ...current,
    status: 'merged',
    version: current.version + 1,
    identifiers,
    pending: [],
    merging: [],
    mergedInto: survivorId,
    mergedAt: at,
    mergedBy: m,
    expiresAt,
    updatedAt: at,
    updatedBy: m,
  };
}

export function asIdentifier(claims: PendingClaim[]): Identifier {
  const claim = claims[0] as PendingClaim;
  return { type: claim.type, value: claim.value };
}

export function newIdentifierRecord(id: Identifier, profileId: string, at: string, m: string): IdentifierRecord {
  return { _id: identifierKey(id), type: id.type, value: id.value, profileId, version: 1, createdAt: at, updatedAt: at, updatedBy: m };
}

export function hasUserId(ids: Iterable<Identifier>): boolean {
  for (const id of ids) if (id.type === 'userId') return true;
  return false;
}

export function dedupeIntents(intents: MergeIntent[]): MergeIntent[] {
  const byId = new Map<string, MergeIntent>();
  for (const intent of intents) byId.set(`${intent.profileId}|${intent.messageId}`, intent);
  return [...byId.values()];
}

export function capHistory(entries: MergeHistoryEntry[]): MergeHistoryEntry[] {
  const byId = new Map<string, MergeHistoryEntry>();
  for (const entry of entries) if (!byId.has(entry.profileId)) byId.set(entry.profileId, entry);
  const list = [...byId.values()];
  return list.length > MERGE_HISTORY_LIMIT ? list.slice(list.length - MERGE_HISTORY_LIMIT) : list;
}

export function dedupeAudit(records: AuditRecord[]): AuditRecord[] {
  const byId = new Map<string, AuditRecord>();
  for (const record of records) if (!byId.has(record.id)) byId.set(record.id, record);
  return [...byId.values()];
}

/** Writes in the order of the document they touch (plans of one state are identical). */
export function sortWrites(writes: Iterable<GraphWrite>): GraphWrite[] {
  return [...writes].sort((a, b) => compareStrings(writeKey(a), writeKey(b)));
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

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function anchorInfo(anchor: { key: string; priority: number } | undefined): Record<string, unknown> | null {
  return anchor ? { identifier: anchor.key, priority: anchor.priority } : null;
}

export function mergeNotice(survivorId: string, loserId: string, reason: string, m: string, moved: Identifier[], at: string): MergeNoticePayload {
  return { kind: 'merge', survivorId, loserId, reason, triggeringMessageId: m, movedIdentifiers: moved.map((id) => ({ type: id.type, value: id.value })), at };
}

export function mergeAudit(m: string, at: string, survivorId: string, loserId: string, moved: Identifier[], extra: Record<string, unknown>): AuditRecord {
  return {
    id: `${m}:merge:${loserId}`,
    kind: 'merge',
    at,
    triggeringMessageId: m,
    rule: 'shared-identifier',
    profileId: survivorId,
    details: { survivorId, loserId, movedIdentifiers: moved, ...extra },
  };
}

export function createdAudit(m: string, at: string, profileId: string, identifiers: Identifier[]): AuditRecord {
  return { id: `${m}:created:${profileId}`, kind: 'created', at, triggeringMessageId: m, rule: 'new-identifiers', profileId, details: { identifiers } };
}

export function movedAudit(m: string, at: string, id: Identifier, from: string, to: string, rule: string, extra: Record<string, unknown>): AuditRecord {
  return {
    id: `${m}:moved:${identifierKey(id)}`,
    kind: 'moved',
    at,
    triggeringMessageId: m,
    rule,
    profileId: to,
    details: { identifier: id, fromProfileId: from, toProfileId: to, ...extra },
  };
}

export function refusedAudit(m: string, at: string, profileId: string, id: Identifier, rule: string, extra: Record<string, unknown>): AuditRecord {
  return { id: `${m}:refused:${identifierKey(id)}`, kind: 'refused', at, triggeringMessageId: m, rule, profileId, details: { identifier: id, ...extra } };
}
