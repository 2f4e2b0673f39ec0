/** The EventProducer's public option, state and statistics types. */
import type { Registry } from '@mosaic/shared-logging';

export interface EventProducerOptions {
  /** A `send` rejects with {@link ProducerUnavailableError} when not acknowledged within this; default `cfg.producerAckTimeoutMs` (KAFKA_PRODUCER_ACK_TIMEOUT_MS, 5000). */
  ackTimeoutMs?: number;
  /** Coalescing window; default `cfg.producerLingerMs` (2 ms). 0 = next macrotask. */
  lingerMs?: number;
  /** Most messages per `sendBatch`; default 1000. */
  maxBatchMessages?: number;
  /** Most bytes per `sendBatch` (estimate); default 512 KiB, half the broker's default `message.max.bytes`. */
  maxBatchBytes?: number;
  /** A single record larger than this is refused up front; default 1,000,000 bytes. */
  maxMessageBytes?: number;
  /** Bound on one (re)connection attempt; default 10000. */
  connectTimeoutMs?: number;
  /** Metrics registry (the service's); a private one when omitted. */
  registry?: Registry;
}

export type ProducerState = 'idle' | 'connecting' | 'ready' | 'unavailable' | 'closing' | 'closed';

export interface ProducerStats {
  /** `send()` calls accepted. */
  sends: number;
  /** Messages acknowledged. */
  acked: number;
  /** Coalesced `sendBatch` calls made. */
  batches: number;
  /** Produce requests sent to brokers (kafkajs instrumentation; a batch spanning leaders makes several). */
  produceRequests: number;
  /** `send()` calls that failed. */
  failures: number;
}
