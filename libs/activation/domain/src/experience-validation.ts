/** Validation of untrusted experience JSON: errors with JSON paths (see ./experiences.ts). */
import { checkTemplate } from './render';
import { Checker, isObj, join, type Obj, type ValidationResult } from '@mosaic/shared-validation';
import { CONTENT_KINDS, EXPERIENCE_LIMITS, EXPERIENCE_OPS, type Experience } from './experience-types';

const EXPERIENCE_FIELDS = ['id', 'slot', 'name', 'enabled', 'holdoutPercent', 'rules', 'default'] as const;
const CONTENT_SHAPE = '{ html } or { text } or { json }';

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function array(v: Checker, value: unknown, path: string, max: number): value is unknown[] {
  if (!Array.isArray(value)) return v.fail(path, 'must be an array');
  if (value.length === 0) return v.fail(path, 'must not be empty (leave it out instead)');
  if (value.length > max) return v.fail(path, `must have at most ${max} items`);
  return true;
}

function scalar(v: Checker, value: unknown, path: string, kinds: readonly ('string' | 'number' | 'boolean')[]): void {
  const kind = typeof value;
  if (!(kinds as readonly string[]).includes(kind)) return v.err(path, `must be a ${kinds.join(' or a ')}`);
  if (typeof value === 'number' && !Number.isFinite(value)) return v.err(path, 'must be a finite number');
  if (typeof value === 'string' && value.length > EXPERIENCE_LIMITS.maxValueLength)
    v.err(path, `must be at most ${EXPERIENCE_LIMITS.maxValueLength} characters`);
}

const ANY_SCALAR = ['string', 'number', 'boolean'] as const;

function comparison(v: Checker, c: Obj, path: string): void {
  const op = c['op'];
  const vPath = join(path, 'value');
  if (op === undefined || !v.oneOf(op, join(path, 'op'), EXPERIENCE_OPS)) return;
  if (op === 'exists' || op === 'notExists') {
    if (c['value'] !== undefined) v.err(vPath, `must be absent with ${op}`);
    return;
  }
  const value = c['value'];
  if (value === undefined) return v.err(vPath, `is required with ${op}`);
  if (op === 'in' || op === 'notIn') {
    if (array(v, value, vPath, EXPERIENCE_LIMITS.maxListItems)) value.forEach((x, i) => scalar(v, x, `${vPath}[${i}]`, ANY_SCALAR));
  } else if (op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') {
    scalar(v, value, vPath, ['number', 'string']);
  } else {
    scalar(v, value, vPath, ANY_SCALAR);
  }
}

function conditions(v: Checker, list: unknown, path: string, field: 'trait' | 'attribute'): void {
  if (!array(v, list, path, EXPERIENCE_LIMITS.maxListItems)) return;
  list.forEach((c, i) => {
    const cPath = `${path}[${i}]`;
    if (!v.object(c, cPath, `{ ${field}, op, value }`)) return;
    v.fields(c, cPath, [field, 'op', 'value'], [field, 'op']);
    const name = c[field];
    if (name !== undefined && v.string(name, join(cPath, field)) && field === 'attribute' && name.split('.').some((s) => s === '')) {
      v.err(join(cPath, field), 'must be a dotted path without empty segments');
    }
    comparison(v, c, cPath);
  });
}

function when(v: Checker, w: unknown, path: string): void {
  if (!v.object(w, path, '{ segments?, traits?, attributes? }')) return;
  v.fields(w, path, ['segments', 'traits', 'attributes'], []);
  const segments = w['segments'];
  const sPath = join(path, 'segments');
  if (segments !== undefined && v.object(segments, sPath, '{ all?, any?, none? }')) {
    v.fields(segments, sPath, ['all', 'any', 'none'], []);
    for (const k of ['all', 'any', 'none'] as const) {
      const keys = segments[k];
      const kPath = join(sPath, k);
      if (keys !== undefined && array(v, keys, kPath, EXPERIENCE_LIMITS.maxListItems)) keys.forEach((key, i) => v.key(key, `${kPath}[${i}]`));
    }
  }
  if (w['traits'] !== undefined) conditions(v, w['traits'], join(path, 'traits'), 'trait');
  if (w['attributes'] !== undefined) conditions(v, w['attributes'], join(path, 'attributes'), 'attribute');
}

function template(v: Checker, value: string, path: string): void {
  const problem = checkTemplate(value);
  if (problem !== undefined) v.err(path, `is not a valid Liquid template: ${problem}`);
}

