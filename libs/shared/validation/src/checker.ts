/**
 * Validation of untrusted JSON (admin API bodies, definition files): `{ ok: true, value }` or
 * every error with the JSON path of the offending value (`frequencyCap.max`,
 * `condition.all[1].op`) out. Pure TypeScript, shared by the validators of every service
 * (activation's triggers and destinations, segmentation's segment definitions), which extend
 * `Checker` with their own rules.
 */

/** One problem with an input, at a JSON path (`$` for the input itself). */
export interface ValidationError {
  path: string;
  message: string;
}

/** A validated value (a fresh copy of the input, defaults applied) or every error found. */
export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: ValidationError[] };

/** A JSON object (not null, not an array). */
export type Obj = Record<string, unknown>;

/** At most this many errors are reported for one input. */
export const MAX_ERRORS = 50;

/** Identifiers (trigger, destination and segment keys): 1–64 of letters, digits, `_ . : -`. */
export const KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]*$';
/** The longest identifier. */
export const MAX_KEY_LENGTH = 64;
/** The longest free-text string (names) unless a field says otherwise. */
export const MAX_STRING_LENGTH = 256;

const KEY_RE = new RegExp(KEY_PATTERN);

/** Whether `v` is a JSON object. */
export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `a.b` (or `b` at the root). */
export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** "a string", "an object", "null": for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Options of `Checker.string`. */
export interface StringRules {
  max?: number;
  pattern?: RegExp;
  patternText?: string;
}

/** Options of `Checker.number`. */
export interface NumberRules {
  integer?: boolean;
  min?: number;
  exclusiveMin?: number;
  max?: number;
}

/** Collects errors while a validator walks an input; each check returns whether it passed. */
export class Checker {
  readonly errors: ValidationError[] = [];

  /** Records an error at `path`. */
  err(path: string, message: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push({ path: path || '$', message });
  }

  /** Records an error and returns false. */
  fail(path: string, message: string): false {
    this.err(path, message);
    return false;
  }

  /** Rejects fields not in `allowed`; reports missing `required` ones. */
  fields(o: Obj, path: string, allowed: readonly string[], required: readonly string[]): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.err(join(path, k), `unknown field (allowed: ${allowed.join(', ')})`);
    for (const k of required) if (o[k] === undefined) this.err(join(path, k), 'is required');
  }

  /** An object; the error names what it was instead. */
  object(v: unknown, path: string, shape: string): v is Obj {
    return isObj(v) || this.fail(path, `must be an object ${shape}, not ${describe(v)}`);
  }

  /** A non-empty string of at most `max` (256) characters, optionally matching a pattern. */
  string(v: unknown, path: string, rules: StringRules = {}): v is string {
    if (typeof v !== 'string') return this.fail(path, `must be a string, not ${describe(v)}`);
    if (v.length === 0) return this.fail(path, 'must not be empty');
    const max = rules.max ?? MAX_STRING_LENGTH;
    if (v.length > max) return this.fail(path, `must be at most ${max} characters`);
    if (rules.pattern && !rules.pattern.test(v)) return this.fail(path, `must match ${rules.patternText ?? rules.pattern.source}`);
    return true;
  }

  /** An identifier (`KEY_PATTERN`, at most 64 characters). */
  key(v: unknown, path: string): v is string {
    return this.string(v, path, { max: MAX_KEY_LENGTH, pattern: KEY_RE, patternText: `${KEY_PATTERN} (letters, digits, _ . : -)` });
  }

  /** A finite number within the given bounds. */
  number(v: unknown, path: string, rules: NumberRules = {}): v is number {
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.fail(path, `must be a finite number, not ${describe(v)}`);
    if (rules.integer && !Number.isInteger(v)) return this.fail(path, 'must be an integer');
    if (rules.min !== undefined && v < rules.min) return this.fail(path, `must be at least ${rules.min}`);
    if (rules.exclusiveMin !== undefined && v <= rules.exclusiveMin) return this.fail(path, `must be greater than ${rules.exclusiveMin}`);
    if (rules.max !== undefined && v > rules.max) return this.fail(path, `must be at most ${rules.max}`);
    return true;
  }

  /** A boolean. */
  boolean(v: unknown, path: string): v is boolean {
    return typeof v === 'boolean' || this.fail(path, `must be a boolean, not ${describe(v)}`);
  }

  /** One of a fixed set of strings. */
  oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): v is T {
    return (typeof v === 'string' && (values as readonly string[]).includes(v)) || this.fail(path, `must be one of ${values.join(', ')}`);
  }

  /** The result: the (copied) value when no error was recorded. */
  result<T>(value: () => T): ValidationResult<T> {
    return this.errors.length > 0 ? { ok: false, errors: this.errors } : { ok: true, value: value() };
  }
}
