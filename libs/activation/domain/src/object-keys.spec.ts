/**
 * A profile whose traits, computed attributes and segments use names that are members of
 * `Object.prototype` (`toString`, `valueOf`, `hasOwnProperty`, …) is decided on normally.
 */
import type { SegmentMembershipChange } from '@mosaic/contracts';
import { decide, type Experience, matchesWhen, readAttribute, validateExperience, type Visitor } from './experiences';
import { membershipPayload, serializePayload } from './payload';
import { matchTriggers, validateTrigger } from './triggers';

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).filter((n) => n !== '__proto__' && n !== 'constructor');

function visitor(traits: Record<string, unknown>, computed: Record<string, unknown> = {}, segments: string[] = []): Visitor {
  return { profileId: 'p1', segments, traits, computed };
}

describe('Object.prototype member names are ordinary names', () => {
  it('a trait or attribute of that name is absent unless the profile has it', () => {
    for (const name of PROTO_NAMES) {
      expect(matchesWhen({ traits: [{ trait: name, op: 'notExists' }] }, visitor({}))).toBe(true);
      expect(matchesWhen({ traits: [{ trait: name, op: 'exists' }] }, visitor({}))).toBe(false);
      expect(matchesWhen({ attributes: [{ attribute: `daily.d.events.${name}`, op: 'exists' }] }, visitor({}, { daily: { d: { events: {} } } }))).toBe(false);
      expect(matchesWhen({ traits: [{ trait: name, op: 'equals', value: 'x' }] }, visitor({ [name]: 'x' }))).toBe(true);
      expect(readAttribute({ daily: { d: { events: { [name]: 2 } } } }, `daily.d.events.${name}`)).toBe(2);
    }
  });

  it('decides and renders with such traits and segment keys', () => {
    const input = {
      id: 'toString',
      slot: 'valueOf',
      name: 'prototype names',
      rules: [
        {
          id: 'hasOwnProperty',
          when: { segments: { all: ['constructor'] }, traits: [{ trait: 'toString', op: 'equals', value: 'gold' }] },
          content: { text: '{{ profile.traits.valueOf }}' },
        },
      ],
      default: { text: 'default' },
    };
    const r = validateExperience(input);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const experience: Experience = { ...r.value, holdoutPercent: 0 };
    const traits = Object.fromEntries(PROTO_NAMES.map((n) => [n, n]));
    expect(decide(experience, visitor({ ...traits, toString: 'gold', valueOf: 'v' }, {}, ['constructor'])).content).toEqual({ text: 'v' });
    expect(decide(experience, visitor({ ...traits, toString: 'gold' }, {}, [])).ruleId).toBeNull();
  });

  it('triggers and payloads of a segment keyed by such a name', () => {
    const t = validateTrigger({ id: 'valueOf', segmentKey: 'toString', on: 'entered', destinationId: 'hasOwnProperty' });
    if (!t.ok) throw new Error(JSON.stringify(t.errors));
    const change: SegmentMembershipChange = {
      profileId: 'p1',
      segmentKey: 'toString',
      segmentVersion: 1,
      change: 'entered',
      at: '2026-03-01T00:00:00.000Z',
      reason: { kind: 'message', messageId: 'm1' },
      identifiers: {},
      profileVersion: 1,
    };
    expect(matchTriggers([t.value], change)).toEqual([t.value]);
    const traits = Object.fromEntries(PROTO_NAMES.map((n) => [n, 1]));
    const body = JSON.parse(serializePayload(membershipPayload(change, { id: 'd1', profile: { traits, computed: { daily: { d: { events: traits } } } } })));
    expect(body.data.profile.traits).toEqual(traits);
    expect(body.data.profile.computed.daily.d.events).toEqual(traits);
  });
});
