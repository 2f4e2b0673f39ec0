import type { ConditionJson } from '../../api/types';

function val(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(val).join(', ')}]`;
  return typeof v === 'string' ? `“${v}”` : String(v);
}

function comparison(subject: string, c: ConditionJson): string {
  return c['value'] === undefined ? `${subject} ${String(c['op'])}` : `${subject} ${String(c['op'])} ${val(c['value'])}`;
}

function filters(where: unknown): string {
  if (!Array.isArray(where) || where.length === 0) return '';
  return ` with ${where.map((f: ConditionJson) => comparison(String(f['property']), f)).join(' and ')}`;
}

function duration(d: unknown): string {
  const x = (d ?? {}) as { amount?: number; unit?: string };
  return `${x.amount ?? '?'} ${x.unit ?? 'days'}`;
}

function eventText(c: ConditionJson): string {
  const a = (c['aggregate'] ?? { fn: 'count', op: 'gte', value: 1 }) as { fn?: string; property?: string; op?: string; value?: number };
  const agg = a.fn === 'count' || !a.fn ? `count ${a.op} ${a.value}` : `${a.fn} of ${a.property} ${a.op} ${a.value}`;
  return `“${String(c['event'])}”${filters(c['where'])}, ${agg} within ${duration(c['within'])}`;
}

/** A definition's condition in one line of words (for tables; the builder shows the details). */
export function describeCondition(c: ConditionJson | undefined, depth = 0): string {
  if (!c || typeof c !== 'object') return '—';
  if (depth > 4) return '…';
  if (Array.isArray(c['all'])) return `all of (${(c['all'] as ConditionJson[]).map((x) => describeCondition(x, depth + 1)).join('; ')})`;
  if (Array.isArray(c['any'])) return `any of (${(c['any'] as ConditionJson[]).map((x) => describeCondition(x, depth + 1)).join('; ')})`;
  if (c['not']) return `not (${describeCondition(c['not'] as ConditionJson, depth + 1)})`;
  if (typeof c['trait'] === 'string') return comparison(`trait ${c['trait']}`, c);
  if (typeof c['attribute'] === 'string') return comparison(String(c['attribute']), c);
  if (typeof c['segment'] === 'string') return `in segment ${c['segment']}`;
  if (typeof c['cluster'] === 'string') return `cluster ${c['cluster']} #${String(c['index'])}`;
  if (typeof c['elements'] === 'string') return `elements of ${c['elements']}${filters(c['where'])}`;
  if (c['sequence']) {
    const s = c['sequence'] as { first?: ConditionJson; thenNot?: ConditionJson; within?: unknown };
    return `“${String(s.first?.['event'])}” and then no “${String(s.thenNot?.['event'])}” within ${duration(s.within)}`;
  }
  if (typeof c['event'] === 'string') return eventText(c);
  return JSON.stringify(c);
}
