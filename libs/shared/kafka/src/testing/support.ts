/**
 * Helpers for this library's integration tests (*.int-spec.ts): a KafkaConfig for the test
 * broker with a prefix unique per test, a quiet logger, and a few admin reads. Not exported
 * from the library's index.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Admin, Kafka } from 'kafkajs';
import type { TopicKey } from '@mosaic/contracts';
import type { KafkaConfig } from '@mosaic/shared-config';
import { createLogger, type Logger } from '@mosaic/shared-logging';
import { TEST_PRODUCER_ACK_TIMEOUT_MS, testInfra } from '@mosaic/shared-testing';
import { createKafkaClient } from '../client';
import { ProducerUnavailableError } from '../errors';
import type { EventProducer } from '../producer';
import { TopicProvisioner } from '../provisioner';

/** Logs go to stderr at `level` (tests pass e.g. `'warn'` while debugging); silent by default. */
export function testLogger(level = 'silent'): Logger {
  return createLogger({ service: 'shared-kafka-test', level, destination: process.stderr });
}

/** A log line, parsed, with the time it arrived. */
export interface LoggedLine {
  at: number;
  line: Record<string, unknown>;
}

/** A logger (kafkajs' lines included, through its client) whose lines the test reads back. */
export function capturingLogger(service: string, level = 'debug'): { logger: Logger; lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim()) lines.push({ at: Date.now(), line: JSON.parse(text) as Record<string, unknown> });
      done();
    },
  });
  return { logger: createLogger({ service, level, destination }), lines };
}

/** A config whose topic prefix and group ids are unique to this call. */
export function testKafkaConfig(overrides: Partial<Omit<KafkaConfig, 'consumer'>> & { consumer?: Partial<KafkaConfig['consumer']> } = {}): KafkaConfig {
  const infra = testInfra();
  const prefix = `${infra.topicPrefix}${randomBytes(3).toString('hex')}.`;
  return {
    brokers: infra.kafkaBrokers,
    clientId: 'shared-kafka-test',
    topicPrefix: prefix,
    partitions: 2,
    replicationFactor: 1,
    provisionTopics: true,
    provisionTimeoutMs: 75_000,
    producerLingerMs: 2,
    // as the services' test env; fail-fast tests pass their own
    producerAckTimeoutMs: TEST_PRODUCER_ACK_TIMEOUT_MS,
    ...overrides,
    consumer: { groupId: `${prefix}identity`, maxRetries: 2, retryBackoffMs: 20, sessionTimeoutMs: 6_000, concurrency: 2, ...overrides.consumer },
  };
}

/** Fast group settings for tests (the broker's classic-group minimum session timeout is 6 s). */
export const FAST_CONSUMER = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 6_000, maxWaitTimeInMs: 200 } as const;

export function testKafka(cfg: KafkaConfig, logger: Logger = testLogger()): Kafka {
  return createKafkaClient(cfg, logger, { connectionTimeoutMs: 1_000, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 } });
}

export async function provision(kafka: Kafka, cfg: KafkaConfig, keys: TopicKey[], logger: Logger = testLogger()): Promise<void> {
  await new TopicProvisioner(kafka, cfg, logger).ensure(keys);
}

export async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Committed offset of a group on one partition (-1 when none). */
export async function committedOffset(kafka: Kafka, groupId: string, topic: string, partition = 0): Promise<number> {
  return withAdmin(kafka, async (admin) => {
    const res = await admin.fetchOffsets({ groupId, topics: [topic] });
    const p = res[0]?.partitions.find((x) => x.partition === partition);
    return p ? Number(p.offset) : -1;
  });
}

/** Sum of the high watermarks of a topic's partitions (= messages ever written, for fresh topics). */
export async function messageCount(kafka: Kafka, topic: string): Promise<number> {
  return withAdmin(kafka, async (admin) => {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high), 0);
  });
}

export interface ReadMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Reads `count` messages of a topic from the beginning with a throw-away group (plain kafkajs). */
export async function readMessages(kafka: Kafka, topic: string, count: number, timeoutMs = 20_000): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({
    groupId: `${testInfra().topicPrefix}reader-${randomBytes(4).toString('hex')}`,
    sessionTimeout: 6_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  });
  const out: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${out.length}/${count} messages of ${topic} within ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(Array.isArray(v) ? v[v.length - 1] : v);
          out.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value, headers });
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** A send rejected before a macrotask passes, without queuing, batching or producing anything: the producer knew Kafka was unavailable. */
export async function expectRefusedAtOnce(p: EventProducer, topic: string): Promise<void> {
  const before = p.stats();
  const outcome = await Promise.race([
    p.send(topic, [{ key: 'a', value: Buffer.from('refused'), headers: {} }]).then(
      () => 'resolved',
      (e: unknown) => e,
    ),
    new Promise((resolve) => setImmediate(() => resolve('still pending after a macrotask'))),
  ]);
  expect(outcome).toBeInstanceOf(ProducerUnavailableError);
  expect((outcome as Error).message).toMatch(/Kafka is unavailable/);
  expect(p.stats()).toEqual({ ...before, failures: before.failures + 1 });
}
