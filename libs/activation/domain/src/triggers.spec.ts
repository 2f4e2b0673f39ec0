import { createHash } from 'node:crypto';
import { deliveryId, dueAt, frequencyAllows, matchTriggers, sendsInWindow, type Trigger, validateTrigger } from './triggers';

const VALID = { id: 'welcome-vip', segmentKey: 'vip-offer', on: 'entered', destinationId: 'crm-hook' };

function errorsOf(input: unknown): { path: string; message: string }[] {
  const r = validateTrigger(input);
  if (r.ok) throw new Error('expected the trigger to be invalid');
  return r.errors;
}

describe('validateTrigger', () => {
  it('accepts a full trigger and returns a copy', () => {
    const input = { ...VALID, delaySeconds: 3600, frequencyCap: { max: 2, perSeconds: 86_400 } };
    const r = validateTrigger(input);
    expect(r).toEqual({ ok: true, value: input });
    expect(r.ok && r.value).not.toBe(input);
    expect(r.ok && r.value.frequencyCap).not.toBe(input.frequencyCap);
  });

  it('accepts the minimal trigger, segment keys with : and .', () => {
    expect(validateTrigger({ ...VALID, on: 'exited', segmentKey: 'cluster.job-1.0' }).ok).toBe(true);
    expect(validateTrigger({ ...VALID, segmentKey: 'a:b', delaySeconds: 0 }).ok).toBe(true);
  });

  it.each([
    [null, '$'],
    [[], '$'],
    ['trigger', '$'],
    [{ ...VALID, id: undefined }, 'id'],
    [{ ...VALID, segmentKey: undefined }, 'segmentKey'],
    [{ ...VALID, on: undefined }, 'on'],
    [{ ...VALID, destinationId: undefined }, 'destinationId'],
    [{ ...VALID, id: 'has space' }, 'id'],
    [{ ...VALID, id: 'x'.repeat(65) }, 'id'],
    [{ ...VALID, segmentKey: '-starts-with-dash' }, 'segmentKey'],
    [{ ...VALID, destinationId: 7 }, 'destinationId'],
    [{ ...VALID, on: 'left' }, 'on'],
    [{ ...VALID, delaySeconds: -1 }, 'delaySeconds'],
    [{ ...VALID, delaySeconds: 1.5 }, 'delaySeconds'],
    [{ ...VALID, delaySeconds: 31 * 86_400 }, 'delaySeconds'],
    [{ ...VALID, delaySeconds: '60' }, 'delaySeconds'],
    [{ ...VALID, frequencyCap: 3 }, 'frequencyCap'],
    [{ ...VALID, frequencyCap: { max: 1 } }, 'frequencyCap.perSeconds'],
    [{ ...VALID, frequencyCap: { perSeconds: 60 } }, 'frequencyCap.max'],
    [{ ...VALID, frequencyCap: { max: 0, perSeconds: 60 } }, 'frequencyCap.max'],
    [{ ...VALID, frequencyCap: { max: 1, perSeconds: 0.5 } }, 'frequencyCap.perSeconds'],
    [{ ...VALID, frequencyCap: { max: 1, perSeconds: 60, burst: 2 } }, 'frequencyCap.burst'],
    [{ ...VALID, extra: true }, 'extra'],
  ])('rejects %p at %s', (input, path) => {
    expect(errorsOf(input).map((e) => e.path)).toEqual([path]);
  });

  it('reports every error with a message', () => {
    const errors = errorsOf({ id: '', on: 'sometimes', frequencyCap: { max: -1, perSeconds: 'day' } });
    expect(errors).toEqual(
      expect.arrayContaining([
        { path: 'id', message: 'must not be empty' },
        { path: 'segmentKey', message: 'is required' },
        { path: 'destinationId', message: 'is required' },
        { path: 'on', message: 'must be one of entered, exited' },
        { path: 'frequencyCap.max', message: 'must be at least 1' },
        { path: 'frequencyCap.perSeconds', message: 'must be a finite number, not a string' },
      ]),
    );
    expect(errors).toHaveLength(6);
  });
});

