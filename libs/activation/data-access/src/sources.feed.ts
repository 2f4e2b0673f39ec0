/**
 * The sources this instance's decision API checks keys against: `mosaic.sources` read from the
 * beginning into a {@link SourceDirectory}, then followed (a revocation reaches it within
 * seconds). Its consumer group is the instance's own (under the topic prefix) and commits
 * nothing, so it is gone when the instance leaves. Until it has read the topic up to where it
 * ended at start-up, the instance is not ready (it would refuse keys it does not know yet).
 */
import type { Kafka } from 'kafkajs';
import { Schemas, decodeMessage, type SourceState } from '@mosaic/contracts';
import { SourceDirectory } from '@mosaic/activation-domain';
import { TopicFollower } from '@mosaic/shared-kafka';

export class SourcesFeed {
  readonly directory = new SourceDirectory();
  private readonly follower: TopicFollower;

  constructor(kafka: Kafka, topic: string, groupPrefix: string, onError: (err: unknown) => void) {
    this.follower = new TopicFollower(kafka, {
      topics: [topic],
      groupPrefix: `${groupPrefix}.sources`,
      fromBeginning: true,
      onRecord: (_topic, message) => this.directory.apply(decodeMessage(Schemas.sourceState, message.value).payload as SourceState),
      onError,
    });
  }

  /** Whether the topic has been read up to where it ended when the feed started. */
  get caughtUp(): boolean {
    return this.follower.caughtUp;
  }

  start(): Promise<void> {
    return this.follower.start();
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }
}
