/** Dead-lettering by the consumer host: a message that failed for good goes to the service's DLQ topic. */
import { Schemas } from '@mosaic/contracts';
import { messageFields } from '@mosaic/shared-logging';
import { deadLetterFor } from './dead-letter';
import type { FailureKind } from './failure-kind';
import type { InboundMessage } from './inbound-message';
import { produceMessage } from './produce-message';
import type { ConsumerHostContext, Runtime } from './consumer-runtime';

export async function deadLetter(
  host: ConsumerHostContext,
  rt: Runtime,
  msg: InboundMessage,
  error: Error,
  attempts: number,
  kind: FailureKind,
): Promise<void> {
  const { payload, meta } = deadLetterFor(
    { topic: rt.topic, partition: msg.partition, offset: msg.offset, key: msg.key, value: msg.value, headers: msg.headers, correlationId: msg.correlationId },
    { service: host.opts.service, error, attempts },
  );
  await produceMessage(host.opts.producer, host.dlqTopic, Schemas.deadLetter, payload, meta);
  host.metrics.deadLettered.inc({ topic: rt.topic });
  host.log.error({ ...messageFields(msg), err: error, failureKind: kind, attempts, dlq: host.dlqTopic }, 'message dead-lettered');
}
