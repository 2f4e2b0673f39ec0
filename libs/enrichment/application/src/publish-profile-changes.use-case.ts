import { Schemas, type ProfileChange } from '@mosaic/contracts';
import type { Counter } from '@mosaic/shared-logging';
import { produceMessages, type MessageSender } from '@mosaic/shared-kafka';
import type { ChangeOut } from './batch-context';

export interface PublishProfileChangesOptions {
  producer: MessageSender;
  /** The `profiles.changes` topic's name. */
  topic: string;
  metrics: { changes: Counter<string> };
}

/** Produces change messages to `profiles.changes`, keyed by profile (resolves once Kafka acknowledged them). */
export class PublishProfileChanges {
  constructor(private readonly opts: PublishProfileChangesOptions) {}

  async execute(changes: readonly ChangeOut[]): Promise<void> {
    if (changes.length === 0) return;
    await produceMessages(
      this.opts.producer,
      this.opts.topic,
      Schemas.profileChange,
      changes.map((c) => ({
        payload: c.change as ProfileChange,
        meta: { key: c.key, producer: 'enrichment', correlationId: c.correlationId, messageId: c.messageId, validate: false },
      })),
    );
    this.opts.metrics.changes.inc(changes.length);
  }

  /** A change the RFM job made (not triggered by a message of `events.resolved`). */
  executeOne(change: ProfileChange): Promise<void> {
    const trigger = change.trigger?.messageId;
    return this.execute([
      { key: change.profileId, messageId: `chg:${change.profileId}:${trigger ?? change.version}`, correlationId: trigger ?? 'rfm', change, duplicate: false },
    ]);
  }
}
