// Reads a topic from the beginning in the background so tests can assert on what reached
// Kafka (key, headers, envelope). A real consumer on the real broker.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { TEST_TOPIC_PREFIX } from './cleanup';
import { PIPELINE_WAIT_MS } from './wait-bounds';

export interface TappedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  value: Buffer | null;
  /** The parsed JSON value (undefined when not JSON). */
  json: unknown;
}

export class TopicTap {
  readonly messages: TappedMessage[] = [];
  private constructor(private readonly consumer: Consumer) {}

  static async start(brokers: string[], topic: string): Promise<TopicTap> {
    const kafka = new Kafka({ clientId: 'test-tap', brokers, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({
      // under the test file's prefix, so the test environment removes the group with the file's topics
      groupId: `${tapGroupPrefix(topic)}tap-${randomBytes(4).toString('hex')}`,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const tap = new TopicTap(consumer);
    let joined!: () => void;
    const ready = new Promise<void>((r) => (joined = r));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
        let json: unknown;
        try {
          json = message.value ? JSON.parse(message.value.toString('utf8')) : undefined;
        } catch {
          json = undefined;
        }
        tap.messages.push({ topic: t, partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, headers, value: message.value, json });
      },
    });
    await ready;
    return tap;
  }

  /** Waits until `predicate` holds for the messages seen so far (by default as long as a service's output may sit behind a slow Kafka acknowledgement). */
  async waitFor(predicate: (msgs: TappedMessage[]) => boolean, timeoutMs = PIPELINE_WAIT_MS): Promise<TappedMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      if (Date.now() > deadline)
        throw new Error(`TopicTap: condition not met within ${timeoutMs} ms (${this.messages.length} messages seen; the last: ${this.lastSeen(5)})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.messages;
  }

  /** The last `n` messages, shortened, for a failure message. */
  private lastSeen(n: number): string {
    return JSON.stringify(this.messages.slice(-n).map((m) => JSON.stringify((m.json as { payload?: unknown } | undefined)?.payload ?? m.json).slice(0, 300)));
  }

  /** Messages whose envelope payload matches. */
  payloads<T = Record<string, unknown>>(filter: (p: T) => boolean = () => true): T[] {
    return this.messages.map((m) => (m.json as { payload?: T } | undefined)?.payload).filter((p): p is T => p !== undefined && filter(p));
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/**
 * The test file's name prefix (`mt-<id>.`) of the tapped topic; for another topic the test
 * prefix alone, which the final sweep of the test run removes.
 */
function tapGroupPrefix(topic: string): string {
  return new RegExp(`^${TEST_TOPIC_PREFIX}[0-9a-f]+\\.`).exec(topic)?.[0] ?? TEST_TOPIC_PREFIX;
}
