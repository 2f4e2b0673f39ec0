/** Producing contract messages: encode with the contracts codec, send through a {@link MessageSender}, trace. */
import { TOPIC_SPECS, encodeMessage, type EncodeMeta, type Envelope, type MessageSchema } from '@mosaic/contracts';
import type { OutboundMessage } from './batching';
import { ProducerSendError } from './errors';
import { traceProduce } from './tracing';

/** What services need from a producer (an interface so wiring can pass the EventProducer around). */
export interface MessageSender {
  send(topic: string, messages: OutboundMessage[]): Promise<void>;
}

export interface ProduceMeta {
  /** Record key (partitioning); `null` for round-robin. */
  key: string | null;
  /** The producing service (envelope `producer`). */
  producer: string;
  correlationId?: string;
  messageId?: string;
  producedAt?: Date;
  partition?: number;
  /** See EncodeMeta.validate in @mosaic/contracts (default true). */
  validate?: boolean;
  /** Extra headers, next to `messageId`, `correlationId` and `schema`. */
  headers?: Record<string, string>;
}

function assertSchemaOnTopic(schema: MessageSchema<unknown>, topicName: string): void {
  if (!schema.topics.some((k) => topicName.endsWith(TOPIC_SPECS[k].suffix))) {
    throw new ProducerSendError(`schema ${schema.name}@${schema.version} is not carried on topic ${topicName}`);
  }
}

function toOutbound<T>(schema: MessageSchema<T>, payload: T, meta: ProduceMeta): { message: OutboundMessage; envelope: Envelope<T> } {
  const encodeMeta: EncodeMeta = {
    producer: meta.producer,
    correlationId: meta.correlationId,
    messageId: meta.messageId,
    producedAt: meta.producedAt,
    validate: meta.validate,
  };
  const encoded = encodeMessage(schema, payload, encodeMeta);
  return {
    message: { key: meta.key, value: encoded.value, headers: { ...meta.headers, ...encoded.headers }, partition: meta.partition },
    envelope: encoded.envelope as Envelope<T>,
  };
}

/**
 * THE way services produce contract messages: validates and encodes the payload with the
 * contracts codec, sends it and resolves with the envelope once Kafka acknowledged it.
 */
export async function produceMessage<T>(
  producer: MessageSender,
  topicName: string,
  schema: MessageSchema<T>,
  payload: T,
  meta: ProduceMeta,
): Promise<Envelope<T>> {
  assertSchemaOnTopic(schema as MessageSchema<unknown>, topicName);
  const { message, envelope } = toOutbound(schema, payload, meta);
  await sendTraced(producer, topicName, [{ message, envelope }]);
  return envelope;
}

/** Like {@link produceMessage} for many messages of one schema in one `send` (one acknowledgement). */
export async function produceMessages<T>(
  producer: MessageSender,
  topicName: string,
  schema: MessageSchema<T>,
  items: readonly { payload: T; meta: ProduceMeta }[],
): Promise<Envelope<T>[]> {
  assertSchemaOnTopic(schema as MessageSchema<unknown>, topicName);
  const encoded = items.map((i) => toOutbound(schema, i.payload, i.meta));
  await sendTraced(producer, topicName, encoded);
  return encoded.map((e) => e.envelope);
}

/** Sends, with a producer span per message and its trace context in the headers when traced (see tracing.ts). */
async function sendTraced(
  producer: MessageSender,
  topicName: string,
  encoded: readonly { message: OutboundMessage; envelope: Envelope<unknown> }[],
): Promise<void> {
  const end = traceProduce(
    topicName,
    encoded.map(({ message, envelope }) => ({
      headers: message.headers,
      key: message.key,
      correlationId: envelope.correlationId,
      messageId: envelope.messageId,
    })),
  );
  try {
    await producer.send(
      topicName,
      encoded.map((e) => e.message),
    );
  } catch (err) {
    end?.(err);
    throw err;
  }
  end?.();
}
