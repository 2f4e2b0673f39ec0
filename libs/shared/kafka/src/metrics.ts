/** Prometheus metrics of the Kafka plumbing (registered once per registry, see `getOrCreate`). */
import { Counter, Gauge, Histogram, Registry, getOrCreate } from '@mosaic/shared-logging';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface ProducerMetrics {
  produced: Counter<'topic'>;
  ackLatency: Histogram<'topic'>;
  failures: Counter<'topic' | 'reason'>;
  batches: Counter<string>;
  batchSize: Histogram<string>;
  ready: Gauge<string>;
}

export function producerMetrics(registry: Registry): ProducerMetrics {
  const r = [registry];
  return {
    produced: getOrCreate(
      registry,
      'mosaic_kafka_produced_messages_total',
      () =>
        new Counter({
          name: 'mosaic_kafka_produced_messages_total',
          help: 'Messages acknowledged by Kafka (acks=all), by topic',
          labelNames: ['topic'],
          registers: r,
        }),
    ),
    ackLatency: getOrCreate(
      registry,
      'mosaic_kafka_produce_ack_seconds',
      () =>
        new Histogram({
          name: 'mosaic_kafka_produce_ack_seconds',
          help: 'Time from EventProducer.send() to the acknowledgement of all its messages, by topic',
          labelNames: ['topic'],
          buckets: LATENCY_BUCKETS,
          registers: r,
        }),
    ),
    failures: getOrCreate(
      registry,
      'mosaic_kafka_produce_failures_total',
      () =>
        new Counter({
          name: 'mosaic_kafka_produce_failures_total',
          help: 'EventProducer.send() calls that failed, by topic and reason (unavailable, timeout, unknown_topic, error)',
          labelNames: ['topic', 'reason'],
          registers: r,
        }),
    ),
    batches: getOrCreate(
      registry,
      'mosaic_kafka_produce_batches_total',
      () => new Counter({ name: 'mosaic_kafka_produce_batches_total', help: 'Coalesced sendBatch calls made by the EventProducer', registers: r }),
    ),
    batchSize: getOrCreate(
      registry,
      'mosaic_kafka_produce_batch_messages',
      () =>
        new Histogram({
          name: 'mosaic_kafka_produce_batch_messages',
          help: 'Messages per coalesced sendBatch',
          buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
          registers: r,
        }),
    ),
    ready: getOrCreate(
      registry,
      'mosaic_kafka_producer_ready',
      () => new Gauge({ name: 'mosaic_kafka_producer_ready', help: '1 when the producer is connected and acknowledging, else 0', registers: r }),
    ),
  };
}

export interface ConsumerMetrics {
  consumed: Counter<'topic' | 'group'>;
  batchDuration: Histogram<'topic' | 'mode'>;
  deadLettered: Counter<'topic'>;
  retries: Counter<'topic'>;
  lag: Gauge<'topic' | 'partition'>;
  crashes: Counter<'topic'>;
}

export function consumerMetrics(registry: Registry): ConsumerMetrics {
  const r = [registry];
  return {
    consumed: getOrCreate(
      registry,
      'mosaic_kafka_consumed_messages_total',
      () =>
        new Counter({
          name: 'mosaic_kafka_consumed_messages_total',
          help: 'Messages processed and committed (including dead-lettered ones), by topic and group',
          labelNames: ['topic', 'group'],
          registers: r,
        }),
    ),
    batchDuration: getOrCreate(
      registry,
      'mosaic_kafka_batch_processing_seconds',
      () =>
        new Histogram({
          name: 'mosaic_kafka_batch_processing_seconds',
          help: 'Time to process and commit one partition batch; mode=batch when the handler succeeded at once, single when it fell back to one message at a time',
          labelNames: ['topic', 'mode'],
          buckets: DURATION_BUCKETS,
          registers: r,
        }),
    ),
    deadLettered: getOrCreate(
      registry,
      'mosaic_kafka_dead_lettered_total',
      () =>
        new Counter({
          name: 'mosaic_kafka_dead_lettered_total',
          help: 'Messages written to the dead-letter topic, by source topic',
          labelNames: ['topic'],
          registers: r,
        }),
    ),
    retries: getOrCreate(
      registry,
      'mosaic_kafka_consumer_retries_total',
      () => new Counter({ name: 'mosaic_kafka_consumer_retries_total', help: 'Single-message handler retries, by topic', labelNames: ['topic'], registers: r }),
    ),
    lag: getOrCreate(
      registry,
      'mosaic_kafka_consumer_lag',
      () =>
        new Gauge({
          name: 'mosaic_kafka_consumer_lag',
          help: 'Messages behind the high watermark after the last processed batch, by topic and partition (partitions this instance owns)',
          labelNames: ['topic', 'partition'],
          registers: r,
        }),
    ),
    crashes: getOrCreate(
      registry,
      'mosaic_kafka_consumer_crashes_total',
      () => new Counter({ name: 'mosaic_kafka_consumer_crashes_total', help: 'kafkajs consumer crashes, by topic', labelNames: ['topic'], registers: r }),
    ),
  };
}
