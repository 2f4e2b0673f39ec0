/**
 * Key escaping for values that will be stored in MongoDB and queried by path.
 *
 * Keys that start with `$` look like query/update operators and keys containing `.` are
 * read as paths, so user-supplied keys in `properties`, `traits`, `context` and
 * `integrations` are ESCAPED, not rejected, following MongoDB's documented advice
 * (https://www.mongodb.com/docs/manual/reference/limits/#naming-restrictions):
 * - a leading `$` → `＄` (U+FF04 FULLWIDTH DOLLAR SIGN); a `$` elsewhere is harmless and kept;
 * - every `.` → `．` (U+FF0E FULLWIDTH FULL STOP);
 * - every NUL (`\u0000`, which MongoDB refuses in field names) → `␀` (U+2400).
 * `unescapeKey` reverses this exactly for keys that did not already contain `＄` at the
 * start, `．` or `␀`; such keys (vanishingly rare) come back with `$`, `.` or NUL.
 * If escaping makes two keys of one object equal (`"a.b"` and `"a．b"`), the later wins.
 *
 * Reserved operators: at the top level of `traits`, `context.traits` and `properties`, the
 * keys `$set`, `$set_once` and `$unset` are kept verbatim, because later stages give them
 * PostHog-style trait-operator semantics. Their contents are escaped like everything else
 * (`$set`/`$set_once` must be objects; `$unset` an array of trait names, which are escaped
 * so that they match the escaped trait keys, or an object whose keys are escaped).
 *
 * Output objects are fresh plain literals; the input is never mutated. Refused (400), so
 * that every stage and both supported stores can take what the collector accepts:
 * - keys `__proto__`, `constructor` and `prototype` at any depth (FORBIDDEN_KEYS): later
 *   stages copy these objects with assignment and use their keys as map keys, where these
 *   names reach an object's prototype. Other names of Object.prototype (`toString`,
 *   `valueOf`, …) are ordinary data;
 * - an array directly inside an array (`[[1]]`): MongoDB stores it, FerretDB refuses the
 *   whole document ("nested arrays are not supported");
 * - keys and strings with an unpaired UTF-16 surrogate: not representable in UTF-8, so
 *   BSON and the Kafka JSON would silently turn them into U+FFFD and ids would not match;
 * - string values with a NUL character (U+0000): PostgreSQL, FerretDB's store, cannot hold
 *   one in a JSON string (in keys it is escaped to U+2400 instead, like `$` and `.`).
 */
import { CollectorInputError, joinPath } from './errors';
import { MAX_OBJECT_DEPTH } from './limits';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export const FULLWIDTH_DOLLAR = '\uFF04';
export const FULLWIDTH_DOT = '\uFF0E';
export const NUL_SYMBOL = '\u2400';

/** Keys kept verbatim at the top level of `traits`, `context.traits` and `properties`. */
export const RESERVED_TRAIT_OPERATORS: readonly string[] = Object.freeze(['$set', '$set_once', '$unset']);

export function escapeKey(key: string): string {
  let out = key;
  if (out.startsWith('$')) out = FULLWIDTH_DOLLAR + out.slice(1);
  if (out.includes('.')) out = out.replaceAll('.', FULLWIDTH_DOT);
  if (out.includes('\u0000')) out = out.replaceAll('\u0000', NUL_SYMBOL);
  return out;
}

export function unescapeKey(key: string): string {
  let out = key;
  if (out.startsWith(FULLWIDTH_DOLLAR)) out = '$' + out.slice(1);
  if (out.includes(FULLWIDTH_DOT)) out = out.replaceAll(FULLWIDTH_DOT, '.');
  if (out.includes(NUL_SYMBOL)) out = out.replaceAll(NUL_SYMBOL, '\u0000');
  return out;
}

/** Keys refused at every depth of `properties`, `traits`, `context` and `integrations`. */
export const FORBIDDEN_KEYS: readonly string[] = Object.freeze(['__proto__', 'constructor', 'prototype']);

