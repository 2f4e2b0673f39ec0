import fc from 'fast-check';
import type { ResolvedEvent } from '@mosaic/contracts';
import { applyEvent } from '../apply';
import { foldMerge } from '../merge';
import { emptyProfile, type ProfileState } from '../state';
import { CTX, applyAll, ev } from '../test-events';
import { summarizeVideoSession } from './timeline';

const T0 = Date.parse('2026-01-10T10:00:00.000Z');
let n = 0;

/** A video event of session `sid` at `sec` seconds after T0 (position and the rest in `props`). */
function v(name: string, sec: number, props: Record<string, unknown>, sid = 's1', asset = 'v1'): ResolvedEvent {
  const at = new Date(T0 + sec * 1000).toISOString();
  return ev({
    type: 'track',
    event: name,
    messageId: `vid-${++n}`,
    properties: { session_id: sid, content_asset_id: asset, title: 'Film', total_length: 180, ...props },
    at,
  });
}

/** The issue's sequence: 0–30 played, a seek 30 → 90, 90–180 played (positions follow wall time). */
function issueSequence(sid = 's1'): ResolvedEvent[] {
  return [
    v('Video Playback Started', 0, { position: 0 }, sid),
    v('Video Content Playing', 30, { position: 30 }, sid),
    v('Video Playback Seek Started', 30.001, { position: 30, seek_position: 90 }, sid),
    v('Video Playback Seek Completed', 30.5, { position: 90 }, sid),
    v('Video Content Playing', 60.5, { position: 120 }, sid),
    v('Video Playback Completed', 120.5, { position: 180 }, sid),
  ];
}

const videoOf = (s: ProfileState) => s.computed.video;

