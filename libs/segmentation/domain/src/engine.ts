/**
 * The evaluation engine: one profile's segment state and how a change, a timer, a merge or a
 * new definition moves it. Pure (the clock is an argument); the service stores the state,
 * fires the timers and publishes the membership changes this returns.
 */
import { windowedConditions } from './definition';
import { affects, evaluate } from './evaluate';
import { resolveExclusivity } from './exclusivity';
import { explainEntry, triggerOfChange, type EntryTrigger } from './explain';
import { own } from './values';
import {
  addFirst,
  addOccurrence,
  addThenNot,
  emptySequence,
  emptyWindow,
  eventOfChange,
  observeEvent,
  pruneAll,
  type ObservedEvent,
  type ProfileWindows,
  type SequenceState,
  type WindowState,
} from './windows';
import {
  APPLIED_RING,
  type ActiveSegment,
  type ChangeInput,
  type Membership,
  type MembershipDelta,
  type ProfileSegmentState,
  type SegmentPlan,
  type StepResult,
} from './engine-state';

export { planSegments, emptyState, nextTimerAt, mainIdentifiers, APPLIED_RING } from './engine-state';
export type {
  ActiveSegment,
  SegmentPlan,
  CompactView,
  Membership,
  ProfileSegmentState,
  MembershipDelta,
  StepResult,
  ChangeInput,
  ReasonKind,
} from './engine-state';

function clone(s: ProfileSegmentState): ProfileSegmentState {
  return {
    ...s,
    windows: { ...s.windows },
    qualified: { ...s.qualified },
    memberships: { ...s.memberships },
    timers: { ...s.timers },
    applied: [...s.applied],
  };
}

function windowsOf(state: ProfileSegmentState, seg: ActiveSegment): ProfileWindows {
  const held = own(state.windows, seg.key);
  return held && held.v === seg.version ? held.w : {};
}

function setWindows(state: ProfileSegmentState, seg: ActiveSegment, w: ProfileWindows): void {
  if (Object.keys(w).length === 0) delete state.windows[seg.key];
  else state.windows[seg.key] = { v: seg.version, w };
}

/** Feeds an event into every windowed segment (idempotent by message id) and prunes at `now`. */
export function observe(state: ProfileSegmentState, plan: SegmentPlan, event: ObservedEvent, now: number): void {
  for (const seg of plan.segments) {
    if (!seg.windowed) continue;
    const before = windowsOf(state, seg);
    const after = pruneAll(observeEvent(seg.definition, before, event, now), now);
    if (after !== before) setWindows(state, seg, after);
  }
}

/** What moved a state: the reason its membership messages carry and the trigger its entries record. */
interface Cause {
  reason: MembershipDelta['reason'];
  trigger: EntryTrigger;
}

/**
 * Re-evaluates the segments `pick` selects (plus every segment referring to one whose result
 * changed), resolves exclusivity groups and returns the membership changes.
 */
function reevaluate(state: ProfileSegmentState, plan: SegmentPlan, pick: (seg: ActiveSegment) => boolean, now: number, cause: Cause): MembershipDelta[] {
  const flipped = new Set<string>();
  if (state.profile) {
    for (const seg of plan.segments) {
      if (!pick(seg) && !seg.refs.some((r) => flipped.has(r))) continue;
      const windows = windowsOf(state, seg);
      const r = evaluate(seg.definition, { profile: state.profile, windows, segments: state.qualified, clusters: state.clusters }, { now });
      if (r.member !== (own(state.qualified, seg.key) === true)) flipped.add(seg.key);
      if (r.member) state.qualified[seg.key] = true;
      else delete state.qualified[seg.key];
      if (r.nextChangeAt !== undefined) state.timers[seg.key] = r.nextChangeAt;
      else delete state.timers[seg.key];
    }
  }
  // forget what belongs to segments that are no longer active
  for (const key of Object.keys(state.qualified)) if (!plan.byKey.has(key)) delete state.qualified[key];
  for (const key of Object.keys(state.timers)) if (!plan.byKey.has(key)) delete state.timers[key];
  for (const key of Object.keys(state.windows)) if (!plan.byKey.has(key)) delete state.windows[key];
  return publishable(state, plan, now, cause);
}

/** Why the profile is in `seg` now (it qualifies for it): `cause`'s trigger and the conditions that hold. */
function explain(state: ProfileSegmentState, seg: ActiveSegment | undefined, now: number, cause: Cause): Membership['reason'] {
  if (!seg) return undefined;
  const profile = state.profile ?? { traits: {}, computed: {} };
  return explainEntry(seg.definition, { profile, windows: windowsOf(state, seg), segments: state.qualified, clusters: state.clusters }, now, cause.trigger);
}

