/** The feed that keeps the {@link DecisionCache} current (see ./decision.cache.ts). */
import type { Kafka, KafkaMessage } from 'kafkajs';
import { Schemas, decodeMessage, type ProfileChange, type SegmentMembershipChange } from '@mosaic/contracts';
import { TopicFollower } from '@mosaic/shared-kafka';
import type { DecisionCache } from './decision.cache';

/**
 * Every instance's own consumer of `profiles.changes` and `segments.membership` (a group of its
 * own, from the latest offsets): the cache is a read model, so a record it cannot read is skipped,
 * never dead-lettered, and nothing is committed that matters.
 */
export class DecisionFeed {
  /**
   * How long the broker gathers records for one fetch: at a few hundred changes a second, a fetch
   * per record cost the decision API's process more CPU than the decisions did (issue 18's
   * profile); a visitor's next page comes seconds later.
   */
  static readonly GATHER_MS = 50;
  private readonly follower: TopicFollower;

  constructor(
    kafka: Kafka,
    private readonly topics: { profilesChanges: string; segmentsMembership: string },
    groupPrefix: string,
    private readonly cache: DecisionCache,
    onError: (err: unknown) => void,
  ) {
    this.follower = new TopicFollower(kafka, {
      topics: [topics.profilesChanges, topics.segmentsMembership],
      groupPrefix,
      fromBeginning: false,
      gatherMs: DecisionFeed.GATHER_MS,
      onRecord: (topic, message) => this.apply(topic, message),
      onError,
    });
  }

  private apply(topic: string, message: KafkaMessage): void {
    this.cache.stats.feedRecordAt = Math.max(this.cache.stats.feedRecordAt, Number(message.timestamp));
    if (topic === this.topics.profilesChanges) this.cache.applyProfile(decodeMessage(Schemas.profileChange, message.value).payload as ProfileChange);
    else this.cache.applyMembership(decodeMessage(Schemas.segmentMembership, message.value).payload as SegmentMembershipChange);
  }

  start(): Promise<void> {
    return this.follower.start();
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }
}
