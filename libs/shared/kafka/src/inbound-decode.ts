/** Turns a fetched kafkajs record into the {@link InboundMessage} handlers get. */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { HEADER_CORRELATION_ID, HEADER_MESSAGE_ID, type TopicKey } from '@mosaic/contracts';
import type { InboundMessage } from './inbound-message';

export function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, raw] of Object.entries(headers)) {
    const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (v === undefined) continue;
    out[name] = typeof v === 'string' ? v : v.toString('utf8');
  }
  return out;
}

export function toInboundMessage(topicKey: TopicKey, topic: string, partition: number, m: KafkaMessage): InboundMessage {
  const headers = decodeHeaders(m.headers);
  const msg: InboundMessage = {
    topic,
    topicKey,
    partition,
    offset: m.offset,
    key: m.key === null ? null : m.key.toString('utf8'),
    value: m.value,
    headers,
    timestamp: Number(m.timestamp),
  };
  if (headers[HEADER_MESSAGE_ID] !== undefined) msg.messageId = headers[HEADER_MESSAGE_ID];
  if (headers[HEADER_CORRELATION_ID] !== undefined) msg.correlationId = headers[HEADER_CORRELATION_ID];
  return msg;
}