function publishable(state: ProfileSegmentState, plan: SegmentPlan, now: number, cause: Cause): MembershipDelta[] {
  const reason = cause.reason;
  const candidates = plan.segments
    .filter((s) => own(state.qualified, s.key) === true)
    .map((s) => ({ key: s.key, version: s.version, priority: s.definition.priority, group: s.definition.exclusivityGroup }));
  const members = new Map(resolveExclusivity(candidates).map((c) => [c.key, c.version]));
  const at = new Date(now).toISOString();
  const deltas: MembershipDelta[] = [];
  for (const [key, m] of Object.entries(state.memberships)) {
    if (members.has(key)) continue;
    const seg = plan.byKey.get(key);
    delete state.memberships[key];
    state.membershipVersion += 1;
    deltas.push({
      segmentKey: key,
      segmentVersion: seg?.version ?? m.version,
      change: 'exited',
      at,
      reason: seg ? reason : { kind: 'definition', detail: 'segment disabled or deleted' },
      profileVersion: state.membershipVersion,
    });
  }
  for (const [key, version] of members) {
    const held = own(state.memberships, key);
    if (held) {
      if (held.version !== version) state.memberships[key] = { ...held, version };
      continue;
    }
    const explanation = explain(state, plan.byKey.get(key), now, cause);
    state.memberships[key] = { version, since: at, ...(explanation ? { reason: explanation } : {}) };
    state.membershipVersion += 1;
    deltas.push({
      segmentKey: key,
      segmentVersion: version,
      change: 'entered',
      at,
      reason,
      ...(explanation ? { explanation } : {}),
      profileVersion: state.membershipVersion,
    });
  }
  return deltas;
}

function result(before: ProfileSegmentState, state: ProfileSegmentState, deltas: MembershipDelta[], duplicate = false): StepResult {
  return { state, deltas, duplicate, changed: deltas.length > 0 || JSON.stringify(before) !== JSON.stringify(state) };
}

/**
 * Applies one `profiles.changes` message. A trigger applied before (redelivery, replay)
 * changes nothing; an older profile version does not replace the held profile (its event
 * still counts: windows are idempotent by message id).
 */
export function applyChange(current: ProfileSegmentState, change: ChangeInput, plan: SegmentPlan, now: number): StepResult {
  const triggerId = change.trigger?.messageId;
  // Enrichment numbers a profile's changes and they arrive in order (one partition): a version
  // not above the one held is a redelivery or a replay of something applied. The ring of recent
  // trigger ids catches the same trigger re-sent under a newer version (a replay upstream).
  const seen = (triggerId !== undefined && current.applied.includes(triggerId)) || (current.sourceVersion >= 0 && change.version <= current.sourceVersion);
  if (seen && (change.mergedInto === undefined || current.mergedInto !== undefined)) {
    return { state: current, deltas: [], changed: false, duplicate: true };
  }
  const state = clone(current);
  if (triggerId !== undefined) {
    state.applied.push(triggerId);
    if (state.applied.length > APPLIED_RING) state.applied.splice(0, state.applied.length - APPLIED_RING);
  }
  const reason: MembershipDelta['reason'] = { kind: change.mergedInto ? 'merge' : 'message', messageId: triggerId };
  if (change.mergedInto !== undefined || state.mergedInto !== undefined) {
    // merged away: every membership exits; the windows stay until moved to the survivor
    state.mergedInto = change.mergedInto ?? state.mergedInto;
    state.qualified = {};
    state.timers = {};
    if (change.version >= state.sourceVersion) {
      state.profile = change.profile;
      state.sourceVersion = change.version;
    }
    const detail = `merged into ${state.mergedInto}`;
    const deltas = publishable(state, plan, now, { reason: { kind: 'merge', messageId: triggerId, detail }, trigger: { kind: 'merge', detail } });
    return result(current, state, deltas);
  }
  const newer = change.version >= state.sourceVersion;
  if (newer) {
    state.profile = change.profile;
    state.sourceVersion = change.version;
  }
  const event = eventOfChange(change);
  if (event) observe(state, plan, event, now);
  const changeLike = { changed: newer ? change.changed : [], trigger: change.trigger };
  // A profile's first snapshot is evaluated against every segment: nothing was evaluated before,
  // and windows may already be held (a merge notice can overtake the survivor's first change,
  // the two are on different partitions) which no segment has looked at.
  const firstSnapshot = current.profile === undefined;
  const deltas = reevaluate(
    state,
    plan,
    (seg) =>
      firstSnapshot || affects(seg.definition, changeLike) || timerDue(state, seg, now) || versionMoved(current, seg) || change.trigger?.kind === 'merge',
    now,
    { reason, trigger: triggerOfChange(change) },
  );
  return result(current, state, deltas);
}

/** A segment's timer is due at `now`. */
function timerDue(state: ProfileSegmentState, seg: ActiveSegment, now: number): boolean {
  return (own(state.timers, seg.key) ?? Infinity) <= now;
}

/** A segment's definition changed since the profile was last evaluated under it. */
function versionMoved(state: ProfileSegmentState, seg: ActiveSegment): boolean {
  const m = own(state.memberships, seg.key);
  const w = own(state.windows, seg.key);
  return (m !== undefined && m.version !== seg.version) || (w !== undefined && w.v !== seg.version);
}

