/**
 * This instance's profile changes — of its batches (those that failed after writing too) and of
 * its splits — until Kafka acknowledged their announcement on `identity.profile-writes`. An
 * announcement that failed is repeated with the next one, whoever makes it, so a change is not
 * left to other instances' cache TTL because its announcement's produce failed once.
 */
import { Schemas, type ProfileWrites } from '@mosaic/contracts';
import { produceMessages, type MessageSender } from '@mosaic/shared-kafka';

export interface ProfileWritesAnnouncerDeps {
  producer: MessageSender;
  topics: { identityProfileWrites: string };
  /** This instance, named in its records (its own follower skips them). */
  instanceId: string;
}

export class ProfileWritesAnnouncer {
  /** Pending profiles, each with how often it was noted: one noted again while its announcement was under way stays pending. */
  private readonly pending = new Map<string, number>();

  constructor(private readonly deps: ProfileWritesAnnouncerDeps) {}

  /** Profiles this instance changed (or may have: a write under way when it failed). */
  note(profileIds: Iterable<string>): void {
    for (const id of profileIds) this.pending.set(id, (this.pending.get(id) ?? 0) + 1);
  }

  /** What the next `announce` sends. */
  toAnnounce(): string[] {
    return [...this.pending.keys()];
  }

  /** One record naming every pending profile; they stop being pending once Kafka acknowledged it. */
  async announce(): Promise<void> {
    const noted = new Map(this.pending);
    const profileIds = [...noted.keys()];
    if (profileIds.length === 0) return;
    const payload: ProfileWrites = { instanceId: this.deps.instanceId, profileIds };
    await produceMessages(this.deps.producer, this.deps.topics.identityProfileWrites, Schemas.profileWrites, [
      { payload, meta: { key: this.deps.instanceId, producer: 'identity' } },
    ]);
    for (const [id, times] of noted) if (this.pending.get(id) === times) this.pending.delete(id);
  }
}
