import type { SegmentDefinition } from './definition';
import { affects } from './evaluate';
import { SEGMENT_EXAMPLES } from './schema';
import { DAY, T0, def, evalProfile } from './test-helpers';
import { validateDefinition } from './validate';

function example(key: string): SegmentDefinition {
  const r = validateDefinition(SEGMENT_EXAMPLES.find((e) => e.key === key));
  if (!r.ok) throw new Error(`example ${key} is invalid: ${JSON.stringify(r.errors)}`);
  return r.definition;
}

const iso = (t: number): string => new Date(t).toISOString();
/** `computed.video` as enrichment stores it (only the fields the examples read matter). */
const video = (videos: Record<string, unknown>[], sessions: Record<string, unknown>[] = []) => ({ video: { videos, sessions } });

describe('video segments (docs/segmentation.md)', () => {
  it('watched at least 75% of video X: an attribute path picks the video by key', () => {
    const d = example('watched-most-of-barista-duo');
    expect(evalProfile(d, {}, video([{ key: 'CM-900-demo', shareWatched: 0.75 }])).member).toBe(true);
    expect(
      evalProfile(
        d,
        {},
        video([
          { key: 'CM-900-demo', shareWatched: 0.6667 },
          { key: 'other', shareWatched: 1 },
        ]),
      ).member,
    ).toBe(false);
    expect(evalProfile(d, {}, {}).member).toBe(false);
  });

  it('skipped more than half of any video in 7 days: one recent session is enough, until it is 7 days old', () => {
    const d = example('video-skippers-7d');
    const sessions = [
      { id: 's1', key: 'a', skippedShare: 0.6, lastAt: iso(T0 - 2 * DAY) },
      { id: 's2', key: 'b', skippedShare: 0.9, lastAt: iso(T0 - 10 * DAY) },
      { id: 's3', key: 'c', skippedShare: 0.5, lastAt: iso(T0) },
    ];
    expect(evalProfile(d, {}, video([], sessions))).toEqual({ member: true, nextChangeAt: T0 + 5 * DAY });
    expect(evalProfile(d, {}, video([], sessions), T0 + 5 * DAY)).toEqual({ member: false });
    expect(evalProfile(d, {}, video([], sessions.slice(1))).member).toBe(false);
  });

  it('watched 3 or more product videos in 30 days: counts matching elements', () => {
    const d = example('product-video-fans-30d');
    const v = (key: string, daysAgo: number, extra: Record<string, unknown> = {}) => ({
      key,
      productId: `p-${key}`,
      watchedSeconds: 10,
      lastWatchedAt: iso(T0 - daysAgo * DAY),
      ...extra,
    });
    const three = [v('a', 1), v('b', 5), v('c', 20)];
    expect(evalProfile(d, {}, video(three))).toEqual({ member: true, nextChangeAt: T0 + 10 * DAY });
    expect(evalProfile(d, {}, video([...three.slice(0, 2), v('c', 1, { productId: undefined })])).member).toBe(false);
    expect(evalProfile(d, {}, video([...three.slice(0, 2), v('c', 1, { watchedSeconds: 0 })])).member).toBe(false);
    expect(evalProfile(d, {}, video([...three.slice(0, 2), v('c', 31)])).member).toBe(false);
  });

  it('is validated, and re-evaluated when the list changes', () => {
    const ok = validateDefinition(
      def({ elements: 'video.videos', where: [{ property: 'lastWatchedAt', op: 'olderThanDays', value: 3 }], count: { op: 'lt', value: 2 } }),
    );
    expect(ok.ok).toBe(true);
    const bad = validateDefinition({
      key: 'x',
      condition: { elements: 'video..videos', where: [{ property: 'a', op: 'gt' }], count: { op: 'gte', value: 1.5, fn: 'sum' } },
    });
    expect(bad.ok ? [] : bad.errors.map((e) => e.path).sort()).toEqual([
      'condition.count.fn',
      'condition.count.value',
      'condition.elements',
      'condition.where[0].value',
    ]);
    const d = example('product-video-fans-30d');
    expect(affects(d, { changed: ['computed.video'] })).toBe(true);
    expect(affects(d, { changed: ['computed.pageViews'] })).toBe(false);
  });
});
