/**
 * Applies one consumer batch of `events.resolved` to the profiles in MongoDB and returns the
 * `profiles.changes` messages to produce, in order. Pure domain logic (`applyEvent`,
 * `foldMerge`, `recomputeFromEvents`) on documents read in bulk and written back in bulk with
 * compare-and-set on `version`.
 *
 * Exactly-once in state (DESIGN §8): a message id is applied to a profile at most once. The
 * guard is the ring of applied ids on the profile document, written in the same single-document
 * write as the change it guards. While a profile's ring is not full it holds every id ever
 * applied to that profile; once it is full, ids not in it are also looked up in the events
 * collection (every applied event is stored there, within the retention).
 *
 * Order of writes per batch segment: profiles (compare-and-set) → events (insert-if-absent);
 * then, once per batch, the events of profiles a concurrent merge made redirects follow the
 * redirect (`followMerges` in follow-merges.ts: a few queries per batch, none per profile) → the
 * caller produces the changes → the consumer commits. A crash anywhere re-delivers the batch; its
 * events are then duplicates, which still store their event document (in case the crash came
 * before) and still produce their change (with `changed: []`, the profile as it is now), because
 * nobody knows whether the first copy was produced: consumers of `profiles.changes` see
 * at-least-once delivery and de-duplicate by trigger message id.
 *
 * Conflicts (another instance wrote the profile meanwhile: a rebalance, or an event of a
 * merged-away profile following its redirect) re-read and re-apply only that profile's
 * messages, up to `maxAttempts` times.
 *
 * Merge and split notices are handled one at a time between the events around them
 * (apply-merge-notice.ts, apply-split-notice.ts); runs of events in segments
 * (apply-event-segment.ts).
 */
import { enrichmentConfig, type EnrichmentConfig } from '@mosaic/enrichment-domain';
import type { ProfileDocument, ProfileRepository } from '@mosaic/enrichment-data-access';
import { LruMap } from '@mosaic/shared-service';
import { applyEventSegment } from './apply-event-segment';
import { applyMergeNotice } from './apply-merge-notice';
import { applySplitNotice } from './apply-split-notice';
import { type ApplierCore, type ApplierOptions, type BatchStats, type ChangeOut, type InboundResolved, emptyStats } from './batch-context';
import { DEFAULT_MAX_CLOCK_SKEW_MS, StoredEventsWatch, followMerges } from './follow-merges';

export { DEFAULT_MAX_CLOCK_SKEW_MS } from './follow-merges';

/** Read/apply/write attempts per batch segment (or notice) when its profiles keep changing. */
export const DEFAULT_MAX_ATTEMPTS = 10;

export type { ApplierOptions, BatchStats, ChangeOut, InboundResolved } from './batch-context';

export class BatchApplier implements ApplierCore {
  readonly cfg: EnrichmentConfig;
  readonly cache: LruMap<string, ProfileDocument>;
  readonly store: ProfileRepository;
  readonly maxAttempts: number;
  readonly maxClockSkewMs: number;
  readonly now: () => Date;

  constructor(readonly opts: ApplierOptions) {
    this.cfg = enrichmentConfig(opts.config);
    this.store = opts.store;
    this.maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.maxClockSkewMs = opts.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
    this.now = opts.now ?? (() => new Date());
    this.cache = new LruMap(opts.cacheMaxEntries ?? 0);
  }

  async applyBatch(
    items: readonly InboundResolved[],
    hooks: { afterSegment?: () => Promise<void> } = {},
  ): Promise<{ changes: ChangeOut[]; stats: BatchStats }> {
    const stats = emptyStats();
    const changes: ChangeOut[] = [];
    const watch = new StoredEventsWatch(this.now().getTime());
    let run: InboundResolved[] = [];
    const flush = async () => {
      if (run.length === 0) return;
      changes.push(...(await applyEventSegment(this, run, stats, watch)));
      run = [];
      await hooks.afterSegment?.();
    };
    const segment = Math.max(1, this.opts.segmentEvents ?? 100);
    for (const item of items) {
      if (item.payload.kind === 'event') {
        run.push(item);
        if (run.length >= segment) await flush();
        continue;
      }
      await flush();
      if (item.payload.kind === 'merge') changes.push(...(await applyMergeNotice(this, item, item.payload, stats)));
      else changes.push(...(await applySplitNotice(this, item, item.payload, stats)));
      await hooks.afterSegment?.();
    }
    await flush();
    await followMerges(this, watch);
    return { changes, stats };
  }
}
