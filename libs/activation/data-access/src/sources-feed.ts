/**
 * The sources this instance's decision API checks keys against: `mosaic.sources` read from the
 * beginning into a {@link SourceDirectory}, then followed (a revocation reaches it within
 * seconds). Its consumer group is the instance's own (under the topic prefix) and commits
 * nothing, so it is gone when the instance leaves. Until it has read the topic up to where it
 * ended at start-up, the instance is not ready (it would refuse keys it does not know yet).
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { Schemas, decodeMessage, type SourceState } from '@mosaic/contracts';
import { SourceDirectory } from '@mosaic/activation-domain';

export class SourcesFeed {
  readonly directory = new SourceDirectory();
  private consumer: Consumer | undefined;
  /** Per partition: the offset the start-up read must reach (the high watermark minus one). */
  private readonly pending = new Map<number, bigint>();
  private loaded = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly groupPrefix: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Whether the topic has been read up to where it ended when the feed started. */
  get caughtUp(): boolean {
    return this.loaded;
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const p of await admin.fetchTopicOffsets(this.topic)) {
        if (BigInt(p.high) > BigInt(p.low)) this.pending.set(p.partition, BigInt(p.high) - 1n);
      }
    } finally {
      await admin.disconnect();
    }
    this.loaded = this.pending.size === 0;
    const consumer = this.kafka.consumer({ groupId: `${this.groupPrefix}.sources.${randomUUID()}`, maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          try {
            this.directory.apply(decodeMessage(Schemas.sourceState, m.value).payload as SourceState);
          } catch (err) {
            this.onError(err);
          }
        }
        this.reached(batch.partition, BigInt(batch.lastOffset()));
      },
    });
  }

  private reached(partition: number, offset: bigint): void {
    const target = this.pending.get(partition);
    if (target === undefined || offset < target) return;
    this.pending.delete(partition);
    if (this.pending.size === 0) this.loaded = true;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
