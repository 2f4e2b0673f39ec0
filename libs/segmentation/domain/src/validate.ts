/**
 * Validation of segment definitions (untrusted JSON from the admin API or files): shape,
 * operators and operand types, size limits, unknown fields. Errors name the JSON path of the
 * offending value (`condition.all[1].op`). References between segments: `checkReferences`.
 */
import { analyzeReferenceGraph } from './reference-graph';
import {
  AGGREGATE_FNS,
  AGGREGATE_OPS,
  type Condition,
  CONDITION_KINDS,
  DAY_MS,
  DURATION_UNITS,
  LIMITS,
  MS,
  OPERATORS,
  type Operator,
  type SegmentDefinition,
  TIME_RELATIVE_OPERATORS,
} from './definition';
import { Checker, describe, isObj, join, type Obj, type ValidationError } from '@mosaic/shared-validation';
import { isIsoDate } from './values';

export type { ValidationError };

export type ValidationResult = { ok: true; definition: SegmentDefinition } | { ok: false; errors: ValidationError[] };

function list(values: readonly string[]): string {
  return values.join(', ');
}

/** The shared checks plus the segment language's own (operators, operands, conditions). */
class SegmentChecker extends Checker {
  conditions = 0;
  private tooMany = false;

  /** A dotted path: non-empty segments. */
  dotted(v: unknown, path: string): boolean {
    if (!this.string(v, path)) return false;
    if ((v as string).split('.').some((s) => s === '')) return this.fail(path, 'must be a dotted path without empty segments');
    return true;
  }

  scalar(v: unknown, path: string): boolean {
    if (typeof v === 'string') return v.length > LIMITS.maxStringLength ? this.fail(path, `must be at most ${LIMITS.maxStringLength} characters`) : true;
    if (typeof v === 'boolean') return true;
    if (typeof v === 'number') return this.number(v, path);
    return this.fail(path, `must be a string, number or boolean, not ${describe(v)}`);
  }

  /** A number or an ISO-8601 date: what the ordering operators compare. */
  orderable(v: unknown, path: string): 'number' | 'date' | undefined {
    if (typeof v === 'number') return this.number(v, path) ? 'number' : undefined;
    if (typeof v === 'string' && isIsoDate(v) && v.length <= LIMITS.maxStringLength) return 'date';
    this.err(path, `must be a number or an ISO-8601 date, not ${typeof v === 'string' ? 'a non-date string' : describe(v)}`);
    return undefined;
  }

  /** `op` and the `value` it needs. */
  comparison(o: Obj, path: string, allowClock: boolean): void {
    const op = o['op'];
    const opPath = join(path, 'op');
    if (op === undefined) return this.err(opPath, 'is required');
    if (typeof op !== 'string' || !(OPERATORS as readonly string[]).includes(op)) return this.err(opPath, `must be one of ${list(OPERATORS)}`);
    if (!allowClock && TIME_RELATIVE_OPERATORS.includes(op as Operator))
      return this.err(opPath, `${op} is not allowed in an event property filter (the event time is what the window compares)`);
    const v = o['value'];
    const vPath = join(path, 'value');
    switch (op as Operator) {
      case 'exists':
      case 'notExists':
        if (v !== undefined) this.err(vPath, `must be absent for ${op}`);
        return;
      case 'equals':
      case 'notEquals':
      case 'contains':
        if (v === undefined) return this.err(vPath, `is required for ${op}`);
        this.scalar(v, vPath);
        return;
      case 'startsWith':
        if (v === undefined) return this.err(vPath, `is required for ${op}`);
        this.string(v, vPath);
        return;
      case 'in':
      case 'notIn':
        if (!Array.isArray(v)) return this.err(vPath, `must be an array of strings, numbers or booleans for ${op}`);
        if (v.length === 0) return this.err(vPath, 'must not be empty');
        if (v.length > LIMITS.maxListItems) return this.err(vPath, `must have at most ${LIMITS.maxListItems} items`);
        v.forEach((x, i) => this.scalar(x, `${vPath}[${i}]`));
        return;
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        if (v === undefined) return this.err(vPath, `is required for ${op}`);
        this.orderable(v, vPath);
        return;
      case 'between': {
        if (!Array.isArray(v) || v.length !== 2) return this.err(vPath, 'must be [low, high] (two numbers or two ISO-8601 dates)');
        const a = this.orderable(v[0], `${vPath}[0]`);
        const b = this.orderable(v[1], `${vPath}[1]`);
        if (a === undefined || b === undefined) return;
        if (a !== b) return this.err(vPath, 'low and high must both be numbers or both be dates');
        const lo = a === 'number' ? (v[0] as number) : Date.parse(v[0] as string);
        const hi = a === 'number' ? (v[1] as number) : Date.parse(v[1] as string);
        if (lo > hi) this.err(vPath, 'low must not be greater than high');
        return;
      }
      case 'withinLastDays':
      case 'olderThanDays':
        if (v === undefined) return this.err(vPath, `is required for ${op} (a number of days)`);
        this.number(v, vPath, { exclusiveMin: 0, max: 36_500 });
        return;
    }
  }

