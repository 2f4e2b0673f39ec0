import fc from 'fast-check';
import { runInNewContext } from 'node:vm';
import { CollectorInputError } from './errors';
import { MAX_OBJECT_DEPTH } from './limits';
import { type JsonObject, cloneJson, escapeKey, isPlainObject, sanitizeObject, unescapeKey, unescapeObject } from './sanitize';

function errorOf(fn: () => unknown): CollectorInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CollectorInputError) return err;
    throw err;
  }
  throw new Error('expected a CollectorInputError');
}

/** `{a:{a:{…{leaf}}}}` where the outer object is level 1 and there are `levels` objects. */
function nest(levels: number, leaf: unknown = 1): Record<string, unknown> {
  let value: unknown = leaf;
  for (let i = 0; i < levels - 1; i++) value = { a: value };
  return { a: value };
}

describe('escapeKey / unescapeKey', () => {
  it.each([
    ['$gt', '\uFF04gt'],
    ['$', '\uFF04'],
    ['a.b.c', 'a\uFF0Eb\uFF0Ec'],
    ['$where.x', '\uFF04where\uFF0Ex'],
    ['price$', 'price$'],
    ['a$b', 'a$b'],
    ['plain_key', 'plain_key'],
    ['', ''],
    ['nul\u0000byte', 'nul\u2400byte'],
  ])('%j ↔ %j', (key, escaped) => {
    expect(escapeKey(key)).toBe(escaped);
    expect(unescapeKey(escaped)).toBe(key);
  });

  it('round-trips arbitrary keys that contain none of the substitute characters', () => {
    const keys = ['$$double', '..', '.$.', 'a.$b', 'ünïcode.键', '$set', 'x\u0000.$'];
    for (const key of keys) expect(unescapeKey(escapeKey(key))).toBe(key);
  });

  it('escaped keys never start with $ nor contain a dot', () => {
    for (const key of ['$a', '$.$', 'a..b', '$']) {
      const escaped = escapeKey(key);
      expect(escaped.startsWith('$')).toBe(false);
      expect(escaped.includes('.')).toBe(false);
    }
  });
});

