/**
 * Experiences: what the real-time decision API (`POST /v1/decide`) shows in a slot of a page.
 * An experience (admin API) has, for one slot, ordered rules over segment membership, traits
 * and computed attributes, each with content (HTML, text or JSON with Liquid placeholders), a
 * default, and an optional holdout percentage. Rules are data — a fixed set of comparison
 * operators evaluated here — never expressions: nothing a client sends is evaluated.
 *
 * Validation of untrusted experience JSON (errors with JSON paths), the decision for one
 * visitor (first matching rule, else the default; a deterministic holdout bucket) and the
 * decisions for the slots of a page.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from './payload';
import { checkTemplate, renderTemplate, type TemplateContext } from './render';
import { Checker, isObj, join, type Obj, type ValidationResult } from '@mosaic/shared-validation';

/** The comparison operators of rule conditions. */
export const EXPERIENCE_OPS = ['equals', 'notEquals', 'in', 'notIn', 'contains', 'exists', 'notExists', 'gt', 'gte', 'lt', 'lte'] as const;
/** A comparison operator. */
export type ExperienceOp = (typeof EXPERIENCE_OPS)[number];

/** A value a condition compares with. */
export type ExperienceScalar = string | number | boolean;

/**
 * A comparison of one value with `value` (typed strictly: no coercion between numbers and
 * strings). A missing value (absent or null) matches only `notExists`, `notEquals` and `notIn`.
 */
export type Comparison =
  | { op: 'equals' | 'notEquals' | 'contains'; value: ExperienceScalar }
  | { op: 'in' | 'notIn'; value: ExperienceScalar[] }
  | { op: 'exists' | 'notExists'; value?: undefined }
  | { op: 'gt' | 'gte' | 'lt' | 'lte'; value: number | string };

/** A comparison of a trait (by name, `profile.traits[trait]`). */
export type TraitCondition = { trait: string } & Comparison;
/** A comparison of a computed attribute (a dotted path under `profile.computed`: `orders.count`). */
export type AttributeCondition = { attribute: string } & Comparison;

/** Segment membership: in all of `all`, in at least one of `any`, in none of `none`. */
export interface SegmentsCondition {
  all?: string[];
  any?: string[];
  none?: string[];
}

/** When a rule applies: every part given must hold; an empty `when` always holds. */
export interface ExperienceWhen {
  segments?: SegmentsCondition;
  traits?: TraitCondition[];
  attributes?: AttributeCondition[];
}

/**
 * Exactly one of: `html` (Liquid, outputs HTML-escaped), `text` (Liquid, not escaped — the
 * caller shows it as text), `json` (an object whose string values are Liquid templates,
 * rendered without escaping).
 */
export type ExperienceContent = { html: string; text?: never; json?: never } | { text: string; html?: never; json?: never } | { json: JsonObject; html?: never; text?: never };

/** The content kinds. */
export const CONTENT_KINDS = ['html', 'text', 'json'] as const;

/** One rule of an experience. */
export interface ExperienceRule {
  id: string;
  when?: ExperienceWhen;
  content: ExperienceContent;
}

/** An experience (validated by `validateExperience`). */
export interface Experience {
  id: string;
  slot: string;
  name: string;
  /** A disabled experience decides nothing (default true). */
  enabled: boolean;
  /** The percentage of visitors (0–100, default 0) who always get the default: the control group. */
  holdoutPercent: number;
  /** In order: the first that matches wins (default none). */
  rules: ExperienceRule[];
  default: ExperienceContent;
}

/** Bounds of experience fields. */
export const EXPERIENCE_LIMITS = {
  maxRules: 20,
  /** Per content (UTF-8 bytes; for JSON, of its compact serialization). */
  maxContentBytes: 16 * 1024,
  /** Nesting of JSON content (the object itself is depth 1). */
  maxJsonDepth: 5,
  /** Segment keys per list, conditions per list, values of `in`/`notIn`. */
  maxListItems: 50,
  maxValueLength: 256,
} as const;

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
  if (typeof value === 'string' && value.length > EXPERIENCE_LIMITS.maxValueLength) v.err(path, `must be at most ${EXPERIENCE_LIMITS.maxValueLength} characters`);
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
    const entries: [string, unknown][] = Array.isArray(value) ? value.map((x, i) => [`${path}[${i}]`, x]) : Object.entries(value).map(([k, x]) => [join(path, k), x]);
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

