import { VideoSession, type VideoState } from './video';

const state = (position: number, extra: Partial<VideoState> = {}): VideoState => ({
  position,
  duration: 40,
  volume: 0.8,
  muted: false,
  fullScreen: false,
  ended: false,
  ...extra,
});

function session(heartbeatMs = 10_000) {
  let n = 0;
  const s = new VideoSession(() => `s${++n}`, heartbeatMs, { content_asset_id: 'vid-1', title: 'Demo' });
  const log: [string, Record<string, unknown>][] = [];
  const feed = (type: string, st: VideoState, now: number): void => {
    log.push(...(s.handle(type, st, now) as [string, Record<string, unknown>][]));
  };
  return { feed, log, names: () => log.map(([n, p]) => (n === 'Video Content Progress' ? `Progress ${p['progress']}` : n)) };
}

describe('VideoSession', () => {
  it('follows a viewing: start, heartbeats, milestones, pause, resume, seek, completion', () => {
    const v = session(10_000);
    v.feed('play', state(0), 0);
    for (let t = 1; t <= 12; t++) v.feed('timeupdate', state(t), t * 1000);
    v.feed('pause', state(12), 12_500);
    v.feed('play', state(12), 20_000);
    v.feed('seeking', state(30), 21_000);
    v.feed('timeupdate', state(30), 21_100); // during the seek: no milestone
    v.feed('seeked', state(30), 21_200);
    v.feed('timeupdate', state(31), 22_000);
    v.feed('timeupdate', state(40), 31_000);
    v.feed('pause', state(40, { ended: true }), 31_001); // the pause that ends playback
    v.feed('ended', state(40, { ended: true }), 31_002);
    expect(v.names()).toEqual([
      'Video Playback Started',
      'Progress 25', // position 10 of 40
      'Video Content Playing', // 10 s after start
      'Video Playback Paused',
      'Video Playback Resumed',
      'Video Playback Seek Started',
      'Video Playback Seek Completed',
      'Progress 50',
      'Progress 75',
      'Progress 100', // the playhead reached the end
      'Video Content Playing', // 10 s after the resume
      'Video Playback Completed',
    ]);
    const [, started] = v.log[0]!;
    expect(started).toEqual({
      session_id: 's1',
      position: 0,
      total_length: 40,
      sound: 80,
      full_screen: false,
      video_player: 'html5',
      livestream: false,
      content_asset_id: 'vid-1',
      title: 'Demo',
    });
    const seek = v.log.find(([n]) => n === 'Video Playback Seek Started')![1];
    expect(seek).toMatchObject({ position: 12, seek_position: 30 });
    expect(v.log.find(([n]) => n === 'Video Playback Seek Completed')![1]).toMatchObject({ position: 30 });
    expect(new Set(v.log.map(([, p]) => p['session_id']))).toEqual(new Set(['s1']));
  });

  it('starts a new session when played again after the end', () => {
    const v = session();
    v.feed('play', state(0), 0);
    v.feed('ended', state(40, { ended: true }), 40_000);
    v.feed('play', state(0), 50_000);
    expect(v.log.map(([n, p]) => `${n}:${p['session_id']}`)).toEqual([
      'Video Playback Started:s1',
      'Video Content Progress:s1',
      'Video Content Progress:s1',
      'Video Content Progress:s1',
      'Video Content Progress:s1',
      'Video Playback Completed:s1',
      'Video Playback Started:s2',
    ]);
  });

  it('has no progress for live streams or unknown lengths, and reports muted sound as 0', () => {
    const v = session();
    v.feed('play', state(0, { duration: Infinity, muted: true }), 0);
    v.feed('timeupdate', state(100, { duration: Infinity, muted: true }), 100);
    v.feed('timeupdate', state(5, { duration: NaN }), 200);
    expect(v.names()).toEqual(['Video Playback Started']);
    expect(v.log[0]![1]).toMatchObject({ livestream: true, sound: 0, total_length: undefined });
  });

  it('a timeupdate handled after currentTime was set (the element is seeking) keeps the position the seek starts from', () => {
    const v = session();
    v.feed('play', state(0), 0);
    v.feed('timeupdate', state(1.27), 1_270);
    // Queued at 1.3 s, handled once a script had set currentTime = 3: the element reads 3 and seeking.
    v.feed('timeupdate', state(3, { seeking: true }), 1_300);
    v.feed('seeking', state(3, { seeking: true }), 1_301);
    const started = v.log.find(([n]) => n === 'Video Playback Seek Started');
    expect(started?.[1]).toMatchObject({ position: 1, seek_position: 3 });
  });

  it('ignores events that do not change the state (a pause before play, a seeked without seeking)', () => {
    const v = session();
    v.feed('pause', state(0), 0);
    v.feed('seeked', state(3), 0);
    v.feed('ended', state(0), 0);
    v.feed('timeupdate', state(20), 0);
    expect(v.log).toEqual([]);
  });
});
