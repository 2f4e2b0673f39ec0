/** `profiles.changes` → the profiles activation keeps (what payloads and decisions are built from). */
import { Schemas, decodeMessage, type ProfileChange } from '@mosaic/contracts';
import type { InboundMessage } from '@mosaic/shared-kafka';
import type { ActivationProfilesRepository } from '@mosaic/activation-data-access';

export class StoreProfileChanges {
  constructor(private readonly profiles: ActivationProfilesRepository) {}

  /** One partition's batch: only the newest version of each profile is written. */
  async handle(messages: readonly InboundMessage[]): Promise<void> {
    const changes = messages.map((m) => decodeMessage(Schemas.profileChange, m.value).payload as ProfileChange);
    await this.profiles.putProfiles(
      changes.map((c) => ({
        profileId: c.profileId,
        profile: { traits: c.profile.traits, computed: c.profile.computed, identifiers: c.profile.identifiers },
        version: c.version,
        ...(c.mergedInto ? { mergedInto: c.mergedInto } : {}),
      })),
    );
  }
}
