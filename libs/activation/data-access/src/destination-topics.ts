/**
 * The topics of Kafka destinations: created when a destination names one that does not exist
 * (the broker does not auto-create), and never one of the deployment's own topics.
 */
import type { Kafka } from 'kafkajs';
import { reservedTopicProblem } from '@mosaic/activation-domain';
import { invalidInput } from '@mosaic/shared-service';

export interface DestinationTopicsSettings {
  partitions: number;
  replicationFactor: number;
  /** Every topic of the deployment (libs/contracts' topics with the configured prefix). */
  ownTopics: readonly string[];
}

export class DestinationTopics {
  constructor(
    private readonly kafka: Kafka,
    private readonly settings: DestinationTopicsSettings,
  ) {}

  /** Why a destination may not write to `topic` (Kafka-internal or Mosaic's own), or undefined. */
  problem(topic: string): string | undefined {
    return reservedTopicProblem(topic, this.settings.ownTopics);
  }

  /**
   * Makes sure a destination's topic exists, creating it with the deployment's partitions. A
   * reserved topic is a 400 naming it (the admin API calls this for every Kafka destination it
   * stores).
   */
  async ensure(topic: string): Promise<void> {
    const problem = this.problem(topic);
    if (problem !== undefined) throw invalidInput('destination', [{ path: 'topic', message: problem }]);
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
