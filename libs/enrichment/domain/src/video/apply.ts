/**
 * Video events into the bounded video state, and the `computed.video` view of it. A session's
 * reports stay sorted by event time whatever the arrival order; once more than
 * `maxVideoReports` are held, the oldest are credited for good (`sealed`) and a report older
 * than those is ignored. The least recently active sessions beyond `maxVideoSessions` are
 * closed into their video's tally; the least recently watched videos beyond `maxVideos` only
 * stay in the totals.
 */
import type { EnrichmentConfig } from '../config';
import { pushRing } from '../collections';
import { NUMBER_LIMITS, boundedNum, iso, obj, round, str } from '../util';
import { secs, totalSeconds } from './intervals';
import { type VideoReport, insertReport, reportOf, walkReports } from './reports';
import { addTallies, addWalk, emptyTally, figuresOf, sessionFigures, sessionSkippedShare, tallySession, videoTallies, withMeta } from './figures';
import {
  type VideoAttributes,
  type VideoInternal,
  type VideoRecord,
  type VideoRecordState,
  type VideoSessionState,
  type VideoSessionSummary,
  emptyVideoInternal,
} from './types';

export type VideoConfig = Pick<EnrichmentConfig, 'maxVideos' | 'maxVideoSessions' | 'maxVideoReports' | 'maxVideoIntervals' | 'maxClosedVideoSessions'>;

/** Session id, video and metadata of a video event's properties. */
export function videoPropsOf(properties: unknown): {
  sessionId?: string;
  key?: string;
  title?: string;
  length?: number;
  productId?: string;
  position?: number;
  seekPosition?: number;
} {
  const p = obj(properties);
  const key = str(p['content_asset_id'], 256) ?? str(p['asset_id'], 256);
  const length = boundedNum(p['total_length'], NUMBER_LIMITS.seconds);
  return {
    sessionId: str(p['session_id'], 256) ?? (key !== undefined ? `asset:${key}` : undefined),
    key,
    title: str(p['title'], 256),
    length: length !== undefined && length > 0 ? length : undefined,
    productId: str(p['product_id'], 256),
    position: boundedNum(p['position'], NUMBER_LIMITS.seconds),
    seekPosition: boundedNum(p['seek_position'], NUMBER_LIMITS.seconds),
  };
}

/** The video state of a profile (profiles stored before it existed start from their old counters). */
export function videoStateOf(internal: { video?: VideoInternal }, old?: { started?: number; completed?: number }): VideoInternal {
  if (internal.video) return internal.video;
  const v = emptyVideoInternal();
  v.dropped.sessions = old?.started ?? 0;
  v.dropped.completions = old?.completed ?? 0;
  return v;
}

export function newSession(id: string, key: string, t: number): VideoSessionState {
  return { id, key, first: t, last: t, reports: [], sealed: { watched: [], forward: 0, back: 0, skipped: 0, rewound: 0, completed: false } };
}

/** Widens the session's time span to `t` and takes the event's title, length and product (the latest event's win). */
export function withSessionMeta(s: VideoSessionState, p: ReturnType<typeof videoPropsOf>, t: number): void {
  Object.assign(s, withMeta(s, { title: p.title, length: p.length, productId: p.productId, first: t, last: t }));
}

/** Adds a report to a session, sealing the oldest beyond the bound; false when it is a duplicate or too late. */
export function addReport(s: VideoSessionState, r: VideoReport, cfg: Pick<VideoConfig, 'maxVideoReports' | 'maxVideoIntervals'>): boolean {
  const anchor = s.carry?.prev;
  if (anchor && (r.t < anchor.t || r.m === anchor.m)) return false;
  if (!insertReport(s.reports, r)) return false;
  const excess = s.reports.length - Math.max(2, cfg.maxVideoReports);
  if (excess > 0) {
    const walk = walkReports(s.reports.slice(0, excess), s.carry, s.length);
    s.sealed = addWalk(s.sealed, walk, cfg.maxVideoIntervals);
    s.carry = walk.state;
    s.reports = s.reports.slice(excess);
  }
  return true;
}

