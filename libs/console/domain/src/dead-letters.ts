/**
 * Dead letters as the console shows them, and the rules for replaying one: a dead letter is
 * named by where it sits (`<dlq topic>:<partition>:<offset>`), shows a readable preview of the
 * original value, and is replayed by producing its original key, value and headers back to the
 * topic it came from — only a Mosaic topic a stage consumes, never a dead-letter topic.
 */
import { DEAD_DELIVERY_ID_HEADER } from '@mosaic/contracts';
import type { Role } from './roles';

/** What a stage wrote to its `dlq.<service>` topic (the contract's `DeadLetter`), as the console needs it. */
export interface DeadLetterRecord {
  service: string;
  sourceTopic: string;
  partition: number;
  offset: string;
  key?: string;
  valueBase64: string;
  headers: Record<string, string>;
  error: { name: string; message: string };
  attempts: number;
  failedAt: string;
}

/** Where a dead letter sits in its dead-letter topic. */
export interface DeadLetterPosition {
  topic: string;
  partition: number;
  offset: string;
}

/** One dead letter in the console's list. */
export interface DeadLetterEntry extends DeadLetterPosition {
  id: string;
  record: DeadLetterRecord;
}

/** A value's readable form: UTF-8 text (cut at `limit` characters), or `binary` when it is not text. */
export interface ValuePreview {
  text: string | null;
  binary: boolean;
  truncated: boolean;
  bytes: number;
}

/** The header a replayed message carries: the id of the dead letter it came from. */
export const REPLAY_OF_HEADER = 'replayOf';

export const deadLetterId = (p: DeadLetterPosition): string => `${p.topic}:${p.partition}:${p.offset}`;

/** Topic names hold no `:` (Kafka allows letters, digits, `.`, `_` and `-`), so the id splits unambiguously. */
export function parseDeadLetterId(id: string): DeadLetterPosition | null {
  const m = /^([A-Za-z0-9._-]+):(\d{1,9}):(\d{1,19})$/.exec(id);
  return m ? { topic: m[1] as string, partition: Number(m[2]), offset: m[3] as string } : null;
}

export function valuePreview(valueBase64: string, limit = 4_096): ValuePreview {
  const bytes = Buffer.from(valueBase64, 'base64');
  const text = new TextDecoder('utf-8', { fatal: true });
  try {
    const decoded = text.decode(bytes);
    return { text: decoded.slice(0, limit), binary: false, truncated: decoded.length > limit, bytes: bytes.length };
  } catch {
    return { text: null, binary: true, truncated: false, bytes: bytes.length };
  }
}

export type ReplayTarget = { ok: true; kind: 'topic'; topic: string } | { ok: true; kind: 'delivery'; deliveryId: string } | { ok: false; reason: string };

/**
 * Where a dead letter goes back to: a dead delivery of activation is delivered again by
 * activation (its value is no message of the source topic's contract); any other goes to its
 * source topic, when that is one the stages consume.
 */
export function replayTarget(record: DeadLetterRecord, replayableTopics: ReadonlySet<string>): ReplayTarget {
  const deliveryId = record.service === 'activation' ? record.headers[DEAD_DELIVERY_ID_HEADER] : undefined;
  if (deliveryId) return { ok: true, kind: 'delivery', deliveryId };
  if (replayableTopics.has(record.sourceTopic)) return { ok: true, kind: 'topic', topic: record.sourceTopic };
  return { ok: false, reason: `${record.sourceTopic} is not a topic a Mosaic stage consumes (only those are replayed)` };
}

/** The original headers, plus which dead letter the message is a replay of (the messageId stays: the stages' replay guards know it). */
export function replayHeaders(record: DeadLetterRecord, id: string): Record<string, string> {
  return { ...record.headers, [REPLAY_OF_HEADER]: id };
}

/** Replaying changes what the pipeline processes: editors and admins. */
export const mayReplayDeadLetters = (role: Role): boolean => role !== 'viewer';
