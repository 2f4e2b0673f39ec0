/**
 * Why a profile entered a segment, in words a marketer reads: what triggered the evaluation
 * (an event, a profile change, a timer, a backfill, a merge, a clustering run) and which
 * conditions of the definition held at that moment, with the values that made them hold.
 * Kept with the membership in the profile's state, which is rewritten on every evaluation, so
 * every list and string is capped (`REASON_LIMITS`). Pure: the clock is an argument.
 *
 * The console's web app has its own rule-in-words rendering (apps/console-web, segments/describe.ts):
 * it renders definitions in the browser and cannot import this library, so the two are separate;
 * the console shows these reasons as the text the service stores.
 */
import {
  type AggregateOp,
  DEFAULT_AGGREGATE,
  type Comparison,
  type Condition,
  type Duration,
  type ElementsCondition,
  type EventCondition,
  kindOf,
  type OperandValue,
  type PropertyFilter,
  type SegmentDefinition,
  type SequenceCondition,
} from './definition';
import { evaluate, windowAggregates, type EvaluationInput } from './evaluate';
import { compare, own, readPath, readTrait } from './values';
import { eventNameOf, type SequenceState, type WindowState } from './windows';

export const REASON_LIMITS = {
  /** Matched conditions kept per entry (the rest are counted in `moreMatched`). */
  matched: 4,
  /** Characters of one matched condition. */
  text: 160,
  /** Changed paths of a profile-change trigger. */
  changed: 5,
  /** Characters of a trigger's event name, message id, detail or changed path. */
  field: 100,
  /** Characters of a value quoted inside a condition. */
  value: 40,
} as const;

export type EntryTriggerKind = 'event' | 'profile' | 'timer' | 'backfill' | 'merge' | 'clustering';

/** What made segmentation evaluate the profile when it entered. */
export interface EntryTrigger {
  kind: EntryTriggerKind;
  /** The event's name (`Product Viewed`, `(identify)`, …) for `event`. */
  event?: string;
  /** The trigger's message id (the event's, or the profile change's). */
  messageId?: string;
  /** The event's time (ISO-8601) for `event`. */
  at?: string;
  /** Paths of the profile that changed (`traits.plan`, `computed.orders`), at most `REASON_LIMITS.changed`. */
  changed?: string[];
  /** More about it: the upstream kind of a profile change (`split`, `rfm`), the merged profile, the clustering job, the backfilled version. */
  detail?: string;
}

/** Why a profile entered a segment. */
export interface EntryReason {
  trigger: EntryTrigger;
  /** The definition's conditions that held at entry, in words, at most `REASON_LIMITS.matched`. */
  matched: string[];
  /** How many more held than `matched` lists. */
  moreMatched?: number;
}

/** The text of memberships stored before reasons were recorded. */
export const NO_REASON_TEXT = 'entered before reasons were recorded';

export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function clipTrigger(t: EntryTrigger): EntryTrigger {
  const out: EntryTrigger = { kind: t.kind };
  if (t.event !== undefined) out.event = clip(t.event, REASON_LIMITS.field);
  if (t.messageId !== undefined) out.messageId = clip(t.messageId, REASON_LIMITS.field);
  if (t.at !== undefined) out.at = clip(t.at, 40);
  if (t.changed !== undefined && t.changed.length > 0) out.changed = t.changed.slice(0, REASON_LIMITS.changed).map((c) => clip(c, REASON_LIMITS.field));
  if (t.detail !== undefined) out.detail = clip(t.detail, REASON_LIMITS.field);
  return out;
}

/** The trigger of a `profiles.changes` message: its event, a merge, or another profile change (`split`, `rfm`). */
export function triggerOfChange(change: {
  at: string;
  changed: readonly string[];
  trigger?: { messageId: string; kind: string; eventType?: string; event?: string; timestamp?: string };
}): EntryTrigger {
  const t = change.trigger;
  const changed = change.changed.length > 0 ? { changed: [...change.changed] } : {};
  if (t?.kind === 'event') {
    const name = eventNameOf(t);
    return clipTrigger({ kind: 'event', ...(name !== undefined ? { event: name } : {}), messageId: t.messageId, at: t.timestamp ?? change.at, ...changed });
  }
  if (t?.kind === 'merge') return clipTrigger({ kind: 'merge', messageId: t.messageId, ...changed });
  return clipTrigger({ kind: 'profile', ...(t ? { messageId: t.messageId, detail: t.kind } : {}), ...changed });
}

// ---- words -----------------------------------------------------------------------------------

function valueText(v: unknown): string {
  if (Array.isArray(v)) return clip(`[${v.map(valueText).join(', ')}]`, REASON_LIMITS.value);
  if (typeof v === 'string') return clip(v, REASON_LIMITS.value);
  if (v === undefined) return 'nothing';
  if (typeof v === 'object' && v !== null) return clip(JSON.stringify(v), REASON_LIMITS.value);
  return String(v);
}

const OP_WORDS: Record<string, string> = {
  equals: '=',
  notEquals: '≠',
  in: 'in',
  notIn: 'not in',
  contains: 'contains',
  startsWith: 'starts with',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
};
const AGG_WORDS: Record<AggregateOp, string> = { gte: '≥', gt: '>', lte: '≤', lt: '<', eq: '=' };

