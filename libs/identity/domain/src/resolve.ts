/**
 * The resolution loop the service runs per `events.raw` message:
 *
 *   processed record? → replay it (re-delivery)
 *   extract identifiers → none usable? → `unresolvable` (the service dead-letters or drops it)
 *   repeat (bounded): load view → plan → apply; on a conflict re-load and re-plan
 *   append audit records → store the processed record → return the outcome
 *
 * The service then produces `outcome.notices` and the event (see `resolvedMessages`) to
 * `events.resolved`, keyed by `outcome.profileId`, and commits the offset.
 *
 * Delivery semantics (DESIGN §8): a crash anywhere leaves either a processed record (the
 * re-delivery replays it) or a graph state the re-planning continues from; re-planning a
 * message whose effects are already in the graph writes nothing and re-derives its notices
 * (planner.ts). Replaying `events.raw` from an earlier offset is idempotent on messageId for
 * as long as processed records are kept (`processedTtlMs`).
 */
import type { Identifier } from '@mosaic/contracts';
import { applyPlan } from './apply';
import { extractIdentifiers, extractionKeys, type DroppedIdentifier, type IdentityEventInput } from './extract';
import { loadResolutionView } from './loader';
import type { AuditRecord, MergeNoticePayload, ProcessedRecord } from './model';
import { planResolution, type RefusedIdentifier, type ResolutionPlan } from './planner';
import type { IdentityStore } from './ports';
import type { IdentityRules } from './rules';

export interface ResolveDeps {
  rules: IdentityRules;
  now: () => Date;
  newProfileId: () => string;
  /** Plan/apply attempts before giving up with `ResolutionConflictError` (default 10). */
  maxAttempts?: number;
  /** How long the processed-message record is kept (default 30 days). */
  processedTtlMs?: number;
}

export interface ResolutionOutcome {
  /** `duplicate`: replayed from the processed record, nothing planned. */
  status: 'resolved' | 'duplicate' | 'unresolvable';
  messageId: string;
  profileId?: string;
  /** The message's plan created `profileId` (kept in the processed record, so a replay says it again). */
  profileCreated?: true;
  identifiers: Identifier[];
  /** Merge notices to produce, in order, before the event. */
  notices: MergeNoticePayload[];
  audit: AuditRecord[];
  dropped: DroppedIdentifier[];
  refused: RefusedIdentifier[];
  attempts: number;
  /** The plan that completed (absent for duplicates and unresolvable events). */
  plan?: ResolutionPlan;
}

export class ResolutionConflictError extends Error {
  constructor(
    readonly messageId: string,
    readonly attempts: number,
  ) {
    super(`message ${messageId}: still conflicting after ${attempts} attempts`);
    this.name = 'ResolutionConflictError';
  }
}

export const DEFAULT_PROCESSED_TTL_MS = 30 * 24 * 60 * 60 * 1000;

export async function resolveEvent(store: IdentityStore, event: IdentityEventInput, deps: ResolveDeps): Promise<ResolutionOutcome> {
  const messageId = event.messageId;
  const record = await store.getProcessed(messageId);
  if (isAlreadyApplied(record, messageId)) return outcomeFromRecord(record);

  const extraction = extractIdentifiers(event, deps.rules);
  const keys = extractionKeys(extraction);
  if (keys.length === 0) {
    await store.putProcessed(processedRecord(messageId, undefined, [], [], [], deps));
    return { status: 'unresolvable', messageId, identifiers: [], notices: [], audit: [], dropped: extraction.dropped, refused: [], attempts: 0 };
  }

  const maxAttempts = deps.maxAttempts ?? 10;
  // Profiles written by attempts that then conflicted: the next plan tidies (or reuses) them.
  const touched = new Set<string>();
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    const view = await loadResolutionView(store, keys, messageId, [...touched]);
    const plan = planResolution({ messageId, extraction, view, rules: deps.rules, now: deps.now(), newProfileId: deps.newProfileId, alsoTidy: [...touched] });
    if (plan.writes.length > 0 && store.confirmProcessed) {
      const late = await store.confirmProcessed(messageId);
      if (isAlreadyApplied(late, messageId)) return outcomeFromRecord(late);
    }
    const result = await applyPlan(store, plan);
    if (result.status === 'conflict') {
      for (const write of plan.writes.slice(0, result.conflictAt)) {
        if (write.op === 'insertProfile' || write.op === 'replaceProfile') touched.add(write.profile._id);
      }
      continue;
    }
    await store.appendAudit(plan.audit);
    const created = plan.creates.some((c) => c.profileId === plan.profileId) ? ({ profileCreated: true } as const) : {};
    await store.putProcessed({ ...processedRecord(messageId, plan.profileId, plan.identifiers, plan.notices, plan.audit, deps), ...created });
    return {
      status: 'resolved',
      messageId,
      profileId: plan.profileId,
      ...created,
      identifiers: plan.identifiers,
      notices: plan.notices,
      audit: plan.audit,
      dropped: extraction.dropped,
      refused: plan.refused,
      attempts: attempt,
      plan,
    };
  }
  throw new ResolutionConflictError(messageId, maxAttempts);
}

