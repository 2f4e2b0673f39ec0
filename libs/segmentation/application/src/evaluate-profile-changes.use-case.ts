import { Schemas, decodeMessage, type ProfileChange } from '@mosaic/contracts';
import type { SegmentProfilesRepository } from '@mosaic/segmentation-data-access';
import type { Logger } from '@mosaic/shared-logging';
import type { BatchContext, InboundMessage } from '@mosaic/shared-kafka';
import type { ApplyStats, SegmentEvaluator } from './segment-evaluator';
import type { SegmentationUseCaseMetrics } from './metrics';

export interface EvaluateProfileChangesOptions {
  evaluator: SegmentEvaluator;
  profiles: SegmentProfilesRepository;
  metrics: SegmentationUseCaseMetrics;
  logger: Logger;
  /** Changes per read-evaluate-write round; the consumer heartbeats after each. */
  roundSize: number;
}

/**
 * One partition's batch of `profiles.changes`, in order: decode (an off-contract message throws
 * before anything is written: the host retries one by one and dead-letters it) → evaluate →
 * write → publish → resolve (the host commits after).
 */
export class EvaluateProfileChanges {
  private cacheSeen = { hits: 0, misses: 0 };

  constructor(private readonly opts: EvaluateProfileChangesOptions) {}

  async execute(messages: readonly InboundMessage[], ctx: BatchContext): Promise<void> {
    const started = process.hrtime.bigint();
    const items = messages.map((m) => ({ change: decodeMessage(Schemas.profileChange, m.value).payload as ProfileChange, partition: m.partition }));
    // In rounds, heartbeating between them: a long batch on a slow store must not outlive the session.
    const size = this.opts.roundSize;
    let conflicts = 0;
    for (let i = 0; i < items.length; i += size) {
      const r = await this.opts.evaluator.applyChanges(items.slice(i, i + size));
      conflicts += r.conflicts;
      this.record(r);
      await ctx.heartbeat();
    }
    this.opts.metrics.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (conflicts > 0) {
      const last = messages[messages.length - 1] as InboundMessage;
      this.opts.logger.info(
        { topic: last.topic, partition: last.partition, offset: last.offset, messages: messages.length, conflicts },
        'batch evaluated with conflicts',
      );
    }
  }

  private record(r: ApplyStats): void {
    const { metrics, profiles } = this.opts;
    metrics.changes.inc({ outcome: 'applied' }, r.changes - r.duplicates);
    metrics.changes.inc({ outcome: 'duplicate' }, r.duplicates);
    metrics.evaluations.inc({ source: 'change' }, r.evaluatedProfiles);
    metrics.conflicts.inc(r.conflicts);
    metrics.cache.inc({ result: 'hit' }, profiles.cacheHits - this.cacheSeen.hits);
    metrics.cache.inc({ result: 'miss' }, profiles.cacheMisses - this.cacheSeen.misses);
    this.cacheSeen = { hits: profiles.cacheHits, misses: profiles.cacheMisses };
  }
}
