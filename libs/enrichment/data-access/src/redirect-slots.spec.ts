import fc from 'fast-check';
import { REDIRECT_SLOT_MS, REDIRECT_SLOT_SPAN, redirectSlotOf, redirectSlotsOf, slotsToAsk } from './documents';

/** Whether asking `asked` (equalities on `redirectSlots`) finds a redirect filed in `slot`. */
const finds = (asked: readonly number[], slot: number) => asked.some((v) => redirectSlotsOf(slot * REDIRECT_SLOT_MS).includes(v));

describe('redirect slots', () => {
  it('a redirect answers for the slot it was filed in and the next REDIRECT_SLOT_SPAN - 1', () => {
    const at = 1_700_000_002_500;
    const slot = redirectSlotOf(at);
    expect(redirectSlotsOf(at)).toEqual(Array.from({ length: REDIRECT_SLOT_SPAN }, (_, i) => slot + i));
    expect(redirectSlotsOf(new Date(at))).toEqual(redirectSlotsOf(at));
  });

  it('the values asked find every redirect filed in a window of slots, with one value per REDIRECT_SLOT_SPAN slots', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000, max: 1_000_000 }), fc.integer({ min: 1, max: 40 }), (first, length) => {
        const window = Array.from({ length }, (_, i) => first + i);
        const asked = slotsToAsk(window);
        return window.every((slot) => finds(asked, slot)) && asked.length === Math.ceil(length / REDIRECT_SLOT_SPAN);
      }),
    );
  });

  it('asks the last slot of a window of four or fewer, and finds nothing filed after it', () => {
    expect(slotsToAsk([10, 11, 12, 13])).toEqual([13]);
    expect(slotsToAsk([10, 11, 12, 13, 14])).toEqual([14, 10]);
    expect(slotsToAsk([])).toEqual([]);
    expect(finds(slotsToAsk([10, 11, 12, 13]), 14)).toBe(false);
    expect(finds(slotsToAsk([10, 11, 12, 13]), 9)).toBe(false);
  });
});
