/**
 * Every collector instance's own reader of `mosaic.sources`: a change of a source (a revocation
 * made through another instance, above all) drops that source's entries from this instance's
 * write-key cache at once, instead of when they expire. Only changes from now on matter (the
 * cache reads MongoDB on a miss), so it follows the topic from its end.
 */
import type { Kafka } from 'kafkajs';
import { TopicFollower } from '@mosaic/shared-kafka';

export class SourceChangesFeed {
  private readonly follower: TopicFollower;

  constructor(kafka: Kafka, topic: string, groupPrefix: string, onChange: (sourceId: string) => void) {
    this.follower = new TopicFollower(kafka, {
      topics: [topic],
      groupPrefix: `${groupPrefix}.sources`,
      fromBeginning: false,
      onRecord: (_topic, message) => {
        if (message.key) onChange(message.key.toString('utf8'));
      },
      onError: () => undefined,
    });
  }

  start(): Promise<void> {
    return this.follower.start();
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }
}