/** Applies one `Video …` track event (idempotent by message id through the report lists). */
export function applyVideoEvent(v: VideoInternal, name: string, properties: unknown, t: number, messageId: string, cfg: VideoConfig): VideoInternal {
  const p = videoPropsOf(properties);
  if (!p.sessionId || v.closed.includes(p.sessionId)) return v;
  const r = reportOf(name, messageId, t, { position: p.position, seekPosition: p.seekPosition, length: p.length });
  let s = v.sessions.find((x) => x.id === p.sessionId);
  if (!s) {
    if (!p.key || !r) return v; // a session starts with a position report of a known video
    s = newSession(p.sessionId, p.key, t);
    v.sessions.push(s);
  }
  withSessionMeta(s, p, t);
  if (r) addReport(s, r, cfg);
  return boundVideo(v, cfg);
}

function closeSession(v: VideoInternal, s: VideoSessionState, cfg: VideoConfig): void {
  const idx = v.videos.findIndex((x) => x.key === s.key);
  const cur: VideoRecordState = idx >= 0 ? (v.videos[idx] as VideoRecordState) : { key: s.key, first: s.first, last: s.last, tally: emptyTally() };
  const rec = withMeta(cur, s);
  rec.tally = tallySession(rec.tally, sessionFigures(s, cfg.maxVideoIntervals), rec.length, cfg.maxVideoIntervals);
  if (idx >= 0) v.videos[idx] = rec;
  else v.videos.push(rec);
  v.closed = pushRing(v.closed, [s.id], cfg.maxClosedVideoSessions);
}

function dropVideo(v: VideoInternal, rec: VideoRecordState): void {
  const seconds = totalSeconds(rec.tally.watched);
  const d = v.dropped;
  d.videos += 1;
  d.sessions += rec.tally.sessions;
  d.completions += rec.tally.completions;
  d.seconds = secs(d.seconds + seconds);
  if (rec.length !== undefined) {
    d.shareSum = round(d.shareSum + Math.min(1, seconds / rec.length), 6);
    d.shared += 1;
  }
  v.videos = v.videos.filter((x) => x.key !== rec.key);
}

const newestFirst = (a: { last: number; id?: string; key: string }, b: { last: number; id?: string; key: string }): number =>
  b.last - a.last || ((a.id ?? a.key) < (b.id ?? b.key) ? -1 : (a.id ?? a.key) > (b.id ?? b.key) ? 1 : 0);

/** Closes sessions and drops videos beyond their bounds (least recent first). */
export function boundVideo(v: VideoInternal, cfg: VideoConfig): VideoInternal {
  v.sessions.sort(newestFirst);
  while (v.sessions.length > cfg.maxVideoSessions) closeSession(v, v.sessions.pop() as VideoSessionState, cfg);
  if (new Set([...v.videos, ...v.sessions].map((x) => x.key)).size <= cfg.maxVideos) return v;
  let videos = videoTallies(v, cfg.maxVideoIntervals).sort(newestFirst);
  while (videos.length > cfg.maxVideos) {
    const oldest = videos.pop() as VideoRecordState;
    for (const s of v.sessions.filter((x) => x.key === oldest.key)) closeSession(v, s, cfg);
    v.sessions = v.sessions.filter((x) => x.key !== oldest.key);
    const sealed = v.videos.find((x) => x.key === oldest.key);
    if (sealed) dropVideo(v, sealed);
    videos = videos.filter((x) => x.key !== oldest.key);
  }
  return v;
}

function recordOf(r: VideoRecordState): VideoRecord {
  const t = r.tally;
  return {
    key: r.key,
    ...(r.title !== undefined ? { title: r.title } : {}),
    ...(r.length !== undefined ? { length: r.length } : {}),
    ...(r.productId !== undefined ? { productId: r.productId } : {}),
    sessions: t.sessions,
    completions: t.completions,
    ...figuresOf(t, r.length, r.length !== undefined ? round(t.maxSkippedShare, 4) : undefined),
    firstWatchedAt: iso(r.first),
    lastWatchedAt: iso(r.last),
  };
}

