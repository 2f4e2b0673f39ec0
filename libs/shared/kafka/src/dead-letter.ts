/**
 * The one builder of dead letters (`mosaic.dlq.<service>`): the consumer host's (a message that
 * failed its retries), identity's (an event with no usable identifier) and activation's (a
 * delivery that used up its attempts) all describe their source record the same way, so an
 * operator's replay tooling reads one shape.
 */
import type { DeadLetter } from '@mosaic/contracts';
import type { ProduceMeta } from './producer';

/** Values above this are cut (the letter says how long they were): a DLQ record stays well under Kafka's size limit. */
export const DLQ_MAX_VALUE_BYTES = 512 * 1024;
export const DLQ_MAX_STACK_CHARS = 8_000;

/** The record that could not be processed. */
export interface DeadLetterSource {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  correlationId?: string;
}

export interface DeadLetterOptions {
  /** The failing service (envelope producer and letter `service`). */
  service: string;
  error: { name?: string; message?: string; stack?: string };
  attempts: number;
  /** Default `dlq:<topic>:<partition>:<offset>`: a re-delivered failure is the same letter. */
  messageId?: string;
  /** The letter's record key; default the source's. */
  key?: string | null;
}

/** The dead letter of `source` and the meta to produce it with (`produceMessages(..., Schemas.deadLetter, [...])`). */
export function deadLetterFor(source: DeadLetterSource, opts: DeadLetterOptions): { payload: DeadLetter; meta: ProduceMeta } {
  const value = source.value ?? Buffer.alloc(0);
  const truncated = value.length > DLQ_MAX_VALUE_BYTES;
  const { name, message, stack } = opts.error;
  const payload: DeadLetter = {
    service: opts.service,
    sourceTopic: source.topic,
    partition: source.partition,
    offset: source.offset,
    valueBase64: (truncated ? value.subarray(0, DLQ_MAX_VALUE_BYTES) : value).toString('base64'),
    headers: source.headers,
    error: { name: name || 'Error', message: message ?? '', ...(stack ? { stack: stack.slice(0, DLQ_MAX_STACK_CHARS) } : {}) },
    attempts: opts.attempts,
    failedAt: new Date().toISOString(),
    ...(source.key === null ? {} : { key: source.key }),
  };
  const headers: Record<string, string> = { sourceTopic: source.topic, sourcePartition: String(source.partition), sourceOffset: source.offset };
  if (truncated) headers['valueTruncatedFrom'] = String(value.length);
  const meta: ProduceMeta = {
    key: opts.key === undefined ? source.key : opts.key,
    producer: opts.service,
    messageId: opts.messageId ?? `dlq:${source.topic}:${source.partition}:${source.offset}`,
    headers,
    ...(source.correlationId === undefined ? {} : { correlationId: source.correlationId }),
  };
  return { payload, meta };
}
