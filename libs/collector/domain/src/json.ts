/**
 * Safe JSON parsing of request bodies.
 *
 * `JSON.parse` itself never pollutes prototypes (it defines `__proto__` as an own property),
 * but the parsed object is dangerous as soon as later code copies it with assignment
 * (`Object.assign`, `obj[key] = value`, merge helpers): an own `__proto__` key then replaces
 * the target's prototype, and `constructor.prototype` reaches `Object.prototype` through
 * some merge utilities. So we refuse such bodies outright, naming the path. The rule is the
 * one of `secure-json-parse` (which Fastify uses):
 * - a key `__proto__` anywhere (also when spelled with `\u` escapes in the JSON text);
 * - a key `constructor` whose value is an object that has a key `prototype`.
 * This pass alone lets `"constructor": "Bob"` through (secure-json-parse's rule); inside a
 * message's `properties`, `traits`, `context` and `integrations`, `sanitizeObject` then
 * refuses every `constructor` and `prototype` key too (see sanitize.ts).
 *
 * The same pass caps nesting at MAX_JSON_DEPTH, so that nothing later (e.g.
 * `JSON.stringify`) can overflow the call stack on a `[[[[...]]]]` body.
 */
import { CollectorInputError, joinPath } from './errors';
import { MAX_JSON_DEPTH } from './limits';
import { findJsonSyntaxError } from './json-syntax';

export { findJsonSyntaxError, type JsonSyntaxError } from './json-syntax';

export interface ParseJsonOptions {
  /** Deepest nesting allowed (the root value is level 1). Default MAX_JSON_DEPTH. */
  maxDepth?: number;
}

/**
 * Parses a request body.
 * @throws CollectorInputError 400 `empty_body`, `malformed_json` (with position, line and
 *   column), `prototype_pollution` (with `path`) or `too_deep` (with `path`).
 */
export function parseJsonBody(text: string, options: ParseJsonOptions = {}): unknown {
  // A UTF-8 byte-order mark is not JSON, but some clients send one.
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (source.trim() === '') throw new CollectorInputError(400, 'empty_body', 'request body is empty; send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch {
    throw malformed(source);
  }
  assertSafeJson(value, options.maxDepth ?? MAX_JSON_DEPTH);
  return value;
}

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | undefined;
  key: string | number | undefined;
}

function pathOf(frame: Frame | undefined, ...more: (string | number)[]): string {
  const keys: (string | number)[] = [];
  for (let f = frame; f?.parent !== undefined; f = f.parent) keys.push(f.key as string | number);
  keys.reverse().push(...more);
  return keys.reduce<string>((path, key) => joinPath(path, key), '');
}

function hasOwn(value: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(value, key);
}

/**
 * Walks a parsed JSON value (iteratively, so depth cannot overflow the stack) and throws on
 * prototype-pollution keys or excessive depth. Exported for values parsed elsewhere.
 */
export function assertSafeJson(root: unknown, maxDepth: number = MAX_JSON_DEPTH): void {
  const stack: Frame[] = [{ value: root, depth: 1, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    const { value } = frame;
    if (typeof value !== 'object' || value === null) continue;
    if (frame.depth > maxDepth) {
      throw new CollectorInputError(400, 'too_deep', `JSON nests deeper than ${maxDepth} levels`, pathOf(frame));
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === 'object' && item !== null) stack.push({ value: item, depth: frame.depth + 1, parent: frame, key: i });
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      const child: unknown = (value as Record<string, unknown>)[key];
      if (key === '__proto__') {
        throw new CollectorInputError(400, 'prototype_pollution', `key "__proto__" is not allowed (at ${pathOf(frame, key)})`, pathOf(frame, key));
      }
      if (key === 'constructor' && typeof child === 'object' && child !== null && !Array.isArray(child) && hasOwn(child, 'prototype')) {
        const path = pathOf(frame, key, 'prototype');
        throw new CollectorInputError(400, 'prototype_pollution', `key "constructor.prototype" is not allowed (at ${path})`, path);
      }
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: frame.depth + 1, parent: frame, key });
    }
  }
}

function malformed(text: string): CollectorInputError {
  const found = findJsonSyntaxError(text);
  if (!found) return new CollectorInputError(400, 'malformed_json', 'request body is not valid JSON');
  const { line, column } = lineAndColumn(text, found.position);
  return new CollectorInputError(
    400,
    'malformed_json',
    `request body is not valid JSON: ${found.reason} at position ${found.position} (line ${line}, column ${column})`,
  );
}

function lineAndColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}
