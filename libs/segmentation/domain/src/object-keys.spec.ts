/**
 * Names that are members of `Object.prototype` (`toString`, `constructor`, …) are ordinary
 * names for segmentation: as segment keys, trait names, event names and keys of the profile.
 */
import type { Condition } from './definition';
import { type ActiveSegment, applyChange, applyTimer, type ChangeInput, emptyState, planSegments } from './engine';
import { evaluate } from './evaluate';
import { T0 } from './test-helpers';
import { fieldKey, readPath, readTrait } from './values';

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).filter((n) => n !== '__proto__');
/** Those a segment key may be (`KEY_PATTERN`: a letter or digit first). */
const PROTO_KEYS = PROTO_NAMES.filter((n) => /^[A-Za-z0-9]/.test(n));

function seg(key: string, condition: Condition): ActiveSegment {
  return { key, version: 1, definition: { key, condition } };
}

let n = 0;
function change(version: number, traits: Record<string, unknown>, computed: Record<string, unknown>, event = 'Noop'): ChangeInput {
  const at = new Date(T0).toISOString();
  return {
    profileId: 'p1',
    version,
    changed: [...Object.keys(traits).map((k) => `traits.${k}`), ...Object.keys(computed).map((k) => `computed.${k}`)],
    profile: { identifiers: [{ type: 'userId', value: 'u1' }], traits, computed },
    trigger: { messageId: `m-${++n}`, kind: 'event', eventType: 'track', event, properties: {}, timestamp: at },
    at,
  };
}

describe('Object.prototype member names are ordinary names', () => {
  it('reads traits and paths by own properties only', () => {
    for (const name of PROTO_NAMES) {
      expect(readTrait({}, name)).toBeUndefined();
      expect(readPath({ daily: { d: { events: {} } } }, `daily.d.events.${name}`)).toBeUndefined();
      expect(readTrait({ [fieldKey(name)]: 'x' }, name)).toBe('x');
      expect(readPath({ daily: { d: { events: { [fieldKey(name)]: 3 } } } }, `daily.d.events.${fieldKey(name)}`)).toBe(3);
    }
  });

  it('escapes the names the contracts codec refuses as keys, like enrichment', () => {
    expect(fieldKey('constructor')).toBe('\uFF3Fconstructor');
    expect(fieldKey('prototype')).toBe('\uFF3Fprototype');
    expect(fieldKey('toString')).toBe('toString');
  });

  it('segments keyed by those names are not members of anything the prototype holds', () => {
    const plan = planSegments(PROTO_KEYS.map((k) => seg(k, { trait: 'plan', op: 'equals', value: k })));
    expect(plan.skipped).toEqual([]);
    const r = applyChange(emptyState('p1'), change(1, { plan: 'nothing' }, {}), plan, T0);
    expect(r.deltas).toEqual([]);
    expect(r.state.memberships).toEqual({});
    expect(applyTimer(r.state, plan, T0 + 1).deltas).toEqual([]);
  });

  it('enters and exits a segment keyed by such a name, with a trait of that name', () => {
    for (const key of PROTO_KEYS) {
      const plan = planSegments([seg(key, { trait: key, op: 'equals', value: 'yes' })]);
      const traits = { [fieldKey(key)]: 'yes' };
      const entered = applyChange(emptyState('p1'), change(1, traits, {}), plan, T0);
      expect(entered.deltas.map((d) => [d.segmentKey, d.change])).toEqual([[key, 'entered']]);
      expect(Object.hasOwn(entered.state.memberships, key)).toBe(true);
      expect(JSON.parse(JSON.stringify(entered.state))).toEqual(entered.state); // plain JSON
      const exited = applyChange(entered.state, change(2, { [fieldKey(key)]: 'no' }, {}), plan, T0);
      expect(exited.deltas.map((d) => [d.segmentKey, d.change])).toEqual([[key, 'exited']]);
    }
  });

  it('evaluates a profile change whose traits, daily events and trigger use such names', () => {
    const daily = { '2026-03-01': { events: Object.fromEntries(PROTO_NAMES.map((nm) => [fieldKey(nm), 2])), revenue: 0, orders: 0 } };
    const traits = Object.fromEntries(PROTO_NAMES.map((nm) => [fieldKey(nm), nm]));
    const plan = planSegments([
      seg('t', { trait: 'valueOf', op: 'equals', value: 'valueOf' }),
      seg('a', { attribute: 'daily.2026-03-01.events.toString', op: 'gte', value: 2 }),
      seg('e', { event: 'hasOwnProperty', within: { amount: 1, unit: 'days' } }),
      seg('c', { segment: 'constructor' }),
      seg('constructor', { trait: 'missing', op: 'exists' }),
    ]);
    const r = applyChange(emptyState('p1'), change(1, traits, { daily }, 'hasOwnProperty'), plan, T0);
    expect(r.deltas.map((d) => d.segmentKey).sort()).toEqual(['a', 'e', 't']);
    expect(evaluate(seg('x', { cluster: 'toString', index: 0 }).definition, { profile: { traits, computed: {} }, clusters: {} }, { now: T0 }).member).toBe(
      false,
    );
    expect(evaluate(seg('x', { segment: 'toString' }).definition, { profile: { traits, computed: {} }, segments: {} }, { now: T0 }).member).toBe(false);
  });
});
