/**
 * What the engine works on: the plan of active segments (references first) and one profile's
 * segment state, with the results of moving it. Plain JSON; no clock.
 */
import { type SegmentDefinition, referencedSegments, windowedConditions } from './definition';
import type { EntryReason } from './explain';
import { checkReferences } from './validate';
import type { ProfileWindows } from './windows';

/** A segment the engine evaluates: an active definition at a version. */
export interface ActiveSegment {
  key: string;
  version: number;
  definition: SegmentDefinition;
}

/** Active segments in evaluation order (every segment after the ones it refers to), with their references. */
export interface SegmentPlan {
  segments: readonly (ActiveSegment & { refs: readonly string[]; windowed: boolean })[];
  byKey: ReadonlyMap<string, ActiveSegment>;
}

/** Orders active segments so that references come first. Segments whose references are not active are left out (they are reported). */
export function planSegments(active: readonly ActiveSegment[]): SegmentPlan & { skipped: { key: string; reason: string }[] } {
  const skipped: { key: string; reason: string }[] = [];
  let pool = [...active];
  // drop segments referring to missing (disabled/deleted) ones, transitively
  for (;;) {
    const keys = new Set(pool.map((s) => s.key));
    const bad = pool.filter((s) => referencedSegments(s.definition).some((r) => !keys.has(r)));
    if (bad.length === 0) break;
    for (const b of bad)
      skipped.push({
        key: b.key,
        reason: `refers to ${referencedSegments(b.definition)
          .filter((r) => !keys.has(r))
          .join(', ')}, which is not active`,
      });
    pool = pool.filter((s) => !bad.includes(s));
  }
  const check = checkReferences(pool.map((s) => s.definition));
  let order: string[];
  if (check.ok) order = check.order;
  else {
    for (const e of check.errors) skipped.push({ key: e.key, reason: e.message });
    const badKeys = new Set(check.errors.map((e) => e.key));
    pool = pool.filter((s) => !badKeys.has(s.key));
    order = pool.map((s) => s.key).sort();
  }
  const byKey = new Map(pool.map((s) => [s.key, s]));
  const segments = order
    .filter((k) => byKey.has(k))
    .map((k) => {
      const s = byKey.get(k) as ActiveSegment;
      return { ...s, refs: referencedSegments(s.definition), windowed: windowedConditions(s.definition).length > 0 };
    });
  return { segments, byKey, skipped };
}

export interface CompactView {
  identifiers: readonly { type: string; value: string }[];
  traits: Record<string, unknown>;
  computed: Record<string, unknown>;
}

export interface Membership {
  /** The definition version the profile entered (or was last re-evaluated) under. */
  version: number;
  /** When it entered (ISO-8601). */
  since: string;
  /** Why it entered (./explain.ts); absent on memberships stored before reasons were recorded. */
  reason?: EntryReason;
}

/** What segmentation keeps per profile. Plain JSON. */
export interface ProfileSegmentState {
  profileId: string;
  /** The latest compact profile from `profiles.changes`; absent while only a merge moved windows here. */
  profile?: CompactView;
  /** Enrichment's version of `profile`: older changes do not replace it. */
  sourceVersion: number;
  /** Event-window state per segment, for the definition version it was built for. */
  windows: Record<string, { v: number; w: ProfileWindows }>;
  /** Segments whose condition holds (before exclusivity groups). */
  qualified: Record<string, true>;
  /** Segments the profile is in (after exclusivity groups): what is published. */
  memberships: Record<string, Membership>;
  /** Per segment, when its result can next change with no new event (ms). */
  timers: Record<string, number>;
  /** Trigger message ids applied recently (oldest first, at most `APPLIED_RING`). */
  applied: string[];
  /** Increases by one per published membership change. */
  membershipVersion: number;
  /** Set once the profile was merged away: its memberships exited and its windows moved to the survivor. */
  mergedInto?: string;
  /** The cluster each clustering job assigned the profile to. */
  clusters?: Record<string, number>;
}

export const APPLIED_RING = 16;

export type ReasonKind = 'message' | 'timer' | 'merge' | 'definition';

export interface MembershipDelta {
  segmentKey: string;
  segmentVersion: number;
  change: 'entered' | 'exited';
  at: string;
  reason: { kind: ReasonKind; messageId?: string; detail?: string };
  /** Entries only: why (the trigger and the conditions that held), as kept with the membership. */
  explanation?: EntryReason;
  /** The profile's `membershipVersion` after this change. */
  profileVersion: number;
}

export interface StepResult {
  state: ProfileSegmentState;
  deltas: MembershipDelta[];
  /** False when nothing needs writing (a duplicate, an older version, nothing changed). */
  changed: boolean;
  /** Whether the input was a redelivery of something already applied. */
  duplicate: boolean;
}

/** The change as segmentation reads it (the contracts' `ProfileChange`). */
export interface ChangeInput {
  profileId: string;
  version: number;
  changed: readonly string[];
  profile: CompactView;
  trigger?: { messageId: string; kind: string; eventType?: string; event?: string; properties?: Record<string, unknown>; timestamp?: string };
  at: string;
  mergedInto?: string;
}

export function emptyState(profileId: string): ProfileSegmentState {
  return { profileId, sourceVersion: -1, windows: {}, qualified: {}, memberships: {}, timers: {}, applied: [], membershipVersion: 0 };
}

/** The earliest pending timer of a state (ms), if any. */
export function nextTimerAt(state: ProfileSegmentState): number | undefined {
  let m: number | undefined;
  for (const t of Object.values(state.timers)) if (m === undefined || t < m) m = t;
  return m;
}

/** Main identifiers published with membership changes. */
export function mainIdentifiers(profile: CompactView | undefined): { userId?: string; email?: string } {
  const out: { userId?: string; email?: string } = {};
  for (const id of profile?.identifiers ?? []) {
    if (id.type === 'userId' && out.userId === undefined) out.userId = id.value;
    if (id.type === 'email' && out.email === undefined) out.email = id.value;
  }
  return out;
}