// ---------------------------------------------------------------------------------------------
// Deciding

/** Who is asking: identifiers and the profile as the decision service knows it. */
export interface Visitor {
  profileId?: string;
  anonymousId?: string;
  userId?: string;
  /** Keys of the segments the profile is a member of. */
  segments: readonly string[];
  traits: Record<string, unknown>;
  computed: Record<string, unknown>;
}

/** Rendered content: the one kind of the content that was chosen (none: empty content). */
export interface DecisionContent {
  html?: string;
  text?: string;
  json?: unknown;
}

/** What to show in one slot. */
export interface Decision {
  slot: string;
  experienceId: string;
  /** The rule whose content is shown; null: the default. */
  ruleId: string | null;
  /** In the holdout (control) group: always the default. */
  holdout: boolean;
  content: DecisionContent;
  /** Why the content is the default (or empty): a template failed to render. */
  error?: string;
}

/** Options of `decide`. */
export interface DecideOptions {
  /** Ignore the holdout (previews in the admin UI). */
  skipHoldout?: boolean;
}

/**
 * What content templates see: `profile` as in `TemplateContext` (`id` is the profile id, or
 * empty for a visitor without a profile) and `segments`, the keys of the visitor's segments
 * (`{% if segments contains 'vip' %}`). There is no `segment` or `change` here.
 */
export interface DecisionContext {
  profile: TemplateContext['profile'];
  segments: string[];
}

function isMissing(v: unknown): boolean {
  return v === undefined || v === null;
}

function isScalar(v: unknown): v is ExperienceScalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/**
 * Whether `actual` satisfies a comparison. Strict: numbers compare with numbers, strings with
 * strings (by UTF-16 code units), booleans only for (non-)equality; nothing is converted.
 * `contains`: a substring of a string, or an element (===) of an array. A missing value (absent
 * or null) satisfies only `notExists`, `notEquals` and `notIn`.
 */
export function compareValue(actual: unknown, c: Comparison): boolean {
  switch (c.op) {
    case 'exists':
      return !isMissing(actual);
    case 'notExists':
      return isMissing(actual);
    case 'equals':
      return actual === c.value;
    case 'notEquals':
      return actual !== c.value;
    case 'in':
      return isScalar(actual) && c.value.includes(actual);
    case 'notIn':
      return !(isScalar(actual) && c.value.includes(actual));
    case 'contains':
      if (typeof actual === 'string') return typeof c.value === 'string' && actual.includes(c.value);
      return Array.isArray(actual) && actual.includes(c.value);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (typeof actual !== typeof c.value || (typeof actual !== 'number' && typeof actual !== 'string')) return false;
      const a = actual as number | string;
      if (c.op === 'gt') return a > c.value;
      if (c.op === 'gte') return a >= c.value;
      if (c.op === 'lt') return a < c.value;
      return a <= c.value;
    }
  }
}

