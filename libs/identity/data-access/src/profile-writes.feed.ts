/**
 * Keeps this instance's {@link ProfileCache} honest: `identity.profile-writes` read from the
 * beginning (it retains minutes, not days) and followed, each record's profiles dropped from the
 * cache unless this instance wrote it (its own writes update its cache directly). Its consumer
 * group is the instance's own and commits nothing. The cache serves only while the follower is
 * caught up and connected; a restarted consumer (after a crash) drops the cache once, as the
 * invalidations it missed while down are read again after its start.
 */
import type { Kafka } from 'kafkajs';
import { Schemas, decodeMessage, type ProfileWrites } from '@mosaic/contracts';
import { TopicFollower } from '@mosaic/shared-kafka';
import type { Logger } from '@mosaic/shared-logging';
import type { ProfileCache } from './profile.cache';

export interface ProfileWritesFeedOptions {
  kafka: Kafka;
  topic: string;
  groupPrefix: string;
  instanceId: string;
  cache: ProfileCache;
  logger: Logger;
}

export class ProfileWritesFeed {
  private readonly follower: TopicFollower;
  private runsSeen = 0;

  constructor(private readonly opts: ProfileWritesFeedOptions) {
    this.follower = new TopicFollower(opts.kafka, {
      topics: [opts.topic],
      groupPrefix: `${opts.groupPrefix}.profile-writes`,
      fromBeginning: true,
      onRecord: (_topic, message) => this.apply(decodeMessage(Schemas.profileWrites, message.value).payload as ProfileWrites),
      onError: (err, topic) => opts.logger.warn({ err, topic }, 'profile-writes record skipped'),
      logger: opts.logger,
    });
    opts.cache.followWhile(() => this.following());
  }

  start(): Promise<void> {
    return this.follower.start();
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }

  private apply(writes: ProfileWrites): void {
    if (writes.instanceId !== this.opts.instanceId) this.opts.cache.invalidate(writes.profileIds);
  }

  /** Caught up and connected, with the same consumer as at the last look (a new one means some records came late). */
  private following(): boolean {
    const activity = this.follower.activity();
    if (!this.follower.caughtUp || !activity.connected || activity.restartPending || activity.starting) return false;
    const runs = this.follower.consumerRuns;
    if (runs === this.runsSeen) return true;
    this.runsSeen = runs;
    return false;
  }
}
