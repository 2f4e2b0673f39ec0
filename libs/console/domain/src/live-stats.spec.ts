import { ActiveVisitors, EventRate, RecentItems } from './live-stats';

const T0 = 1_800_000_000_000;

describe('EventRate', () => {
  it('averages the complete seconds of the window, not the one still filling', () => {
    const rate = new EventRate(10);
    for (let s = 0; s < 10; s++) rate.record(20, T0 + s * 1000 + 500);
    rate.record(1_000, T0 + 10_000 + 100); // the current second
    expect(rate.perSecond(T0 + 10_000 + 200)).toBe(20);
  });

  it('forgets seconds older than the window', () => {
    const rate = new EventRate(10);
    rate.record(500, T0);
    expect(rate.perSecond(T0 + 1_000)).toBe(50);
    expect(rate.perSecond(T0 + 12_000)).toBe(0);
  });
});

describe('ActiveVisitors', () => {
  it('counts each visitor once and lets them expire five minutes after their last arrival', () => {
    const active = new ActiveVisitors(5 * 60_000);
    active.seen('a', T0);
    active.seen('b', T0 + 1_000);
    active.seen('a', T0 + 2 * 60_000);
    expect(active.count(T0 + 2 * 60_000)).toBe(2);
    expect(active.count(T0 + 5 * 60_000 + 1_000)).toBe(1); // b expired, a was seen again
    expect(active.count(T0 + 7 * 60_000 + 1)).toBe(0);
  });

  it('keeps a visitor seen again with an older clock reading (out-of-order arrivals) in order', () => {
    const active = new ActiveVisitors(1_000);
    active.seen('a', T0 + 500);
    active.seen('b', T0 + 400);
    expect(active.count(T0 + 1_450)).toBe(2);
  });
});

describe('RecentItems', () => {
  it('keeps the newest items, newest first', () => {
    const recent = new RecentItems<number>(3);
    for (let i = 1; i <= 5; i++) recent.push(i);
    expect(recent.list()).toEqual([5, 4, 3]);
  });
});
