import { randomUUID } from 'node:crypto';
import { Schemas, type SplitNotice } from '@mosaic/contracts';
import { identifierKey, type Identifier, type IdentityStore, type RuleError, type SplitPlan } from '@mosaic/identity-domain';
import type { IdentifierCache, ProfileCache } from '@mosaic/identity-data-access';
import { produceMessage, type MessageSender } from '@mosaic/shared-kafka';
import type { ProfileWritesAnnouncer } from './profile-writes.announcer';
import type { RulesSource } from './resolve-event-batch.use-case';
import { runSplitOperation, type SplitOperationOutcome } from './split-operation';

export interface SplitProfileDeps {
  repository: IdentityStore;
  cache: IdentifierCache;
  profileCache: ProfileCache;
  rules: RulesSource;
  producer: MessageSender;
  topics: { eventsResolved: string };
  /** Announces the profiles a split changed (with any the instance's batches could not announce yet). */
  announcer: Pick<ProfileWritesAnnouncer, 'note' | 'announce'>;
  newProfileId: () => string;
  maxAttempts: number;
  /** A split completed (or was already complete: `plan.alreadyApplied`). */
  onSplit: (plan: SplitPlan, operationId: string) => void;
  now?: () => Date;
}

export interface SplitProfileRequest {
  profileId: string;
  identifiers: Identifier[];
  reason: string;
  /** Makes a retried request complete or repeat the same split. */
  idempotencyKey?: string;
}

/** `not_found`: no such profile; `conflict`: merged, or kept changing; `invalid`: the rest (errors name the path). */
export type SplitProfileResult = { ok: true; plan: SplitPlan } | { ok: false; reason: 'not_found' | 'conflict' | 'invalid'; errors: RuleError[] };

/**
 * Splits identifiers off a profile into a new profile (see `runSplitOperation`): the
 * SplitNotice is produced keyed by the new profile before any identifier is handed over, and
 * keyed by the source once the split is complete. The operation id (from the idempotency key)
 * makes retries idempotent. The profiles a plan was applied to (or found applied) are dropped
 * from this instance's profile cache and announced on `identity.profile-writes` for the others,
 * whatever the outcome, a failure half-way included (it changed them too); a split refused before
 * writing (no such profile, invalid identifiers) announces nothing.
 */
export class SplitProfile {
  constructor(private readonly deps: SplitProfileDeps) {}

  async execute(request: SplitProfileRequest): Promise<SplitProfileResult> {
    const { deps } = this;
    const operationId = `split:${request.idempotencyKey ?? randomUUID()}`;
    const outcome = await this.splitAnnouncingWrites(request, operationId);
    if (!outcome.ok) {
      const notFound = outcome.errors.some((e) => e.path === 'profileId' && e.message === 'profile not found');
      const conflict = outcome.conflict === true || outcome.errors.some((e) => e.path === 'profileId');
      return { ok: false, reason: notFound ? 'not_found' : conflict ? 'conflict' : 'invalid', errors: outcome.errors };
    }
    const { plan } = outcome;
    await deps.repository.appendAudit(plan.audit);
    for (const id of plan.identifiers) deps.cache.delete(identifierKey(id));
    await this.produceNotice(plan, operationId, plan.fromProfileId, 'from');
    deps.onSplit(plan, operationId);
    return { ok: true, plan };
  }

  /** The split operation; then, whether it succeeded, failed or threw, the profiles its plans wrote are forgotten and announced. */
  private async splitAnnouncingWrites(request: SplitProfileRequest, operationId: string): Promise<SplitOperationOutcome> {
    const { deps } = this;
    const touched = new Set<string>();
    try {
      return await runSplitOperation(
        deps.repository,
        { profileId: request.profileId, identifiers: request.identifiers, reason: request.reason, operationId },
        {
          rules: deps.rules.current().rules,
          now: deps.now ?? (() => new Date()),
          newProfileId: deps.newProfileId,
          maxAttempts: deps.maxAttempts,
          announce: (plan) => this.produceNotice(plan, operationId, plan.newProfileId, 'new'),
          willWrite: (plan) => {
            touched.add(plan.fromProfileId);
            touched.add(plan.newProfileId);
          },
        },
      );
    } finally {
      await this.forgetProfiles([...touched]);
    }
  }

  private async forgetProfiles(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    this.deps.profileCache.invalidate(ids);
    this.deps.announcer.note(ids);
    await this.deps.announcer.announce();
  }

  private async produceNotice(plan: SplitPlan, operationId: string, key: string, suffix: string): Promise<void> {
    await produceMessage(this.deps.producer, this.deps.topics.eventsResolved, Schemas.resolved, plan.notice as SplitNotice, {
      key,
      producer: 'identity',
      correlationId: operationId,
      messageId: `${operationId}:${suffix}`,
    });
  }
}
