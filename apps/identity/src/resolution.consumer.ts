import { Schemas, decodeMessage, type DeadLetter, type Envelope, type RawEvent, type ResolvedMessage } from '@mosaic/contracts';
import { resolvedMessages, type ResolutionOutcome } from '@mosaic/identity-domain';
import type { BatchResolver, BatchStats } from '@mosaic/identity-data-access';
import { deadLetterFor, produceMessages, type BatchContext, type InboundMessage, type MessageSender, type ProduceMeta } from '@mosaic/shared-kafka';
import type { Logger } from '@mosaic/shared-logging';
import type { IdentityMetrics } from './identity.metrics';
import type { RulesHolder } from './rules.holder';

export interface ResolutionConsumerDeps {
  resolver: BatchResolver;
  rules: RulesHolder;
  producer: MessageSender;
  topics: { eventsResolved: string; dlqIdentity: string };
  metrics: IdentityMetrics;
  logger: Logger;
}

/** The deterministic envelope id of a merge notice (re-emitted copies carry the same one). */
export function mergeNoticeMessageId(triggeringMessageId: string, loserId: string): string {
  return `merge:${triggeringMessageId}:${loserId}`;
}

/**
 * The `events.raw` batch handler (one partition's batch, in order):
 * decode every message with the contracts codec (a `ContractViolationError` is thrown before
 * anything is resolved: the consumer host re-runs the batch one message at a time and
 * dead-letters that one) → resolve the batch (`BatchResolver`) → produce, per event in order,
 * its merge notices (keyed by the survivor) and then the `ResolvedEvent` (keyed by its
 * profile, envelope `messageId` = the raw event's `messageId`, correlation id carried over) to
 * `events.resolved`; events with no usable identifier go to the dead-letter topic with the
 * reasons → resolve only once Kafka acknowledged, so the host commits after that.
 */
export class ResolutionConsumer {
  constructor(private readonly deps: ResolutionConsumerDeps) {}

  readonly handle = async (messages: InboundMessage[], ctx: BatchContext): Promise<void> => {
    const { deps } = this;
    const envelopes: Envelope<RawEvent>[] = messages.map((m) => decodeMessage(Schemas.rawEvent, m.value));
    const { rules, version: rulesVersion } = deps.rules.current();
    const { items, stats } = await deps.resolver.resolveBatch(
      envelopes.map((e) => e.payload),
      rules,
      { afterEach: () => ctx.heartbeat() },
    );

    const resolved: { payload: ResolvedMessage; meta: ProduceMeta }[] = [];
    const dead: { payload: DeadLetter; meta: ProduceMeta }[] = [];
    items.forEach(({ outcome, durationMs }, i) => {
      const msg = messages[i] as InboundMessage;
      const envelope = envelopes[i] as Envelope<RawEvent>;
      const correlationId = envelope.correlationId;
      this.observe(outcome, durationMs, msg, correlationId, rulesVersion);
      if (outcome.status === 'unresolvable') {
        dead.push(this.deadLetter(msg, outcome, correlationId));
        return;
      }
      for (const out of resolvedMessages(envelope.payload, outcome)) {
        const isNotice = out.value.kind === 'merge';
        resolved.push({
          payload: out.value as ResolvedMessage,
          meta: {
            key: out.key,
            producer: 'identity',
            correlationId,
            // The event keeps the raw messageId (downstream de-duplicates on it); notices get a deterministic one.
            messageId: out.value.kind === 'merge' ? mergeNoticeMessageId(out.value.triggeringMessageId, out.value.loserId) : envelope.payload.messageId,
            // The event was validated on decode and its identifiers come from the domain (bounded sizes).
            validate: isNotice,
          },
        });
      }
    });
    await Promise.all([
      resolved.length > 0 ? produceMessages(deps.producer, deps.topics.eventsResolved, Schemas.resolved, resolved) : undefined,
      dead.length > 0 ? produceMessages(deps.producer, deps.topics.dlqIdentity, Schemas.deadLetter, dead) : undefined,
    ]);
    this.observeBatch(stats);
  };

  private observe(outcome: ResolutionOutcome, durationMs: number, msg: InboundMessage, correlationId: string, rulesVersion: number): void {
    const { metrics, logger } = this.deps;
    metrics.events.inc({ outcome: outcome.status });
    metrics.resolution.observe(durationMs / 1000);
    for (const d of outcome.dropped) metrics.dropped.inc({ reason: d.reason });
    if (outcome.attempts > 1) metrics.replans.inc(outcome.attempts - 1);
    const plan = outcome.plan;
    if (!plan) return;
    const where = { topic: msg.topic, partition: msg.partition, offset: msg.offset, correlationId, messageId: outcome.messageId, profileId: outcome.profileId };
    if (plan.creates.length > 0) metrics.created.inc(plan.creates.length);
    for (const merge of plan.merges) {
      if (merge.derived) continue;
      metrics.merges.inc();
      logger.info({ ...where, survivorId: merge.survivorId, loserId: merge.loserId, moved: merge.movedIdentifiers.length }, 'profiles merged');
    }
    for (const move of plan.moves) {
      metrics.moves.inc({ rule: move.rule });
      logger.info({ ...where, identifier: `${move.identifier.type}:${move.identifier.value}`, fromProfileId: move.fromProfileId, rule: move.rule, rulesVersion }, 'identifier moved (merge protection)');
    }
    for (const refusal of plan.refused) {
      metrics.refusals.inc({ rule: refusal.rule });
      logger.info({ ...where, identifier: `${refusal.identifier.type}:${refusal.identifier.value}`, ownerProfileId: refusal.ownerProfileId, rule: refusal.rule, reason: refusal.reason, rulesVersion }, 'identifier refused by a limit');
    }
  }

  private observeBatch(stats: BatchStats): void {
    const { metrics } = this.deps;
    metrics.cache.inc({ result: 'hit' }, stats.cacheHits);
    metrics.cache.inc({ result: 'miss' }, stats.cacheMisses);
    metrics.cache.inc({ result: 'stale' }, stats.cacheStale);
    metrics.writes.inc({ result: 'applied' }, stats.writes.applied);
    metrics.writes.inc({ result: 'conflict' }, stats.writes.conflict);
    metrics.writes.inc({ result: 'skipped' }, stats.writes.skipped);
    metrics.batchReads.observe(stats.prefetchMs / 1000);
    metrics.cacheEntries.set(this.deps.resolver.cache.size);
  }

  /** An event with no usable identifier: dead-lettered with the reasons (operators can fix the rules and replay it). */
  private deadLetter(msg: InboundMessage, outcome: ResolutionOutcome, correlationId: string): { payload: DeadLetter; meta: ProduceMeta } {
    const reasons = outcome.dropped.map((d) => `${d.source} ${JSON.stringify(d.value)}: ${d.reason} (${d.detail})`);
    const message =
      reasons.length > 0
        ? `no usable identifier: ${reasons.join('; ')}`
        : 'no usable identifier (re-delivery of a message already dead-lettered for that reason)';
    this.deps.logger.warn({ topic: msg.topic, partition: msg.partition, offset: msg.offset, correlationId, messageId: outcome.messageId, reasons }, 'event has no usable identifier: dead-lettered');
    return deadLetterFor(
      { topic: msg.topic, partition: msg.partition, offset: msg.offset, key: msg.key, value: msg.value, headers: msg.headers, correlationId },
      { service: 'identity', error: { name: 'UnresolvableEventError', message }, attempts: 1 },
    );
  }
}
