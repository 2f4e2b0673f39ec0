/**
 * Event-window state, per (profile, windowed condition): small, plain JSON, idempotent by
 * message id and independent of the order occurrences arrive in (late events included).
 */
import {
  DEFAULT_AGGREGATE,
  durationMs,
  type EventCondition,
  type EventStep,
  type SegmentDefinition,
  type SequenceCondition,
  windowedConditions,
} from './definition';
import { compare, readPath, toNumber } from './values';

/** One event that matched a condition: its message id, event time (ms) and aggregated value. */
export interface Occurrence {
  messageId: string;
  at: number;
  /** The aggregated property (sum/min/max conditions); absent for counts. */
  value?: number;
}

/** Matching occurrences of a rolling-window event condition, newest first, at most `cap`. */
export interface WindowState {
  kind: 'window';
  windowMs: number;
  cap: number;
  occurrences: Occurrence[];
}

/**
 * A sequence (`first` then no `thenNot` within the window): the `first` occurrences not yet
 * followed by a `thenNot` (newest first, at most `cap`) and the latest `thenNot`.
 */
export interface SequenceState {
  kind: 'sequence';
  windowMs: number;
  cap: number;
  pending: Occurrence[];
  lastThenNot?: Occurrence;
}

export type ConditionState = WindowState | SequenceState;

/** The window state of one profile for one definition, by condition id (`windowedConditions`). */
export type ProfileWindows = Record<string, ConditionState>;

export const DEFAULT_WINDOW_CAP = 1000;
export const DEFAULT_SEQUENCE_CAP = 100;

/** An event as segmentation sees it (from a `profiles.changes` trigger). */
export interface ObservedEvent {
  messageId: string;
  /** Track event name, or `(page)`, `(screen)`, `(identify)`, … for other calls. */
  name: string;
  /** Event time, ms. */
  at: number;
  properties: Record<string, unknown>;
}

export function emptyWindow(condition: EventCondition, cap = windowCap(condition)): WindowState {
  return { kind: 'window', windowMs: durationMs(condition.within), cap, occurrences: [] };
}

/**
 * How many occurrences a window needs to hold to stay exact: "count ≥ N" (and "> N") only ever
 * depends on its newest N (N + 1) occurrences — the oldest of them leaving is the exit — so
 * older ones are not kept; sums, minimums, maximums and upper bounds need every occurrence
 * (up to `DEFAULT_WINDOW_CAP`).
 */
export function windowCap(condition: EventCondition): number {
  const agg = condition.aggregate ?? DEFAULT_AGGREGATE;
  if (agg.fn !== 'count') return DEFAULT_WINDOW_CAP;
  if (agg.op === 'gte') return Math.max(1, Math.min(DEFAULT_WINDOW_CAP, agg.value));
  if (agg.op === 'gt') return Math.max(1, Math.min(DEFAULT_WINDOW_CAP, agg.value + 1));
  return DEFAULT_WINDOW_CAP;
}

export function emptySequence(condition: SequenceCondition, cap = DEFAULT_SEQUENCE_CAP): SequenceState {
  return { kind: 'sequence', windowMs: durationMs(condition.sequence.within), cap, pending: [] };
}

/** Newest first; ties by message id, then by value (so that the order is total). */
export function compareOccurrences(a: Occurrence, b: Occurrence): number {
  if (a.at !== b.at) return b.at - a.at;
  if (a.messageId !== b.messageId) return a.messageId < b.messageId ? -1 : 1;
  const va = a.value ?? -Infinity;
  const vb = b.value ?? -Infinity;
  return va === vb ? 0 : va < vb ? -1 : 1;
}

/** Adds `o` to a newest-first list: one entry per message id (the earliest copy by the order above), at most `cap`. */
function insert(list: Occurrence[], o: Occurrence, cap: number): Occurrence[] {
  const existing = list.find((x) => x.messageId === o.messageId);
  if (existing && compareOccurrences(existing, o) <= 0) return list;
  const oldest = list[list.length - 1];
  if (!existing && list.length >= cap && oldest && compareOccurrences(o, oldest) > 0) return list; // older than all a full list keeps
  const rest = existing ? list.filter((x) => x !== existing) : list;
  const out = [...rest, { ...o }].sort(compareOccurrences);
  return out.length > cap ? out.slice(0, cap) : out;
}

/** Records a matching occurrence; adding the same message id again changes nothing. */
export function addOccurrence(state: WindowState, o: Occurrence): WindowState {
  const occurrences = insert(state.occurrences, o, state.cap);
  return occurrences === state.occurrences ? state : { ...state, occurrences };
}

