/**
 * The identity graph as the data-access layer stores it, and the writes a plan consists of.
 *
 * Two collections (see README.md for the indexes):
 *
 * - **identities**: one document per identifier, `_id = "<type>:<value>"` (unique, so two
 *   instances racing on a new identifier cannot both insert it). `profileId` is the
 *   identifier's owner — possibly a merged profile, whose `mergedInto` chain is followed.
 *   **The pointer is the truth** about which profile an identifier belongs to.
 * - **profiles**: one document per profile. `identifiers` lists what the profile holds or is
 *   acquiring; `pending` says which of those are not committed yet (reservations, so that
 *   limits hold while a multi-document plan is half applied) and which are being released;
 *   `merging` lists merges in progress into this profile; `mergedFrom` is the merge history.
 *
 * Every document has a `version`; every strict write is a compare-and-set on it (or an insert
 * that fails on the unique `_id`). No write touches two documents, so a plan is a sequence of
 * single-document conditional writes, and any prefix of it is a state the planner can read
 * and continue from (planner.ts explains the order).
 */
import type { Identifier, MergeNotice, SplitNotice } from '@mosaic/contracts';

export type ProfileStatus = 'active' | 'merged';

/** `identities` document. */
export interface IdentifierRecord {
  /** `identifierKey({type, value})` = `<type>:<value>`. */
  _id: string;
  type: string;
  value: string;
  /** The owner, or a merged profile whose `mergedInto` chain ends at the owner. */
  profileId: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  /** messageId (or operation id) of the last write. */
  updatedBy: string;
  /** Set when the identifier was moved (merge protection) or split off: from where, by what. */
  movedFrom?: string;
  movedBy?: string;
}

/**
 * A reservation on a profile. `acquire`: the identifier is listed in `identifiers` but its
 * pointer does not (yet) lead here — a create, attach, merge or move in progress.
 * `release`: the identifier was removed from `identifiers` but its pointer still leads here —
 * a move or split in progress. Entries of an operation that is no longer running are
 * cleaned by the next plan that writes the profile (`pendingClaimTtlMs` bounds how long an
 * abandoned one counts).
 */
export interface PendingClaim {
  kind: 'acquire' | 'release';
  type: string;
  value: string;
  messageId: string;
  at: string;
  /** The other profile of a move, merge or split (acquire: where from; release: where to). Informational, except that a split retried after a crash finds its new profile through it. */
  peer?: string;
}

/** A merge into this profile that was started (the survivor is written first). */
export interface MergeIntent {
  profileId: string;
  messageId: string;
  at: string;
}

/** A completed merge into this profile (newest last, capped at MERGE_HISTORY_LIMIT). */
export interface MergeHistoryEntry {
  profileId: string;
  messageId: string;
  at: string;
}

export const MERGE_HISTORY_LIMIT = 200;

/** `profiles` document. */
export interface ProfileRecord {
  _id: string;
  status: ProfileStatus;
  version: number;
  /** Canonical order (type, value). For a merged profile: what it held when merged. */
  identifiers: Identifier[];
  pending: PendingClaim[];
  merging: MergeIntent[];
  mergedFrom: MergeHistoryEntry[];
  /** Has a `userId` (a known profile survives an anonymous one). */
  known: boolean;
  createdAt: string;
  /** messageId (or operation id) of the event that created it. */
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  mergedInto?: string;
  mergedAt?: string;
  mergedBy?: string;
  /** Merged profiles only: when the redirect may be dropped (TTL index). */
  expiresAt?: string;
  /** Profiles created by a split. */
  splitFrom?: { profileId: string; operationId: string; at: string };
}

/** A new active profile at version 1, created and last updated by `by` at `at`; `fields` set the rest. */
export function newProfileRecord(id: string, at: string, by: string, fields: Partial<ProfileRecord> = {}): ProfileRecord {
  return {
    _id: id,
    status: 'active',
    version: 1,
    identifiers: [],
    pending: [],
    merging: [],
    mergedFrom: [],
    known: false,
    createdAt: at,
    createdBy: by,
    updatedAt: at,
    updatedBy: by,
    ...fields,
  };
}

