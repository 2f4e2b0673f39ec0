/**
 * The segment definition language (DESIGN §6): plain JSON data, validated by
 * `validateDefinition` and never evaluated as code. See the README of this library.
 */

import { KEY_PATTERN, MAX_KEY_LENGTH, MAX_STRING_LENGTH } from '@mosaic/shared-validation';

export const OPERATORS = [
  'equals',
  'notEquals',
  'in',
  'notIn',
  'contains',
  'startsWith',
  'exists',
  'notExists',
  'gt',
  'gte',
  'lt',
  'lte',
  'between',
  'withinLastDays',
  'olderThanDays',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** Operators that compare with the clock; not allowed in event property filters (`where`). */
export const TIME_RELATIVE_OPERATORS: readonly Operator[] = ['withinLastDays', 'olderThanDays'];

export const AGGREGATE_FNS = ['count', 'sum', 'min', 'max'] as const;
export type AggregateFn = (typeof AGGREGATE_FNS)[number];
export const AGGREGATE_OPS = ['gte', 'gt', 'lte', 'lt', 'eq'] as const;
export type AggregateOp = (typeof AGGREGATE_OPS)[number];
export const DURATION_UNITS = ['minutes', 'hours', 'days'] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];

export type Scalar = string | number | boolean;
export type OperandValue = Scalar | Scalar[];

/** A comparison of one value (a trait, a computed attribute, an event property). */
export interface Comparison {
  op: Operator;
  value?: OperandValue;
}

export interface TraitCondition extends Comparison {
  /** Trait name as sent by the client (`plan`, `$plan`, `address.city`). */
  trait: string;
}

export interface AttributeCondition extends Comparison {
  /** Path under `computed` (`orders.lifetimeValue`, `priceTier`, `categoryAffinity.coffee`). */
  attribute: string;
}

export interface PropertyFilter extends Comparison {
  /** Dotted path under the event's `properties` (`category`, `product.price`). */
  property: string;
}

export interface Aggregate {
  fn: AggregateFn;
  /** Required for sum/min/max (a numeric event property); not allowed for count. */
  property?: string;
  op: AggregateOp;
  value: number;
}

export interface Duration {
  amount: number;
  unit: DurationUnit;
}

/** An event step of a sequence: an event name and property filters, no window. */
export interface EventStep {
  event: string;
  where?: PropertyFilter[];
}

/** Events matching `event` + `where` within the rolling window; default aggregate: count ≥ 1. */
export interface EventCondition extends EventStep {
  aggregate?: Aggregate;
  within: Duration;
}

/** The aggregate of an event condition that names none: at least one occurrence. */
export const DEFAULT_AGGREGATE: Readonly<Aggregate> = { fn: 'count', op: 'gte', value: 1 };

/** `first` happened and no `thenNot` followed it within `within` (absence after an event). */
export interface SequenceCondition {
  sequence: { first: EventStep; thenNot: EventStep; within: Duration };
}

/** How many elements of a list must match an elements condition. */
export interface ElementCount {
  op: AggregateOp;
  value: number;
}

/**
 * Elements of a list under `computed` (`video.videos`, `video.sessions`, `productsViewed`):
 * how many satisfy every filter of `where` (paths under the element; the clock operators
 * `withinLastDays`/`olderThanDays` are allowed: they compare the element's dates with now).
 * Default count: ≥ 1 (some element matches).
 */
export interface ElementsCondition {
  elements: string;
  where?: PropertyFilter[];
  count?: ElementCount;
}

export interface SegmentReference {
  segment: string;
}

/** Membership of cluster `index` of the clustering job `cluster` (assigned by the job, docs: Clustering). */
export interface ClusterCondition {
  cluster: string;
  index: number;
}

export interface AllCondition {
  all: Condition[];
}
export interface AnyCondition {
  any: Condition[];
}
export interface NotCondition {
  not: Condition;
}

export type Condition =
  | AllCondition
  | AnyCondition
  | NotCondition
  | TraitCondition
  | AttributeCondition
  | ElementsCondition
  | EventCondition
  | SequenceCondition
  | SegmentReference
  | ClusterCondition;