/** Fires due timers: prunes windows and re-evaluates the segments whose time came. */
export function applyTimer(current: ProfileSegmentState, plan: SegmentPlan, now: number): StepResult {
  if (current.mergedInto !== undefined) return result(current, { ...clone(current), timers: {} }, []);
  const state = clone(current);
  for (const seg of plan.segments) {
    const w = own(state.windows, seg.key);
    if (w && w.v === seg.version) setWindows(state, seg, pruneAll(w.w, now));
  }
  const deltas = reevaluate(state, plan, (seg) => timerDue(state, seg, now), now, { reason: { kind: 'timer' }, trigger: { kind: 'timer' } });
  return result(current, state, deltas);
}

/**
 * Re-evaluates `keys` (a new or changed definition: the backfill) and drops memberships of
 * segments that are no longer active. `windows` optionally replaces the window state of those
 * segments (rebuilt from stored events).
 */
export function applyDefinitions(
  current: ProfileSegmentState,
  plan: SegmentPlan,
  keys: ReadonlySet<string>,
  now: number,
  rebuilt?: Record<string, ProfileWindows>,
): StepResult {
  if (current.mergedInto !== undefined) return result(current, current, []);
  const state = clone(current);
  for (const [key, w] of Object.entries(rebuilt ?? {})) {
    const seg = plan.byKey.get(key);
    if (seg) setWindows(state, seg, pruneAll(w, now));
  }
  const trigger: EntryTrigger = { kind: 'backfill', detail: `segment ${[...keys].sort().join(', ')}` };
  const deltas = reevaluate(state, plan, (seg) => keys.has(seg.key) || versionMoved(current, seg), now, { reason: { kind: 'definition' }, trigger });
  return result(current, state, deltas);
}

/**
 * A clustering job assigned the profile to cluster `index` (undefined: to none): the segments
 * with cluster conditions on that job are re-evaluated.
 */
export function applyCluster(current: ProfileSegmentState, plan: SegmentPlan, job: string, index: number | undefined, now: number): StepResult {
  if (current.mergedInto !== undefined || own(current.clusters, job) === index) return result(current, current, []);
  const state = clone(current);
  const clusters = { ...(state.clusters ?? {}) };
  if (index === undefined) delete clusters[job];
  else clusters[job] = index;
  state.clusters = clusters;
  const deltas = reevaluate(state, plan, (seg) => affects(seg.definition, { changed: [], clusters: [job] }), now, {
    reason: { kind: 'definition', detail: `clustering ${job}` },
    trigger: { kind: 'clustering', detail: job },
  });
  return result(current, state, deltas);
}

/** Builds a segment's window state from stored events (any order; duplicates are harmless). */
export function windowsFromEvents(seg: ActiveSegment, events: Iterable<ObservedEvent>, now: number): ProfileWindows {
  let w: ProfileWindows = {};
  for (const e of events) w = observeEvent(seg.definition, w, e);
  return pruneAll(w, now);
}

/** The longest window of a segment's event conditions (ms), 0 when it has none: how far back a backfill reads events. */
export function lookbackMs(seg: ActiveSegment): number {
  let m = 0;
  for (const w of windowedConditions(seg.definition)) {
    const s = w.kind === 'event' ? emptyWindow(w.condition) : emptySequence(w.condition);
    m = Math.max(m, s.windowMs);
  }
  return m;
}

/** Merges two window states of the same definition version (union of occurrences). */
export function mergeWindows(into: ProfileWindows, from: ProfileWindows): ProfileWindows {
  const out: ProfileWindows = { ...into };
  for (const [id, s] of Object.entries(from)) {
    const held = out[id];
    if (s.kind === 'window') {
      let w: WindowState = held?.kind === 'window' ? held : { ...s, occurrences: [] };
      for (const o of s.occurrences) w = addOccurrence(w, o);
      out[id] = w;
    } else {
      let q: SequenceState = held?.kind === 'sequence' ? held : { ...s, pending: [], lastThenNot: undefined };
      if (s.lastThenNot) q = addThenNot(q, s.lastThenNot);
      for (const p of s.pending) q = addFirst(q, p);
      if (q.lastThenNot === undefined) delete q.lastThenNot;
      out[id] = q;
    }
  }
  return out;
}

/**
 * The survivor side of a merge: the loser's windows join the survivor's (for the same
 * definition versions) and every segment is re-evaluated. Idempotent.
 */
export function absorbMerged(current: ProfileSegmentState, loser: ProfileSegmentState, plan: SegmentPlan, now: number): StepResult {
  const state = clone(current);
  for (const seg of plan.segments) {
    const from = own(loser.windows, seg.key);
    if (!from || from.v !== seg.version) continue;
    setWindows(state, seg, pruneAll(mergeWindows(windowsOf(state, seg), from.w), now));
  }
  const detail = `merged from ${loser.profileId}`;
  const deltas = reevaluate(state, plan, () => true, now, { reason: { kind: 'merge', detail }, trigger: { kind: 'merge', detail } });
  return result(current, state, deltas);
}
