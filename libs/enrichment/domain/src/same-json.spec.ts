import fc from 'fast-check';
import { changedPaths, profileView, toCompactProfile } from './apply';
import { emptyProfile } from './state';
import { isObj, sameJson } from './util';

/** The definition `sameJson` must agree with: JSON text with sorted keys, `undefined` properties left out. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return v === undefined ? 'null' : JSON.stringify(v);
}

/**
 * The same JSON written another way: keys in reverse order, `undefined` properties added, `null` ↔
 * `undefined` in arrays. Built with `Object.fromEntries` because assigning a `__proto__` key would
 * set the prototype instead of adding the property that `JSON.parse` makes.
 */
function rewritten(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === null ? undefined : x === undefined ? null : rewritten(x)));
  if (isObj(v))
    return Object.fromEntries([
      ['zzExtra', undefined],
      ...Object.keys(v)
        .reverse()
        .map((k) => [k, rewritten(v[k])]),
    ]);
  return v;
}

const value = fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.dictionary(fc.string(), fc.oneof(fc.constant(undefined), fc.jsonValue())));

describe('sameJson', () => {
  it('agrees with comparing canonical JSON, for unrelated values', () => {
    fc.assert(fc.property(value, value, (a, b) => sameJson(a, b) === (canonical(a) === canonical(b))));
  });

  it('agrees with comparing canonical JSON, for a value and the same written another way', () => {
    fc.assert(
      fc.property(value, (a) => {
        const b = rewritten(a);
        return sameJson(a, b) && sameJson(b, a) && canonical(a) === canonical(b);
      }),
    );
  });

  it('tells apart what JSON tells apart', () => {
    expect(sameJson({ a: null }, { a: undefined, c: 1 })).toBe(false);
    expect(sameJson({ a: null }, {})).toBe(false);
    expect(sameJson({ a: undefined }, {})).toBe(true);
    expect(sameJson([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(sameJson([null], [undefined])).toBe(true);
    expect(sameJson('1', 1)).toBe(false);
    expect(sameJson(undefined, null)).toBe(true);
    expect(sameJson({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] })).toBe(false);
    expect(sameJson(JSON.parse('{"__proto__":{}}'), {})).toBe(false);
    expect(sameJson(JSON.parse('{"__proto__":{}}'), JSON.parse('{"__proto__":{}}'))).toBe(true);
  });
});

describe('changedPaths over a state read in place', () => {
  it('finds what toCompactProfile copies would, without copying', () => {
    const before = emptyProfile('p1', '2026-01-01T00:00:00.000Z');
    before.traits = { plan: 'pro', seats: 3 };
    before.identifiers = [{ type: 'email', value: 'a@x.io' }] as typeof before.identifiers;
    const after = structuredClone(before);
    after.traits = { plan: 'pro', seats: 4, region: 'eu' };
    after.computed.visits = before.computed.visits + 1;
    const expected = ['traits.region', 'traits.seats', 'computed.visits'];
    expect(changedPaths(profileView(before), toCompactProfile(after))).toEqual(expected);
    expect(changedPaths(toCompactProfile(before), toCompactProfile(after))).toEqual(expected);
    expect(changedPaths(profileView(before), profileView(before))).toEqual([]);
  });

  it('compares identifiers by type and value only', () => {
    const before = emptyProfile('p1', '2026-01-01T00:00:00.000Z');
    before.identifiers = [{ type: 'email', value: 'a@x.io' }] as typeof before.identifiers;
    const moved = structuredClone(before);
    moved.identifiers = [{ type: 'email', value: 'b@x.io' }] as typeof before.identifiers;
    expect(changedPaths(profileView(before), toCompactProfile(before))).toEqual([]);
    expect(changedPaths(profileView(before), toCompactProfile(moved))).toEqual(['identifiers']);
    expect(changedPaths(undefined, toCompactProfile(before))).toContain('identifiers');
  });
});
