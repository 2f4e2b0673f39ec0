// Helpers for the enrichment service's integration tests (not part of the service).
import {
  Schemas,
  type Identifier,
  type MergeNotice,
  type ProfileChange,
  type RawEvent,
  type ResolvedEvent,
  type ResolvedMessage,
  type SplitNotice,
} from '@mosaic/contracts';
import { produceMessages, type MessageSender } from '@mosaic/shared-kafka';
import type { TopicTap } from '@mosaic/shared-testing';

let seq = 0;

export interface EventFields {
  type?: RawEvent['type'];
  messageId?: string;
  event?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context?: Record<string, unknown>;
  /** ISO-8601 event time (default now). */
  timestamp?: string;
  anonymousId?: string;
  userId?: string;
}

/** A resolved event (what identity produces) for `profileId`, its identifiers from anonymousId/userId. */
export function resolvedEvent(profileId: string, f: EventFields, prefix = 'en'): ResolvedEvent {
  const now = new Date().toISOString();
  const anonymousId = f.anonymousId ?? (f.userId ? undefined : `anon-${profileId}`);
  const type = f.type ?? (f.event ? 'track' : 'page');
  const event = {
    type,
    messageId: f.messageId ?? `${prefix}-${Date.now().toString(36)}-${(seq += 1)}`,
    ...(anonymousId ? { anonymousId } : {}),
    ...(f.userId ? { userId: f.userId } : {}),
    ...(type === 'track' ? { event: f.event ?? 'Test Event' } : {}),
    properties: f.properties ?? {},
    traits: f.traits ?? {},
    context: f.context ?? {},
    timestamp: f.timestamp ?? now,
    receivedAt: now,
    sourceId: 'src_en',
  } as RawEvent;
  const identifiers: Identifier[] = [
    ...(f.userId ? [{ type: 'userId', value: f.userId }] : []),
    ...(anonymousId ? [{ type: 'anonymousId', value: anonymousId }] : []),
  ];
  return { kind: 'event', profileId, event, identifiers };
}

export function mergeNotice(survivorId: string, loserId: string, movedIdentifiers: Identifier[] = []): MergeNotice {
  return { kind: 'merge', survivorId, loserId, reason: 'test', triggeringMessageId: `trig-${(seq += 1)}`, movedIdentifiers, at: new Date().toISOString() };
}

export function splitNotice(fromProfileId: string, newProfileId: string, identifiers: Identifier[]): SplitNotice {
  return { kind: 'split', fromProfileId, newProfileId, identifiers, reason: 'test', at: new Date().toISOString() };
}

export function messageIdOf(m: ResolvedMessage): string {
  if (m.kind === 'event') return m.event.messageId;
  if (m.kind === 'merge') return `merge:${m.triggeringMessageId}:${m.loserId}`;
  return `split:${m.fromProfileId}:${m.newProfileId}`;
}

/** Produces resolved messages keyed as identity keys them (events by profile, merges by survivor, splits by source). */
export async function sendResolved(producer: MessageSender, topic: string, messages: ResolvedMessage[]): Promise<string[]> {
  const ids = messages.map(messageIdOf);
  await produceMessages(
    producer,
    topic,
    Schemas.resolved,
    messages.map((m, i) => ({
      payload: m,
      meta: {
        key: m.kind === 'event' ? m.profileId : m.kind === 'merge' ? m.survivorId : m.fromProfileId,
        producer: 'it-test',
        messageId: ids[i] as string,
        correlationId: `corr-${ids[i] as string}`,
      },
    })),
  );
  return ids;
}

/** The change messages produced for trigger `messageId`. */
export function changesFor(tap: TopicTap, messageId: string): ProfileChange[] {
  return tap.payloads<ProfileChange>((c) => c.trigger?.messageId === messageId);
}

export async function waitForChanges(tap: TopicTap, messageIds: string[], timeoutMs = 30_000): Promise<void> {
  await tap.waitFor(() => messageIds.every((id) => changesFor(tap, id).length > 0), timeoutMs);
}
