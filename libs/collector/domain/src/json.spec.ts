import { CollectorInputError } from './errors';
import { assertSafeJson, findJsonSyntaxError, parseJsonBody } from './json';
import { MAX_JSON_DEPTH } from './limits';

function errorOf(fn: () => unknown): CollectorInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CollectorInputError) return err;
    throw err;
  }
  throw new Error('expected a CollectorInputError');
}

describe('parseJsonBody', () => {
  it('parses a valid body', () => {
    expect(parseJsonBody('{"userId":"u1","properties":{"a":[1,2,{"b":null}]}}')).toEqual({
      userId: 'u1',
      properties: { a: [1, 2, { b: null }] },
    });
  });

  it('strips a UTF-8 byte-order mark', () => {
    expect(parseJsonBody('\uFEFF{"a":1}')).toEqual({ a: 1 });
  });

  it.each(['', '   ', '\n\t', '\uFEFF'])('refuses an empty body %j with empty_body', (text) => {
    const err = errorOf(() => parseJsonBody(text));
    expect(err.status).toBe(400);
    expect(err.code).toBe('empty_body');
  });

  it('reports malformed JSON with position, line and column', () => {
    const err = errorOf(() => parseJsonBody('{"a":}'));
    expect(err.status).toBe(400);
    expect(err.code).toBe('malformed_json');
    expect(err.message).toBe('request body is not valid JSON: expected a value at position 5 (line 1, column 6)');
  });

  it('counts lines and columns on multi-line bodies', () => {
    const err = errorOf(() => parseJsonBody('{\n  "a": 1,\n  "b": tru\n}'));
    expect(err.message).toContain('at position 19 (line 3, column 8)');
  });

  it('does not echo the body in the message', () => {
    const err = errorOf(() => parseJsonBody('{"secret-token-xyz": }'));
    expect(err.message).not.toContain('secret-token-xyz');
  });

  it('parses __proto__-free JSON with "constructor" as plain data', () => {
    expect(parseJsonBody('{"properties":{"constructor":"Bob","prototype":1}}')).toEqual({
      properties: { constructor: 'Bob', prototype: 1 },
    });
  });

  it('rejects a top-level __proto__ key', () => {
    const err = errorOf(() => parseJsonBody('{"__proto__": {"polluted": 1}}'));
    expect(err.status).toBe(400);
    expect(err.code).toBe('prototype_pollution');
    expect(err.path).toBe('__proto__');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('rejects __proto__ nested in arrays and objects, naming the path', () => {
    const err = errorOf(() => parseJsonBody('{"batch":[{"type":"track"},{"properties":{"list":[{"__proto__":{"x":1}}]}}]}'));
    expect(err.code).toBe('prototype_pollution');
    expect(err.path).toBe('batch[1].properties.list[0].__proto__');
  });

  it('rejects __proto__ spelled with unicode escapes', () => {
    const err = errorOf(() => parseJsonBody('{"traits":{"\\u005f_proto__":{"isAdmin":true}}}'));
    expect(err.code).toBe('prototype_pollution');
    expect(err.path).toBe('traits.__proto__');
  });

  it('rejects a nested constructor.prototype', () => {
    const err = errorOf(() => parseJsonBody('{"context":{"a":{"constructor":{"prototype":{"polluted":true}}}}}'));
    expect(err.code).toBe('prototype_pollution');
    expect(err.path).toBe('context.a.constructor.prototype');
    expect(err.message).toContain('constructor.prototype');
  });

  it('accepts nesting exactly at the limit and rejects one level more', () => {
    const nested = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
    expect(() => parseJsonBody(nested(MAX_JSON_DEPTH))).not.toThrow();
    const err = errorOf(() => parseJsonBody(nested(MAX_JSON_DEPTH + 1)));
    expect(err.code).toBe('too_deep');
    expect(err.path).toBe('[0]'.repeat(MAX_JSON_DEPTH));
  });

  it('survives a pathologically deep body without a stack overflow', () => {
    const levels = 200_000;
    const err = errorOf(() => parseJsonBody('['.repeat(levels) + ']'.repeat(levels)));
    expect(err.code).toBe('too_deep');
  });

  it('honours a custom maxDepth', () => {
    expect(() => parseJsonBody('{"a":{"b":1}}', { maxDepth: 2 })).not.toThrow();
    expect(errorOf(() => parseJsonBody('{"a":{"b":{}}}', { maxDepth: 2 })).path).toBe('a.b');
  });

  it('accepts primitives (the caller checks the shape)', () => {
    expect(parseJsonBody('null')).toBeNull();
    expect(parseJsonBody(' 42 ')).toBe(42);
  });
});

describe('assertSafeJson', () => {
  it('detects own __proto__ properties created by JSON.parse', () => {
    const value: unknown = JSON.parse('{"a":{"__proto__":{"x":1}}}');
    expect(() => assertSafeJson(value)).toThrow(CollectorInputError);
  });
  it('passes safe values', () => {
    expect(() => assertSafeJson({ a: [{ b: 'constructor' }] })).not.toThrow();
  });
});

describe('findJsonSyntaxError', () => {
  it.each([
    ['{"a":1}', undefined],
    ['[1, 2.5e-3, -0, "x\\u00e9\\n", true, false, null, {}]', undefined],
    ['{"a":1', { position: 6, reason: 'unexpected end of input' }],
    ['[1,]', { position: 3, reason: 'expected a value' }],
    ['{a:1}', { position: 1, reason: `expected a property name in double quotes or '}'` }],
    ['{"a":1,}', { position: 7, reason: 'expected a property name in double quotes' }],
    ['{"a" 1}', { position: 5, reason: `expected ':' after property name` }],
    ['{"a":1]', { position: 6, reason: `expected ',' or '}'` }],
    ['[1}', { position: 2, reason: `expected ',' or ']'` }],
    ['"abc', { position: 0, reason: 'unterminated string' }],
    ['"a\\qb"', { position: 2, reason: 'invalid escape \\q in string' }],
    ['"a\\u12g4"', { position: 2, reason: 'invalid \\u escape in string' }],
    ['"a\u0001"', { position: 2, reason: 'unescaped control character in string' }],
    ['01', { position: 1, reason: 'invalid number' }],
    ['-', { position: 0, reason: 'invalid number' }],
    ['{"a":1}x', { position: 7, reason: 'unexpected data after the JSON value' }],
    ['nul', { position: 0, reason: 'expected a value' }],
  ])('%j → %j', (text, expected) => {
    expect(findJsonSyntaxError(text)).toEqual(expected);
    // Cross-check against the real parser.
    if (expected === undefined) expect(() => JSON.parse(text)).not.toThrow();
    else expect(() => JSON.parse(text)).toThrow(SyntaxError);
  });

  it('accepts very long numbers', () => {
    expect(findJsonSyntaxError('1'.repeat(1000))).toBeUndefined();
  });
});
