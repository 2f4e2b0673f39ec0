/**
 * Event names, trait names and categories that are members of `Object.prototype` (`toString`,
 * `valueOf`, `hasOwnProperty`, …) are ordinary names: counted, stored and changed like any other.
 */
import fc from 'fast-check';
import { applyEvent, changedPaths, toCompactProfile } from './apply';
import { foldMerge } from './merge';
import { emptyPriceIndex, observePrice, pricePosition } from './price-index';
import { type ProfileState } from './state';
import { CTX, applyAll, ev, track } from './test-events';

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).filter((n) => n !== '__proto__' && n !== 'constructor');
const NAMES = [...PROTO_NAMES, 'Signed Up', 'plan', 'Order Completed'];

const DAY = '2026-01-01';
const at = (i: number) => new Date(Date.parse(`${DAY}T00:00:00.000Z`) + i * 1000).toISOString();

type Step = { kind: 'track'; name: string } | { kind: 'set'; name: string; value: string } | { kind: 'unset'; name: string };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('track' as const), name: fc.constantFrom(...NAMES) }),
  fc.record({ kind: fc.constant('set' as const), name: fc.constantFrom(...NAMES), value: fc.string({ maxLength: 5 }) }),
  fc.record({ kind: fc.constant('unset' as const), name: fc.constantFrom(...NAMES) }),
);

function eventOf(s: Step, i: number) {
  if (s.kind === 'track') return track(s.name, {}, at(i));
  if (s.kind === 'set') return ev({ type: 'identify', userId: 'u1', traits: { [s.name]: s.value }, at: at(i) });
  return ev({ event: 'Trait Removed', properties: { $unset: [s.name] }, at: at(i) });
}

/** Own enumerable keys only, all of them data: what a JSON round trip keeps. */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