  duration(v: unknown, path: string): void {
    if (!isObj(v)) return this.err(path, `must be an object { amount, unit }, not ${describe(v)}`);
    this.fields(v, path, ['amount', 'unit'], ['amount', 'unit']);
    const unitOk = v['unit'] === undefined || (typeof v['unit'] === 'string' && (DURATION_UNITS as readonly string[]).includes(v['unit']));
    if (!unitOk) this.err(join(path, 'unit'), `must be one of ${list(DURATION_UNITS)}`);
    if (v['amount'] === undefined) return;
    if (!this.number(v['amount'], join(path, 'amount'), { integer: true, min: 1 })) return;
    if (unitOk && v['unit'] !== undefined && (v['amount'] as number) * MS[v['unit'] as keyof typeof MS] > LIMITS.maxWindowDays * DAY_MS) {
      this.err(path, `must be at most ${LIMITS.maxWindowDays} days`);
    }
  }

  /** `event` and `where` of an event condition or a sequence step (the `where` of an elements condition may use the clock). */
  step(o: Obj, path: string, allowClock = false): void {
    if (o['event'] !== undefined) this.string(o['event'], join(path, 'event'));
    const where = o['where'];
    if (where === undefined) return;
    const wPath = join(path, 'where');
    if (!Array.isArray(where)) return this.err(wPath, `must be an array of property filters, not ${describe(where)}`);
    if (where.length > LIMITS.maxFilters) return this.err(wPath, `must have at most ${LIMITS.maxFilters} filters`);
    where.forEach((f, i) => {
      const fPath = `${wPath}[${i}]`;
      if (!isObj(f)) return this.err(fPath, `must be an object { property, op, value }, not ${describe(f)}`);
      this.fields(f, fPath, ['property', 'op', 'value'], ['property']);
      if (f['property'] !== undefined) this.dotted(f['property'], join(fPath, 'property'));
      this.comparison(f, fPath, allowClock);
    });
  }

  aggregate(v: unknown, path: string): void {
    if (!isObj(v)) return this.err(path, `must be an object { fn, property?, op, value }, not ${describe(v)}`);
    this.fields(v, path, ['fn', 'property', 'op', 'value'], ['fn', 'op', 'value']);
    const fn = v['fn'];
    if (fn !== undefined && (typeof fn !== 'string' || !(AGGREGATE_FNS as readonly string[]).includes(fn)))
      this.err(join(path, 'fn'), `must be one of ${list(AGGREGATE_FNS)}`);
    if (fn === 'count' && v['property'] !== undefined) this.err(join(path, 'property'), 'must be absent for count');
    else if (fn !== 'count' && fn !== undefined && v['property'] === undefined) this.err(join(path, 'property'), `is required for ${String(fn)}`);
    else if (v['property'] !== undefined) this.dotted(v['property'], join(path, 'property'));
    const op = v['op'];
    if (op !== undefined && (typeof op !== 'string' || !(AGGREGATE_OPS as readonly string[]).includes(op)))
      this.err(join(path, 'op'), `must be one of ${list(AGGREGATE_OPS)}`);
    if (v['value'] !== undefined) this.number(v['value'], join(path, 'value'), fn === 'count' ? { integer: true, min: 0 } : {});
  }