/**
 * One single-document conditional write. `insert*` fail (conflict) when the `_id` exists;
 * `replace*` fail (conflict) unless the stored `version` equals `expectedVersion` (the new
 * document carries `expectedVersion + 1`). `repointIdentifier` and `retargetRedirect` are
 * best-effort tidying of pointers to merged profiles: applied only if the document still
 * points at `from…`, otherwise skipped (never a conflict) — ownership does not change.
 *
 * MongoDB: insertOne (E11000 → conflict); replaceOne({_id, version: expected}, doc)
 * (matchedCount 0 → conflict); updateOne({_id, profileId: from}, {$set: {profileId: to,
 * updatedAt, updatedBy}, $inc: {version: 1}}); updateOne({_id, status: 'merged', mergedInto:
 * from}, {$set: {mergedInto: to, updatedAt, updatedBy}, $inc: {version: 1}}).
 */
export type GraphWrite =
  | { op: 'insertProfile'; profile: ProfileRecord }
  | { op: 'replaceProfile'; expectedVersion: number; profile: ProfileRecord }
  | { op: 'insertIdentifier'; identifier: IdentifierRecord }
  | { op: 'replaceIdentifier'; expectedVersion: number; identifier: IdentifierRecord }
  | { op: 'repointIdentifier'; key: string; fromProfileId: string; toProfileId: string; at: string; by: string }
  | { op: 'retargetRedirect'; profileId: string; fromMergedInto: string; toMergedInto: string; at: string; by: string };

export type WriteResult = 'applied' | 'conflict' | 'skipped';

export function isStrictWrite(write: GraphWrite): boolean {
  return write.op !== 'repointIdentifier' && write.op !== 'retargetRedirect';
}

export type AuditKind = 'merge' | 'refused' | 'moved' | 'created' | 'split';

/**
 * An auditable decision. `id` is deterministic (`<messageId>:<kind>:<subject>`), so storing a
 * record again (re-delivery, re-planning) is an idempotent upsert.
 */
export interface AuditRecord {
  id: string;
  kind: AuditKind;
  at: string;
  triggeringMessageId: string;
  /** The rule that decided: `new-identifiers`, `shared-identifier`, `limit:<type>`, `priority`, `admin-split`. */
  rule: string;
  /** The profile the record is about (survivor, creator, destination, split source). */
  profileId: string;
  details: Record<string, unknown>;
}

/** A `MergeNotice` (contracts) as a plain object. */
export type MergeNoticePayload = { [K in keyof MergeNotice]: MergeNotice[K] };
/** A `SplitNotice` (contracts) as a plain object. */
export type SplitNoticePayload = { [K in keyof SplitNotice]: SplitNotice[K] };

/** What the planner sees: the documents the loader fetched. A missing key means "not found". */
export interface GraphView {
  identifiers: ReadonlyMap<string, IdentifierRecord>;
  profiles: ReadonlyMap<string, ProfileRecord>;
  /**
   * Messages named by pending claims or merge intents in the view that have completed (a
   * processed record exists): their leftovers are dead, whatever their age.
   */
  completedMessages?: ReadonlySet<string>;
}

/** The processed-message record: re-delivery of `messageId` replays it instead of re-planning. */
export interface ProcessedRecord {
  _id: string;
  status: 'resolved' | 'unresolvable';
  profileId?: string;
  /** The message created its profile (replayed into `ResolvedEvent.profileCreated`). */
  profileCreated?: true;
  identifiers: Identifier[];
  notices: MergeNoticePayload[];
  auditIds: string[];
  at: string;
  /** TTL index; keep it longer than the retention of `events.raw` replays you care about. */
  expiresAt: string;
}
