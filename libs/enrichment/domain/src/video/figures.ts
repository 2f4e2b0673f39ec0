/** From the stored video state to figures: per session, per video, per contact. */
import { round } from '../util';
import { type Interval, capIntervals, secs, totalSeconds, unionIntervals } from './intervals';
import { type VideoSeek, walkReports } from './reports';
import type { SessionSealed, VideoFigures, VideoInternal, VideoRecordState, VideoSessionState, VideoTally } from './types';

export interface SessionFigures extends SessionSealed {
  /** Seeks of the reports still held (the sealed ones are only counted). */
  seeks: VideoSeek[];
}

export function emptyTally(): VideoTally {
  return { watched: [], sessions: 0, completions: 0, forward: 0, back: 0, skipped: 0, rewound: 0, maxSkippedShare: 0 };
}

/** Adds a walk's seeks and completion to sealed figures. */
export function addWalk(base: SessionSealed, walk: { watched: Interval[]; seeks: VideoSeek[]; completed: boolean }, maxIntervals: number): SessionSealed {
  const fwd = walk.seeks.filter((s) => s.to > s.from);
  const back = walk.seeks.filter((s) => s.to < s.from);
  return {
    watched: capIntervals(unionIntervals(base.watched, walk.watched), maxIntervals),
    forward: base.forward + fwd.length,
    back: base.back + back.length,
    skipped: secs(base.skipped + fwd.reduce((a, s) => a + (s.to - s.from), 0)),
    rewound: secs(base.rewound + back.reduce((a, s) => a + (s.from - s.to), 0)),
    completed: base.completed || walk.completed,
  };
}

export function sessionFigures(s: VideoSessionState, maxIntervals: number): SessionFigures {
  const walk = walkReports(s.reports, s.carry, s.length);
  return { ...addWalk(s.sealed, walk, maxIntervals), seeks: walk.seeks };
}

function share(part: number, length: number | undefined): number | undefined {
  return length !== undefined && length > 0 ? round(Math.min(1, part / length), 4) : undefined;
}

/** A session's figures added to a video's tally. */
export function tallySession(t: VideoTally, f: SessionSealed, length: number | undefined, maxIntervals: number): VideoTally {
  return {
    watched: capIntervals(unionIntervals(t.watched, f.watched), maxIntervals),
    sessions: t.sessions + 1,
    completions: t.completions + (f.completed ? 1 : 0),
    forward: t.forward + f.forward,
    back: t.back + f.back,
    skipped: secs(t.skipped + f.skipped),
    rewound: secs(t.rewound + f.rewound),
    maxSkippedShare: Math.max(t.maxSkippedShare, share(f.skipped, length) ?? 0),
  };
}

export function addTallies(a: VideoTally, b: VideoTally, maxIntervals: number): VideoTally {
  return {
    watched: capIntervals(unionIntervals(a.watched, b.watched), maxIntervals),
    sessions: a.sessions + b.sessions,
    completions: a.completions + b.completions,
    forward: a.forward + b.forward,
    back: a.back + b.back,
    skipped: secs(a.skipped + b.skipped),
    rewound: secs(a.rewound + b.rewound),
    maxSkippedShare: Math.max(a.maxSkippedShare, b.maxSkippedShare),
  };
}

/** The public figures of a session or a video. */
export function figuresOf(f: Omit<SessionSealed, 'completed'>, length: number | undefined, skippedShare: number | undefined): VideoFigures {
  const watchedSeconds = totalSeconds(f.watched);
  const sh = share(watchedSeconds, length);
  return {
    watchedSeconds,
    ...(sh !== undefined ? { shareWatched: sh } : {}),
    watched: f.watched,
    seeksForward: f.forward,
    seeksBack: f.back,
    skippedSeconds: f.skipped,
    rewoundSeconds: f.rewound,
    ...(skippedShare !== undefined ? { skippedShare } : {}),
  };
}

export function sessionSkippedShare(f: SessionSealed, length: number | undefined): number | undefined {
  return share(f.skipped, length);
}

/** Every video's record state with its live sessions folded in (the sealed state is not changed). */
export function videoTallies(v: VideoInternal, maxIntervals: number): VideoRecordState[] {
  const byKey = new Map<string, VideoRecordState>();
  for (const r of v.videos) byKey.set(r.key, { ...r, tally: r.tally });
  for (const s of [...v.sessions].sort((a, b) => a.last - b.last)) {
    const cur = byKey.get(s.key) ?? { key: s.key, first: s.first, last: s.last, tally: emptyTally() };
    const rec = withMeta(cur, s);
    rec.tally = tallySession(rec.tally, sessionFigures(s, maxIntervals), rec.length, maxIntervals);
    byKey.set(s.key, rec);
  }
  return [...byKey.values()];
}

type Meta = Pick<VideoRecordState, 'title' | 'length' | 'productId' | 'first' | 'last'>;

/** `rec` with the metadata of `from` where `from` is the later one (or `rec` lacks it), and the widened time span. */
export function withMeta<T extends Meta>(rec: T, from: Meta): T {
  const later = from.last >= rec.last;
  const out = { ...rec, first: Math.min(rec.first, from.first), last: Math.max(rec.last, from.last) };
  for (const k of ['title', 'length', 'productId'] as const) {
    if (from[k] !== undefined && (later || rec[k] === undefined)) (out as Meta)[k] = from[k] as never;
  }
  return out;
}
