/**
 * Triggers: "when a profile enters (or exits) segment S, deliver to destination D" — with an
 * optional delay and frequency cap. Validation of untrusted trigger JSON, matching against a
 * membership change, the deterministic delivery id that makes replays idempotent, the due
 * time and the sliding-window frequency cap.
 */
import { createHash } from 'node:crypto';
import type { SegmentMembershipChange } from '@mosaic/contracts';
import { Checker, type ValidationResult } from '@mosaic/shared-validation';

/** Which membership change fires a trigger. */
export type TriggerOn = 'entered' | 'exited';

/** The values of `TriggerOn`. */
export const TRIGGER_ON: readonly TriggerOn[] = ['entered', 'exited'];

/** At most `max` deliveries of one trigger to one profile within any `perSeconds` window. */
export interface FrequencyCap {
  max: number;
  perSeconds: number;
}

/** A trigger (validated by `validateTrigger`). */
export interface Trigger {
  id: string;
  segmentKey: string;
  on: TriggerOn;
  destinationId: string;
  /** Deliver this long after the change (default: at once). */
  delaySeconds?: number;
  frequencyCap?: FrequencyCap;
}

/** Bounds of trigger fields. */
export const TRIGGER_LIMITS = {
  /** 30 days. */
  maxDelaySeconds: 30 * 86_400,
  maxCap: 10_000,
  /** 366 days. */
  maxCapWindowSeconds: 366 * 86_400,
} as const;

const TRIGGER_FIELDS = ['id', 'segmentKey', 'on', 'destinationId', 'delaySeconds', 'frequencyCap'] as const;

function checkCap(v: Checker, cap: unknown): void {
  if (!v.object(cap, 'frequencyCap', '{ max, perSeconds }')) return;
  v.fields(cap, 'frequencyCap', ['max', 'perSeconds'], ['max', 'perSeconds']);
  if (cap['max'] !== undefined) v.number(cap['max'], 'frequencyCap.max', { integer: true, min: 1, max: TRIGGER_LIMITS.maxCap });
  if (cap['perSeconds'] !== undefined)
    v.number(cap['perSeconds'], 'frequencyCap.perSeconds', { integer: true, min: 1, max: TRIGGER_LIMITS.maxCapWindowSeconds });
}

/**
 * Validates an untrusted trigger: ids and the segment key are identifiers (1–64 of letters,
 * digits, `_ . : -`), `on` is `entered`/`exited`, `delaySeconds` an integer in [0, 30 days],
 * `frequencyCap` `{ max: 1–10000, perSeconds: 1 s–366 days }` (integers); unknown fields are
 * errors. On success the value is a fresh copy.
 */
export function validateTrigger(input: unknown): ValidationResult<Trigger> {
  const v = new Checker();
  if (!v.object(input, '$', '(a trigger)')) return { ok: false, errors: v.errors };
  v.fields(input, '', TRIGGER_FIELDS, ['id', 'segmentKey', 'on', 'destinationId']);
  for (const k of ['id', 'segmentKey', 'destinationId'] as const) if (input[k] !== undefined) v.key(input[k], k);
  if (input['on'] !== undefined) v.oneOf(input['on'], 'on', TRIGGER_ON);
  if (input['delaySeconds'] !== undefined) v.number(input['delaySeconds'], 'delaySeconds', { integer: true, min: 0, max: TRIGGER_LIMITS.maxDelaySeconds });
  if (input['frequencyCap'] !== undefined) checkCap(v, input['frequencyCap']);
  return v.result(() => structuredClone(input) as unknown as Trigger);
}

/** What `matchTriggers` reads of a membership change. */
export type MembershipChangeLike = Pick<SegmentMembershipChange, 'segmentKey' | 'change'>;

/** The triggers a membership change fires: same segment key and same direction, in input order. */
export function matchTriggers(triggers: readonly Trigger[], change: MembershipChangeLike): Trigger[] {
  return triggers.filter((t) => t.segmentKey === change.segmentKey && t.on === change.change);
}

/**
 * The id of the delivery of one trigger for one profile version: `dlv_` + base64url of the
 * SHA-256 of the three parts (JSON-encoded, so no separator can make two inputs collide).
 * The same change replayed gets the same id, so a delivery is recorded (and sent) once; it is
 * also the Standard Webhooks `webhook-id` (no `.`, 47 characters).
 */
export function deliveryId(triggerId: string, profileId: string, profileVersion: number): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([triggerId, profileId, profileVersion]), 'utf8')
    .digest('base64url');
  return `dlv_${digest}`;
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * When a delivery is due (epoch ms): the change time (`at`, an ISO-8601 instant with a zone,
 * as on `segments.membership`, or epoch ms) plus the trigger's delay. Throws a RangeError on
 * a time it cannot read unambiguously.
 */
export function dueAt(at: string | number, delaySeconds = 0): number {
  const t = typeof at === 'number' ? at : ISO_WITH_ZONE.test(at) ? Date.parse(at) : Number.NaN;
  if (!Number.isFinite(t)) throw new RangeError(`not an ISO-8601 instant with a zone or epoch ms: ${String(at)}`);
  return t + delaySeconds * 1000;
}

/** The send times (epoch ms) that count against `cap` at `now`: those in the window `(now − perSeconds, …]`. */
export function sendsInWindow(previousSendTimes: readonly number[], cap: FrequencyCap, now: number): number[] {
  const start = now - cap.perSeconds * 1000;
  return previousSendTimes.filter((t) => t > start);
}

/**
 * Whether one more send is allowed at `now` (epoch ms) under a sliding-window cap: fewer than
 * `max` previous sends in the last `perSeconds`. No cap: always. The state to keep is
 * `sendsInWindow(...)` (at most `max` entries matter).
 */
export function frequencyAllows(previousSendTimes: readonly number[], cap: FrequencyCap | undefined, now: number): boolean {
  return cap === undefined || sendsInWindow(previousSendTimes, cap, now).length < cap.max;
}
