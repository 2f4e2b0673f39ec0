// The builder edits the definition's JSON directly (one source of truth, so the JSON view and
// the builder can never disagree). These helpers name and read its nodes.
import { useEffect, useState } from 'react';
import type { ConditionJson } from '../../../api/types';

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
/** Event property filters cannot compare with the clock (the window does). */
export const FILTER_OPERATORS = OPERATORS.filter((o) => o !== 'withinLastDays' && o !== 'olderThanDays');
export const AGGREGATE_FNS = ['count', 'sum', 'min', 'max'] as const;
export const AGGREGATE_OPS = [
  { value: 'gte', label: 'at least (≥)' },
  { value: 'gt', label: 'more than (>)' },
  { value: 'eq', label: 'exactly (=)' },
  { value: 'lte', label: 'at most (≤)' },
  { value: 'lt', label: 'fewer than (<)' },
];
export const DURATION_UNITS = ['minutes', 'hours', 'days'] as const;

export type NodeKind = 'all' | 'any' | 'not' | 'trait' | 'attribute' | 'event' | 'other';

export function nodeKind(c: ConditionJson): NodeKind {
  if (Array.isArray(c['all'])) return 'all';
  if (Array.isArray(c['any'])) return 'any';
  if ('not' in c) return 'not';
  if ('trait' in c) return 'trait';
  if ('attribute' in c) return 'attribute';
  if ('event' in c && !('sequence' in c)) return 'event';
  return 'other';
}

export function newValueCondition(): ConditionJson {
  return { attribute: '', op: 'equals', value: '' };
}

export function newEventCondition(): ConditionJson {
  return {
    event: '',
    where: [{ property: '', op: 'equals', value: '' }],
    aggregate: { fn: 'count', op: 'gte', value: 1 },
    within: { amount: 7, unit: 'days' },
  };
}

export function newGroup(kind: 'all' | 'any' = 'any'): ConditionJson {
  return { [kind]: [] };
}

export function newDefinition() {
  return { key: '', condition: { all: [] } as ConditionJson };
}

export interface PathError {
  path: string;
  message: string;
}

/** Errors about this node and anything under it (`own`: only the node itself, for groups). */
export function errorsAt(errors: PathError[], path: string, own = false): PathError[] {
  return errors.filter((e) => {
    if (e.path === path) return true;
    if (own) return e.path === `${path}.all` || e.path === `${path}.any`;
    return e.path.startsWith(`${path}.`) || e.path.startsWith(`${path}[`);
  });
}

/** An operand typed as text: lists for in/notIn/between (comma-separated), numbers and booleans when they look like them. */
export function parseValue(op: string, text: string): unknown {
  if (op === 'exists' || op === 'notExists') return undefined;
  const scalar = (s: string): string | number | boolean => {
    const t = s.trim();
    if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
    if (t === 'true' || t === 'false') return t === 'true';
    return op === 'in' || op === 'notIn' || op === 'between' ? t : s;
  };
  if (op === 'in' || op === 'notIn' || op === 'between') {
    return text
      .split(',')
      .filter((s) => s.trim() !== '')
      .map(scalar);
  }
  return scalar(text);
}

export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map((x) => String(x)).join(', ');
  return String(v);
}

/**
 * A text input bound to a JSON value: keeps what the user types (`"a, "` while typing a list)
 * and takes the value again when it changes from elsewhere (the JSON view).
 */
export function useBoundText(value: unknown, parse: (text: string) => unknown, format: (v: unknown) => string = formatValue) {
  const [text, setText] = useState(() => format(value));
  useEffect(() => {
    setText((current) => (JSON.stringify(parse(current)) === JSON.stringify(value) ? current : format(value)));
  }, [value, parse, format]);
  return [text, setText] as const;
}
