import { decodeOwnership, encodeOwnership, stickyAssign } from './sticky-assigner';

const sizes = (r: Record<string, number[]>) =>
  Object.values(r)
    .map((p) => p.length)
    .sort();

describe('stickyAssign', () => {
  it('balances a fresh group deterministically', () => {
    const r = stickyAssign(
      [
        { memberId: 'b', previous: [] },
        { memberId: 'a', previous: [] },
        { memberId: 'c', previous: [] },
      ],
      [0, 1, 2, 3, 4, 5, 6],
    );
    expect(r).toEqual({ a: [0, 1, 2], b: [3, 4], c: [5, 6] });
  });

  it('keeps partitions with their owners when a member leaves', () => {
    const r = stickyAssign(
      [
        { memberId: 'a', previous: [0, 1] },
        { memberId: 'b', previous: [2, 3] },
      ],
      [0, 1, 2, 3, 4, 5],
    );
    expect(r['a']).toEqual(expect.arrayContaining([0, 1]));
    expect(r['b']).toEqual(expect.arrayContaining([2, 3]));
    expect(sizes(r)).toEqual([3, 3]);
  });

  it('moves only what balance requires when a member joins', () => {
    const r = stickyAssign(
      [
        { memberId: 'a', previous: [0, 1, 2, 3, 4, 5] },
        { memberId: 'z', previous: [] },
      ],
      [0, 1, 2, 3, 4, 5],
    );
    expect(r).toEqual({ a: [0, 1, 2], z: [3, 4, 5] });
  });

  it('ignores partitions that vanished or were claimed twice, and covers every partition once', () => {
    const r = stickyAssign(
      [
        { memberId: 'a', previous: [0, 1, 9] },
        { memberId: 'b', previous: [1, 2] },
        { memberId: 'c', previous: [] },
      ],
      [0, 1, 2, 3],
    );
    const all = Object.values(r).flat().sort();
    expect(all).toEqual([0, 1, 2, 3]);
    expect(sizes(r)).toEqual([1, 1, 2]);
    expect(r['a']).toContain(0);
    expect(r['b']).toContain(2);
  });

  it('handles more members than partitions and no members', () => {
    const r = stickyAssign(
      [
        { memberId: 'a', previous: [0] },
        { memberId: 'b', previous: [] },
        { memberId: 'c', previous: [] },
      ],
      [0],
    );
    expect(r).toEqual({ a: [0], b: [], c: [] });
    expect(stickyAssign([], [0, 1])).toEqual({});
  });

  it('round-trips ownership user data and tolerates garbage', () => {
    expect(decodeOwnership(encodeOwnership({ t: [1, 2] }))).toEqual({ t: [1, 2] });
    expect(decodeOwnership(Buffer.from('not json'))).toEqual({});
    expect(decodeOwnership(Buffer.from('{"owned":{"t":[1,"x",-1]}}'))).toEqual({ t: [1] });
    expect(decodeOwnership(null)).toEqual({});
  });
});