/** Checks the templates of JSON content; false when too deep (the size is not measured then). */
function jsonValue(v: Checker, value: unknown, path: string, depth: number): boolean {
  if (typeof value === 'string') {
    template(v, value, path);
    return true;
  }
  if (value === null || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) || v.fail(path, 'must be a finite number');
  if (Array.isArray(value) || isObj(value)) {
    if (depth > EXPERIENCE_LIMITS.maxJsonDepth) return v.fail(path, `nests too deeply (at most ${EXPERIENCE_LIMITS.maxJsonDepth} levels)`);
    const entries: [string, unknown][] = Array.isArray(value)
      ? value.map((x, i) => [`${path}[${i}]`, x])
      : Object.entries(value).map(([k, x]) => [join(path, k), x]);
    let ok = true;
    for (const [p, x] of entries) ok = jsonValue(v, x, p, depth + 1) && ok;
    return ok;
  }
  return v.fail(path, 'must be a string, number, boolean, null, array or object');
}

function content(v: Checker, c: unknown, path: string): void {
  if (!v.object(c, path, CONTENT_SHAPE)) return;
  v.fields(c, path, CONTENT_KINDS, []);
  const kinds = CONTENT_KINDS.filter((k) => c[k] !== undefined);
  if (kinds.length !== 1) return v.err(path, `must have exactly one of ${CONTENT_KINDS.join(', ')}${kinds.length > 1 ? ` (not ${kinds.join(' and ')})` : ''}`);
  const kind = kinds[0];
  const kPath = join(path, kind);
  const value = c[kind];
  const max = EXPERIENCE_LIMITS.maxContentBytes;
  if (kind === 'json') {
    if (!v.object(value, kPath, '(JSON content)')) return;
    if (jsonValue(v, value, kPath, 1) && byteLength(JSON.stringify(value)) > max) v.err(kPath, `must be at most ${max} bytes (serialized)`);
    return;
  }
  if (typeof value !== 'string') return v.err(kPath, 'must be a string (a Liquid template)');
  if (byteLength(value) > max) return v.err(kPath, `must be at most ${max} bytes`);
  template(v, value, kPath);
}

function rules(v: Checker, list: unknown): void {
  if (!Array.isArray(list)) return v.err('rules', 'must be an array');
  if (list.length > EXPERIENCE_LIMITS.maxRules) return v.err('rules', `must have at most ${EXPERIENCE_LIMITS.maxRules} rules`);
  const seen = new Set<string>();
  list.forEach((r, i) => {
    const path = `rules[${i}]`;
    if (!v.object(r, path, '{ id, when?, content }')) return;
    v.fields(r, path, ['id', 'when', 'content'], ['id', 'content']);
    const id = r['id'];
    if (id !== undefined && v.key(id, join(path, 'id'))) {
      if (seen.has(id)) v.err(join(path, 'id'), `is a duplicate (rule ids are unique within an experience)`);
      seen.add(id);
    }
    if (r['when'] !== undefined) when(v, r['when'], join(path, 'when'));
    if (r['content'] !== undefined) content(v, r['content'], join(path, 'content'));
  });
}

/**
 * Validates an untrusted experience: `id`, `slot`, rule ids and segment keys are identifiers
 * (1–64 of letters, digits, `_ . : -`); at most 20 rules with unique ids; conditions use the
 * `EXPERIENCE_OPS` with a value of the right type (none for `exists`/`notExists`, a list for
 * `in`/`notIn`, a number or string for `gt`…`lte`); content has exactly one of `html`, `text`,
 * `json`, at most 16 KB, its templates parse (`checkTemplate`); `holdoutPercent` is in [0, 100].
 * Unknown fields are errors. On success the value is a fresh copy with the defaults applied
 * (`enabled: true`, `holdoutPercent: 0`, `rules: []`).
 */
export function validateExperience(input: unknown): ValidationResult<Experience> {
  const v = new Checker();
  if (!v.object(input, '$', '(an experience)')) return { ok: false, errors: v.errors };
  v.fields(input, '', EXPERIENCE_FIELDS, ['id', 'slot', 'name', 'default']);
  for (const k of ['id', 'slot'] as const) if (input[k] !== undefined) v.key(input[k], k);
  if (input['name'] !== undefined) v.string(input['name'], 'name');
  if (input['enabled'] !== undefined) v.boolean(input['enabled'], 'enabled');
  if (input['holdoutPercent'] !== undefined) v.number(input['holdoutPercent'], 'holdoutPercent', { min: 0, max: 100 });
  if (input['rules'] !== undefined) rules(v, input['rules']);
  if (input['default'] !== undefined) content(v, input['default'], 'default');
  return v.result(() => {
    const copy = structuredClone(input) as unknown as Partial<Experience>;
    return { ...copy, enabled: copy.enabled ?? true, holdoutPercent: copy.holdoutPercent ?? 0, rules: copy.rules ?? [] } as Experience;
  });
}
