import { Schemas, decodeMessage, type Envelope, type ResolvedMessage } from '@mosaic/contracts';
import type { Counter, Gauge, Histogram, Logger } from '@mosaic/shared-logging';
import type { BatchContext, InboundMessage } from '@mosaic/shared-kafka';
import type { BatchApplier } from './batch-applier';
import type { BatchStats } from './batch-context';
import type { PublishProfileChanges } from './publish-profile-changes.use-case';

export interface ApplyBatchMetrics {
  messages: Counter<string>;
  conflicts: Counter<string>;
  cache: Counter<string>;
  cacheEntries: Gauge<string>;
  profilesWritten: Counter<string>;
  applyLatency: Histogram<string>;
  eventLag: Histogram<string>;
}

export interface ApplyResolvedBatchOptions {
  applier: BatchApplier;
  publish: PublishProfileChanges;
  metrics: ApplyBatchMetrics;
  logger: Logger;
}

/**
 * One partition's batch of `events.resolved`, in order: decode (a message off the contract
 * throws before anything is written: the host re-runs the batch one message at a time and
 * dead-letters that one) → apply (profiles written) → produce the changes → resolve, so the
 * host commits only after Kafka acknowledged them.
 */
export class ApplyResolvedBatch {
  constructor(private readonly opts: ApplyResolvedBatchOptions) {}

  async execute(messages: InboundMessage[], ctx: BatchContext): Promise<void> {
    const started = process.hrtime.bigint();
    const envelopes: Envelope<ResolvedMessage>[] = messages.map((m) => decodeMessage(Schemas.resolved, m.value));
    const { changes, stats } = await this.opts.applier.applyBatch(
      envelopes.map((e) => ({ messageId: e.messageId, correlationId: e.correlationId, payload: e.payload })),
      { afterSegment: () => ctx.heartbeat() },
    );
    await this.opts.publish.execute(changes);
    this.count(stats, started);
    this.observeLag(envelopes);
    if (stats.merges + stats.splits > 0 || stats.conflicts > 0) {
      const last = messages[messages.length - 1] as InboundMessage;
      this.opts.logger.info(
        { topic: last.topic, partition: last.partition, offset: last.offset, correlationId: envelopes[envelopes.length - 1]?.correlationId, ...stats },
        'batch applied',
      );
    }
  }

  private count(stats: BatchStats, started: bigint): void {
    const m = this.opts.metrics;
    m.messages.inc({ outcome: 'applied' }, stats.applied);
    m.messages.inc({ outcome: 'duplicate' }, stats.duplicates);
    m.messages.inc({ outcome: 'merge' }, stats.merges);
    m.messages.inc({ outcome: 'split' }, stats.splits);
    m.conflicts.inc(stats.conflicts);
    m.cache.inc({ result: 'hit' }, stats.cacheHits);
    m.cache.inc({ result: 'miss' }, stats.cacheMisses);
    m.cache.inc({ result: 'created' }, stats.createdUnread);
    m.cacheEntries.set(this.opts.applier.cache.size);
    m.profilesWritten.inc(stats.profilesWritten);
    m.applyLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** From the collector receiving each event to its change being produced. */
  private observeLag(envelopes: readonly Envelope<ResolvedMessage>[]): void {
    const now = Date.now();
    for (const e of envelopes) {
      if (e.payload.kind !== 'event') continue;
      const received = Date.parse(e.payload.event.receivedAt ?? '');
      if (Number.isFinite(received) && now >= received) this.opts.metrics.eventLag.observe((now - received) / 1000);
    }
  }
}