export function sessionSummaryOf(s: VideoSessionState, maxIntervals: number): VideoSessionSummary {
  const f = sessionFigures(s, maxIntervals);
  return {
    id: s.id,
    key: s.key,
    ...(s.title !== undefined ? { title: s.title } : {}),
    ...(s.length !== undefined ? { length: s.length } : {}),
    ...(s.productId !== undefined ? { productId: s.productId } : {}),
    startedAt: iso(s.first),
    lastAt: iso(s.last),
    completed: f.completed,
    ...figuresOf(f, s.length, sessionSkippedShare(f, s.length)),
  };
}

/** `computed.video`: per-contact totals, per-video records and the live sessions. */
export function videoView(v: VideoInternal, cfg: VideoConfig): VideoAttributes {
  const videos = videoTallies(v, cfg.maxVideoIntervals).sort(newestFirst).map(recordOf);
  const shares = videos.filter((x) => x.shareWatched !== undefined).map((x) => x.shareWatched as number);
  const shared = shares.length + v.dropped.shared;
  const started = videos.reduce((a, x) => a + x.sessions, 0) + v.dropped.sessions;
  const view: VideoAttributes = {
    started,
    completed: videos.reduce((a, x) => a + x.completions, 0) + v.dropped.completions,
    videosStarted: videos.length + v.dropped.videos,
    secondsWatched: secs(videos.reduce((a, x) => a + x.watchedSeconds, 0) + v.dropped.seconds),
    videos,
    sessions: v.sessions.map((s) => sessionSummaryOf(s, cfg.maxVideoIntervals)),
  };
  if (shared > 0) view.shareWatched = round((shares.reduce((a, x) => a + x, 0) + v.dropped.shareSum) / shared, 4);
  return view;
}

/** Folds a merged-away profile's video state into the survivor's (sessions of both by id). */
export function foldVideo(a: VideoInternal, b: VideoInternal, cfg: VideoConfig): VideoInternal {
  const out = structuredClone(a);
  for (const d of ['videos', 'sessions', 'completions', 'seconds', 'shareSum', 'shared'] as const) out.dropped[d] = round(out.dropped[d] + b.dropped[d], 6);
  for (const r of b.videos) {
    const idx = out.videos.findIndex((x) => x.key === r.key);
    const cur = out.videos[idx];
    if (!cur) out.videos.push(structuredClone(r));
    else out.videos[idx] = { ...withMeta(cur, r), tally: addTallies(cur.tally, r.tally, cfg.maxVideoIntervals) };
  }
  for (const s of b.sessions) {
    if (out.closed.includes(s.id)) continue;
    const cur = out.sessions.find((x) => x.id === s.id);
    if (!cur) out.sessions.push(structuredClone(s));
    else foldSession(cur, s, cfg);
  }
  out.closed = pushRing(out.closed, b.closed, cfg.maxClosedVideoSessions);
  return boundVideo(out, cfg);
}

/** One session seen by both profiles: the reports of both, the sealed parts of both. */
function foldSession(into: VideoSessionState, from: VideoSessionState, cfg: VideoConfig): void {
  Object.assign(into, withMeta(into, from));
  into.sealed = addWalk(into.sealed, { watched: from.sealed.watched, seeks: [], completed: from.sealed.completed }, cfg.maxVideoIntervals);
  for (const k of ['forward', 'back', 'skipped', 'rewound'] as const) into.sealed[k] = secs(into.sealed[k] + from.sealed[k]);
  const fc = from.carry?.prev;
  if (fc && (!into.carry?.prev || fc.t > into.carry.prev.t)) {
    into.carry = from.carry;
    into.reports = into.reports.filter((r) => r.t > fc.t);
  }
  for (const r of from.reports) addReport(into, r, cfg);
}
