/**
 * Identity rules as configuration (DESIGN §4, issue 4 §1), Segment-Unify style: per
 * identifier type a **limit** (most identifiers of the type on one profile), a **priority**
 * (lower number = stronger; decides which identifier an event belongs to when a limit
 * forbids a merge) and **blocked values**; plus blocked values and patterns for every type.
 *
 * `parseIdentityRules(input)` takes a partial document (admin API body or a file), fills
 * the defaults and returns the rules or every error with its path (`types.email.limit`,
 * `blocked.patterns[2]`). Merge semantics: a type entry is merged field by field over the
 * default entry; an array given (`blocked.values`, `blocked.patterns`, `emailEvents`)
 * replaces the default array (so an installation whose user ids really are `0` can say so).
 * Types not in the defaults may be `external:<name>`; their missing fields come from
 * `external:*`, the entry every external id type falls back to.
 */
import { PLACEHOLDER_IDENTIFIER_VALUES } from '@mosaic/contracts';
import { EXTERNAL_PREFIX, isExternalType, isValidIdentifierType, MAX_IDENTIFIER_VALUE_LENGTH } from './identifier';
import { compileSafePattern } from './safe-regex';

export interface BlockedValues {
  /** Compared case-insensitively with the trimmed, normalised value. `''` blocks empty/whitespace. */
  values: string[];
  /** Regular expressions (flags `iu`, unanchored: anchor them yourself), checked by safe-regex. */
  patterns: string[];
}

export interface IdentifierTypeRule {
  /** Most identifiers of this type on one profile (>= 1). */
  limit: number;
  /** Lower number = stronger (>= 1). Ties are broken by type name. */
  priority: number;
  /** Blocked values of this type only (in addition to the global ones). */
  blocked?: BlockedValues;
}

export interface IdentityRules {
  /** Per type: `userId`, `email`, `phone`, `anonymousId`, `external:*` (default for every external id), `external:<name>`. */
  types: Record<string, IdentifierTypeRule>;
  /** Blocked for every type. */
  blocked: BlockedValues;
  /** Track events whose `properties.email` is an identifier (the email and order events). */
  emailEvents: string[];
  /** How long a merged profile stays as a redirect (`expiresAt = mergedAt + redirectTtlMs`). */
  redirectTtlMs: number;
  /** A reservation (pending claim / merge intent) older than this is considered abandoned. */
  pendingClaimTtlMs: number;
}

export const EXTERNAL_DEFAULT_TYPE = `${EXTERNAL_PREFIX}*`;

/** The collector refuses messages identified by these alone (contracts: identifiers.ts). */
export const DEFAULT_BLOCKED_VALUES: readonly string[] = PLACEHOLDER_IDENTIFIER_VALUES;

const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_IDENTITY_RULES: IdentityRules = deepFreeze({
  types: {
    userId: { limit: 1, priority: 1 },
    email: { limit: 5, priority: 2 },
    phone: { limit: 5, priority: 3 },
    [EXTERNAL_DEFAULT_TYPE]: { limit: 5, priority: 4 },
    anonymousId: { limit: 100, priority: 5 },
  },
  blocked: { values: [...DEFAULT_BLOCKED_VALUES], patterns: [] },
  emailEvents: ['Email Opened', 'Email Link Clicked', 'Order Completed'],
  redirectTtlMs: 90 * DAY_MS,
  pendingClaimTtlMs: 10 * 60 * 1000,
});

export const RULE_BOUNDS = Object.freeze({
  limit: { min: 1, max: 10_000 },
  priority: { min: 1, max: 1_000 },
  blockedValues: 1_000,
  blockedPatterns: 50,
  emailEvents: 100,
  redirectTtlMs: { min: 60_000, max: 10 * 365 * DAY_MS },
  pendingClaimTtlMs: { min: 1_000, max: DAY_MS },
});

export interface RuleError {
  path: string;
  message: string;
}

export type RulesParseResult = { ok: true; rules: IdentityRules } | { ok: false; errors: RuleError[] };