export interface SegmentDefinition {
  key: string;
  name?: string;
  description?: string;
  /** Higher wins within an exclusivity group (default 0). */
  priority?: number;
  exclusivityGroup?: string;
  condition: Condition;
}

export const LIMITS = {
  /** Nesting of condition objects (the root condition is depth 1). */
  maxDepth: 10,
  /** Condition objects in one definition (combinators included). */
  maxConditions: 100,
  maxStringLength: MAX_STRING_LENGTH,
  maxKeyLength: MAX_KEY_LENGTH,
  /** Items of an `in`/`notIn` list. */
  maxListItems: 100,
  /** Property filters of one event step. */
  maxFilters: 20,
  /** Longest window (the event retention of enrichment is 400 days). */
  maxWindowDays: 400,
} as const;

/** Segment keys: the identifiers every admin API shares. */
export { KEY_PATTERN };

export const MS: Record<DurationUnit, number> = { minutes: 60_000, hours: 3_600_000, days: 86_400_000 };
export const DAY_MS = 86_400_000;

export function durationMs(d: Duration): number {
  return d.amount * MS[d.unit];
}

export type ConditionKind = 'all' | 'any' | 'not' | 'trait' | 'attribute' | 'elements' | 'event' | 'sequence' | 'segment' | 'cluster';
export const CONDITION_KINDS: readonly ConditionKind[] = ['all', 'any', 'not', 'trait', 'attribute', 'elements', 'event', 'sequence', 'segment', 'cluster'];

export function kindOf(c: Condition): ConditionKind {
  if ('all' in c) return 'all';
  if ('any' in c) return 'any';
  if ('not' in c) return 'not';
  if ('trait' in c) return 'trait';
  if ('attribute' in c) return 'attribute';
  if ('elements' in c) return 'elements';
  if ('sequence' in c) return 'sequence';
  if ('segment' in c) return 'segment';
  if ('cluster' in c) return 'cluster';
  return 'event';
}

/** A window-bearing condition of a definition with its id (its JSON path, e.g. `condition.all[1]`). */
export type WindowedCondition = { id: string; kind: 'event'; condition: EventCondition } | { id: string; kind: 'sequence'; condition: SequenceCondition };

/** Every event and sequence condition of a definition, with the id its window state is kept under. */
export function windowedConditions(definition: SegmentDefinition): WindowedCondition[] {
  const out: WindowedCondition[] = [];
  const walk = (c: Condition, path: string): void => {
    const kind = kindOf(c);
    if (kind === 'all' || kind === 'any') (c as AllCondition & AnyCondition)[kind].forEach((x, i) => walk(x, `${path}.${kind}[${i}]`));
    else if (kind === 'not') walk((c as NotCondition).not, `${path}.not`);
    else if (kind === 'event') out.push({ id: path, kind, condition: c as EventCondition });
    else if (kind === 'sequence') out.push({ id: path, kind, condition: c as SequenceCondition });
  };
  walk(definition.condition, 'condition');
  return out;
}

/** Clustering jobs a definition's cluster conditions name. */
export function clusterJobs(definition: SegmentDefinition): string[] {
  const out = new Set<string>();
  const walk = (c: Condition): void => {
    if ('all' in c) c.all.forEach(walk);
    else if ('any' in c) c.any.forEach(walk);
    else if ('not' in c) walk(c.not);
    else if ('cluster' in c) out.add(c.cluster);
  };
  walk(definition.condition);
  return [...out];
}

/** Keys of the segments a definition refers to. */
export function referencedSegments(definition: SegmentDefinition): string[] {
  const out = new Set<string>();
  const walk = (c: Condition): void => {
    if ('all' in c) c.all.forEach(walk);
    else if ('any' in c) c.any.forEach(walk);
    else if ('not' in c) walk(c.not);
    else if ('segment' in c) out.add(c.segment);
  };
  walk(definition.condition);
  return [...out];
}