/** Drops occurrences that have left the window at `now` (an occurrence at `t` counts while `now < t + window`). */
export function prune(state: WindowState, now: number): WindowState;
export function prune(state: SequenceState, now: number): SequenceState;
export function prune(state: ConditionState, now: number): ConditionState;
export function prune(state: ConditionState, now: number): ConditionState {
  if (state.kind === 'sequence') return state; // pending firsts leave only when a thenNot follows them
  const occurrences = state.occurrences.filter((o) => now < o.at + state.windowMs);
  return occurrences.length === state.occurrences.length ? state : { ...state, occurrences };
}

/** Records an occurrence of the sequence's `first` step (ignored when a `thenNot` already follows it). */
export function addFirst(state: SequenceState, o: Occurrence): SequenceState {
  if (state.lastThenNot && o.at <= state.lastThenNot.at) return state;
  const pending = insert(state.pending, o, state.cap);
  return pending === state.pending ? state : { ...state, pending };
}

/** Records an occurrence of the sequence's `thenNot` step: every `first` at or before it is resolved. */
export function addThenNot(state: SequenceState, o: Occurrence): SequenceState {
  const last = state.lastThenNot;
  if (last && compareOccurrences(last, o) <= 0) return state; // not newer than the one held
  const pending = state.pending.filter((p) => p.at > o.at);
  return { ...state, pending, lastThenNot: { messageId: o.messageId, at: o.at } };
}

/** Whether an event matches a step (name and every property filter). */
export function matchesStep(step: EventStep, event: ObservedEvent): boolean {
  if (step.event !== event.name) return false;
  // property filters never use the clock-relative operators (the validator rejects them)
  return (step.where ?? []).every((f) => compare(readPath(event.properties, f.property), f, event.at).member);
}

/** The occurrence an event contributes to an event condition, or undefined when it does not match. */
export function occurrenceOf(condition: EventCondition, event: ObservedEvent): Occurrence | undefined {
  if (!matchesStep(condition, event)) return undefined;
  const agg = condition.aggregate;
  if (!agg || agg.fn === 'count' || agg.property === undefined) return { messageId: event.messageId, at: event.at };
  const value = toNumber(readPath(event.properties, agg.property));
  return value === undefined ? undefined : { messageId: event.messageId, at: event.at, value };
}

/**
 * Feeds one event into a profile's window state for a definition: every event and sequence
 * condition it matches records it. With `now`, windows are also pruned. Idempotent by message id.
 */
export function observeEvent(definition: SegmentDefinition, windows: ProfileWindows, event: ObservedEvent, now?: number): ProfileWindows {
  let out = windows;
  const set = (id: string, s: ConditionState): void => {
    if (out[id] !== s) out = { ...out, [id]: s };
  };
  for (const w of windowedConditions(definition)) {
    if (w.kind === 'event') {
      const held = out[w.id];
      let s: WindowState = held?.kind === 'window' ? held : emptyWindow(w.condition);
      const o = occurrenceOf(w.condition, event);
      if (o) s = addOccurrence(s, o);
      if (now !== undefined) s = prune(s, now);
      if (held !== undefined || s.occurrences.length > 0) set(w.id, s);
    } else {
      const held = out[w.id];
      let s: SequenceState = held?.kind === 'sequence' ? held : emptySequence(w.condition);
      const o = { messageId: event.messageId, at: event.at };
      if (matchesStep(w.condition.sequence.thenNot, event)) s = addThenNot(s, o);
      if (matchesStep(w.condition.sequence.first, event)) s = addFirst(s, o);
      if (held !== undefined || s.pending.length > 0 || s.lastThenNot) set(w.id, s);
    }
  }
  return out;
}

/** Prunes every window of a profile at `now` (drops the ones left empty). */
export function pruneAll(windows: ProfileWindows, now: number): ProfileWindows {
  const out: ProfileWindows = {};
  for (const [id, s] of Object.entries(windows)) {
    const p = prune(s, now);
    if (p.kind === 'sequence' || p.occurrences.length > 0) out[id] = p;
  }
  return out;
}

/** The event a `profiles.changes` message was triggered by, when it was an event. */
export function eventOfChange(change: {
  at: string;
  trigger?: { messageId: string; kind: string; eventType?: string; event?: string; properties?: Record<string, unknown>; timestamp?: string };
}): ObservedEvent | undefined {
  const t = change.trigger;
  if (!t || t.kind !== 'event') return undefined;
  const name = eventNameOf(t);
  if (name === undefined) return undefined;
  const at = Date.parse(t.timestamp ?? change.at);
  if (!Number.isFinite(at)) return undefined;
  return { messageId: t.messageId, name, at, properties: t.properties ?? {} };
}

/** `event` of a track call; `(page)`, `(identify)`, … for the other calls (as enrichment's daily buckets name them). */
export function eventNameOf(trigger: { eventType?: string; event?: string }): string | undefined {
  if (trigger.event !== undefined && (trigger.eventType === undefined || trigger.eventType === 'track')) return trigger.event;
  return trigger.eventType !== undefined ? `(${trigger.eventType})` : trigger.event;
}