// With the `u` flag a well-formed pair is one code point, so only unpaired surrogates match.
const LONE_SURROGATE = /\p{Cs}/u;

/** False when `text` contains an unpaired UTF-16 surrogate (`String.prototype.isWellFormed`). */
export function isWellFormedString(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** The 400 for a string (value or key) at `path` that is not well-formed Unicode. */
export function notWellFormedError(path: string): CollectorInputError {
  return new CollectorInputError(400, 'invalid_string', `${path} contains an unpaired UTF-16 surrogate (not valid Unicode)`, path);
}

/** Why the string value at `path` cannot be stored by every supported store, or undefined. */
export function unstorableStringError(text: string, path: string): CollectorInputError | undefined {
  if (!isWellFormedString(text)) return notWellFormedError(path);
  if (text.includes('\u0000'))
    return new CollectorInputError(400, 'invalid_string', `${path} contains a NUL character (U+0000), which PostgreSQL-backed stores cannot hold`, path);
  return undefined;
}

/** The 400 for a forbidden key (or event name) at `path`. */
export function forbiddenKeyError(key: string, path: string): CollectorInputError {
  return new CollectorInputError(400, 'prototype_pollution', `key "${key}" is not allowed (at ${path})`, path);
}

/** True for `{}`-like objects (prototype `Object.prototype` or `null`), not arrays, dates, … */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  // `Object.prototype` of any realm (its own prototype is null), or no prototype at all.
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** Deep copy of a JSON value (fresh objects and arrays, same keys). */
export function cloneJson<T extends JsonValue>(value: T): T;
export function cloneJson(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map((item) => cloneJson(item));
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    if (key === '__proto__') continue;
    out[key] = cloneJson(value[key] as JsonValue);
  }
  return out;
}

/**
 * How the top level of an object is treated:
 * - `plain`: every key escaped;
 * - `operators`: `$set`, `$set_once`, `$unset` kept (top of `traits` and `properties`);
 * - `context`: every key escaped, and the `traits` child is sanitized in `operators` mode.
 */
export type SanitizeMode = 'plain' | 'operators' | 'context';

export interface SanitizeOptions {
  /** Path of the value, for error messages (e.g. `properties`). Default `''`. */
  path?: string;
  /** Deepest nesting allowed; the object itself is level 1. Default MAX_OBJECT_DEPTH. */
  maxDepth?: number;
  /** Default `plain`. */
  mode?: SanitizeMode;
}

/**
 * Returns a deep copy of the plain object `value` with every key escaped (see the file
 * comment), numbers that are not finite replaced by `null` (as JSON would) and non-JSON
 * values dropped (`undefined`, functions, symbols; `null` inside arrays).
 * @throws CollectorInputError 400: `invalid_type` (not a plain object, or a bigint inside,
 *   or a reserved operator with the wrong shape), `too_deep`, `prototype_pollution`,
 *   `nested_array`, `invalid_string`.
 */
export function sanitizeObject(value: unknown, options: SanitizeOptions = {}): JsonObject {
  const path = options.path ?? '';
  if (!isPlainObject(value)) throw notAnObject(path);
  const ctx: Ctx = { maxDepth: options.maxDepth ?? MAX_OBJECT_DEPTH };
  return sanitizeRecord(value, path, 1, options.mode ?? 'plain', ctx);
}

/** Deep copy with every key unescaped (for read paths that show data back to users). */
export function unescapeObject(value: JsonObject): JsonObject;
export function unescapeObject(value: JsonValue): JsonValue;
export function unescapeObject(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map((item) => unescapeObject(item));
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    const original = unescapeKey(key);
    // Never re-create a `__proto__` key through assignment.
    if (original === '__proto__') continue;
    out[original] = unescapeObject(value[key] as JsonValue);
  }
  return out;
}