/** A comparison's requirement: `= pro`, `≥ 18`, `is set`, `within the last 30 days`. */
export function requirementText(c: Comparison): string {
  const v = c.value as OperandValue | undefined;
  switch (c.op) {
    case 'exists':
      return 'is set';
    case 'notExists':
      return 'is not set';
    case 'between':
      return Array.isArray(v) ? `between ${valueText(v[0])} and ${valueText(v[1])}` : `between ${valueText(v)}`;
    case 'withinLastDays':
      return `within the last ${valueText(v)} days`;
    case 'olderThanDays':
      return `more than ${valueText(v)} days ago`;
    default:
      return `${OP_WORDS[c.op] ?? c.op} ${valueText(v)}`;
  }
}

/** `plan = pro` when the requirement names the value; otherwise the actual value and what was needed. */
function heldComparison(subject: string, c: Comparison, actual: unknown): string {
  if (c.op === 'exists' || c.op === 'notExists') return `${subject} ${requirementText(c)}`;
  if (c.op === 'equals') return `${subject} = ${valueText(actual)}`;
  return `${subject} = ${valueText(actual)} (needs ${requirementText(c)})`;
}

function durationText(d: Duration): string {
  return `${d.amount} ${d.amount === 1 ? d.unit.replace(/s$/, '') : d.unit}`;
}

function filtersText(where: readonly PropertyFilter[] | undefined): string {
  if (!where || where.length === 0) return '';
  return ` with ${where.map((f) => `${f.property} ${requirementText(f)}`).join(' and ')}`;
}

function aggregateText(c: EventCondition): string {
  const a = c.aggregate ?? DEFAULT_AGGREGATE;
  const needs = `${AGG_WORDS[a.op]} ${a.value}`;
  return a.fn === 'count' ? `count ${needs}` : `${a.fn} of ${a.property ?? '?'} ${needs}`;
}

/** A condition in one line of words (the rule, not the profile's values). */
export function describeCondition(c: Condition, depth = 0): string {
  if (depth > 4) return '…';
  switch (kindOf(c)) {
    case 'all':
      return `all of (${(c as { all: Condition[] }).all.map((x) => describeCondition(x, depth + 1)).join('; ')})`;
    case 'any':
      return `any of (${(c as { any: Condition[] }).any.map((x) => describeCondition(x, depth + 1)).join('; ')})`;
    case 'not':
      return `not (${describeCondition((c as { not: Condition }).not, depth + 1)})`;
    case 'trait': {
      const t = c as Comparison & { trait: string };
      return `trait ${t.trait} ${requirementText(t)}`;
    }
    case 'attribute': {
      const a = c as Comparison & { attribute: string };
      return `${a.attribute} ${requirementText(a)}`;
    }
    case 'elements': {
      const e = c as ElementsCondition;
      const count = e.count ?? { op: 'gte' as const, value: 1 };
      return `${AGG_WORDS[count.op]} ${count.value} of ${e.elements}${filtersText(e.where)}`;
    }
    case 'segment':
      return `in segment ${(c as { segment: string }).segment}`;
    case 'cluster': {
      const k = c as { cluster: string; index: number };
      return `in cluster ${k.index} of clustering ${k.cluster}`;
    }
    case 'sequence': {
      const s = (c as SequenceCondition).sequence;
      return `${s.first.event}${filtersText(s.first.where)} and then no ${s.thenNot.event}${filtersText(s.thenNot.where)} within ${durationText(s.within)}`;
    }
    case 'event': {
      const e = c as EventCondition;
      return `${e.event}${filtersText(e.where)}: ${aggregateText(e)} within ${durationText(e.within)}`;
    }
  }
}

// ---- what held -------------------------------------------------------------------------------

/** The window's aggregate now, as `evalWindow` compared it, and what it needed. */
function heldEvent(c: EventCondition, state: WindowState | undefined, now: number): string {
  const agg = c.aggregate ?? DEFAULT_AGGREGATE;
  const v = windowAggregates(c, state?.occurrences ?? [], now).values[0];
  const amount = agg.fn === 'count' ? `${v} ${v === 1 ? 'time' : 'times'}` : `${agg.fn} of ${agg.property ?? '?'} ${valueText(v)}`;
  return `${c.event}${filtersText(c.where)}: ${amount} within ${durationText(c.within)} (needs ${AGG_WORDS[agg.op]} ${agg.value})`;
}

function heldSequence(c: SequenceCondition, state: SequenceState | undefined): string {
  const after = state?.lastThenNot?.at ?? -Infinity;
  const firsts = (state?.pending ?? []).map((p) => p.at).filter((t) => t > after);
  const since = firsts.length > 0 ? ` (${c.sequence.first.event} at ${new Date(Math.min(...firsts)).toISOString()})` : '';
  return `${describeCondition(c)}${since}`;
}

/**
 * The leaf conditions that made a condition true, in words, walking only the branches that
 * hold: every child of a true `all`, the true children of an `any`. A `not` holds because its
 * condition does not: it is named as the rule.
 */