  condition(c: unknown, path: string, depth: number): void {
    if (this.tooMany) return;
    if (!isObj(c)) return this.err(path, `must be a condition object, not ${describe(c)}`);
    if (depth > LIMITS.maxDepth) return this.err(path, `conditions must not be nested deeper than ${LIMITS.maxDepth}`);
    this.conditions += 1;
    if (this.conditions > LIMITS.maxConditions) {
      this.tooMany = true;
      return this.err(path, `a definition must have at most ${LIMITS.maxConditions} conditions`);
    }
    const kinds = CONDITION_KINDS.filter((k) => c[k] !== undefined);
    if (kinds.length === 0) return this.err(path, `must have exactly one of ${list(CONDITION_KINDS)}`);
    if (kinds.length > 1) return this.err(path, `must have exactly one of ${list(CONDITION_KINDS)} (has ${list(kinds)})`);
    const kind = kinds[0];
    switch (kind) {
      case 'all':
      case 'any': {
        this.fields(c, path, [kind], []);
        const items = c[kind];
        const iPath = join(path, kind);
        if (!Array.isArray(items)) return this.err(iPath, `must be an array of conditions, not ${describe(items)}`);
        if (items.length === 0) return this.err(iPath, 'must not be empty');
        items.forEach((x, i) => this.condition(x, `${iPath}[${i}]`, depth + 1));
        return;
      }
      case 'not':
        this.fields(c, path, ['not'], []);
        this.condition(c['not'], join(path, 'not'), depth + 1);
        return;
      case 'trait':
        this.fields(c, path, ['trait', 'op', 'value'], []);
        this.string(c['trait'], join(path, 'trait'));
        this.comparison(c, path, true);
        return;
      case 'attribute':
        this.fields(c, path, ['attribute', 'op', 'value'], []);
        this.dotted(c['attribute'], join(path, 'attribute'));
        this.comparison(c, path, true);
        return;
      case 'elements': {
        this.fields(c, path, ['elements', 'where', 'count'], []);
        this.dotted(c['elements'], join(path, 'elements'));
        this.step(c, path, true);
        const n = c['count'];
        if (n === undefined) return;
        if (!isObj(n)) return this.err(join(path, 'count'), `must be an object { op, value }, not ${describe(n)}`);
        this.fields(n, join(path, 'count'), ['op', 'value'], []);
        this.aggregate({ ...n, fn: 'count' }, join(path, 'count'));
        return;
      }
      case 'segment':
        this.fields(c, path, ['segment'], []);
        this.key(c['segment'], join(path, 'segment'));
        return;
      case 'cluster':
        this.fields(c, path, ['cluster', 'index'], ['index']);
        this.key(c['cluster'], join(path, 'cluster'));
        if (c['index'] !== undefined) this.number(c['index'], join(path, 'index'), { integer: true, min: 0, max: 49 });
        return;
      case 'event':
        this.fields(c, path, ['event', 'where', 'aggregate', 'within'], ['within']);
        this.step(c, path);
        if (c['aggregate'] !== undefined) this.aggregate(c['aggregate'], join(path, 'aggregate'));
        if (c['within'] !== undefined) this.duration(c['within'], join(path, 'within'));
        return;
      case 'sequence': {
        this.fields(c, path, ['sequence'], []);
        const s = c['sequence'];
        const sPath = join(path, 'sequence');
        if (!isObj(s)) return this.err(sPath, `must be an object { first, thenNot, within }, not ${describe(s)}`);
        this.fields(s, sPath, ['first', 'thenNot', 'within'], ['first', 'thenNot', 'within']);
        for (const k of ['first', 'thenNot'] as const) {
          const st = s[k];
          const stPath = join(sPath, k);
          if (st === undefined) continue;
          if (!isObj(st)) {
            this.err(stPath, `must be an event step { event, where? }, not ${describe(st)}`);
            continue;
          }
          this.fields(st, stPath, ['event', 'where'], ['event']);
          this.step(st, stPath);
        }
        if (s['within'] !== undefined) this.duration(s['within'], join(sPath, 'within'));
        return;
      }
    }
  }
}

