/**
 * Resolves a Kafka batch of events with the domain's `resolveEvent`, keeping MongoDB reads off
 * the per-message path and staying correct when other instances change the graph.
 *
 * ## Reads: one batch snapshot, filled up front
 * Per batch, before the first message: (1) the processed records of the messages that were
 * delivered before — at or below the partition's checkpoint `processedUpTo`, raised by every batch
 * once its records are stored (one point read of it, then one `$in` for those, usually none); a
 * message past it is presumed new, and its record is read only if its plan is about to write —
 * together after (2) for the messages that will likely write (an identifier not known yet, or
 * identifiers on different profiles), just before the first write for any other
 * (`confirmProcessed`) — so a message sent twice never changes the graph twice;
 * (2) the identity documents of every identifier the batch carries — from the instance's
 * `IdentifierCache`, the misses with one `$in`; (3) the profiles those point at and their
 * redirect chains — from the instance's `ProfileCache`, the misses with one `$in` per hop
 * (usually one); (4) pointers the profiles do not confirm: their cached profiles read fresh
 * first, then the pointers read again (one `$in`, see below).
 * Messages are then resolved in order against that snapshot; whatever a plan needs beyond it
 * (pending claims of half-applied plans, merge intents) is read on demand. A write that
 * applied updates the snapshot (and the cache), so message n sees what message n-1 did.
 *
 * ## Pointers are never older than the profiles they are planned with
 * A pointer `identifier → profile` changes owner only by a move (merge protection), a split, or
 * the reclaim of a pointer whose profile expired. model.ts orders those writes so that the
 * source profile unlists the identifier (leaving a `release` claim) *before* the pointer is
 * compare-and-set, and a profile lists an identifier as committed (no claim on it) only once
 * the pointer leads to it. So a pointer whose chain ends at a live profile listing it with no
 * claim is consistent with that profile however old either read is. Any other pointer —
 * unlisted, claimed, chain ending at a missing profile — is read again *after* the profiles of
 * its chain, on every message that uses it: same version, and pointer and profiles agree;
 * another version, and its new chain is fetched and checked in turn. Without this, a pointer
 * read before another instance moved the identifier, planned together with its old owner's
 * profile read (or written by this batch) after the move, makes the planner "repair" the old
 * owner's listing. A merge by another instance needs no invalidation of pointers: the cached
 * pointer still leads to the loser, whose fresh document redirects to the survivor.
 *
 * ## Cached profiles, and how they learn of other instances' writes
 * An event whose identifiers all sit on one live profile writes nothing, so nothing would ever
 * conflict: a cached profile that another instance merged meanwhile would still look live and
 * the event would go to the loser. So the profiles each batch changed (`writtenProfiles`) are
 * announced on `identity.profile-writes` before the batch's offsets are committed — kept by the
 * `ProfileWritesAnnouncer` until Kafka acknowledged them, so a failed announcement, or a batch
 * that failed after writing, is announced with the next batch — and every
 * instance drops what others announce (`ProfileWritesFeed`); the cache serves only while that
 * feed is caught up and connected, and an entry lives at most its TTL (the bound when a writer
 * dies before announcing). An event can still resolve to a profile merged elsewhere until the
 * announcement arrives — the same race a fresh read has with a merge a moment later; the merge
 * notice and the redirect take care of it downstream (DESIGN §4). A cached profile that is
 * *older* than a pointer (it does not list it) is read fresh before the pointer is (step 4), so
 * no plan is made on it. Writes planned on a stale cached profile fail their compare-and-set and
 * re-plan on fresh documents, like any stale read.
 *
 * Cost with warm caches: no read for a read-only batch (plus the checkpoint's write, and one
 * bulk write of processed/audit records at the end; the checkpoint is read once per partition,
 * see `redelivered`); cold caches one identity `$in` and one profile `$in` more; pointers in
 * flight (claimed) one more read per message using them. Per message otherwise: only the
 * plan's writes.
 *
 * ## Conflicts
 * A strict write that fails its condition means the snapshot was stale for this message: every
 * document the message read is dropped from the snapshot (and its identity documents from the
 * cache) before `resolveEvent` re-plans, so the re-plan reads them fresh. Best-effort writes
 * that were skipped drop their document too. Before the conflict is reported, the session waits
 * a random, growing delay (0–2 ms, 0–4 ms, … capped at `maxConflictBackoffMs`): `resolveEvent`
 * re-plans at once, and two messages that each move an identifier off the other's profile can
 * otherwise conflict in lockstep indefinitely (each re-writes its own survivor, then fails on
 * the other's) — the jitter breaks the symmetry.
 *
 * ## Processed and audit records
 * Buffered and written once per batch (audit first, then processed records — the order
 * `resolveEvent` uses), before the caller produces anything to Kafka. If the process dies in
 * between, the re-delivered messages re-plan: a message whose effects are already in the graph
 * writes nothing and re-derives the same outcome and notices (planner.ts). If a message fails,
 * the records of the messages before it are still written before the error propagates.
 */
import { resolveEvent, type IdentityEventInput, type IdentityRules, type ResolutionOutcome } from '@mosaic/identity-domain';
import { type BatchIdentityStore, type IdentifierCache, type ProfileCache, partitionKey } from '@mosaic/identity-data-access';
import { BatchSession, type BatchCounters } from './batch-session';
import type { ProfileWritesAnnouncer } from './profile-writes.announcer';