describe('sanitizeObject', () => {
  it('escapes keys at every depth, including inside arrays of objects', () => {
    const input = { $a: 1, 'b.c': { '$d.e': [{ 'f.g': true }, 'x.y', { l: ['$z'] }] } };
    expect(sanitizeObject(input)).toEqual({
      '\uFF04a': 1,
      'b\uFF0Ec': { '\uFF04d\uFF0Ee': [{ 'f\uFF0Eg': true }, 'x.y', { l: ['$z'] }] },
    });
  });

  it('never mutates its input and returns fresh objects', () => {
    const inner = { 'a.b': 1 };
    const input = { inner, list: [inner] };
    const snapshot = JSON.stringify(input);
    const out = sanitizeObject(input);
    expect(JSON.stringify(input)).toBe(snapshot);
    expect(out['inner']).not.toBe(inner);
    expect(out['list']).not.toBe(input.list);
  });

  it('keeps $set, $set_once, $unset at the top level in operators mode and escapes inside', () => {
    const input = {
      $set: { 'plan.tier': 'gold', $weird: 1 },
      $set_once: { first_seen: '2024-01-01' },
      $unset: ['old.trait', 'gone'],
      $inc: { n: 1 },
      nested: { $set: { a: 1 } },
    };
    expect(sanitizeObject(input, { mode: 'operators', path: 'traits' })).toEqual({
      $set: { 'plan\uFF0Etier': 'gold', '\uFF04weird': 1 },
      $set_once: { first_seen: '2024-01-01' },
      $unset: ['old\uFF0Etrait', 'gone'],
      '\uFF04inc': { n: 1 },
      nested: { '\uFF04set': { a: 1 } },
    });
  });

  it('escapes $set in plain mode', () => {
    expect(sanitizeObject({ $set: { a: 1 } })).toEqual({ '\uFF04set': { a: 1 } });
  });

  it('accepts $unset as an object whose keys are escaped', () => {
    expect(sanitizeObject({ $unset: { 'a.b': '' } }, { mode: 'operators' })).toEqual({ $unset: { 'a\uFF0Eb': '' } });
  });

  it.each([
    [{ $set: 'x' }, 'traits.$set', 'traits.$set must be an object'],
    [{ $set_once: [1] }, 'traits.$set_once', 'traits.$set_once must be an object'],
    [{ $unset: 'a' }, 'traits.$unset', 'traits.$unset must be an array of trait names or an object'],
    [{ $unset: ['a', 2] }, 'traits.$unset[1]', 'traits.$unset must be an array of trait names (strings)'],
  ])('refuses a malformed operator %j', (input, path, message) => {
    const err = errorOf(() => sanitizeObject(input, { mode: 'operators', path: 'traits' }));
    expect(err.code).toBe('invalid_type');
    expect(err.path).toBe(path);
    expect(err.message).toBe(message);
  });

  it('treats context.traits as an operators object in context mode', () => {
    const out = sanitizeObject({ traits: { $set: { 'a.b': 1 }, 'c.d': 2 }, $x: { $set: 1 } }, { mode: 'context', path: 'context' });
    expect(out).toEqual({ traits: { $set: { 'a\uFF0Eb': 1 }, 'c\uFF0Ed': 2 }, '\uFF04x': { '\uFF04set': 1 } });
  });

  it('refuses a non-object context.traits in context mode', () => {
    const err = errorOf(() => sanitizeObject({ traits: 'x' }, { mode: 'context', path: 'context' }));
    expect(err.path).toBe('context.traits');
    expect(err.message).toBe('context.traits must be an object');
  });

  it.each([null, 'x', 3, [1], new Date(0)])('refuses a non-plain object %j', (value) => {
    const err = errorOf(() => sanitizeObject(value, { path: 'properties' }));
    expect(err.code).toBe('invalid_type');
    expect(err.message).toBe('properties must be an object');
  });

  it('accepts null-prototype objects', () => {
    const value = Object.create(null) as Record<string, unknown>;
    value['a.b'] = 1;
    const out = sanitizeObject(value);
    expect(out).toEqual({ 'a\uFF0Eb': 1 });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('accepts nesting exactly at MAX_OBJECT_DEPTH and refuses one level more', () => {
    expect(() => sanitizeObject(nest(MAX_OBJECT_DEPTH), { path: 'properties' })).not.toThrow();
    const err = errorOf(() => sanitizeObject(nest(MAX_OBJECT_DEPTH + 1), { path: 'properties' }));
    expect(err.status).toBe(400);
    expect(err.code).toBe('too_deep');
    expect(err.path).toBe('properties' + '.a'.repeat(MAX_OBJECT_DEPTH));
  });

  it('counts arrays as levels', () => {
    // level 1 object, level 2 array, level 3 object, level 4 array
    expect(() => sanitizeObject({ a: [{ b: 1 }] }, { maxDepth: 3 })).not.toThrow();
    expect(errorOf(() => sanitizeObject({ a: [{ b: [1] }] }, { maxDepth: 3, path: 'p' })).path).toBe('p.a[0].b');
  });

  it('refuses an own __proto__ key (as JSON.parse creates it)', () => {
    const input: unknown = JSON.parse('{"a":{"__proto__":{"polluted":1}}}');
    const err = errorOf(() => sanitizeObject(input, { path: 'properties' }));
    expect(err.code).toBe('prototype_pollution');
    expect(err.path).toBe('properties.a.__proto__');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it.each([
    [{ constructor: { prototype: { x: 1 } } }, 'traits.constructor'],
    [{ constructor: 'Bob' }, 'traits.constructor'],
    [{ a: { b: [{ prototype: 1 }] } }, 'traits.a.b[0].prototype'],
    [{ $set: { constructor: 1 } }, 'traits.$set.constructor'],
    [{ $unset: ['prototype'] }, 'traits.$unset[0]'],
    [{ $unset: { __proto__x: 1, constructor: 1 } }, 'traits.$unset.constructor'],
  ])('refuses constructor and prototype keys at any depth: %j', (input, path) => {
    const err = errorOf(() => sanitizeObject(input, { path: 'traits', mode: 'operators' }));
    expect(err).toMatchObject({ status: 400, code: 'prototype_pollution', path });
  });

  it('keeps other Object.prototype names (toString, valueOf, hasOwnProperty) as data', () => {
    const out = sanitizeObject({ toString: 'x', valueOf: { hasOwnProperty: 1 }, isPrototypeOf: [1] });
    expect(Object.keys(out)).toEqual(['toString', 'valueOf', 'isPrototypeOf']);
    expect(out['valueOf']).toEqual({ hasOwnProperty: 1 });
  });

  it('refuses an array directly inside an array, naming the inner one', () => {
    const err = errorOf(() => sanitizeObject({ x: [1, { y: [['a']] }] }, { path: 'context.traits' }));
    expect(err).toMatchObject({ status: 400, code: 'nested_array', path: 'context.traits.x[1].y[0]' });
    expect(err.message).toMatch(/FerretDB/);
  });

  it('refuses keys and strings with an unpaired surrogate, and keeps surrogate pairs', () => {
    expect(errorOf(() => sanitizeObject({ a: ['\udc00'] }, { path: 'p' }))).toMatchObject({ code: 'invalid_string', path: 'p.a[0]' });
    expect(errorOf(() => sanitizeObject({ '\ud800': 1 }, { path: 'p' }))).toMatchObject({ code: 'invalid_string', path: 'p["\\ud800"]' });
    expect(sanitizeObject({ '\ud83d\ude00': '\ud834\udd1e' })).toEqual({ '😀': '𝄞' });
  });

  it('outputs objects whose prototype is Object.prototype', () => {
    const out = sanitizeObject({ a: { b: {} } });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(out['a'])).toBe(Object.prototype);
  });

  it('follows JSON semantics for non-JSON values', () => {
    const out = sanitizeObject({ u: undefined, f: () => 1, inf: Infinity, nan: NaN, arr: [undefined, 1], d: new Date(0) });
    expect(out).toEqual({ inf: null, nan: null, arr: [null, 1], d: '1970-01-01T00:00:00.000Z' });
    expect('u' in out).toBe(false);
    expect(errorOf(() => sanitizeObject({ big: BigInt(1) }, { path: 'p' })).path).toBe('p.big');
  });

  it('names keys that are not identifiers with brackets in paths', () => {
    const input: unknown = JSON.parse('{"a.b":{"__proto__":1}}');
    expect(errorOf(() => sanitizeObject(input, { path: 'properties' })).path).toBe('properties["a.b"].__proto__');
  });
});

describe('unescapeObject', () => {
  it('reverses sanitizeObject', () => {
    const input: JsonObject = { $a: { 'b.c': [{ $d: 1 }] }, plain: 'x.y' };
    expect(unescapeObject(sanitizeObject(input))).toEqual(input);
  });
  it('never recreates a __proto__ key', () => {
    const out = unescapeObject(JSON.parse('{"__proto__":{"polluted":1},"ok":1}') as JsonObject);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['ok']);
    expect((out as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('isPlainObject', () => {
  it('distinguishes plain objects', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject(null)).toBe(false);
    expect(isPlainObject(new Date())).toBe(false);
    expect(isPlainObject(new (class X {})())).toBe(false);
  });
});

describe('cloneJson', () => {
  it('deep-copies', () => {
    const value: JsonObject = { a: [{ b: 1 }], c: null };
    const copy = cloneJson(value);
    expect(copy).toEqual(value);
    expect(copy['a']).not.toBe(value['a']);
  });
});

describe('isPlainObject across realms', () => {
  it('accepts objects made in another realm', () => {
    const foreign: unknown = runInNewContext('({ a: 1 })');
    expect(isPlainObject(foreign)).toBe(true);
    expect(sanitizeObject(foreign)).toEqual({ a: 1 });
    expect(isPlainObject(runInNewContext('new Date()'))).toBe(false);
  });
});

describe('properties (fast-check)', () => {
  const SUBSTITUTES = /[\uFF04\uFF0E\u2400]/;
  const key = fc.string({ unit: 'binary', maxLength: 12 }).filter((k) => !SUBSTITUTES.test(k));

  it('unescapeKey(escapeKey(k)) === k and escaped keys are Mongo-safe', () => {
    fc.assert(
      fc.property(key, (k) => {
        const escaped = escapeKey(k);
        expect(unescapeKey(escaped)).toBe(k);
        expect(escaped.startsWith('$')).toBe(false);
        expect(escaped.includes('.')).toBe(false);
        expect(escaped.includes('\u0000')).toBe(false);
        expect(escapeKey(escaped)).toBe(escaped); // idempotent
      }),
    );
  });

  it('sanitizeObject then unescapeObject gives the input back', () => {
    const jsonObject = fc
      .dictionary(
        key.filter((k) => k !== '__proto__'),
        fc.jsonValue({ maxDepth: 4 }),
      )
      .filter((o) => !/"(__proto__|constructor|prototype)"|\[\s*\[|,\s*\[|\\ud[89a-f]/i.test(JSON.stringify(o)) && !SUBSTITUTES.test(JSON.stringify(o)));
    fc.assert(
      fc.property(jsonObject, (input) => {
        const clean = JSON.parse(JSON.stringify(input)) as JsonObject;
        expect(unescapeObject(sanitizeObject(clean))).toEqual(clean);
      }),
    );
  });
});
