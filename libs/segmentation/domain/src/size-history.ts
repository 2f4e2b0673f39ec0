/**
 * Segment sizes over time: the arithmetic of sampling intervals, the days points are filed
 * under, and thinning a range to one point per step. Pure; the store and the clock are the
 * callers'.
 *
 * Points are filed by segment and UTC day because FerretDB 1.24 serves only equality filters
 * from an index: a range of time is read as one equality per day it touches, so the number of
 * days a query may span is bounded (`MAX_SIZE_HISTORY_DAYS`).
 */
import { DAY_MS } from './definition';

/** The longest range `GET /v1/segments/{key}/sizes` answers, in days (one indexed read per day). */
export const MAX_SIZE_HISTORY_DAYS = 92;

/** One sampled size. */
export interface SizePoint {
  /** The start of the sampling interval (ISO). */
  at: string;
  size: number;
}

/** The start of the sampling interval `now` falls in (ms since the epoch): intervals are aligned to the epoch, the same on every instance. */
export function intervalStartOf(now: number, intervalMs: number): number {
  return Math.floor(now / intervalMs) * intervalMs;
}

/** The UTC day (`YYYY-MM-DD`) an instant is filed under. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Every UTC day from the one `from` falls in to the one `to` falls in, oldest first. */
export function daysBetween(from: number, to: number): string[] {
  const days: string[] = [];
  for (let day = Math.floor(from / DAY_MS); day <= Math.floor(to / DAY_MS); day += 1) days.push(dayOf(day * DAY_MS));
  return days;
}

/**
 * The points in `[from, to]` (inclusive), oldest first; with a `stepMs`, one point per step
 * (steps aligned to the epoch): the last of the step, i.e. the size at the end of it.
 */
export function pointsInRange(points: readonly SizePoint[], from: number, to: number, stepMs?: number): SizePoint[] {
  const inRange = points
    .map((p) => ({ p, t: Date.parse(p.at) }))
    .filter(({ t }) => t >= from && t <= to)
    .sort((a, b) => a.t - b.t);
  if (!stepMs) return inRange.map(({ p }) => p);
  const lastOfStep = new Map<number, SizePoint>();
  for (const { p, t } of inRange) lastOfStep.set(intervalStartOf(t, stepMs), p);
  return [...lastOfStep.values()];
}