export interface BatchResolverOptions {
  store: BatchIdentityStore;
  cache: IdentifierCache;
  profileCache: ProfileCache;
  /** Told the profiles each batch changed, also of a batch that failed after writing (the service's `ProfileWritesAnnouncer`). */
  announcer?: Pick<ProfileWritesAnnouncer, 'note'>;
  newProfileId: () => string;
  now?: () => Date;
  /** Plan/apply attempts per message (domain default 10). */
  maxAttempts?: number;
  /** How long processed records are kept (domain default 30 days). */
  processedTtlMs?: number;
  /** Cap of the jittered wait after a conflict (default 50 ms; 0 disables). */
  maxConflictBackoffMs?: number;
  /** Uniform in [0, 1) (default Math.random). */
  random?: () => number;
}

export interface ResolvedItem {
  outcome: ResolutionOutcome;
  /** Time spent resolving this message (its share of the batch's reads not included). */
  durationMs: number;
}

/** What one batch cost, for metrics. */
export interface BatchStats extends BatchCounters {
  messages: number;
  prefetchMs: number;
  flushMs: number;
}

export interface ResolveBatchOptions {
  /** Called after each message (e.g. a consumer heartbeat). */
  afterEach?: (index: number) => Promise<void> | void;
  /**
   * Where the events were read (one partition, each event's offset): processed records are then
   * read only for events at or below the partition's `processedUpTo` (re-deliveries), and the
   * batch raises it once its records are stored. Without it, every event's record is read.
   */
  source?: { topic: string; partition: number; offsets: readonly number[] };
}

export class BatchResolver {
  /** The highest checkpoint this instance read or wrote, by `partitionKey`. */
  private readonly checkpoints = new Map<string, number>();

  constructor(private readonly opts: BatchResolverOptions) {}

  get cache(): IdentifierCache {
    return this.opts.cache;
  }

  get profileCache(): ProfileCache {
    return this.opts.profileCache;
  }

  /** Resolves `events` in order with `rules`; see the file comment. Throws the first message's error (after storing what completed). */
  async resolveBatch(
    events: readonly IdentityEventInput[],
    rules: IdentityRules,
    options: ResolveBatchOptions = {},
  ): Promise<{ items: ResolvedItem[]; stats: BatchStats; writtenProfiles: string[] }> {
    const now = this.opts.now ?? (() => new Date());
    const session = new BatchSession(
      this.opts.store,
      this.opts.cache,
      this.opts.profileCache,
      this.opts.maxConflictBackoffMs ?? 50,
      this.opts.random ?? Math.random,
    );
    const started = performance.now();
    await session.prefetch(events, rules, await this.redelivered(options.source));
    const prefetchMs = performance.now() - started;

    const deps = {
      rules,
      now,
      newProfileId: this.opts.newProfileId,
      ...(this.opts.maxAttempts === undefined ? {} : { maxAttempts: this.opts.maxAttempts }),
      ...(this.opts.processedTtlMs === undefined ? {} : { processedTtlMs: this.opts.processedTtlMs }),
    };
    const items: ResolvedItem[] = [];
    try {
      for (let i = 0; i < events.length; i += 1) {
        session.beginMessage();
        const t0 = performance.now();
        const outcome = await resolveEvent(session, events[i] as IdentityEventInput, deps);
        items.push({ outcome, durationMs: performance.now() - t0 });
        await options.afterEach?.(i);
      }
    } catch (err) {
      await session.flush().catch(() => undefined);
      throw err;
    } finally {
      this.opts.announcer?.note(session.writtenProfiles);
    }
    const flushStarted = performance.now();
    await session.flush();
    await this.markStored(options.source);
    return {
      items,
      stats: { ...session.stats, messages: events.length, prefetchMs, flushMs: performance.now() - flushStarted },
      writtenProfiles: [...session.writtenProfiles],
    };
  }

  /**
   * Which events were delivered before: those at or below the partition's `processedUpTo` (all when
   * no source is given). The checkpoint is read from the store until this instance has one for the
   * partition, then taken from memory: checkpoints only rise, so the remembered one is at most the
   * stored one (lower after another instance owned the partition meanwhile), and a message above it
   * is presumed new — the same safe path as a partition with no checkpoint yet, only without the
   * up-front read of its processed record.
   */
  private async redelivered(source: ResolveBatchOptions['source']): Promise<(index: number) => boolean> {
    if (!source) return () => true;
    const key = partitionKey(source.topic, source.partition);
    const upTo = this.checkpoints.get(key) ?? (await this.opts.store.processedUpTo(source.topic, source.partition));
    if (upTo !== null) this.remember(key, upTo);
    // none yet (a new partition, or one last processed before checkpoints existed): presumed new, which
    // `confirmProcessed` makes safe for every message whose plan writes
    if (upTo === null) return () => false;
    return (index) => (source.offsets[index] ?? Infinity) <= upTo;
  }

  private async markStored(source: ResolveBatchOptions['source']): Promise<void> {
    if (!source || source.offsets.length === 0) return;
    const upTo = Math.max(...source.offsets);
    await this.opts.store.markProcessedUpTo(source.topic, source.partition, upTo);
    this.remember(partitionKey(source.topic, source.partition), upTo);
  }

  private remember(key: string, upTo: number): void {
    this.checkpoints.set(key, Math.max(upTo, this.checkpoints.get(key) ?? upTo));
  }
}
