// Test helpers of the activation integration specs (not part of the service).
import { Schemas, type ProfileChange, type SegmentMembershipChange } from '@mosaic/contracts';
import { produceMessages } from '@mosaic/shared-kafka';
import type { Platform } from '@mosaic/shared-service';

/** Produces membership changes as segmentation does (key `<profileId>|<segmentKey>`, message id `mem:<profileId>:<profileVersion>`). */
export async function sendMemberships(platform: Platform, changes: readonly SegmentMembershipChange[]): Promise<void> {
  await produceMessages(
    platform.producer,
    platform.topics.segmentsMembership,
    Schemas.segmentMembership,
    changes.map((c) => ({
      payload: c,
      meta: {
        key: `${c.profileId}|${c.segmentKey}`,
        producer: 'it-test',
        messageId: `mem:${c.profileId}:${c.profileVersion}`,
        correlationId: `mem:${c.profileId}:${c.profileVersion}`,
      },
    })),
  );
}

/** A profile entering a segment, as segmentation reports it (profile version 1 and user id `user-<profileId>` unless given). */
export function entered(
  profileId: string,
  segmentKey: string,
  profileVersion = 1,
  identifiers: SegmentMembershipChange['identifiers'] = { userId: `user-${profileId}` },
): SegmentMembershipChange {
  return {
    profileId,
    segmentKey,
    segmentVersion: 1,
    change: 'entered',
    at: new Date().toISOString(),
    reason: { kind: 'message', messageId: `m-${profileId}-${segmentKey}-${profileVersion}` },
    identifiers,
    profileVersion,
  };
}

/** A profile change as enrichment produces it (the compact profile with these identifiers, traits and computed attributes). */
export function profileChange(
  profileId: string,
  version: number,
  identifiers: { type: string; value: string }[],
  traits: Record<string, unknown>,
  computed: Record<string, unknown> = {},
): ProfileChange {
  return {
    profileId,
    version,
    changed: ['traits'],
    profile: { identifiers, traits, computed, membershipVersion: 0 } as unknown as ProfileChange['profile'],
    trigger: { messageId: `t-${profileId}-${version}`, kind: 'event' },
    at: new Date().toISOString(),
  };
}

/** Produces profile changes keyed by profile id. */
export async function sendProfileChanges(platform: Platform, changes: readonly ProfileChange[]): Promise<void> {
  await produceMessages(
    platform.producer,
    platform.topics.profilesChanges,
    Schemas.profileChange,
    changes.map((c) => ({
      payload: c,
      meta: { key: c.profileId, producer: 'it-test', messageId: `chg:${c.profileId}:${c.trigger?.messageId}`, correlationId: c.trigger?.messageId ?? 'it' },
    })),
  );
}