/**
 * True when a stored processed record says `messageId` was already applied: replay it, plan
 * nothing. An `unresolvable` record applied nothing, so it does not count: a dead letter replayed
 * once the rules stop blocking its identifiers (docs/identity.md) must resolve, not be dead-lettered
 * again as a duplicate; with the same rules it is unresolvable again, for the same reasons.
 */
export function isAlreadyApplied(record: ProcessedRecord | null | undefined, messageId: string): record is ProcessedRecord {
  return record !== null && record !== undefined && record._id === messageId && record.status !== 'unresolvable';
}

/** The outcome a re-delivered message gets from its processed record (same profile, same notices). */
export function outcomeFromRecord(record: ProcessedRecord): ResolutionOutcome {
  return {
    status: record.status === 'unresolvable' ? 'unresolvable' : 'duplicate',
    messageId: record._id,
    ...(record.profileId === undefined ? {} : { profileId: record.profileId }),
    ...(record.profileCreated ? { profileCreated: true as const } : {}),
    identifiers: record.identifiers,
    notices: record.notices,
    audit: [],
    dropped: [],
    refused: [],
    attempts: 0,
  };
}

function processedRecord(
  messageId: string,
  profileId: string | undefined,
  identifiers: Identifier[],
  notices: MergeNoticePayload[],
  audit: AuditRecord[],
  deps: ResolveDeps,
): ProcessedRecord {
  const now = deps.now();
  return {
    _id: messageId,
    status: profileId === undefined ? 'unresolvable' : 'resolved',
    ...(profileId === undefined ? {} : { profileId }),
    identifiers,
    notices,
    auditIds: audit.map((a) => a.id),
    at: now.toISOString(),
    expiresAt: new Date(now.getTime() + (deps.processedTtlMs ?? DEFAULT_PROCESSED_TTL_MS)).toISOString(),
  };
}

/** A resolved event as a plain object (`ResolvedEvent` of contracts). */
export interface ResolvedEventPayload<E> {
  kind: 'event';
  profileId: string;
  event: E;
  identifiers: Identifier[];
  /** This event's plan created the profile (contracts' hint: the later stages need not read it). */
  profileCreated?: true;
}

/**
 * What the service produces to `events.resolved` for an outcome, in order, all keyed by
 * their profile (notices by `survivorId`): the merge notices, then the event. Nothing for an
 * unresolvable event.
 */
export function resolvedMessages<E>(event: E, outcome: ResolutionOutcome): { key: string; value: MergeNoticePayload | ResolvedEventPayload<E> }[] {
  if (outcome.profileId === undefined) return [];
  return [
    ...outcome.notices.map((notice) => ({ key: notice.survivorId, value: notice })),
    { key: outcome.profileId, value: resolvedEventPayload(event, outcome.profileId, outcome) },
  ];
}

function resolvedEventPayload<E>(event: E, profileId: string, outcome: ResolutionOutcome): ResolvedEventPayload<E> {
  return { kind: 'event', profileId, event, identifiers: outcome.identifiers, ...(outcome.profileCreated ? { profileCreated: true as const } : {}) };
}
