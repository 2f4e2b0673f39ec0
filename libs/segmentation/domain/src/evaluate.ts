/**
 * Membership of one profile in one segment at time `now`, and when that can next change
 * with no new event (the timer the service keeps). Pure: the clock is an argument.
 */
import {
  type AggregateOp,
  type Condition,
  DEFAULT_AGGREGATE,
  durationMs,
  type EventCondition,
  kindOf,
  type SegmentDefinition,
  type SequenceCondition,
  type TraitCondition,
  type AttributeCondition,
  type ElementsCondition,
} from './definition';
import { compare, fieldKey, type Outcome, own, readPath, readTrait } from './values';
import { eventNameOf, type Occurrence, type ProfileWindows, type SequenceState } from './windows';

export type { Outcome } from './values';

export interface EvaluationInput {
  /** The compact profile of `profiles.changes` (only `traits` and `computed` are read). */
  profile: { traits: Record<string, unknown>; computed: Record<string, unknown> };
  /** The profile's window state for this definition (missing conditions are empty). */
  windows?: ProfileWindows;
  /** Current memberships of the other segments (a key → member map, or the set of keys the profile is in). */
  segments?: Readonly<Record<string, boolean>> | ReadonlySet<string>;
  /** The cluster the profile was assigned to, per clustering job. */
  clusters?: Readonly<Record<string, number>>;
}

export interface EvaluationContext {
  /** The clock, epoch ms. */
  now: number;
}

export interface Evaluation {
  member: boolean;
  /**
   * The earliest time (ms, > now) at which `member` can change with no new event and no
   * change of another segment; absent when only a new event can change it. The result may
   * still be the same then (re-evaluate and take the next one).
   */
  nextChangeAt?: number;
}

export function evaluate(definition: SegmentDefinition, input: EvaluationInput, ctx: EvaluationContext): Evaluation {
  const r = evalCondition(definition.condition, 'condition', input, ctx.now);
  return r.nextChangeAt !== undefined && r.nextChangeAt > ctx.now ? r : { member: r.member };
}

function minOf(values: (number | undefined)[]): number | undefined {
  let m: number | undefined;
  for (const v of values) if (v !== undefined && (m === undefined || v < m)) m = v;
  return m;
}

function isMember(segments: EvaluationInput['segments'], key: string): boolean {
  if (!segments) return false;
  if (segments instanceof Set) return segments.has(key);
  return own(segments as Readonly<Record<string, boolean>>, key) === true;
}

function evalCondition(c: Condition, path: string, input: EvaluationInput, now: number): Outcome {
  const kind = kindOf(c);
  switch (kind) {
    case 'all':
    case 'any': {
      const children = (c as { all?: Condition[]; any?: Condition[] })[kind] ?? [];
      const rs = children.map((x, i) => evalCondition(x, `${path}.${kind}[${i}]`, input, now));
      const member = kind === 'all' ? rs.every((r) => r.member) : rs.some((r) => r.member);
      // A true `all` (a false `any`) flips as soon as one child does; a false `all` (a true
      // `any`) only once every child that agrees with it has flipped: not before the latest
      // of their first flips, never if one of them cannot flip without an event.
      if ((kind === 'all') === member) return { member, nextChangeAt: minOf(rs.map((r) => r.nextChangeAt)) };
      const agreeing = rs.filter((r) => r.member === member).map((r) => r.nextChangeAt);
      return { member, nextChangeAt: agreeing.some((t) => t === undefined) ? undefined : Math.max(...(agreeing as number[])) };
    }
    case 'not': {
      const r = evalCondition((c as { not: Condition }).not, `${path}.not`, input, now);
      return { member: !r.member, nextChangeAt: r.nextChangeAt };
    }
    case 'trait':
      return compare(readTrait(input.profile.traits ?? {}, (c as TraitCondition).trait), c as TraitCondition, now);
    case 'attribute':
      return compare(readPath(input.profile.computed ?? {}, (c as AttributeCondition).attribute), c as AttributeCondition, now);
    case 'elements':
      return evalElements(c as ElementsCondition, input.profile.computed ?? {}, now);
    case 'segment':
      return { member: isMember(input.segments, (c as { segment: string }).segment) };
    case 'cluster': {
      const cc = c as { cluster: string; index: number };
      return { member: own(input.clusters, cc.cluster) === cc.index };
    }
    case 'event': {
      const s = input.windows?.[path];
      return evalWindow(c as EventCondition, s?.kind === 'window' ? s.occurrences : [], now);
    }
    case 'sequence': {
      const s = input.windows?.[path];
      return evalSequence(c as SequenceCondition, s?.kind === 'sequence' ? s : undefined, now);
    }
  }
}

/**
 * How many elements of the list match every filter, against `count` (default ≥ 1). The count
 * can only change when an element's match does, so the earliest clock flip of any element
 * (a `withinLastDays` date leaving its window) is `nextChangeAt`.
 */
export function evalElements(c: ElementsCondition, computed: Record<string, unknown>, now: number): Outcome {
  const list = readPath(computed, c.elements);
  const items = Array.isArray(list) ? list : [];
  const count = c.count ?? { op: 'gte' as const, value: 1 };
  let matching = 0;
  const flips: (number | undefined)[] = [];
  for (const el of items) {
    const rs = (c.where ?? []).map((f) => compare(readPath(el, f.property), f, now));
    const member = rs.every((r) => r.member);
    if (member) matching += 1;
    // as in `all`: a match ends at the first flip; a non-match starts once every failing filter flipped
    const failing = rs.filter((r) => !r.member).map((r) => r.nextChangeAt);
    flips.push(member ? minOf(rs.map((r) => r.nextChangeAt)) : failing.some((t) => t === undefined) ? undefined : Math.max(...(failing as number[])));
  }
  const nextChangeAt = minOf(flips);
  return { member: test(count.op, matching, count.value), ...(nextChangeAt !== undefined ? { nextChangeAt } : {}) };
}