/** The value at a dotted path, through own properties of objects only (else undefined). */
export function readAttribute(root: unknown, path: string): unknown {
  let cur = root;
  for (const seg of path.split('.')) {
    if (!isObj(cur) || !Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

function readTrait(traits: unknown, name: string): unknown {
  return isObj(traits) && Object.prototype.hasOwnProperty.call(traits, name) ? traits[name] : undefined;
}

/** Whether every part of `when` holds for the visitor (an absent or empty `when` holds). */
export function matchesWhen(when: ExperienceWhen | undefined, visitor: Visitor): boolean {
  if (when === undefined) return true;
  const s = when.segments;
  if (s !== undefined) {
    const member = new Set(visitor.segments);
    if (s.all && !s.all.every((k) => member.has(k))) return false;
    if (s.any && !s.any.some((k) => member.has(k))) return false;
    if (s.none && s.none.some((k) => member.has(k))) return false;
  }
  if (when.traits && !when.traits.every((c) => compareValue(readTrait(visitor.traits, c.trait), c))) return false;
  if (when.attributes && !when.attributes.every((c) => compareValue(readAttribute(visitor.computed, c.attribute), c))) return false;
  return true;
}

/** The id that places a visitor in a holdout bucket: profileId, else userId, else anonymousId. */
export function stableVisitorId(visitor: Pick<Visitor, 'profileId' | 'userId' | 'anonymousId'>): string | undefined {
  return [visitor.profileId, visitor.userId, visitor.anonymousId].find((id) => typeof id === 'string' && id !== '');
}

/** A deterministic bucket in [0, 100): the first 32 bits of SHA-256(`<experienceId>|<visitorId>`), scaled. */
export function holdoutBucket(experienceId: string, visitorId: string): number {
  const digest = createHash('sha256').update(`${experienceId}|${visitorId}`, 'utf8').digest();
  return (digest.readUInt32BE(0) / 2 ** 32) * 100;
}

/** The template context of a visitor. */
export function decisionContext(visitor: Visitor): DecisionContext {
  return {
    profile: { id: visitor.profileId ?? '', traits: isObj(visitor.traits) ? visitor.traits : {}, computed: isObj(visitor.computed) ? visitor.computed : {} },
    segments: [...visitor.segments],
  };
}

// render.ts types its context for membership changes; liquidjs reads any object, and a
// decision has no `segment` or `change`.
function render(template: string, context: DecisionContext, escape: boolean): string {
  return renderTemplate(template, context as unknown as TemplateContext, { escape });
}

function renderJson(value: unknown, context: DecisionContext): unknown {
  if (typeof value === 'string') return render(value, context, false);
  if (Array.isArray(value)) return value.map((x) => renderJson(x, context));
  // fromEntries defines properties: a `__proto__` key stays a plain key.
  if (isObj(value)) return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, renderJson(x, context)]));
  return value;
}

/** Renders content: `html` escaped, `text` and the strings of `json` not. Throws a TemplateError. */
export function renderContent(content: ExperienceContent, context: DecisionContext): DecisionContent {
  if (content.html !== undefined) return { html: render(content.html, context, true) };
  if (content.text !== undefined) return { text: render(content.text, context, false) };
  return { json: renderJson(content.json, context) };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The decision of one experience for one visitor. A visitor with an id whose
 * `holdoutBucket(experience.id, id)` is below `holdoutPercent` is held out and gets the default;
 * a visitor without any id is never held out. Otherwise the first rule whose `when` holds, else
 * the default. A template that fails to render does not fail the decision: the default is
 * shown instead (empty content if it fails too) and `error` says why. Does not look at
 * `enabled` (see `decideSlots`).
 */
export function decide(experience: Experience, visitor: Visitor, options: DecideOptions = {}): Decision {
  const base = { slot: experience.slot, experienceId: experience.id };
  const id = stableVisitorId(visitor);
  const holdout = !options.skipHoldout && id !== undefined && holdoutBucket(experience.id, id) < experience.holdoutPercent;
  const context = decisionContext(visitor);
  const errors: string[] = [];
  const rule = holdout ? undefined : experience.rules.find((r) => matchesWhen(r.when, visitor));
  if (rule !== undefined) {
    try {
      return { ...base, ruleId: rule.id, holdout, content: renderContent(rule.content, context) };
    } catch (e) {
      errors.push(`rule ${rule.id}: ${message(e)}`);
    }
  }
  try {
    const content = renderContent(experience.default, context);
    return errors.length > 0 ? { ...base, ruleId: null, holdout, content, error: errors.join('; ') } : { ...base, ruleId: null, holdout, content };
  } catch (e) {
    errors.push(`default: ${message(e)}`);
    return { ...base, ruleId: null, holdout, content: {}, error: errors.join('; ') };
  }
}

/**
 * The decisions for the slots of a page: for each requested slot, the enabled experience of
 * that slot (the first by id if several; ids compared by code units) decides. Slots without an
 * enabled experience are absent; experiences of slots not requested are not evaluated.
 */
export function decideSlots(experiences: readonly Experience[], slots: readonly string[], visitor: Visitor, options: DecideOptions = {}): Record<string, Decision> {
  const bySlot = new Map<string, Experience>();
  for (const e of experiences) {
    if (!e.enabled) continue;
    const current = bySlot.get(e.slot);
    if (current === undefined || e.id < current.id) bySlot.set(e.slot, e);
  }
  const out = new Map<string, Decision>();
  for (const slot of slots) {
    const e = bySlot.get(slot);
    if (e !== undefined && !out.has(slot)) out.set(slot, decide(e, visitor, options));
  }
  return Object.fromEntries(out);
}
