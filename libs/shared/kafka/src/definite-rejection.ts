/** Classifying a failed produce batch: did Kafka definitely refuse it, or is its outcome unknown? */

/** Protocol errors after which the producer's idempotence state (id, epoch, sequences) is unusable. */
const PRODUCER_STATE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'DUPLICATE_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'PRODUCER_FENCED',
]);

function causes(err: unknown): { name?: string; type?: string; retriable?: boolean }[] {
  const out: { name?: string; type?: string; retriable?: boolean }[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 10 && typeof e === 'object' && e !== null; depth++) {
    out.push(e as { name?: string; type?: string; retriable?: boolean });
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/**
 * True when Kafka definitely refused the batch (a non-retriable protocol error such as
 * MESSAGE_TOO_LARGE): retrying the refused records will not help. Kafka refuses per partition:
 * the refused partition's records were not written, the batch's other partitions may have been
 * (kafkajs reports the first partition error only, without its partition). False when the
 * outcome is unknown (connection lost, timeout, retries given up) or the producer's idempotence
 * state broke.
 */
export function isDefiniteRejection(err: unknown): boolean {
  const chain = causes(err);
  if (chain.some((c) => c.type !== undefined && PRODUCER_STATE_ERRORS.has(c.type))) return false;
  return chain.some((c) => c.name === 'KafkaJSProtocolError' && c.retriable === false);
}