function test(op: AggregateOp, actual: number | undefined, expected: number): boolean {
  if (actual === undefined) return false;
  switch (op) {
    case 'gte':
      return actual >= expected;
    case 'gt':
      return actual > expected;
    case 'lte':
      return actual <= expected;
    case 'lt':
      return actual < expected;
    case 'eq':
      return actual === expected;
  }
}

/**
 * A rolling window: an occurrence at `t` counts while `now < t + window`. The result can only
 * change when an occurrence leaves, so the suffixes of the occurrences (oldest leaving first)
 * are tried in order and the first leave time that flips the result is `nextChangeAt`.
 */
export function evalWindow(condition: EventCondition, occurrences: readonly Occurrence[], now: number): Outcome {
  const w = durationMs(condition.within);
  const agg = condition.aggregate ?? DEFAULT_AGGREGATE;
  const { live, values } = windowAggregates(condition, occurrences, now);
  const member = test(agg.op, values[0], agg.value);
  for (let k = 1; k <= live.length; k += 1) {
    const leaving = live[k - 1] as Occurrence;
    const next = live[k];
    if (next && next.at === leaving.at) continue; // occurrences at the same time leave together
    if (test(agg.op, values[k], agg.value) !== member) return { member, nextChangeAt: leaving.at + w };
  }
  return { member };
}

/**
 * The condition's aggregate over the occurrences still in its window at `now` (`live`, oldest
 * first), from each on: `values[k]` aggregates `live[k..]` (`values[live.length]`: none), so
 * `values[0]` is the window's value now and the others what it becomes as occurrences leave.
 * Occurrences without a value count for `count` only.
 */
export function windowAggregates(
  condition: EventCondition,
  occurrences: readonly Occurrence[],
  now: number,
): { live: Occurrence[]; values: (number | undefined)[] } {
  const w = durationMs(condition.within);
  const fn = (condition.aggregate ?? DEFAULT_AGGREGATE).fn;
  const live = occurrences.filter((o) => now < o.at + w && (fn === 'count' || o.value !== undefined)).sort((a, b) => a.at - b.at);
  const n = live.length;
  const values: (number | undefined)[] = new Array<number | undefined>(n + 1);
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  values[n] = fn === 'count' || fn === 'sum' ? 0 : undefined;
  for (let k = n - 1; k >= 0; k -= 1) {
    const v = live[k]?.value ?? 0;
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
    values[k] = fn === 'count' ? n - k : fn === 'sum' ? roundSum(sum) : fn === 'min' ? min : max;
  }
  return { live, values };
}

/** Sums of money: rounded to 1e-9 so that float noise does not decide a threshold. */
function roundSum(n: number): number {
  return Math.round(n * 1e9) / 1e9;
}

/**
 * `first` then no `thenNot` within the window: the profile is in once the earliest `first`
 * not followed by a `thenNot` is `window` old, and stays in until a `thenNot` follows it.
 */
export function evalSequence(condition: SequenceCondition, state: SequenceState | undefined, now: number): Outcome {
  if (!state) return { member: false };
  const w = durationMs(condition.sequence.within);
  const after = state.lastThenNot?.at ?? -Infinity;
  let earliest: number | undefined;
  for (const p of state.pending) if (p.at > after && (earliest === undefined || p.at < earliest)) earliest = p.at;
  if (earliest === undefined) return { member: false };
  const deadline = earliest + w;
  return now >= deadline ? { member: true } : { member: false, nextChangeAt: deadline };
}

export interface ChangeLike {
  /** `changed` of a `profiles.changes` message (`traits.<name>`, `computed.<attribute>`, `identifiers`). */
  changed: readonly string[];
  trigger?: { kind?: string; eventType?: string; event?: string };
  /** Keys of other segments whose membership of this profile changed. */
  segments?: readonly string[];
  /** Clustering jobs whose assignment of this profile changed. */
  clusters?: readonly string[];
}

function overlaps(changed: readonly string[], path: string): boolean {
  return changed.some((c) => c === path || c.startsWith(`${path}.`) || path.startsWith(`${c}.`));
}

/**
 * Whether a change can affect the definition's result: a trait or computed attribute it reads
 * changed, the trigger event is one its event conditions match, or a segment it refers to
 * changed. (The clock is the timers' business: see `nextChangeAt`.)
 */
export function affects(definition: SegmentDefinition, change: ChangeLike): boolean {
  const t = change.trigger;
  const eventName = t && (t.kind === undefined || t.kind === 'event') ? eventNameOf(t) : undefined;
  const segments = change.segments ?? [];
  const walk = (c: Condition): boolean => {
    if ('all' in c) return c.all.some(walk);
    if ('any' in c) return c.any.some(walk);
    if ('not' in c) return walk(c.not);
    if ('trait' in c) {
      const top = c.trait.includes('.') ? [fieldKey(c.trait), fieldKey(c.trait.split('.')[0] as string)] : [fieldKey(c.trait)];
      return top.some((k) => overlaps(change.changed, `traits.${k}`));
    }
    if ('attribute' in c) return overlaps(change.changed, `computed.${c.attribute}`);
    if ('elements' in c) return overlaps(change.changed, `computed.${c.elements}`);
    if ('segment' in c) return segments.includes(c.segment);
    if ('cluster' in c) return (change.clusters ?? []).includes(c.cluster);
    if ('sequence' in c) return eventName !== undefined && (c.sequence.first.event === eventName || c.sequence.thenNot.event === eventName);
    return eventName !== undefined && c.event === eventName;
  };
  return walk(definition.condition);
}
