import { Schemas, type SegmentMembershipChange } from '@mosaic/contracts';
import type { OutboxEntry } from '@mosaic/segmentation-data-access';
import { produceMessages, type MessageSender } from '@mosaic/shared-kafka';
import type { SegmentationUseCaseMetrics } from './metrics';

export interface PublishMembershipChangesOptions {
  producer: MessageSender;
  /** The `segments.membership` topic name. */
  topic: string;
  /** Its partition count (a profile's messages go to its `profiles.changes` partition modulo this). */
  partitions: number;
  metrics: SegmentationUseCaseMetrics;
}

/** Publishes membership changes: keyed `<profileId>|<segmentKey>` (compaction), partitioned by profile. */
export class PublishMembershipChanges {
  constructor(private readonly opts: PublishMembershipChangesOptions) {}

  async execute(entries: readonly OutboxEntry[], partitionOf: (profileId: string) => number): Promise<void> {
    await produceMessages(
      this.opts.producer,
      this.opts.topic,
      Schemas.segmentMembership,
      entries.map((e) => ({
        payload: payloadOf(e),
        meta: {
          key: `${e.profileId}|${e.segmentKey}`,
          partition: partitionOf(e.profileId) % this.opts.partitions,
          producer: 'segmentation',
          correlationId: e.reason.messageId ?? `${e.reason.kind}:${e.profileId}`,
          messageId: `mem:${e.profileId}:${e.profileVersion}`,
          validate: false,
        },
      })),
    );
    for (const e of entries) this.opts.metrics.membership.inc({ change: e.change });
  }
}

function payloadOf(e: OutboxEntry): SegmentMembershipChange {
  return {
    profileId: e.profileId,
    segmentKey: e.segmentKey,
    segmentVersion: e.segmentVersion,
    change: e.change,
    at: e.at,
    reason: e.reason,
    ...(e.explanation ? { explanation: e.explanation } : {}),
    identifiers: e.identifiers,
    profileVersion: e.profileVersion,
  };
}
