import type { MergeNotice } from '@mosaic/contracts';
import { applyEvent, toCompactProfile } from './apply';
import { DEFAULT_ENRICHMENT_CONFIG } from './config';
import { foldMerge } from './merge';
import { CTX, applyAll, ev } from './test-events';
import { traitBytes } from './traits';

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

  it('keeps the traits within maxTraitBytes: a write past it is ignored, shrinking and removing writes land', () => {
    const big = (c: string) => c.repeat(30_000);
    const calls = Array.from({ length: 35 }, (_, i) => identify({ [`t${i}`]: big(String.fromCharCode(97 + (i % 26))) }, at(i)));
    const s = applyAll(calls);
    const max = DEFAULT_ENRICHMENT_CONFIG.maxTraitBytes;
    expect(traitBytes(s)).toBeLessThanOrEqual(max);
    const kept = Math.floor(max / traitBytes(applyAll([calls[0]!])));
    expect(Object.keys(s.traits)).toEqual(Array.from({ length: kept }, (_, i) => `t${i}`));
    // what profiles.changes carries stays far below Kafka's 1,000,000-byte message limit
    expect(Buffer.byteLength(JSON.stringify(toCompactProfile(s)))).toBeLessThan(max + 50_000);
    // an existing trait may grow no further, may shrink; an $unset frees room for another
    const grown = applyAll([identify({ t0: big('z') + big('z') }, at(40))], CTX, s);
    expect(grown.traits['t0']).toBe(big('a'));
    const shrunk = applyAll([identify({ t0: 'small' }, at(41))], CTX, s);
    expect(shrunk.traits['t0']).toBe('small');
    const freed = applyAll([identify({ $unset: ['t1'] }, at(42)), identify({ late: big('q') }, at(43))], CTX, s);
    expect(freed.traits).not.toHaveProperty('t1');
    expect(freed.traits['late']).toBe(big('q'));
    expect(traitBytes(freed)).toBeLessThanOrEqual(max);
  });

  it('counts a $set_once value held behind a $set, and multi-byte characters as UTF-8', () => {
    const cfg = { maxTraitBytes: 100 };
    const set = identify({ k: 'v' }, at(1));
    const once = identify({ $set_once: { k: 'x'.repeat(200) } }, at(0));
    const s = applyAll([set, once], { ...CTX, config: cfg });
    expect(s.traits).toEqual({ k: 'v' });
    expect(s.traitMeta['k']?.ov).toBeUndefined();
    // 40 three-byte characters are 120 bytes of JSON: past 100
    expect(applyAll([identify({ e: '€'.repeat(40) }, at(0))], { ...CTX, config: cfg }).traits).toEqual({});
    expect(applyAll([identify({ e: '€'.repeat(30) }, at(0))], { ...CTX, config: cfg }).traits).toEqual({ e: '€'.repeat(30) });
  });

  it('a merge adds none of the loser traits that would take the survivor past maxTraitBytes', () => {
    const cfg = { maxTraitBytes: 1_000 };
    const survivor = applyAll([{ ...identify({ mine: 'm'.repeat(600) }, at(0)), profileId: 'p-s' }], { ...CTX, config: cfg });
    const loser = applyAll([{ ...identify({ theirs: 't'.repeat(600), small: 'ok', mine: 'older' }, at(1)), profileId: 'p-l' }], { ...CTX, config: cfg });
    const notice: MergeNotice = {
      kind: 'merge',
      survivorId: 'p-s',
      loserId: 'p-l',
      reason: 'identify',
      triggeringMessageId: 't',
      movedIdentifiers: [],
      at: at(2),
    };
    const merged = foldMerge(survivor, loser, notice, { config: cfg });
    expect(merged.traits).toEqual({ mine: 'm'.repeat(600), small: 'ok' });
    expect(traitBytes(merged)).toBeLessThanOrEqual(1_000);
  });
});

function at(minutes: number): string {
  return new Date(Date.parse('2026-01-01T00:00:00Z') + minutes * 60_000).toISOString();
}
