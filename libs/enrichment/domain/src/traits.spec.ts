import { applyEvent } from './apply';
import { CTX, applyAll, ev } from './test-events';

const identify = (traits: Record<string, unknown>, at: string) => ev({ type: 'identify', userId: 'u1', traits, at });

describe('traits: $set / $set_once / $unset by event time', () => {
  it('identify traits and context.traits are $set', () => {
    const s = applyAll([identify({ email: 'a@x.io' }, '2026-01-01T00:00:00Z'), ev({ context: { traits: { plan: 'pro' } }, event: 'X' })]);
    expect(s.traits).toEqual({ email: 'a@x.io', plan: 'pro' });
  });

  it('a later $set is not overwritten by an older event arriving late', () => {
    const s = applyAll([identify({ plan: 'pro' }, '2026-01-02T00:00:00Z'), identify({ plan: 'free' }, '2026-01-01T00:00:00Z')]);
    expect(s.traits['plan']).toBe('pro');
  });

  it('$set_once: an earlier event arriving later wins', () => {
    const late = ev({ event: 'Signed Up', properties: { $set_once: { source: 'later' } }, at: '2026-01-05T00:00:00Z' });
    const early = ev({ event: 'Signed Up', properties: { $set_once: { source: 'first' } }, at: '2026-01-01T00:00:00Z' });
    expect(applyAll([late, early]).traits['source']).toBe('first');
    expect(applyAll([early, late]).traits['source']).toBe('first');
  });

  it('$set beats $set_once whatever the times; $unset removes; $set_once after the $unset shows', () => {
    const set = identify({ $set: { tier: 'gold' } }, '2026-01-02T00:00:00Z');
    const once = identify({ $set_once: { tier: 'bronze' } }, '2026-01-01T00:00:00Z');
    expect(applyAll([set, once]).traits['tier']).toBe('gold');
    expect(applyAll([once, set]).traits['tier']).toBe('gold');
    const unset = ev({ event: 'X', properties: { $unset: ['tier'] }, at: '2026-01-03T00:00:00Z' });
    expect(applyAll([set, once, unset]).traits).not.toHaveProperty('tier');
    const onceAfter = ev({ event: 'X', traits: { $set_once: { tier: 'silver' } }, at: '2026-01-04T00:00:00Z' });
    expect(applyAll([onceAfter, unset, set, once]).traits['tier']).toBe('silver');
    // an $unset older than the $set arriving late changes nothing
    const oldUnset = ev({ event: 'X', properties: { $unset: { tier: true } }, at: '2026-01-01T12:00:00Z' });
    expect(applyAll([set, oldUnset]).traits['tier']).toBe('gold');
  });

  it('ignores operator payloads of the wrong type', () => {
    const s = applyAll([ev({ event: 'X', properties: { $set: 'nope', $set_once: [1], $unset: 7 } }), identify({ a: 1 }, '2026-01-01T00:00:00Z')]);
    expect(s.traits).toEqual({ a: 1 });
  });

  it('never stores more than maxTraits', () => {
    const s = applyEvent(undefined, identify({ a: 1, b: 2, c: 3 }, '2026-01-01T00:00:00Z'), { ...CTX, config: { maxTraits: 2 } }).state;
    expect(Object.keys(s.traits)).toEqual(['a', 'b']);
  });
});
