/**
 * Played stretches of a video: sorted, disjoint intervals in seconds. Objects, not `[from, to]`
 * pairs: FerretDB refuses nested arrays in a document.
 */
export interface Interval {
  from: number;
  to: number;
}

/** Seconds kept to the millisecond, so that float noise never shows in stored figures. */
export function secs(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** The union of interval lists, sorted and coalesced (touching intervals join). */
export function unionIntervals(...lists: readonly (readonly Interval[])[]): Interval[] {
  const all = lists
    .flat()
    .filter((x) => Number.isFinite(x.from) && Number.isFinite(x.to) && x.to > x.from)
    .sort((x, y) => x.from - y.from || x.to - y.to);
  const out: Interval[] = [];
  for (const { from, to } of all) {
    const last = out[out.length - 1];
    if (last && from <= last.to) last.to = Math.max(last.to, to);
    else out.push({ from, to });
  }
  return out.map((x) => ({ from: secs(x.from), to: secs(x.to) }));
}

/**
 * At most `max` intervals: while there are more, the two separated by the smallest gap are
 * joined (crediting that gap), so a capped list over-counts by the smallest gaps only.
 */
export function capIntervals(list: readonly Interval[], max: number): Interval[] {
  const out: Interval[] = list.map((x) => ({ ...x }));
  const gap = (i: number): number => (out[i] as Interval).from - (out[i - 1] as Interval).to;
  while (out.length > Math.max(1, max)) {
    let k = 1;
    for (let i = 2; i < out.length; i += 1) if (gap(i) < gap(k)) k = i;
    out.splice(k - 1, 2, { from: (out[k - 1] as Interval).from, to: (out[k] as Interval).to });
  }
  return out;
}

/** The intervals clipped to `[0, length]` (no clipping above when the length is unknown). */
export function clipIntervals(list: readonly Interval[], length: number | undefined): Interval[] {
  const hi = length !== undefined && length > 0 ? length : Infinity;
  return unionIntervals(list.map((x) => ({ from: Math.max(0, x.from), to: Math.min(hi, x.to) })));
}

export function totalSeconds(list: readonly Interval[]): number {
  return secs(list.reduce((sum, x) => sum + (x.to - x.from), 0));
}