describe('matchTriggers', () => {
  const triggers: Trigger[] = [
    { id: 't1', segmentKey: 'vip', on: 'entered', destinationId: 'd1' },
    { id: 't2', segmentKey: 'vip', on: 'exited', destinationId: 'd1' },
    { id: 't3', segmentKey: 'other', on: 'entered', destinationId: 'd1' },
    { id: 't4', segmentKey: 'vip', on: 'entered', destinationId: 'd2', delaySeconds: 60 },
  ];

  it('fires the triggers of the segment and direction, in order', () => {
    expect(matchTriggers(triggers, { segmentKey: 'vip', change: 'entered' }).map((t) => t.id)).toEqual(['t1', 't4']);
    expect(matchTriggers(triggers, { segmentKey: 'vip', change: 'exited' }).map((t) => t.id)).toEqual(['t2']);
    expect(matchTriggers(triggers, { segmentKey: 'nobody', change: 'entered' })).toEqual([]);
  });
});

describe('deliveryId', () => {
  it('is deterministic, prefixed and header-safe', () => {
    const id = deliveryId('t1', 'prof_1', 7);
    expect(id).toBe(deliveryId('t1', 'prof_1', 7));
    expect(id).toMatch(/^dlv_[A-Za-z0-9_-]{43}$/);
  });

  it('differs for every part and cannot be confused by separators', () => {
    const ids = new Set([
      deliveryId('t1', 'p', 1),
      deliveryId('t2', 'p', 1),
      deliveryId('t1', 'q', 1),
      deliveryId('t1', 'p', 2),
      deliveryId('a:b', 'c', 1),
      deliveryId('a', 'b:c', 1),
    ]);
    expect(ids.size).toBe(6);
  });

  it('is the SHA-256 of the JSON parts (a pinned value)', () => {
    expect(deliveryId('t1', 'p', 1)).toBe(`dlv_${createHash('sha256').update('["t1","p",1]').digest('base64url')}`);
  });
});

describe('dueAt', () => {
  it('adds the delay to the change time', () => {
    expect(dueAt('2026-01-01T00:00:00.000Z')).toBe(Date.UTC(2026, 0, 1));
    expect(dueAt('2026-01-01T00:00:00Z', 90)).toBe(Date.UTC(2026, 0, 1, 0, 1, 30));
    expect(dueAt('2026-01-01T02:00:00+02:00', 0)).toBe(Date.UTC(2026, 0, 1));
    expect(dueAt(1000, 1)).toBe(2000);
  });

  it('refuses times it cannot read unambiguously', () => {
    expect(() => dueAt('2026-01-01T00:00:00')).toThrow(RangeError);
    expect(() => dueAt('yesterday')).toThrow(RangeError);
    expect(() => dueAt(Number.NaN)).toThrow(RangeError);
  });
});

describe('frequencyAllows (sliding window)', () => {
  const cap = { max: 2, perSeconds: 60 };
  const now = 1_000_000;

  it('allows anything without a cap', () => {
    expect(frequencyAllows([now, now, now], undefined, now)).toBe(true);
  });

  it('counts the sends of the last perSeconds only', () => {
    expect(frequencyAllows([], cap, now)).toBe(true);
    expect(frequencyAllows([now - 1000], cap, now)).toBe(true);
    expect(frequencyAllows([now - 1000, now - 59_999], cap, now)).toBe(false);
    expect(frequencyAllows([now - 1000, now - 60_000], cap, now)).toBe(true);
    expect(frequencyAllows([now - 1000, now - 120_000, now - 200_000], cap, now)).toBe(true);
  });

  it('keeps only what counts', () => {
    expect(sendsInWindow([now - 60_000, now - 1, now - 70_000, now], cap, now)).toEqual([now - 1, now]);
  });
});
