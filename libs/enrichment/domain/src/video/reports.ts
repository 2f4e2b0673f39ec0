/**
 * Position reports of one video session (Segment Video spec events) and the walk that credits
 * played intervals and seeks from them, in event-time order. Pure and total.
 *
 * Crediting between two consecutive reports `prev` → `cur` of a session (docs/enrichment.md):
 * only while playing (after Playback Started, Content Playing/Started/Progress, Playback
 * Resumed, Buffer Completed or Seek Completed; not after Paused, Buffer Started, Interrupted,
 * Exited, Seek Started or a completion), and never into a Seek Completed (that jump is the
 * seek). With `dp` the position advance and `dt` the elapsed event time (seconds):
 * - `dp ≤ 0`: nothing (an unreported jump back);
 * - `dp ≤ MAX_RATE·dt + SLACK` and `dt ≤ MAX_GAP`: from `prev` to `cur` in full;
 * - otherwise (the position ran ahead of any playback — an unreported seek — or heartbeats
 *   were missing for longer than `MAX_GAP`): `min(dp, dt, MAX_GAP)` seconds from `prev`.
 */
import { type Interval, clipIntervals, secs } from './intervals';

/** Fastest playback rate credited in full (2× players). */
export const VIDEO_MAX_RATE = 2;
/** Positions are whole seconds (the tracker rounds them): one second of rounding is allowed. */
export const VIDEO_SLACK_SECONDS = 1;
/** Longest gap between two reports credited in full (six missed 10 s heartbeats). */
export const VIDEO_MAX_GAP_SECONDS = 60;

/**
 * start: Playback Started; beat: a heartbeat while playing; stop: playing stops; resume:
 * playing resumes; seekStart/seekEnd: a seek; end: a completion. Ranks order reports of
 * the same millisecond (a pause before the resume, a seek's start before its end).
 */
export type ReportKind = 'start' | 'beat' | 'stop' | 'seekStart' | 'seekEnd' | 'resume' | 'end';
const RANK: Record<ReportKind, number> = { start: 0, beat: 1, stop: 2, seekStart: 2, seekEnd: 3, resume: 3, end: 4 };
const PLAYING: ReadonlySet<ReportKind> = new Set<ReportKind>(['start', 'beat', 'seekEnd', 'resume']);

export const VIDEO_EVENT_KINDS: Readonly<Record<string, ReportKind>> = Object.freeze({
  'Video Playback Started': 'start',
  'Video Content Started': 'beat',
  'Video Content Playing': 'beat',
  'Video Content Progress': 'beat',
  'Video Playback Resumed': 'resume',
  'Video Playback Buffer Completed': 'resume',
  'Video Playback Paused': 'stop',
  'Video Playback Buffer Started': 'stop',
  'Video Playback Interrupted': 'stop',
  'Video Playback Exited': 'stop',
  'Video Playback Seek Started': 'seekStart',
  'Video Playback Seek Completed': 'seekEnd',
  'Video Playback Completed': 'end',
  'Video Content Completed': 'end',
});

/** One position report: message id, event time (ms), kind, position and seek target (s), completion. */
export interface VideoReport {
  m: string;
  t: number;
  k: ReportKind;
  p: number;
  sp?: number;
  done?: boolean;
}

export interface VideoSeek {
  /** Event time (ms) of the Seek Completed. */
  at: number;
  from: number;
  to: number;
}

/** The walk's state between reports: the previous report, whether playing, where a seek started. */
export interface WalkState {
  prev?: VideoReport;
  playing: boolean;
  seekFrom?: number;
}

export interface WalkResult {
  watched: Interval[];
  seeks: VideoSeek[];
  completed: boolean;
  state: WalkState;
}

export function compareReports(a: VideoReport, b: VideoReport): number {
  return a.t - b.t || RANK[a.k] - RANK[b.k] || (a.m < b.m ? -1 : a.m > b.m ? 1 : 0);
}

function nonNegative(n: number | undefined): number | undefined {
  return n !== undefined && n >= 0 ? n : undefined;
}

/** The report an event makes, or undefined (not a video position event, or no usable position). */
export function reportOf(
  name: string,
  messageId: string,
  t: number,
  props: { position?: number; seekPosition?: number; length?: number },
): VideoReport | undefined {
  const k = VIDEO_EVENT_KINDS[name];
  if (!k) return undefined;
  const pos = nonNegative(props.position);
  const sp = nonNegative(props.seekPosition);
  const len = nonNegative(props.length);
  const p = pos ?? (k === 'start' ? 0 : k === 'seekEnd' ? sp : k === 'end' && name === 'Video Playback Completed' ? len : undefined);
  if (p === undefined) return undefined;
  const r: VideoReport = { m: messageId, t, k, p };
  if (k === 'seekStart' && sp !== undefined) r.sp = sp;
  // Content Completed ends a content pod; it completes the video only at its end.
  if (k === 'end' && (name === 'Video Playback Completed' || (len !== undefined && p >= len - 1))) r.done = true;
  return r;
}

/** Credited seconds of play from `prev` to `cur` (see the module comment). */
export function creditBetween(prev: VideoReport, cur: VideoReport): Interval | undefined {
  const dp = cur.p - prev.p;
  const dt = (cur.t - prev.t) / 1000;
  if (dp <= 0 || dt < 0) return undefined;
  const full = dp <= VIDEO_MAX_RATE * dt + VIDEO_SLACK_SECONDS && dt <= VIDEO_MAX_GAP_SECONDS;
  const credit = full ? dp : Math.min(dp, dt, VIDEO_MAX_GAP_SECONDS);
  return credit > 0 ? { from: prev.p, to: secs(prev.p + credit) } : undefined;
}

/** Walks sorted reports from `init`: the intervals played, the seeks made, whether one completed the video. */
export function walkReports(reports: readonly VideoReport[], init: WalkState = { playing: false }, length?: number): WalkResult {
  const watched: Interval[] = [];
  const seeks: VideoSeek[] = [];
  let completed = false;
  let { prev, playing, seekFrom } = init;
  for (const r of reports) {
    if (prev && playing && r.k !== 'seekEnd') {
      const iv = creditBetween(prev, r);
      if (iv) watched.push(iv);
    }
    if (r.k === 'seekStart') seekFrom = r.p;
    else if (r.k === 'seekEnd') {
      const from = seekFrom ?? prev?.p;
      if (from !== undefined && from !== r.p) seeks.push({ at: r.t, from, to: r.p });
      seekFrom = undefined;
    } else if (r.k === 'start') seekFrom = undefined;
    if (r.done) completed = true;
    playing = PLAYING.has(r.k);
    prev = r;
  }
  const state: WalkState = { playing, ...(prev ? { prev } : {}), ...(seekFrom !== undefined ? { seekFrom } : {}) };
  return { watched: clipIntervals(watched, length), seeks, completed, state };
}

/** Adds a report to a sorted list (one per message id); false when already there. */
export function insertReport(list: VideoReport[], r: VideoReport): boolean {
  if (list.some((x) => x.m === r.m)) return false;
  let i = list.length;
  while (i > 0 && compareReports(list[i - 1] as VideoReport, r) > 0) i -= 1;
  list.splice(i, 0, r);
  return true;
}
