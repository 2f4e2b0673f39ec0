// Helpers for the identity service's integration tests (not part of the service).
import { Schemas, decodeMessage, type Envelope, type RawEvent, type ResolvedMessage } from '@mosaic/contracts';
import { produceMessages, type MessageSender } from '@mosaic/shared-kafka';
import type { StartedService } from '@mosaic/shared-service';
import { dropTestDatabase, type TappedMessage, type TopicTap } from '@mosaic/shared-testing';

let seq = 0;

export interface RawFields {
  type?: RawEvent['type'];
  messageId?: string;
  anonymousId?: string;
  userId?: string;
  previousId?: string;
  event?: string;
  traits?: Record<string, unknown>;
  properties?: Record<string, unknown>;
  context?: Record<string, unknown>;
}

/** A contract-valid raw event (what the collector produces). */
export function rawEvent(fields: RawFields, prefix = 'it'): RawEvent {
  const now = new Date().toISOString();
  const type = fields.type ?? (fields.userId && fields.anonymousId ? 'identify' : fields.event ? 'track' : 'page');
  return {
    type,
    messageId: fields.messageId ?? `${prefix}-${Date.now().toString(36)}-${(seq += 1)}`,
    ...(fields.anonymousId === undefined ? {} : { anonymousId: fields.anonymousId }),
    ...(fields.userId === undefined ? {} : { userId: fields.userId }),
    ...(fields.previousId === undefined ? {} : { previousId: fields.previousId }),
    ...(fields.event === undefined ? (type === 'track' ? { event: 'Test Event' } : {}) : { event: fields.event }),
    properties: fields.properties ?? {},
    traits: fields.traits ?? {},
    context: fields.context ?? {},
    timestamp: now,
    receivedAt: now,
    sourceId: 'src_it',
  } as RawEvent;
}

/** Produces raw events to events.raw keyed as the collector keys them (anonymousId, else userId). */
export async function sendRaw(producer: MessageSender, topic: string, events: RawEvent[], key?: (e: RawEvent) => string): Promise<void> {
  await produceMessages(
    producer,
    topic,
    Schemas.rawEvent,
    events.map((e) => ({
      payload: e,
      meta: { key: key ? key(e) : (e.anonymousId ?? e.userId ?? null), producer: 'it-test', messageId: e.messageId, correlationId: `corr-${e.messageId}` },
    })),
  );
}

export interface Resolved {
  msg: TappedMessage;
  envelope: Envelope<ResolvedMessage>;
}

/** Every tapped message of events.resolved, decoded with the contracts codec (throws if one is off-contract). */
export function decodedResolved(tap: TopicTap): Resolved[] {
  return tap.messages.map((msg) => ({ msg, envelope: decodeMessage(Schemas.resolved, msg.value) }));
}

export async function waitForMessageIds(tap: TopicTap, ids: string[], timeoutMs = 30_000): Promise<void> {
  await tap.waitFor((msgs) => ids.every((id) => msgs.some((m) => m.headers['messageId'] === id)), timeoutMs);
}

export function withMessageId(tap: TopicTap, id: string): Resolved[] {
  return decodedResolved(tap).filter((r) => r.envelope.messageId === id);
}

/** The resolved event (kind `event`) of a raw messageId (the first copy). */
export function resolvedEvent(
  tap: TopicTap,
  id: string,
): { key: string | null; profileId: string; partition: number; offset: number; envelope: Envelope<ResolvedMessage> } {
  const found = withMessageId(tap, id).find((r) => r.envelope.payload.kind === 'event');
  if (!found || found.envelope.payload.kind !== 'event') throw new Error(`no resolved event for ${id}`);
  return {
    key: found.msg.key,
    profileId: found.envelope.payload.profileId,
    partition: found.msg.partition,
    offset: Number(found.msg.offset),
    envelope: found.envelope,
  };
}

/** The environment of one of several identity instances in a test: its own id, no expiry sweep, a short session (a stopped instance's partitions move on soon). */
export function instanceEnv(id: string): Record<string, string> {
  return { MOSAIC_INSTANCE_ID: id, IDENTITY_SWEEP_INTERVAL_SECONDS: '0', KAFKA_CONSUMER_SESSION_TIMEOUT_MS: '6000' };
}

/** Stops a test's tap and instances, then drops its database. */
export async function stopTestInstances(tap: TopicTap | undefined, services: (StartedService | undefined)[]): Promise<void> {
  await tap?.stop();
  await Promise.all(services.map((s) => s?.stop()));
  await dropTestDatabase().catch(() => undefined);
}
