import fc from 'fast-check';
import { createProfileIdGenerator, profileIdTime } from './ids';

describe('createProfileIdGenerator', () => {
  it('encodes the time and sorts by it', () => {
    let now = Date.UTC(2025, 0, 1);
    const next = createProfileIdGenerator({ now: () => now, random: () => 0.999 });
    const a = next();
    now += 1;
    const b = next();
    expect(a).toMatch(/^p_[0-9a-z]{21}$/);
    expect(profileIdTime(a)).toBe(Date.UTC(2025, 0, 1));
    expect(a < b).toBe(true);
  });

  it('is monotonic within a millisecond and across a clock step back', () => {
    let now = 1_700_000_000_000;
    const next = createProfileIdGenerator({ now: () => now, random: Math.random });
    const ids = [next(), next(), next()];
    now -= 5000;
    ids.push(next());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(4);
  });

  it('property: ids from increasing times sort in creation order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 2, maxLength: 50 }), fc.integer({ min: 0, max: 2 ** 31 }), (steps, seed) => {
        let now = 1_600_000_000_000;
        let s = seed;
        const random = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
        const next = createProfileIdGenerator({ now: () => now, random });
        const ids = steps.map((step) => {
          now += step;
          return next();
        });
        expect([...ids].sort()).toEqual(ids);
      }),
    );
  });

  it('profileIdTime refuses foreign ids', () => {
    expect(profileIdTime('x_123')).toBeUndefined();
    expect(profileIdTime('p_!!')).toBeUndefined();
  });
});
