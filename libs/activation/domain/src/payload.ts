/**
 * The webhook body for a membership change (the README documents the shape). It follows the
 * Standard Webhooks payload recommendation: `type`, `timestamp` (when the change happened, not
 * when this attempt is made), `data`; `id` is the delivery id (also the `webhook-id` header).
 */
import type { SegmentMembershipChange } from '@mosaic/contracts';

/** A JSON object (traits, computed attributes). */
export type JsonObject = Record<string, unknown>;

/** `segment.entered` or `segment.exited`. */
export type MembershipEventType = 'segment.entered' | 'segment.exited';

/** The profile as known when the delivery was made. */
export interface PayloadProfile {
  traits: JsonObject;
  computed: JsonObject;
}

/** Why the membership changed (`MembershipReason` of `segments.membership`). */
export interface PayloadReason {
  kind: 'message' | 'timer' | 'merge' | 'definition';
  messageId?: string;
  detail?: string;
}

/** The JSON body of a membership webhook. */
export interface MembershipPayload {
  type: MembershipEventType;
  id: string;
  /** ISO-8601: when the profile entered or exited. */
  timestamp: string;
  data: {
    profileId: string;
    segmentKey: string;
    segmentVersion: number;
    identifiers: { userId?: string; email?: string };
    reason: PayloadReason;
    profileVersion: number;
    profile?: PayloadProfile;
  };
}

/** `segment.entered` / `segment.exited` for a change direction. */
export function eventTypeOf(change: 'entered' | 'exited'): MembershipEventType {
  return change === 'entered' ? 'segment.entered' : 'segment.exited';
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The body for one delivery of a membership change. `id` is the delivery id (`deliveryId`);
 * the profile is included when the caller knows it (a copy: later changes to the caller's
 * objects do not leak in). Absent optional fields are left out, not set to undefined.
 */
export function membershipPayload(change: SegmentMembershipChange, options: { id: string; profile?: PayloadProfile }): MembershipPayload {
  const { userId, email } = change.identifiers;
  const { kind, messageId, detail } = change.reason;
  const data: MembershipPayload['data'] = {
    profileId: change.profileId,
    segmentKey: change.segmentKey,
    segmentVersion: change.segmentVersion,
    identifiers: defined({ userId, email }),
    reason: defined({ kind, messageId, detail }),
    profileVersion: change.profileVersion,
  };
  if (options.profile) data.profile = structuredClone({ traits: options.profile.traits, computed: options.profile.computed });
  return { type: eventTypeOf(change.change), id: options.id, timestamp: change.at, data };
}

/** The exact body to sign and send: compact JSON. */
export function serializePayload(payload: MembershipPayload): string {
  return JSON.stringify(payload);
}
