/** The topics of Kafka destinations: created when a destination names one that does not exist (the broker does not auto-create). */
import type { Kafka } from 'kafkajs';

export class DestinationTopics {
  constructor(
    private readonly kafka: Kafka,
    private readonly settings: { partitions: number; replicationFactor: number },
  ) {}

  async ensure(topic: string): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = await admin.listTopics();
      if (existing.includes(topic)) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: this.settings.partitions, replicationFactor: this.settings.replicationFactor }],
      });
    } finally {
      await admin.disconnect();
    }
  }
}