/** Validates an untrusted definition; on success the definition is a fresh copy of the input. */
export function validateDefinition(input: unknown): ValidationResult {
  const v = new SegmentChecker();
  if (!isObj(input)) return { ok: false, errors: [{ path: '$', message: `a segment definition must be an object, not ${describe(input)}` }] };
  v.fields(input, '', ['key', 'name', 'description', 'priority', 'exclusivityGroup', 'condition'], ['key', 'condition']);
  if (input['key'] !== undefined) v.key(input['key'], 'key');
  if (input['name'] !== undefined) v.string(input['name'], 'name');
  if (input['description'] !== undefined) v.string(input['description'], 'description');
  if (input['priority'] !== undefined) v.number(input['priority'], 'priority', { min: -1e9, max: 1e9 });
  if (input['exclusivityGroup'] !== undefined) v.key(input['exclusivityGroup'], 'exclusivityGroup');
  if (input['condition'] !== undefined) v.condition(input['condition'], 'condition', 1);
  if (v.errors.length > 0) return { ok: false, errors: v.errors };
  return { ok: true, definition: structuredClone(input) as unknown as SegmentDefinition };
}

export interface ReferenceError {
  /** The definition the error is in. */
  key: string;
  path: string;
  message: string;
}

export type ReferenceResult = { ok: true; order: string[] } | { ok: false; errors: ReferenceError[] };

function segmentRefs(c: Condition, path: string, out: { segment: string; path: string }[]): void {
  if ('all' in c) c.all.forEach((x, i) => segmentRefs(x, `${path}.all[${i}]`, out));
  else if ('any' in c) c.any.forEach((x, i) => segmentRefs(x, `${path}.any[${i}]`, out));
  else if ('not' in c) segmentRefs(c.not, `${path}.not`, out);
  else if ('segment' in c) out.push({ segment: c.segment, path: `${path}.segment` });
}

/**
 * Checks a whole set of (individually valid) definitions: unique keys, every `segment`
 * reference names a definition of the set, no cycles (each cycle is named: `a → b → a`).
 * On success, `order` lists the keys so that every segment comes after the ones it refers to.
 */
export function checkReferences(definitions: readonly SegmentDefinition[]): ReferenceResult {
  const errors: ReferenceError[] = [];
  const byKey = new Map<string, { segment: string; path: string }[]>();
  for (const d of definitions) {
    if (byKey.has(d.key)) {
      errors.push({ key: d.key, path: 'key', message: `duplicate segment key ${d.key}` });
      continue;
    }
    const refs: { segment: string; path: string }[] = [];
    segmentRefs(d.condition, 'condition', refs);
    byKey.set(d.key, refs);
  }
  for (const [key, refs] of byKey) {
    for (const r of refs) if (!byKey.has(r.segment)) errors.push({ key, path: r.path, message: `unknown segment ${r.segment}` });
  }
  const { order, cycles } = analyzeReferenceGraph(byKey);
  for (const c of cycles) errors.push({ key: c.key, path: c.path, message: c.message });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, order };
}
