/**
 * What the batch applier's steps share: the options, the per-instance profile cache and the
 * types of a batch's input, output and counters (batch-applier.ts explains the whole).
 */
import type { ProfileChange, ResolvedMessage } from '@mosaic/contracts';
import type { CategoryPriceIndex, EnrichmentConfig } from '@mosaic/enrichment-domain';
import type { ProfileDocument, ProfileRepository } from '@mosaic/enrichment-data-access';
import type { LruMap } from '@mosaic/shared-service';

export interface InboundResolved {
  /** Envelope messageId (the raw event's for events; deterministic for notices). */
  messageId: string;
  correlationId: string;
  payload: ResolvedMessage;
}

export interface ChangeOut {
  key: string;
  /** Envelope messageId of the change: `chg:<profileId>:<trigger messageId>`. */
  messageId: string;
  correlationId: string;
  change: ProfileChange;
  /** The trigger had been applied before (a redelivery or replay). */
  duplicate: boolean;
}

export interface ApplierOptions {
  store: ProfileRepository;
  config?: Partial<EnrichmentConfig>;
  /** Anonymous profiles expire this long after their last activity (default one year). */
  anonymousTtlMs: number;
  /** Merged-away profiles stay as redirects this long (default 30 days). */
  redirectTtlMs: number;
  /** Events are kept this long after their time (the timeline; default 400 days). */
  eventRetentionMs: number;
  maxAttempts?: number;
  now?: () => Date;
  priceIndex?: () => CategoryPriceIndex | undefined;
  /** Prices seen on product events (the service's category price index). */
  observePrice?: (category: string, price: number) => void;
  /**
   * Profile documents kept in memory between batches (LRU; 0 = none). Safe because every write
   * is a compare-and-set on the version: a stale copy (another instance wrote meanwhile, the RFM
   * job, the sweep) makes the write conflict, and a conflict drops the copy and re-reads.
   */
  cacheMaxEntries?: number;
  /**
   * Events applied per read-apply-write round (default 100). A long Kafka batch is applied in
   * such segments with a consumer heartbeat after each, so a slow store never outlives the
   * consumer session.
   */
  segmentEvents?: number;
  /**
   * How far apart the clocks of the enrichment instances may be (default 5 s): the window of
   * redirects a batch asks for (follow-merges.ts) and how late a merge may file its redirect.
   */
  maxClockSkewMs?: number;
}

export interface BatchStats {
  /** Profile documents found in the per-instance cache / read from MongoDB. */
  cacheHits: number;
  cacheMisses: number;
  /** Profiles identity had just created (`profileCreated`), so not read at all. */
  createdUnread: number;
  applied: number;
  duplicates: number;
  merges: number;
  splits: number;
  conflicts: number;
  profilesWritten: number;
}

/** The applier's state its steps work over (one per `BatchApplier`, shared by every batch). */
export interface ApplierCore {
  readonly opts: ApplierOptions;
  readonly store: ProfileRepository;
  readonly cfg: EnrichmentConfig;
  readonly cache: LruMap<string, ProfileDocument>;
  readonly maxAttempts: number;
  readonly maxClockSkewMs: number;
  readonly now: () => Date;
}

export function emptyStats(): BatchStats {
  return { cacheHits: 0, cacheMisses: 0, createdUnread: 0, applied: 0, duplicates: 0, merges: 0, splits: 0, conflicts: 0, profilesWritten: 0 };
}

/** Jittered back-off between attempts (so two writers of one profile do not collide again in step). */
export function jitter(attempt: number): Promise<void> {
  const ms = Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random());
  return new Promise((r) => setTimeout(r, ms));
}

/** What an attempt of `retryOnConflict` returns when its compare-and-set lost to another writer. */
export const CONFLICT = Symbol('conflict');

/**
 * Runs `attempt` (numbered from 1) until it returns anything but CONFLICT, waiting a jittered
 * back-off after each conflict (counted in `stats.conflicts`); after `core.maxAttempts` conflicts
 * it throws "`what` kept changing".
 */
export async function retryOnConflict<T>(core: ApplierCore, stats: BatchStats, what: string, attempt: (n: number) => Promise<T | typeof CONFLICT>): Promise<T> {
  for (let n = 1; n <= core.maxAttempts; n += 1) {
    const result = await attempt(n);
    if (result !== CONFLICT) return result;
    stats.conflicts += 1;
    await jitter(n);
  }
  throw new Error(`${what} kept changing`);
}