function held(c: Condition, path: string, input: EvaluationInput, now: number, out: string[]): void {
  const kind = kindOf(c);
  if (kind === 'all' || kind === 'any') {
    const children = (c as { all?: Condition[]; any?: Condition[] })[kind] ?? [];
    children.forEach((x, i) => {
      const childPath = `${path}.${kind}[${i}]`;
      if (kind === 'all' || holds(x, childPath, input, now)) held(x, childPath, input, now, out);
    });
    return;
  }
  out.push(leafText(c, path, input, now));
}

function leafText(c: Condition, path: string, input: EvaluationInput, now: number): string {
  switch (kindOf(c)) {
    case 'trait': {
      const t = c as Comparison & { trait: string };
      return heldComparison(`trait ${t.trait}`, t, readTrait(input.profile.traits ?? {}, t.trait));
    }
    case 'attribute': {
      const a = c as Comparison & { attribute: string };
      return heldComparison(a.attribute, a, readPath(input.profile.computed ?? {}, a.attribute));
    }
    case 'elements': {
      const e = c as ElementsCondition;
      const items = readPath(input.profile.computed ?? {}, e.elements);
      const matching = (Array.isArray(items) ? items : []).filter((el) =>
        (e.where ?? []).every((f) => compare(readPath(el, f.property), f, now).member),
      ).length;
      const count = e.count ?? { op: 'gte' as const, value: 1 };
      return `${matching} of ${e.elements}${filtersText(e.where)} (needs ${AGG_WORDS[count.op]} ${count.value})`;
    }
    case 'event': {
      const s = input.windows?.[path];
      return heldEvent(c as EventCondition, s?.kind === 'window' ? s : undefined, now);
    }
    case 'sequence': {
      const s = input.windows?.[path];
      return heldSequence(c as SequenceCondition, s?.kind === 'sequence' ? s : undefined);
    }
    default:
      return describeCondition(c);
  }
}

/** Whether one condition holds, evaluated as the engine does (a child keeps its window path). */
function holds(c: Condition, path: string, input: EvaluationInput, now: number): boolean {
  // `evaluate` reads windows by path from `condition`: re-root the child's windows there
  const windows: Record<string, NonNullable<EvaluationInput['windows']>[string]> = {};
  for (const [id, s] of Object.entries(input.windows ?? {})) {
    if (id === path || id.startsWith(`${path}.`)) windows[`condition${id.slice(path.length)}`] = s;
  }
  return evaluate({ key: '_', condition: c }, { ...input, windows }, { now }).member;
}

/** Why a profile that qualifies for `definition` at `now` is in it: the trigger and the conditions that held. */
export function explainEntry(definition: SegmentDefinition, input: EvaluationInput, now: number, trigger: EntryTrigger): EntryReason {
  const all: string[] = [];
  held(definition.condition, 'condition', input, now, all);
  const matched = all.slice(0, REASON_LIMITS.matched).map((s) => clip(s, REASON_LIMITS.text));
  const more = all.length - matched.length;
  return { trigger: clipTrigger(trigger), matched, ...(more > 0 ? { moreMatched: more } : {}) };
}

/** The trigger in words: `event Product Viewed at 2026-… (id m-1)`, `a timer (a time window moved)`. */
export function describeTrigger(t: EntryTrigger): string {
  const id = t.messageId !== undefined ? ` (id ${t.messageId})` : '';
  const changed = t.changed && t.changed.length > 0 ? `, changed ${t.changed.join(', ')}` : '';
  switch (t.kind) {
    case 'event':
      return `event ${t.event ?? '?'}${t.at !== undefined ? ` at ${t.at}` : ''}${id}`;
    case 'profile':
      return `a profile change${t.detail !== undefined ? ` (${t.detail})` : ''}${id}${changed}`;
    case 'timer':
      return 'a timer (time passed with no new event)';
    case 'backfill':
      return `a backfill${t.detail !== undefined ? ` (${t.detail})` : ''}`;
    case 'merge':
      return `a merge${t.detail !== undefined ? ` (${t.detail})` : ''}${id}`;
    case 'clustering':
      return `a clustering run${t.detail !== undefined ? ` (${t.detail})` : ''}`;
  }
}

/** A stored reason (or none) in one line: the trigger, then the conditions that held. */
export function describeReason(reason: EntryReason | undefined): string {
  if (!reason) return NO_REASON_TEXT;
  const more = reason.moreMatched ? ` (and ${reason.moreMatched} more)` : '';
  const matched = reason.matched.length > 0 ? `: ${reason.matched.join('; ')}${more}` : '';
  return `triggered by ${describeTrigger(reason.trigger)}${matched}`;
}

/** Whether a value read from a stored state looks like an `EntryReason` (older states have none). */
export function isEntryReason(v: unknown): v is EntryReason {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<EntryReason>;
  return (
    typeof r.trigger === 'object' &&
    r.trigger !== null &&
    typeof own(r.trigger as unknown as Record<string, unknown>, 'kind') === 'string' &&
    Array.isArray(r.matched)
  );
}
