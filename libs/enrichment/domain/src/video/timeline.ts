/**
 * A video session as one timeline entry, computed at read time from the session's stored
 * events with the same crediting as the profile (no bounds but the events given).
 */
import { iso } from '../util';
import { addReport, newSession, sessionSummaryOf, videoPropsOf, withSessionMeta } from './apply';
import { VIDEO_EVENT_KINDS, reportOf, walkReports } from './reports';
import type { VideoSessionSummary } from './types';

export interface VideoEventLike {
  messageId: string;
  /** Event time, ms. */
  at: number;
  name: string;
  properties: unknown;
}

export interface VideoSessionEntry extends VideoSessionSummary {
  /** Every seek of the session, in order (seconds; `at` = the Seek Completed's time). */
  seeks: { at: string; from: number; to: number }[];
  /** The session's events that were summarised. */
  events: number;
}

/** The video session a track event belongs to (`session_id`, else the video), or undefined. */
export function videoSessionOf(name: string | undefined, properties: unknown): string | undefined {
  if (!name || !Object.hasOwn(VIDEO_EVENT_KINDS, name)) return undefined;
  return videoPropsOf(properties).sessionId;
}

/** One session's events (any order) as a summary; undefined when none is a position report of a known video. */
export function summarizeVideoSession(events: readonly VideoEventLike[]): VideoSessionEntry | undefined {
  const cfg = { maxVideoReports: events.length + 2, maxVideoIntervals: 1000 };
  const sorted = [...events].sort((a, b) => a.at - b.at);
  const first = sorted.find((e) => videoPropsOf(e.properties).key !== undefined);
  const id = first ? videoPropsOf(first.properties).sessionId : undefined;
  const key = first ? videoPropsOf(first.properties).key : undefined;
  if (!first || !id || !key) return undefined;
  const s = newSession(id, key, first.at);
  for (const e of sorted) {
    const p = videoPropsOf(e.properties);
    withSessionMeta(s, p, e.at);
    const r = reportOf(e.name, e.messageId, e.at, { position: p.position, seekPosition: p.seekPosition, length: p.length });
    if (r) addReport(s, r, cfg);
  }
  if (s.reports.length === 0) return undefined;
  const walk = walkReports(s.reports, s.carry, s.length);
  return { ...sessionSummaryOf(s, cfg.maxVideoIntervals), seeks: walk.seeks.map((x) => ({ at: iso(x.at), from: x.from, to: x.to })), events: events.length };
}