describe('Object.prototype member names', () => {
  it('counts events and keeps traits of any name (property)', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const s = applyAll(steps.map(eventOf));
        const counts = new Map<string, number>();
        const traits = new Map<string, string>();
        for (const x of steps) {
          if (x.kind === 'track') counts.set(x.name, (counts.get(x.name) ?? 0) + 1);
          else if (x.kind === 'set') traits.set(x.name, x.value);
          else traits.delete(x.name);
        }
        const unsets = steps.filter((x) => x.kind === 'unset').length;
        if (unsets > 0) counts.set('Trait Removed', unsets);
        const identifies = steps.filter((x) => x.kind === 'set').length;
        if (identifies > 0) counts.set('(identify)', identifies);
        const events = s.computed.daily[DAY]?.events ?? {};
        expect(events).toEqual(Object.fromEntries(counts));
        for (const n of Object.values(events)) expect(typeof n).toBe('number');
        expect(s.traits).toEqual(Object.fromEntries(traits));
        expect(plain(s)).toEqual(s);
      }),
      { numRuns: 200 },
    );
  });

  it('an event named toString is counted as a number', () => {
    const s = applyAll([track('toString', {}), track('toString', {}), track('valueOf', {})]);
    expect(s.computed.daily[DAY]?.events).toEqual({ toString: 2, valueOf: 1 });
  });

  it('traits named toString, valueOf and hasOwnProperty are set, reported as changed and unset', () => {
    const set = applyEvent(undefined, ev({ type: 'identify', userId: 'u1', traits: { toString: 'a', valueOf: 'b', hasOwnProperty: 'c' } }), CTX);
    expect(set.state.traits).toEqual({ toString: 'a', valueOf: 'b', hasOwnProperty: 'c' });
    expect(set.changed).toEqual(expect.arrayContaining(['traits.toString', 'traits.valueOf', 'traits.hasOwnProperty']));
    const unset = applyEvent(set.state, ev({ event: 'X', properties: { $unset: ['toString'] }, at: '2026-01-02T00:00:00.000Z' }), CTX);
    expect(unset.state.traits).toEqual({ valueOf: 'b', hasOwnProperty: 'c' });
    expect(unset.changed).toContain('traits.toString');
    const again = applyEvent(unset.state, ev({ event: 'X', properties: { $set_once: { toString: 'z' } }, at: '2026-01-03T00:00:00.000Z' }), CTX);
    expect(again.state.traits['toString']).toBe('z');
  });

  it('a trait of such a name does not escape the trait limit', () => {
    const s = applyAll([ev({ type: 'identify', userId: 'u1', traits: { a: 1, b: 2 } }), ev({ type: 'identify', userId: 'u1', traits: { toString: 3 } })], {
      ...CTX,
      config: { maxTraits: 2 },
    });
    expect(s.traits).toEqual({ a: 1, b: 2 });
  });

  it('constructor and prototype become escaped keys, never keys the contracts codec refuses', () => {
    const s = applyAll([
      track('constructor', {}),
      track('prototype', {}),
      track('__proto__', {}),
      ev({ type: 'identify', userId: 'u1', traits: { constructor: 'c', prototype: 'p' } }),
    ]);
    expect(s.computed.daily[DAY]?.events).toEqual({ '\uFF3Fconstructor': 1, '\uFF3Fprototype': 1, '\uFF3F__proto__': 1, '(identify)': 1 });
    expect(s.traits).toEqual({ '\uFF3Fconstructor': 'c', '\uFF3Fprototype': 'p' });
    expect(JSON.stringify(toCompactProfile(s))).not.toMatch(/"(__proto__|constructor|prototype)"\s*:/);
  });

  it('re-keys names stored before they were escaped (a stored profile with a constructor bucket)', () => {
    const stored = applyAll([track('Signed Up', {})]);
    (stored.computed.daily[DAY] as { events: Record<string, number> }).events = JSON.parse('{"constructor": 2, "\uFF3Fconstructor": 1, "toString": 1}');
    const s = applyEvent(stored, track('constructor', {}), CTX).state;
    expect(s.computed.daily[DAY]?.events).toEqual({ '\uFF3Fconstructor': 4, toString: 1 });
    expect(JSON.stringify(toCompactProfile(s))).not.toMatch(/"constructor"\s*:/);
  });

  it('merges daily counts and traits of such names', () => {
    const a: ProfileState = applyAll([track('toString', {}), ev({ type: 'identify', userId: 'u1', traits: { valueOf: 'a' } })], CTX);
    const b: ProfileState = applyAll(
      [track('toString', {}), track('hasOwnProperty', {}), ev({ type: 'identify', userId: 'u2', traits: { toString: 'b' } })].map((e) => ({
        ...e,
        profileId: 'p2',
      })),
    );
    const m = foldMerge(a, b, {
      kind: 'merge',
      survivorId: 'p1',
      loserId: 'p2',
      reason: 'test',
      triggeringMessageId: 'm',
      movedIdentifiers: [],
      at: '2026-01-02T00:00:00.000Z',
    });
    expect(m.computed.daily[DAY]?.events).toEqual({ toString: 2, hasOwnProperty: 1, '(identify)': 2 });
    expect(m.traits).toEqual({ valueOf: 'a', toString: 'b' });
  });

  it('changedPaths compares own properties only', () => {
    const before = toCompactProfile(applyAll([track('X', {})]));
    const after = { ...before, traits: { toString: 'x' } };
    expect(changedPaths(before, after)).toContain('traits.toString');
    expect(changedPaths(after, before)).toContain('traits.toString');
    expect(changedPaths(before, before)).toEqual([]);
  });

  it('price index categories of such names', () => {
    let index = emptyPriceIndex();
    for (const p of [10, 20, 30]) index = observePrice(index, 'toString', p);
    expect(index.categories['toString']).toEqual({ min: 10, max: 30, n: 3 });
    expect(pricePosition([{ category: 'toString', n: 1, sum: 20 }], index)).toBe(0.5);
    expect(pricePosition([{ category: 'valueOf', n: 1, sum: 20 }], index)).toBeUndefined();
  });
});