describe('video engagement from position reports', () => {
  it('credits the issue sequence with 120 of 180 s and one forward seek of 60 s', () => {
    const video = videoOf(applyAll(issueSequence()));
    expect(video).toMatchObject({ started: 1, completed: 1, videosStarted: 1, secondsWatched: 120, shareWatched: 0.6667 });
    expect(video.videos).toEqual([
      {
        key: 'v1',
        title: 'Film',
        length: 180,
        sessions: 1,
        completions: 1,
        watchedSeconds: 120,
        shareWatched: 0.6667,
        watched: [
          { from: 0, to: 30 },
          { from: 90, to: 180 },
        ],
        seeksForward: 1,
        seeksBack: 0,
        skippedSeconds: 60,
        rewoundSeconds: 0,
        skippedShare: 0.3333,
        firstWatchedAt: new Date(T0).toISOString(),
        lastWatchedAt: new Date(T0 + 120_500).toISOString(),
      },
    ]);
    expect(video.sessions[0]).toMatchObject({ id: 's1', key: 'v1', completed: true, watchedSeconds: 120, seeksForward: 1, skippedSeconds: 60 });
  });

  it('gives the same figures whatever the arrival order, and ignores redeliveries', () => {
    const events = issueSequence();
    const expected = videoOf(applyAll(events));
    const orders = [
      [5, 4, 3, 2, 1, 0],
      [2, 0, 5, 1, 3, 4],
      [3, 1, 4, 0, 2, 5],
    ];
    for (const o of orders) expect(videoOf(applyAll(o.map((i) => events[i] as ResolvedEvent)))).toEqual(expected);
    const once = applyAll(events);
    const again = applyEvent(once, events[3] as ResolvedEvent, CTX);
    expect(again.duplicate).toBe(true);
    expect(videoOf(again.state)).toEqual(expected);
  });

  it('is independent of arrival order on sequences with pauses, seeks both ways, buffering and gaps', () => {
    const events = [
      v('Video Playback Started', 0, { position: 0 }),
      v('Video Content Playing', 10, { position: 10 }),
      v('Video Playback Paused', 15, { position: 15 }),
      v('Video Playback Resumed', 40, { position: 15 }),
      v('Video Playback Buffer Started', 45, { position: 20 }),
      v('Video Playback Buffer Completed', 50, { position: 20 }),
      v('Video Playback Seek Started', 60, { position: 30, seek_position: 100 }),
      v('Video Playback Seek Completed', 61, { position: 100 }),
      v('Video Content Playing', 71, { position: 110 }),
      v('Video Content Playing', 171, { position: 170 }),
      v('Video Playback Seek Started', 172, { position: 171, seek_position: 5 }),
      v('Video Playback Seek Completed', 173, { position: 5 }),
      v('Video Content Playing', 183, { position: 15 }),
      v('Video Playback Completed', 300, { position: 180 }),
    ];
    const expected = videoOf(applyAll(events));
    expect(expected.videos[0]).toMatchObject({ seeksForward: 1, seeksBack: 1, skippedSeconds: 70, rewoundSeconds: 166, completions: 1 });
    fc.assert(
      fc.property(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), (shuffled) => {
        expect(videoOf(applyAll(shuffled))).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it('does not credit pauses or buffering, and counts a rewatched part once', () => {
    const video = videoOf(
      applyAll([
        v('Video Playback Started', 0, { position: 0 }),
        v('Video Playback Paused', 20, { position: 20 }),
        v('Video Playback Resumed', 80, { position: 20 }),
        v('Video Playback Buffer Started', 90, { position: 30 }),
        v('Video Playback Buffer Completed', 120, { position: 30 }),
        v('Video Content Playing', 150, { position: 60 }),
        v('Video Playback Seek Started', 150.1, { position: 60, seek_position: 10 }),
        v('Video Playback Seek Completed', 150.2, { position: 10 }),
        v('Video Content Playing', 200.2, { position: 60 }),
        v('Video Content Playing', 230.2, { position: 90 }),
      ]),
    );
    expect(video.videos[0]).toMatchObject({
      watchedSeconds: 90,
      watched: [{ from: 0, to: 90 }],
      seeksForward: 0,
      seeksBack: 1,
      rewoundSeconds: 50,
      completions: 0,
    });
    expect(video.completed).toBe(0);
  });

  it('bounds what a missing heartbeat or an unreported jump can credit', () => {
    const gap = videoOf(applyAll([v('Video Playback Started', 0, { position: 0 }), v('Video Content Playing', 100, { position: 100 })]));
    expect(gap.secondsWatched).toBe(60); // a 100 s gap credits at most 60 s
    const jump = videoOf(
      applyAll([
        v('Video Playback Started', 0, { position: 0 }),
        v('Video Content Playing', 10, { position: 10 }),
        v('Video Content Playing', 20, { position: 100 }),
      ]),
    );
    expect(jump.videos[0]?.watched).toEqual([{ from: 0, to: 20 }]); // 10 s of wall time credit 10 s, not 90
    const rate = videoOf(applyAll([v('Video Playback Started', 0, { position: 0 }), v('Video Content Playing', 10, { position: 20 })]));
    expect(rate.secondsWatched).toBe(20); // 2× playback is credited in full
  });

  it('takes a seek from Seek Completed alone, from the previous position', () => {
    const video = videoOf(
      applyAll([
        v('Video Playback Started', 0, { position: 0 }),
        v('Video Content Playing', 10, { position: 10 }),
        v('Video Playback Seek Completed', 11, { position: 150 }),
        v('Video Content Playing', 21, { position: 160 }),
      ]),
    );
    expect(video.videos[0]).toMatchObject({
      watched: [
        { from: 0, to: 10 },
        { from: 150, to: 160 },
      ],
      seeksForward: 1,
      skippedSeconds: 140,
    });
  });

  it('unions intervals across sessions of one video; totals add up over videos', () => {
    const s2 = [v('Video Playback Started', 1000, { position: 60 }, 's2'), v('Video Content Playing', 1040, { position: 100 }, 's2')];
    const other = [0, 50, 100].map((p) =>
      v(
        p === 0 ? 'Video Playback Started' : p === 100 ? 'Video Playback Completed' : 'Video Content Playing',
        2000 + p,
        { position: p, total_length: 100 },
        's3',
        'v2',
      ),
    );
    const video = videoOf(applyAll([...issueSequence(), ...s2, ...other]));
    expect(video.videos.map((x) => [x.key, x.sessions, x.watchedSeconds])).toEqual([
      ['v2', 1, 100],
      ['v1', 2, 150],
    ]);
    expect(video).toMatchObject({ started: 3, completed: 2, videosStarted: 2, secondsWatched: 250, shareWatched: round4((150 / 180 + 1) / 2) });
  });

  it('stays within its bounds: reports sealed, sessions closed, videos dropped into the totals', () => {
    const beats = [v('Video Playback Started', 0, { position: 0 })];
    for (let i = 1; i <= 30; i += 1) beats.push(v('Video Content Playing', i * 5, { position: i * 5 }));
    const bounded = { ...CTX, config: { maxVideoReports: 4 } };
    const shuffled = [...beats.slice(0, 20), ...beats.slice(20).reverse()];
    const s = applyAll(shuffled, bounded);
    expect(s.internal.video?.sessions[0]?.reports.length).toBeLessThanOrEqual(4);
    expect(s.computed.video.secondsWatched).toBe(150);
    // a report older than the sealed ones is ignored
    expect(videoOf(applyAll([v('Video Content Playing', 2, { position: 100 })], bounded, s)).secondsWatched).toBe(150);

    const small = { ...CTX, config: { maxVideoSessions: 1, maxVideos: 2 } };
    const many = applyAll(
      ['a', 'b', 'c'].flatMap((asset, i) => [
        v('Video Playback Started', i * 1000, { position: 0 }, `s-${asset}`, asset),
        v('Video Content Playing', i * 1000 + 30, { position: 30 }, `s-${asset}`, asset),
      ]),
      small,
    );
    expect(many.computed.video).toMatchObject({ started: 3, videosStarted: 3, secondsWatched: 90 });
    expect(many.computed.video.videos.map((x) => x.key)).toEqual(['c', 'b']);
    expect(many.computed.video.sessions.map((x) => x.id)).toEqual(['s-c']);
    // a late event of a closed session changes nothing
    expect(videoOf(applyAll([v('Video Content Playing', 1060, { position: 60 }, 's-b', 'b')], small, many))).toEqual(many.computed.video);
  });

  it('merges fold per-video records as unions of intervals', () => {
    const a = applyAll(
      issueSequence()
        .slice(0, 2)
        .map((e) => ({ ...e, profileId: 'A' })),
    );
    const bEvents = [v('Video Playback Started', 500, { position: 20 }, 's9'), v('Video Content Playing', 540, { position: 60 }, 's9')];
    const b = applyAll(bEvents.map((e) => ({ ...e, profileId: 'B' })));
    b.profileId = 'B';
    const merged = foldMerge(a, b, {
      kind: 'merge',
      survivorId: a.profileId,
      loserId: 'B',
      reason: 'identify',
      triggeringMessageId: 'x',
      movedIdentifiers: [],
      at: '2026-02-01T00:00:00.000Z',
    });
    expect(merged.computed.video.videos[0]).toMatchObject({ key: 'v1', sessions: 2, watched: [{ from: 0, to: 60 }], watchedSeconds: 60 });
  });

  it('keeps the counts of profiles stored before per-video records existed', () => {
    const old = emptyProfile('p1', CTX.now);
    delete old.internal.video;
    (old.internal as unknown as Record<string, unknown>)['videoSessions'] = [{ id: 'x', share: 1 }];
    (old.computed as unknown as Record<string, unknown>)['video'] = { started: 4, completed: 2, shareWatched: 1 };
    const s = applyAll(issueSequence(), CTX, old);
    expect(s.computed.video).toMatchObject({ started: 5, completed: 3, secondsWatched: 120 });
    expect(s.internal).not.toHaveProperty('videoSessions');
  });
});

describe('summarizeVideoSession (the timeline entry)', () => {
  it('summarises a session from its events in any order, with its seeks', () => {
    const events = issueSequence()
      .reverse()
      .map((e) => ({
        messageId: e.event.messageId,
        at: Date.parse(e.event.timestamp as string),
        name: e.event.event as string,
        properties: e.event.properties,
      }));
    const entry = summarizeVideoSession(events);
    expect(entry).toMatchObject({
      id: 's1',
      key: 'v1',
      title: 'Film',
      length: 180,
      watchedSeconds: 120,
      shareWatched: 0.6667,
      watched: [
        { from: 0, to: 30 },
        { from: 90, to: 180 },
      ],
      completed: true,
      events: 6,
    });
    expect(entry?.seeks).toEqual([{ at: new Date(T0 + 30_500).toISOString(), from: 30, to: 90 }]);
    expect(summarizeVideoSession([])).toBeUndefined();
  });
});

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

describe('video numbers', () => {
  const huge = 1.8e305;
  const reports = (length: number | undefined) =>
    [
      v('Video Playback Started', 0, { position: 0 }),
      v('Video Playback Seek Started', 1, { position: 0, seek_position: huge }),
      v('Video Playback Seek Completed', 2, { position: huge }),
      v('Video Content Playing', 3, { position: huge }),
      v('Video Playback Seek Started', 4, { position: huge, seek_position: -huge }),
      v('Video Playback Seek Completed', 5, { position: 0 }),
      v('Video Content Playing', 10, { position: huge }),
      v('Video Playback Completed', 20, { position: huge }),
    ].map((e) => ({ ...e, event: { ...e.event, properties: { ...e.event.properties, total_length: length } } }));
  const nonFinite = (x: unknown): unknown[] =>
    typeof x === 'number' ? (Number.isFinite(x) ? [] : [x]) : x && typeof x === 'object' ? Object.values(x).flatMap(nonFinite) : [];

  it.each([
    ['a huge length', huge],
    ['no length', undefined],
  ])('positions near the largest double, %s: clamped to the seconds limit, every figure finite', (_, length) => {
    const s = applyAll(reports(length));
    expect(nonFinite(s)).toEqual([]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    const video = videoOf(s).videos[0]!;
    if (length !== undefined) expect(video.length).toBe(10_000_000);
    expect(video.watched.every((x) => x.to <= 10_000_000)).toBe(true);
    expect(video).toMatchObject({ seeksForward: 1, skippedSeconds: 10_000_000, seeksBack: 1, rewoundSeconds: 10_000_000 });
  });
});