export class IdentityRulesError extends Error {
  constructor(readonly errors: RuleError[]) {
    super(`invalid identity rules: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    this.name = 'IdentityRulesError';
  }
}

const TOP_LEVEL_KEYS = ['types', 'blocked', 'emailEvents', 'redirectTtlMs', 'pendingClaimTtlMs'];
const TYPE_KEYS = ['limit', 'priority', 'blocked'];
const BLOCKED_KEYS = ['values', 'patterns'];

/** Validates a (partial) rules document and fills the defaults. See the file comment. */
export function parseIdentityRules(input: unknown, defaults: IdentityRules = DEFAULT_IDENTITY_RULES): RulesParseResult {
  const errors: RuleError[] = [];
  if (input === undefined || input === null) return { ok: true, rules: cloneRules(defaults) };
  if (!isRecord(input)) return { ok: false, errors: [{ path: '', message: 'rules must be an object' }] };
  for (const key of Object.keys(input)) {
    if (!TOP_LEVEL_KEYS.includes(key)) errors.push({ path: key, message: 'unknown field' });
  }
  const rules = cloneRules(defaults);

  if (input['types'] !== undefined) {
    const types = input['types'];
    if (!isRecord(types)) {
      errors.push({ path: 'types', message: 'must be an object' });
    } else {
      // The external default first: other external types fall back to it.
      const names = Object.keys(types).sort((a, b) => Number(b === EXTERNAL_DEFAULT_TYPE) - Number(a === EXTERNAL_DEFAULT_TYPE));
      for (const type of names) {
        const path = `types.${type}`;
        if (type !== EXTERNAL_DEFAULT_TYPE && !isValidIdentifierType(type)) {
          errors.push({ path, message: 'unknown identifier type (userId, email, phone, anonymousId, external:*, external:<name>)' });
          continue;
        }
        const entry = types[type];
        if (!isRecord(entry)) {
          errors.push({ path, message: 'must be an object' });
          continue;
        }
        for (const key of Object.keys(entry)) {
          if (!TYPE_KEYS.includes(key)) errors.push({ path: `${path}.${key}`, message: 'unknown field' });
        }
        const base = typeRule(rules, type) ?? rules.types[EXTERNAL_DEFAULT_TYPE] ?? { limit: 1, priority: RULE_BOUNDS.priority.max };
        const merged: IdentifierTypeRule = { limit: base.limit, priority: base.priority };
        if (base.blocked) merged.blocked = { values: [...base.blocked.values], patterns: [...base.blocked.patterns] };
        const limit = readInt(entry['limit'], `${path}.limit`, RULE_BOUNDS.limit, errors);
        if (limit !== undefined) merged.limit = limit;
        const priority = readInt(entry['priority'], `${path}.priority`, RULE_BOUNDS.priority, errors);
        if (priority !== undefined) merged.priority = priority;
        if (entry['blocked'] !== undefined) {
          const blocked = readBlocked(entry['blocked'], `${path}.blocked`, merged.blocked ?? { values: [], patterns: [] }, errors);
          if (blocked) merged.blocked = blocked;
        }
        rules.types[type] = merged;
      }
    }
  }
  if (input['blocked'] !== undefined) {
    const blocked = readBlocked(input['blocked'], 'blocked', rules.blocked, errors);
    if (blocked) rules.blocked = blocked;
  }
  if (input['emailEvents'] !== undefined) {
    const events = readStringArray(input['emailEvents'], 'emailEvents', RULE_BOUNDS.emailEvents, 256, errors, false);
    if (events) rules.emailEvents = events;
  }
  const redirectTtlMs = readInt(input['redirectTtlMs'], 'redirectTtlMs', RULE_BOUNDS.redirectTtlMs, errors);
  if (redirectTtlMs !== undefined) rules.redirectTtlMs = redirectTtlMs;
  const pendingClaimTtlMs = readInt(input['pendingClaimTtlMs'], 'pendingClaimTtlMs', RULE_BOUNDS.pendingClaimTtlMs, errors);
  if (pendingClaimTtlMs !== undefined) rules.pendingClaimTtlMs = pendingClaimTtlMs;

  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}

/** Like `parseIdentityRules` but throws `IdentityRulesError`. */
export function identityRules(input?: unknown): IdentityRules {
  const result = parseIdentityRules(input);
  if (!result.ok) throw new IdentityRulesError(result.errors);
  return result.rules;
}

/** Validation errors of a complete rules object (e.g. one built in code); [] when valid. */
export function validateIdentityRules(rules: unknown): RuleError[] {
  const result = parseIdentityRules(rules);
  return result.ok ? [] : result.errors;
}

// ---------------------------------------------------------------------------------------
// Compiled form, used by extraction and planning (cached per rules object).

export interface TypeRule {
  type: string;
  limit: number;
  priority: number;
}

export interface CompiledRules {
  readonly rules: IdentityRules;
  /** Limit and priority of a type (`external:<name>` falls back to `external:*`). */
  ruleFor(type: string): TypeRule;
  /** Why `value` (already normalised) is blocked for `type`, or undefined. */
  blockedReason(type: string, value: string): string | undefined;
  isEmailEvent(event: string | undefined): boolean;
}

interface CompiledBlocked {
  values: Set<string>;
  patterns: { source: string; regex: RegExp }[];
}

const compiledCache = new WeakMap<IdentityRules, CompiledRules>();

/** The rule of `type` itself: an identifier type such as `toString` must not find an `Object.prototype` member. */
function typeRule(rules: IdentityRules, type: string): IdentifierTypeRule | undefined {
  return Object.hasOwn(rules.types, type) ? rules.types[type] : undefined;
}

/** Compiles (and caches) `rules`; throws `IdentityRulesError` if a pattern is unsafe. */
export function compileRules(rules: IdentityRules): CompiledRules {
  const cached = compiledCache.get(rules);
  if (cached) return cached;
  const errors: RuleError[] = [];
  const global = compileBlocked(rules.blocked, 'blocked', errors);
  const perType = new Map<string, CompiledBlocked>();
  for (const [type, rule] of Object.entries(rules.types)) {
    if (rule.blocked) perType.set(type, compileBlocked(rule.blocked, `types.${type}.blocked`, errors));
  }
  if (errors.length > 0) throw new IdentityRulesError(errors);
  const emailEvents = new Set(rules.emailEvents);
  const fallback = rules.types[EXTERNAL_DEFAULT_TYPE] ?? (DEFAULT_IDENTITY_RULES.types[EXTERNAL_DEFAULT_TYPE] as IdentifierTypeRule);
  const compiled: CompiledRules = {
    rules,
    ruleFor(type) {
      const rule = typeRule(rules, type) ?? (isExternalType(type) ? fallback : undefined);
      if (!rule) throw new IdentityRulesError([{ path: `types.${type}`, message: 'no rule for this identifier type' }]);
      return { type, limit: rule.limit, priority: rule.priority };
    },
    blockedReason(type, value) {
      const probe = value.trim().toLowerCase();
      const typeKey = typeRule(rules, type) ? type : isExternalType(type) ? EXTERNAL_DEFAULT_TYPE : type;
      for (const [scope, blocked] of [
        ['', global],
        [typeKey, perType.get(typeKey)],
      ] as const) {
        if (!blocked) continue;
        const where = scope === '' ? '' : ` (${scope} rule)`;
        if (blocked.values.has(probe)) return `blocked value ${JSON.stringify(probe)}${where}`;
        const hit = blocked.patterns.find((p) => p.regex.test(value));
        if (hit) return `blocked by pattern /${hit.source}/${where}`;
      }
      return undefined;
    },
    isEmailEvent(event) {
      return event !== undefined && emailEvents.has(event);
    },
  };
  compiledCache.set(rules, compiled);
  return compiled;
}

function compileBlocked(blocked: BlockedValues, path: string, errors: RuleError[]): CompiledBlocked {
  const patterns: CompiledBlocked['patterns'] = [];
  blocked.patterns.forEach((source, i) => {
    const check = compileSafePattern(source);
    if (check.ok) patterns.push({ source, regex: check.regex });
    else errors.push({ path: `${path}.patterns[${i}]`, message: check.reason });
  });
  return { values: new Set(blocked.values.map((v) => v.trim().toLowerCase())), patterns };
}

// ---------------------------------------------------------------------------------------

function readBlocked(value: unknown, path: string, base: BlockedValues, errors: RuleError[]): BlockedValues | undefined {
  if (!isRecord(value)) {
    errors.push({ path, message: 'must be an object with values and/or patterns' });
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!BLOCKED_KEYS.includes(key)) errors.push({ path: `${path}.${key}`, message: 'unknown field' });
  }
  const out: BlockedValues = { values: [...base.values], patterns: [...base.patterns] };
  if (value['values'] !== undefined) {
    const values = readStringArray(value['values'], `${path}.values`, RULE_BOUNDS.blockedValues, MAX_IDENTIFIER_VALUE_LENGTH, errors, true);
    if (values) out.values = values;
  }
  if (value['patterns'] !== undefined) {
    const patterns = readStringArray(value['patterns'], `${path}.patterns`, RULE_BOUNDS.blockedPatterns, Number.MAX_SAFE_INTEGER, errors, false);
    if (patterns) {
      patterns.forEach((pattern, i) => {
        const check = compileSafePattern(pattern);
        if (!check.ok) errors.push({ path: `${path}.patterns[${i}]`, message: check.reason });
      });
      out.patterns = patterns;
    }
  }
  return out;
}

function readStringArray(value: unknown, path: string, maxItems: number, maxLength: number, errors: RuleError[], allowEmpty: boolean): string[] | undefined {
  if (!Array.isArray(value)) {
    errors.push({ path, message: 'must be an array of strings' });
    return undefined;
  }
  if (value.length > maxItems) {
    errors.push({ path, message: `must have at most ${maxItems} entries` });
    return undefined;
  }
  let ok = true;
  value.forEach((item, i) => {
    if (typeof item !== 'string') {
      errors.push({ path: `${path}[${i}]`, message: 'must be a string' });
      ok = false;
    } else if (!allowEmpty && item.trim() === '') {
      errors.push({ path: `${path}[${i}]`, message: 'must not be empty' });
      ok = false;
    } else if (item.length > maxLength) {
      errors.push({ path: `${path}[${i}]`, message: `must be at most ${maxLength} characters` });
      ok = false;
    }
  });
  return ok ? (value as string[]).slice() : undefined;
}

function readInt(value: unknown, path: string, bounds: { min: number; max: number }, errors: RuleError[]): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    errors.push({ path, message: 'must be an integer' });
    return undefined;
  }
  if (value < bounds.min || value > bounds.max) {
    errors.push({ path, message: `must be between ${bounds.min} and ${bounds.max}` });
    return undefined;
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function cloneRules(rules: IdentityRules): IdentityRules {
  return JSON.parse(JSON.stringify(rules)) as IdentityRules;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
