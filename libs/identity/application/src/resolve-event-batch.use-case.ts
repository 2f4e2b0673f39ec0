import { Schemas, decodeMessage, type DeadLetter, type Envelope, type RawEvent, type ResolvedMessage } from '@mosaic/contracts';
import { resolvedMessages, type IdentityRules, type ResolutionOutcome } from '@mosaic/identity-domain';
import { deadLetterFor, produceMessages, type BatchContext, type InboundMessage, type MessageSender, type ProduceMeta } from '@mosaic/shared-kafka';
import type { BatchResolver } from './batch-resolver';
import type { ProfileWritesAnnouncer } from './profile-writes.announcer';
import type { MessagePosition, ResolutionObserver } from './resolution-observer';

/** The rules in use (the app's `RulesCache`). */
export interface RulesSource {
  current(): { rules: IdentityRules; version: number };
}

export interface ResolveEventBatchDeps {
  resolver: BatchResolver;
  rules: RulesSource;
  producer: MessageSender;
  topics: { eventsResolved: string; dlqIdentity: string };
  observer: ResolutionObserver;
  /** The profiles the resolver noted as changed, announced with each batch's output. */
  announcer: Pick<ProfileWritesAnnouncer, 'announce'>;
}

type Outgoing<T> = { payload: T; meta: ProduceMeta };

/** The deterministic envelope id of a merge notice (re-emitted copies carry the same one). */
export function mergeNoticeMessageId(triggeringMessageId: string, loserId: string): string {
  return `merge:${triggeringMessageId}:${loserId}`;
}

/**
 * One partition's batch of `events.raw`, in order:
 * decode every message with the contracts codec (a `ContractViolationError` is thrown before
 * anything is resolved: the consumer host re-runs the batch one message at a time and
 * dead-letters that one) → resolve the batch (`BatchResolver`) → produce the ids of the profiles it
 * changed to `identity.profile-writes` (other instances' profile caches drop them) and, per event in order,
 * its merge notices (keyed by the survivor) and then the `ResolvedEvent` (keyed by its
 * profile, envelope `messageId` = the raw event's `messageId`, correlation id carried over) to
 * `events.resolved`; events with no usable identifier go to the dead-letter topic with the
 * reasons → resolve only once Kafka acknowledged, so the host commits after that.
 */
export class ResolveEventBatch {
  constructor(private readonly deps: ResolveEventBatchDeps) {}

  async execute(messages: InboundMessage[], ctx: Pick<BatchContext, 'heartbeat'>): Promise<void> {
    const { deps } = this;
    const envelopes: Envelope<RawEvent>[] = messages.map((m) => decodeMessage(Schemas.rawEvent, m.value));
    const { rules, version: rulesVersion } = deps.rules.current();
    const { items, stats } = await deps.resolver.resolveBatch(
      envelopes.map((e) => e.payload),
      rules,
      { afterEach: () => ctx.heartbeat(), source: batchSource(messages) },
    );
    const resolved: Outgoing<ResolvedMessage>[] = [];
    const dead: Outgoing<DeadLetter>[] = [];
    items.forEach(({ outcome, durationMs }, i) => {
      const msg = messages[i] as InboundMessage;
      const envelope = envelopes[i] as Envelope<RawEvent>;
      const at: MessagePosition = {
        topic: msg.topic,
        partition: msg.partition,
        offset: msg.offset,
        correlationId: envelope.correlationId,
        messageId: outcome.messageId,
      };
      deps.observer.resolved(outcome, durationMs, at, rulesVersion);
      if (outcome.status === 'unresolvable') dead.push(this.deadLetter(msg, outcome, at));
      else resolved.push(...outgoingResolved(envelope, outcome));
    });
    await Promise.all([
      resolved.length > 0 ? produceMessages(deps.producer, deps.topics.eventsResolved, Schemas.resolved, resolved) : undefined,
      dead.length > 0 ? produceMessages(deps.producer, deps.topics.dlqIdentity, Schemas.deadLetter, dead) : undefined,
      deps.announcer.announce(),
    ]);
    deps.observer.batchDone(stats, { identifiers: deps.resolver.cache.size, profiles: deps.resolver.profileCache.size });
  }

  /** An event with no usable identifier: dead-lettered with the reasons (operators can fix the rules and replay it). */
  private deadLetter(msg: InboundMessage, outcome: ResolutionOutcome, at: MessagePosition): Outgoing<DeadLetter> {
    const reasons = outcome.dropped.map((d) => `${d.source} ${JSON.stringify(d.value)}: ${d.reason} (${d.detail})`);
    const message =
      reasons.length > 0
        ? `no usable identifier: ${reasons.join('; ')}`
        : 'no usable identifier (re-delivery of a message already dead-lettered for that reason)';
    this.deps.observer.deadLettered(at, reasons);
    return deadLetterFor(
      { topic: msg.topic, partition: msg.partition, offset: msg.offset, key: msg.key, value: msg.value, headers: msg.headers, correlationId: at.correlationId },
      { service: 'identity', error: { name: 'UnresolvableEventError', message }, attempts: 1 },
    );
  }
}

/** The event's merge notices (keyed by the survivor), then the event itself (keyed by its profile). */
function outgoingResolved(envelope: Envelope<RawEvent>, outcome: ResolutionOutcome): Outgoing<ResolvedMessage>[] {
  return resolvedMessages(envelope.payload, outcome).map((out) => {
    const isNotice = out.value.kind === 'merge';
    return {
      payload: out.value as ResolvedMessage,
      meta: {
        key: out.key,
        producer: 'identity',
        correlationId: envelope.correlationId,
        // The event keeps the raw messageId (downstream de-duplicates on it); notices get a deterministic one.
        messageId: out.value.kind === 'merge' ? mergeNoticeMessageId(out.value.triggeringMessageId, out.value.loserId) : envelope.payload.messageId,
        // The event was validated on decode and its identifiers come from the domain (bounded sizes).
        validate: isNotice,
      },
    };
  });
}

/** The partition a batch was read from and its offsets (a batch holds one partition's messages). */
function batchSource(messages: readonly InboundMessage[]): { topic: string; partition: number; offsets: number[] } | undefined {
  const first = messages[0];
  if (!first || messages.some((m) => m.topic !== first.topic || m.partition !== first.partition)) return undefined;
  return { topic: first.topic, partition: first.partition, offsets: messages.map((m) => Number(m.offset)) };
}
