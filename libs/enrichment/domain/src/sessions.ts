/**
 * Sessions: maximal runs of activity with no gap longer than `gapMs`. Kept as a bounded list of
 * intervals (most recent first); an event inside or within `gapMs` of an interval extends it,
 * one that bridges two intervals joins them. This is independent of arrival order (within the
 * retained intervals), so late and out-of-order events do not create phantom sessions.
 */
import type { ProfileInternal } from './state';

export type SessionList = ProfileInternal['sessions'];

export interface SessionResult {
  sessions: SessionList;
  dropped: number;
}

function coalesce(all: SessionList, gapMs: number, max: number): SessionResult {
  const asc = [...all].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: SessionList = [];
  for (const s of asc) {
    const last = out[out.length - 1];
    if (last && s.start - last.end <= gapMs) {
      last.end = Math.max(last.end, s.end);
      last.events += s.events;
      last.pageViews += s.pageViews;
    } else out.push({ ...s });
  }
  out.reverse();
  const dropped = Math.max(0, out.length - max);
  return { sessions: out.slice(0, max), dropped };
}

export function addToSessions(sessions: SessionList, t: number, pageView: boolean, gapMs: number, max: number): SessionResult {
  return coalesce([...sessions, { start: t, end: t, events: 1, pageViews: pageView ? 1 : 0 }], gapMs, max);
}

export function mergeSessions(a: SessionList, b: SessionList, gapMs: number, max: number): SessionResult {
  return coalesce([...a, ...b], gapMs, max);
}
