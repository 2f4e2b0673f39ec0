/**
 * An instance's own reader of topics every instance must see whole — an in-memory view fed by a
 * topic (the sources directory, the decision cache). Its consumer group (`<groupPrefix>.<uuid>`)
 * belongs to this instance alone and commits nothing, so it disappears when the instance leaves
 * and every instance gets every record. With `fromBeginning` it first reads what the topics
 * retain; `caughtUp` turns true once it has read up to where each partition ended at start-up
 * (a readiness condition for views that must be complete before they answer).
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';

export interface TopicFollowerOptions {
  topics: readonly string[];
  /** The group id is `<groupPrefix>.<random uuid>` (keep the topic prefix in it: tests and operators find it by that). */
  groupPrefix: string;
  /** Read what the topics retain first (true), or only records produced from now on (false). */
  fromBeginning: boolean;
  /** Applies one record; a throw is reported to `onError` and the record skipped (a view must not stall on one bad record). */
  onRecord: (topic: string, message: KafkaMessage) => void;
  onError: (err: unknown, topic: string, message: KafkaMessage) => void;
}

export class TopicFollower {
  private consumer: Consumer | undefined;
  /** Per topic and partition: the offset the start-up read must reach. */
  private readonly pending = new Map<string, bigint>();
  private loaded = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: TopicFollowerOptions,
  ) {}

  /** Whether the start-up read has reached where every partition ended (always true without `fromBeginning`). */
  get caughtUp(): boolean {
    return this.loaded;
  }

  async start(): Promise<void> {
    if (this.opts.fromBeginning) await this.noteEndOffsets();
    this.loaded = this.pending.size === 0;
    const consumer = this.kafka.consumer({ groupId: `${this.opts.groupPrefix}.${randomUUID()}`, maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.opts.topics], fromBeginning: this.opts.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) this.apply(batch.topic, message);
        this.reached(batch.topic, batch.partition, BigInt(batch.lastOffset()));
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }

  private apply(topic: string, message: KafkaMessage): void {
    try {
      this.opts.onRecord(topic, message);
    } catch (err) {
      this.opts.onError(err, topic, message);
    }
  }

  private async noteEndOffsets(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const topic of this.opts.topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) {
          if (BigInt(p.high) > BigInt(p.low)) this.pending.set(`${topic}|${p.partition}`, BigInt(p.high) - 1n);
        }
      }
    } finally {
      await admin.disconnect();
    }
  }

  private reached(topic: string, partition: number, offset: bigint): void {
    const key = `${topic}|${partition}`;
    const target = this.pending.get(key);
    if (target === undefined || offset < target) return;
    this.pending.delete(key);
    if (this.pending.size === 0) this.loaded = true;
  }
}
