import { dayOf, daysBetween, intervalStartOf, pointsInRange, type SizePoint } from './size-history';

const T = Date.parse('2026-12-05T23:58:00Z');
const MIN = 60_000;

it('aligns intervals to the epoch, so every instance names the same one', () => {
  expect(new Date(intervalStartOf(T + 2 * MIN + 1, 5 * MIN)).toISOString()).toBe('2026-12-06T00:00:00.000Z');
  expect(intervalStartOf(T, 5 * MIN)).toBe(Date.parse('2026-12-05T23:55:00Z'));
});

it('names the UTC days a range touches, both ends included', () => {
  expect(dayOf(T)).toBe('2026-12-05');
  expect(daysBetween(T, T + 3 * MIN)).toEqual(['2026-12-05', '2026-12-06']);
  expect(daysBetween(T, T)).toEqual(['2026-12-05']);
  expect(daysBetween(Date.parse('2026-11-30T12:00:00Z'), Date.parse('2026-12-02T00:00:00Z'))).toEqual(['2026-11-30', '2026-12-01', '2026-12-02']);
});

it('keeps the points in range in time order, and with a step the last of each step', () => {
  const at = (m: number): string => new Date(T + m * MIN).toISOString();
  const points: SizePoint[] = [
    { at: at(10), size: 4 },
    { at: at(0), size: 1 },
    { at: at(5), size: 3 },
    { at: at(-5), size: 0 },
    { at: at(15), size: 9 },
  ];
  expect(pointsInRange(points, T, T + 10 * MIN).map((p) => p.size)).toEqual([1, 3, 4]);
  // 10-minute steps from the epoch: [23:50, 00:00) holds 23:53, 23:58, 00:03 -> ... the last of each.
  expect(pointsInRange(points, T - 5 * MIN, T + 15 * MIN, 10 * MIN).map((p) => p.at)).toEqual([at(0), at(10), at(15)]);
});
