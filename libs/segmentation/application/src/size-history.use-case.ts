import { daysBetween, intervalStartOf, pointsInRange, type SizePoint } from '@mosaic/segmentation-domain';
import type { SizeHistoryRepository } from '@mosaic/segmentation-data-access';

export interface SizeSampleDeps {
  history: SizeHistoryRepository;
  /** Every segment's current size (segments never entered may be absent). */
  sizes: () => Promise<ReadonlyMap<string, number>>;
  /** The keys of the segments that exist now (a deleted segment's points stop). */
  keys: () => Promise<string[]>;
  intervalMs: number;
}

export interface SizeSampleResult {
  /** The interval sampled (ISO), or null when this instance had sampled it already. */
  interval: string | null;
  /** Points this instance wrote (0 when another instance had sampled the interval). */
  written: number;
}

/**
 * Samples every segment's size once per interval. Every instance runs it several times an
 * interval (so no interval is missed when a timer fires late); it reads the sizes once per
 * interval and offers the points, of which only the first instance's land (see
 * size-history.repository.ts).
 */
export class SampleSegmentSizes {
  private lastInterval: number | undefined;

  constructor(private readonly deps: SizeSampleDeps) {}

  async execute(now: number = Date.now()): Promise<SizeSampleResult> {
    const start = intervalStartOf(now, this.deps.intervalMs);
    if (start === this.lastInterval) return { interval: null, written: 0 };
    const [sizes, keys] = await Promise.all([this.deps.sizes(), this.deps.keys()]);
    const points = new Map(keys.map((key) => [key, sizes.get(key) ?? 0]));
    const written = await this.deps.history.record(new Date(start), points, new Date(now));
    this.lastInterval = start;
    return { interval: new Date(start).toISOString(), written: written.length };
  }
}

/** Days read at once (each one indexed equality). */
const DAY_READS_AT_ONCE = 8;

/** A segment's sampled sizes from `from` to `to` (ms, inclusive), oldest first; with `stepMs`, the last point of each step. */
export class ReadSizeHistory {
  constructor(private readonly history: SizeHistoryRepository) {}

  async execute(key: string, from: number, to: number, stepMs?: number): Promise<SizePoint[]> {
    const days = daysBetween(from, to);
    const points: SizePoint[] = [];
    for (let i = 0; i < days.length; i += DAY_READS_AT_ONCE) {
      const batch = await Promise.all(days.slice(i, i + DAY_READS_AT_ONCE).map((day) => this.history.pointsOfDay(key, day)));
      points.push(...batch.flat());
    }
    return pointsInRange(points, from, to, stepMs);
  }
}
