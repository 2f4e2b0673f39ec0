/**
 * Every collector instance's own reader of `mosaic.sources`: a change of a source (a revocation
 * made through another instance, above all) drops that source's entries from this instance's
 * write-key cache at once, instead of when they expire. Only changes from now on matter (the
 * cache reads MongoDB on a miss), so it starts at the end of the topic, and its group (one per
 * instance, under the topic prefix) commits nothing: it disappears when the instance leaves.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';

export class SourceChangesListener {
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly groupPrefix: string,
    private readonly onChange: (sourceId: string) => void,
  ) {}

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: `${this.groupPrefix}.sources.${randomUUID()}`, maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (message.key) this.onChange(message.key.toString('utf8'));
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
