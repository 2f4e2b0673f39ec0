import type { BatchStats, MessagePosition, ResolutionObserver } from '@mosaic/identity-application';
import type { ResolutionOutcome } from '@mosaic/identity-domain';
import type { Logger } from '@mosaic/shared-logging';
import type { IdentityMetrics } from './identity.metrics';

/** `ResolveEventBatch`'s reports as the identity metrics and log lines (merges, moves, refusals, dead letters). */
export function resolutionObserver(metrics: IdentityMetrics, logger: Logger): ResolutionObserver {
  return {
    resolved: (outcome, durationMs, at, rulesVersion) => observeOutcome(metrics, logger, outcome, durationMs, at, rulesVersion),
    deadLettered: (at, reasons) => logger.warn({ ...at, reasons }, 'event has no usable identifier: dead-lettered'),
    batchDone: (stats, cacheEntries) => observeBatch(metrics, stats, cacheEntries),
  };
}

function observeOutcome(
  metrics: IdentityMetrics,
  logger: Logger,
  outcome: ResolutionOutcome,
  durationMs: number,
  at: MessagePosition,
  rulesVersion: number,
): void {
  metrics.events.inc({ outcome: outcome.status });
  metrics.resolution.observe(durationMs / 1000);
  for (const d of outcome.dropped) metrics.dropped.inc({ reason: d.reason });
  if (outcome.attempts > 1) metrics.replans.inc(outcome.attempts - 1);
  const plan = outcome.plan;
  if (!plan) return;
  const where = { ...at, profileId: outcome.profileId };
  if (plan.creates.length > 0) metrics.created.inc(plan.creates.length);
  for (const merge of plan.merges) {
    if (merge.derived) continue;
    metrics.merges.inc();
    logger.info({ ...where, survivorId: merge.survivorId, loserId: merge.loserId, moved: merge.movedIdentifiers.length }, 'profiles merged');
  }
  for (const move of plan.moves) {
    metrics.moves.inc({ rule: move.rule });
    logger.info(
      { ...where, identifier: `${move.identifier.type}:${move.identifier.value}`, fromProfileId: move.fromProfileId, rule: move.rule, rulesVersion },
      'identifier moved (merge protection)',
    );
  }
  for (const refusal of plan.refused) {
    metrics.refusals.inc({ rule: refusal.rule });
    logger.info(
      {
        ...where,
        identifier: `${refusal.identifier.type}:${refusal.identifier.value}`,
        ownerProfileId: refusal.ownerProfileId,
        rule: refusal.rule,
        reason: refusal.reason,
        rulesVersion,
      },
      'identifier refused by a limit',
    );
  }
}

function observeBatch(metrics: IdentityMetrics, stats: BatchStats, cacheEntries: { identifiers: number; profiles: number }): void {
  metrics.cache.inc({ result: 'hit' }, stats.cacheHits);
  metrics.cache.inc({ result: 'miss' }, stats.cacheMisses);
  metrics.cache.inc({ result: 'stale' }, stats.cacheStale);
  metrics.writes.inc({ result: 'applied' }, stats.writes.applied);
  metrics.writes.inc({ result: 'conflict' }, stats.writes.conflict);
  metrics.writes.inc({ result: 'skipped' }, stats.writes.skipped);
  metrics.batchReads.observe(stats.prefetchMs / 1000);
  metrics.cacheEntries.set(cacheEntries.identifiers);
  metrics.profileCache.inc({ result: 'hit' }, stats.profileCacheHits);
  metrics.profileCache.inc({ result: 'miss' }, stats.profileCacheMisses);
  metrics.profileCacheEntries.set(cacheEntries.profiles);
}