interface Ctx {
  maxDepth: number;
}

function notAnObject(path: string): CollectorInputError {
  return new CollectorInputError(400, 'invalid_type', `${path || 'value'} must be an object`, path);
}

function nestedArrayError(path: string): CollectorInputError {
  const message = `${path} is an array directly inside an array, which FerretDB cannot store; wrap the inner array in an object`;
  return new CollectorInputError(400, 'nested_array', message, path);
}

function checkDepth(depth: number, path: string, ctx: Ctx): void {
  if (depth > ctx.maxDepth) {
    throw new CollectorInputError(400, 'too_deep', `${path} is nested deeper than ${ctx.maxDepth} levels`, path);
  }
}

function sanitizeRecord(value: Record<string, unknown>, path: string, depth: number, mode: SanitizeMode, ctx: Ctx): JsonObject {
  checkDepth(depth, path, ctx);
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    const child = value[key];
    if (child === undefined) continue;
    const childPath = joinPath(path, key);
    checkKey(key, childPath);
    let sanitized: JsonValue | undefined;
    let outKey: string;
    if (mode === 'operators' && RESERVED_TRAIT_OPERATORS.includes(key)) {
      outKey = key;
      sanitized = sanitizeOperator(key, child, childPath, depth + 1, ctx);
    } else if (mode === 'context' && key === 'traits') {
      outKey = key;
      if (!isPlainObject(child)) throw notAnObject(childPath);
      sanitized = sanitizeRecord(child, childPath, depth + 1, 'operators', ctx);
    } else {
      outKey = escapeKey(key);
      sanitized = sanitizeValue(child, childPath, depth + 1, ctx);
    }
    if (sanitized !== undefined) out[outKey] = sanitized;
  }
  return out;
}

/** A key, or a name that later stages use as one (`$unset` trait names). */
function checkKey(key: string, path: string): void {
  if (FORBIDDEN_KEYS.includes(key)) throw forbiddenKeyError(key, path);
  if (!isWellFormedString(key)) throw notWellFormedError(path);
}

function sanitizeOperator(key: string, value: unknown, path: string, depth: number, ctx: Ctx): JsonValue {
  if (key === '$unset') {
    if (Array.isArray(value)) {
      checkDepth(depth, path, ctx);
      return value.map((name, i) => {
        if (typeof name !== 'string') {
          throw new CollectorInputError(400, 'invalid_type', `${path} must be an array of trait names (strings)`, joinPath(path, i));
        }
        checkKey(name, joinPath(path, i));
        return escapeKey(name);
      });
    }
    if (isPlainObject(value)) return sanitizeRecord(value, path, depth, 'plain', ctx);
    throw new CollectorInputError(400, 'invalid_type', `${path} must be an array of trait names or an object`, path);
  }
  if (!isPlainObject(value)) throw notAnObject(path);
  return sanitizeRecord(value, path, depth, 'plain', ctx);
}

function sanitizeValue(value: unknown, path: string, depth: number, ctx: Ctx): JsonValue | undefined {
  switch (typeof value) {
    case 'string': {
      const unstorable = unstorableStringError(value, path);
      if (unstorable) throw unstorable;
      return value;
    }
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      throw new CollectorInputError(400, 'invalid_type', `${path} is not a JSON value`, path);
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        checkDepth(depth, path, ctx);
        const out: JsonValue[] = new Array<JsonValue>(value.length);
        for (let i = 0; i < value.length; i++) {
          const itemPath = joinPath(path, i);
          if (Array.isArray(value[i])) throw nestedArrayError(itemPath);
          out[i] = sanitizeValue(value[i], itemPath, depth + 1, ctx) ?? null;
        }
        return out;
      }
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
      return sanitizeRecord(value as Record<string, unknown>, path, depth, 'plain', ctx);
    }
    default:
      // undefined, function, symbol: dropped, as JSON.stringify does.
      return undefined;
  }
}
