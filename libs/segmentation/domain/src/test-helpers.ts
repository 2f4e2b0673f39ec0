/** Builders for specs (not exported from the index). */
import type { Condition, SegmentDefinition } from './definition';
import { evaluate, type Evaluation, type EvaluationInput } from './evaluate';
import { observeEvent, type ObservedEvent, type ProfileWindows } from './windows';

export const T0 = Date.parse('2026-03-01T00:00:00.000Z');
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export function def(condition: Condition, key = 'seg'): SegmentDefinition {
  return { key, condition };
}

let n = 0;
export function event(name: string, at: number, properties: Record<string, unknown> = {}, messageId = `m-${++n}`): ObservedEvent {
  return { messageId, name, at, properties };
}

/** Feeds events into a fresh window state of `d`. */
export function feed(d: SegmentDefinition, events: ObservedEvent[], windows: ProfileWindows = {}): ProfileWindows {
  return events.reduce((w, e) => observeEvent(d, w, e), windows);
}

export function profileOf(traits: Record<string, unknown> = {}, computed: Record<string, unknown> = {}): EvaluationInput['profile'] {
  return { traits, computed };
}

/** Evaluates a definition over a profile with no events. */
export function evalProfile(d: SegmentDefinition, traits: Record<string, unknown>, computed: Record<string, unknown>, now = T0): Evaluation {
  return evaluate(d, { profile: profileOf(traits, computed) }, { now });
}

/** Evaluates a definition over events only. */
export function evalEvents(d: SegmentDefinition, windows: ProfileWindows, now: number): Evaluation {
  return evaluate(d, { profile: profileOf(), windows }, { now });
}
