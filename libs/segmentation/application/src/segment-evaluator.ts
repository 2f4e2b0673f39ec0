/**
 * Runs the engine against the store: a batch of `profiles.changes` (read, apply in memory,
 * compare-and-set write, publish, confirm), due timers of the partitions this instance owns,
 * and backfill pages. Each holds the profiles it touches in `locks`, so the partitions' batches,
 * the timer loop and a backfill never write one profile from stale reads of each other but go on
 * together on others; other instances are kept out by the compare-and-set (a conflict re-reads).
 *
 * Publishing is an outbox: membership changes are written with the state, published, then
 * confirmed. A crash in between leaves the outbox in the document with a due `timerAt`, and
 * whoever owns the partition publishes it again (at least once; `profileVersion` orders them).
 * Before publishing, the changes are counted into the segments' sizes (once each, however often
 * they are published), so a consumer that sees a change reads a size that includes it.
 */
import { KeyedLocks } from '@mosaic/shared-service';
import {
  absorbMerged,
  applyChange,
  applyCluster,
  applyDefinitions,
  applyTimer,
  evaluate,
  lookbackMs,
  planSegments,
  mainIdentifiers,
  windowsFromEvents,
  type ChangeInput,
  type ObservedEvent,
  type ProfileSegmentState,
  type ProfileWindows,
  type SegmentDefinition,
  type SegmentPlan,
  type StepResult,
} from '@mosaic/segmentation-domain';
import {
  SegmentProfilesRepository,
  stateTimer,
  type LoadedProfile,
  type OutboxEntry,
  type ProfileWrite,
  type SegmentProfileDocument,
  type SegmentSizesRepository,
  type StoredEventsRepository,
  type WrittenProfile,
} from '@mosaic/segmentation-data-access';
import { PageBudget } from './page-budget';

export type Publisher = (entries: readonly OutboxEntry[], partitionOf: (profileId: string) => number) => Promise<void>;

export interface EvaluatorOptions {
  store: SegmentProfilesRepository;
  events?: StoredEventsRepository;
  publish: Publisher;
  /** Counts written changes into the segments' sizes, before they are published (./segment-sizes.repository.ts). */
  sizes: Pick<SegmentSizesRepository, 'record'>;
  /** The active segments now. */
  plan: () => SegmentPlan;
  clock?: () => number;
  /** Re-reads of a profile that keeps changing under us (default 10). */
  maxAttempts?: number;
}

export interface ChangeItem {
  change: ChangeInput;
  /** The partition the change came from (the profile's). */
  partition: number;
}

export interface ApplyStats {
  changes: number;
  duplicates: number;
  evaluatedProfiles: number;
  written: number;
  conflicts: number;
  published: number;
}

export interface TimerStats {
  due: number;
  fired: number;
  published: number;
  /** How late each fired timer was (ms). */
  lateness: number[];
  /** How long the query for due timers took (ms). */
  queryMs: number;
}

export interface BackfillPage {
  processed: number;
  changed: number;
  published: number;
  /** The last profile id of the page. */
  lastId?: string;
}

/**
 * Profiles whose first change is in the batch (enrichment's version 1, not a merge): segmentation
 * has stored nothing of them yet, so they need no read.
 */
function firstChanges(items: readonly ChangeItem[]): Set<string> {
  const ids = new Set<string>();
  for (const it of items) if (it.change.version === 1 && !it.change.mergedInto) ids.add(it.change.profileId);
  return ids;
}

export class SegmentEvaluator {
  /** The profiles this instance's evaluations hold. */
  private readonly locks = new KeyedLocks();
  private readonly clock: () => number;
  private readonly maxAttempts: number;

  constructor(private readonly opts: EvaluatorOptions) {
    this.clock = opts.clock ?? Date.now;
    this.maxAttempts = opts.maxAttempts ?? 10;
  }

  /** Applies a batch of changes (one partition's, in order). Resolves once their membership changes are published. */
  applyChanges(items: readonly ChangeItem[]): Promise<ApplyStats> {
    const ids = items.flatMap((it) => (it.change.mergedInto ? [it.change.profileId, it.change.mergedInto] : [it.change.profileId]));
    return this.locks.run(ids, () => this.applyChangesNow(items));
  }

  private async applyChangesNow(items: readonly ChangeItem[]): Promise<ApplyStats> {
    const stats: ApplyStats = { changes: items.length, duplicates: 0, evaluatedProfiles: 0, written: 0, conflicts: 0, published: 0 };
    const partitionOf = new Map<string, number>();
    for (const it of items) partitionOf.set(it.change.profileId, it.partition);
    let pending = new Set<string>();
    for (const it of items) {
      pending.add(it.change.profileId);
      if (it.change.mergedInto) pending.add(it.change.mergedInto);
    }
    const confirmedOutboxes: LoadedProfile[] = [];
    for (let attempt = 1; pending.size > 0; attempt += 1) {
      if (attempt > this.maxAttempts) throw new Error(`profiles kept changing under ${this.maxAttempts} attempts: ${[...pending].slice(0, 5).join(', ')}`);
      const now = this.clock();
      const plan = this.opts.plan();
      const losers = items.filter((it) => it.change.mergedInto && pending.has(it.change.mergedInto)).map((it) => it.change.profileId);
      const loaded = await this.opts.store.load([...new Set([...pending, ...losers])], false, attempt === 1 ? firstChanges(items) : undefined);
      const states = new Map<string, ProfileSegmentState>();
      const entries = new Map<string, OutboxEntry[]>();
      const touched = new Set<string>();
      const stateOf = (id: string): ProfileSegmentState => states.get(id) ?? (loaded.get(id) as LoadedProfile).state;
      const take = (id: string, r: StepResult): void => {
        states.set(id, r.state);
        if (r.changed) touched.add(id);
        const list = entries.get(id) ?? [];
        for (const d of r.deltas) list.push({ ...d, profileId: id, identifiers: mainIdentifiers(r.state.profile) });
        entries.set(id, list);
      };
      for (const it of items) {
        const id = it.change.profileId;
        if (pending.has(id)) {
          const r = applyChange(stateOf(id), it.change, plan, now);
          if (attempt === 1 && r.duplicate) stats.duplicates += 1;
          take(id, r);
        }
        const survivor = it.change.mergedInto;
        if (survivor && pending.has(survivor)) take(survivor, absorbMerged(stateOf(survivor), stateOf(id), plan, now));
      }
      stats.evaluatedProfiles += states.size;
      const writes: ProfileWrite[] = [];
      for (const id of pending) {
        const l = loaded.get(id) as LoadedProfile;
        if (touched.has(id) || (l.doc && l.doc.partition < 0 && partitionOf.has(id))) {
          writes.push({ loaded: l, state: stateOf(id), entries: entries.get(id) ?? [], partition: partitionOf.get(id) ?? -1 });
        } else if (l.outbox.length > 0) {
          confirmedOutboxes.push(l); // a redelivery after a crash before publishing: publish now
        }
      }
      const { results, written } = await this.opts.store.write(writes);
      stats.written += written.length;
      stats.published += await this.publishAndConfirm(written, writes);
      const conflicted = [...results].filter(([, r]) => r === 'conflict').map(([id]) => id);
      stats.conflicts += conflicted.length;
      pending = new Set(conflicted);
    }
    stats.published += await this.republish(confirmedOutboxes);
    return stats;
  }

  private async publishAndConfirm(written: readonly WrittenProfile[], writes: readonly ProfileWrite[]): Promise<number> {
    const partitions = new Map(writes.map((w) => [w.state.profileId, w.partition >= 0 ? w.partition : (w.loaded.doc?.partition ?? 0)]));
    return this.publishOutboxes(written, (id) => Math.max(0, partitions.get(id) ?? 0));
  }

  private async republish(profiles: readonly LoadedProfile[]): Promise<number> {
    const withDoc = profiles.filter((p): p is LoadedProfile & { doc: SegmentProfileDocument } => p.doc !== null && p.outbox.length > 0);
    if (withDoc.length === 0) return 0;
    const partitions = new Map(withDoc.map((p) => [p.doc._id, Math.max(0, p.doc.partition)]));
    const pending = withDoc.map((p) => ({ id: p.doc._id, writeId: p.doc.writeId, outbox: p.outbox, timerAt: stateTimer(p.state) }));
    return this.publishOutboxes(pending, (id) => partitions.get(id) ?? 0);
  }

  /** Size deltas first, then the changes, then the outboxes confirmed: a crash in between repeats a step, never skips one. */
  private async publishOutboxes(written: readonly WrittenProfile[], partitionOf: (profileId: string) => number): Promise<number> {
    const entries = written.flatMap((w) => w.outbox);
    await this.opts.sizes.record(entries);
    if (entries.length > 0) await this.opts.publish(entries, partitionOf);
    await this.opts.store.confirm(written);
    return entries.length;
  }

  /** Fires the due timers (and unconfirmed outboxes) of these partitions. */
  async fireDue(partitions: readonly number[], limit = 200): Promise<TimerStats> {
    // The query runs outside the locks (on a server without usable indexes it scans); what it
    // read may be older than this instance's latest writes: the cached copy is used when newer,
    // and a write from a stale copy loses its compare-and-set (the next round sees the new timer).
    const queried = Date.now();
    const found = await this.opts.store.due(partitions, new Date(this.clock()), limit);
    const queryMs = Date.now() - queried;
    const ids = found.map((d) => d._id);
    return this.locks.run(ids, async () => {
      const nowDate = new Date(this.clock());
      const docs = this.opts.store.freshest(found);
      const stats: TimerStats = { due: docs.length, fired: 0, published: 0, lateness: [], queryMs };
      if (docs.length === 0) return stats;
      const plan = this.opts.plan();
      const now = nowDate.getTime();
      const writes: ProfileWrite[] = [];
      const outboxOnly: LoadedProfile[] = [];
      const retime: WrittenProfile[] = [];
      for (const doc of docs) {
        const l = SegmentProfilesRepository.parse(doc, doc._id);
        const timers = Object.values(l.state.timers).filter((t) => t <= now);
        if (timers.length === 0) {
          if (l.outbox.length > 0) outboxOnly.push(l);
          else retime.push({ id: doc._id, writeId: doc.writeId, outbox: [], timerAt: stateTimer(l.state) });
          continue;
        }
        stats.fired += 1;
        stats.lateness.push(now - Math.min(...timers));
        const r = applyTimer(l.state, plan, now);
        writes.push({
          loaded: l,
          state: r.state,
          entries: r.deltas.map((d) => ({ ...d, profileId: doc._id, identifiers: mainIdentifiers(r.state.profile) })),
          partition: doc.partition,
        });
      }
      const { written } = await this.opts.store.write(writes); // a conflict: the profile moved on; its new timer is in the document
      stats.published += await this.publishAndConfirm(written, writes);
      stats.published += await this.republish(outboxOnly);
      await this.opts.store.retime(retime);
      return stats;
    });
  }

  /**
   * One page of a backfill: re-evaluates `keys` over these profiles (as read by the backfill's
   * scan; windows rebuilt from stored events for windowed segments). Profiles that changed
   * meanwhile fail the compare-and-set and are re-read and redone.
   */
  backfillPage(keys: ReadonlySet<string>, docs: readonly SegmentProfileDocument[]): Promise<BackfillPage> {
    const ids = docs.map((d) => d._id);
    return this.locks.run(ids, async () => {
      const out: BackfillPage = { processed: docs.length, changed: 0, published: 0, lastId: docs[docs.length - 1]?._id };
      let current = docs.filter((d) => !d.mergedInto);
      for (let attempt = 1; current.length > 0 && attempt <= this.maxAttempts; attempt += 1) {
        const now = this.clock();
        const plan = this.opts.plan();
        const rebuilt = await this.rebuild(
          plan,
          keys,
          current.map((d) => d._id),
          now,
        );
        const writes: ProfileWrite[] = [];
        for (const doc of current) {
          const l = SegmentProfilesRepository.parse(doc, doc._id);
          const r = applyDefinitions(l.state, plan, keys, now, rebuilt.get(doc._id));
          if (!r.changed) continue;
          writes.push({
            loaded: l,
            state: r.state,
            entries: r.deltas.map((d) => ({ ...d, profileId: doc._id, identifiers: mainIdentifiers(r.state.profile) })),
            partition: doc.partition,
          });
        }
        const { results, written } = await this.opts.store.write(writes);
        out.changed += written.length;
        out.published += await this.publishAndConfirm(written, writes);
        const conflicted = [...results].filter(([, r]) => r === 'conflict').map(([id]) => id);
        current =
          conflicted.length > 0
            ? [...(await this.opts.store.load(conflicted, true)).values()]
                .map((l) => l.doc)
                .filter((d): d is SegmentProfileDocument => d !== null && !d.mergedInto)
            : [];
      }
      return out;
    });
  }

  /**
   * Applies a clustering job's assignments (profile id → cluster index), in pages, each holding
   * its profiles; the cluster segments of changed profiles publish their entries and exits.
   */
  async assignClusters(job: string, assignments: ReadonlyMap<string, number>, pageSize = 200): Promise<{ changed: number; published: number }> {
    const ids = [...assignments.keys()];
    const out = { changed: 0, published: 0 };
    for (let i = 0; i < ids.length; i += pageSize) {
      const page = ids.slice(i, i + pageSize);
      await this.locks.run(page, async () => {
        let pending = page;
        for (let attempt = 1; pending.length > 0 && attempt <= this.maxAttempts; attempt += 1) {
          const now = this.clock();
          const plan = this.opts.plan();
          const loaded = await this.opts.store.load(pending);
          const writes: ProfileWrite[] = [];
          for (const [id, l] of loaded) {
            if (!l.doc) continue;
            const r = applyCluster(l.state, plan, job, assignments.get(id), now);
            if (!r.changed) continue;
            writes.push({
              loaded: l,
              state: r.state,
              entries: r.deltas.map((d) => ({ ...d, profileId: id, identifiers: mainIdentifiers(r.state.profile) })),
              partition: l.doc.partition,
            });
          }
          const { results, written } = await this.opts.store.write(writes);
          out.changed += written.length;
          out.published += await this.publishAndConfirm(written, writes);
          pending = [...results].filter(([, r]) => r === 'conflict').map(([id]) => id);
        }
      });
    }
    return out;
  }

  /**
   * An unsaved definition over stored profiles (read-only): how many match, a sample. Scans at most `maxProfiles` (store
   * order), no further page that would end past `maxMillis` (`PageBudget`); `scanned` says how many it read.
   */
  async preview(
    definition: SegmentDefinition,
    opts: { maxProfiles: number; sample: number; maxMillis?: number; pageSize?: number },
  ): Promise<{ scanned: number; matched: number; sample: string[]; complete: boolean }> {
    const budget = new PageBudget(this.clock, opts.maxMillis);
    const seg = { key: definition.key, version: 0, definition };
    const plan = planSegments([seg]);
    const keys = new Set([definition.key]);
    const pageSize = opts.pageSize ?? 500;
    let scanned = 0;
    let matched = 0;
    const sample: string[] = [];
    for await (const page of this.opts.store.scan(pageSize, opts.maxProfiles)) {
      if (scanned > 0 && !budget.nextPageFits()) return { scanned, matched, sample, complete: false };
      const docs = page.slice(0, opts.maxProfiles - scanned);
      const now = this.clock();
      const live = docs.filter((d) => !d.mergedInto);
      const rebuilt = await this.rebuild(
        plan,
        keys,
        live.map((d) => d._id),
        now,
      );
      for (const doc of live) {
        const state = SegmentProfilesRepository.parse(doc, doc._id).state;
        if (!state.profile) continue;
        const r = evaluate(
          definition,
          { profile: state.profile, windows: windowsOf(rebuilt.get(doc._id), definition.key), segments: state.qualified },
          { now },
        );
        if (!r.member) continue;
        matched += 1;
        if (sample.length < opts.sample) sample.push(doc._id);
      }
      scanned += docs.length;
      if (scanned >= opts.maxProfiles) return { scanned, matched, sample, complete: false };
    }
    return { scanned, matched, sample, complete: true };
  }

  /** Window states of the windowed segments among `keys`, rebuilt from stored events, per profile. */
  private async rebuild(
    plan: SegmentPlan,
    keys: ReadonlySet<string>,
    ids: readonly string[],
    now: number,
  ): Promise<Map<string, Record<string, ProfileWindows>>> {
    const out = new Map<string, Record<string, ProfileWindows>>();
    const windowed = plan.segments.filter((s) => keys.has(s.key) && s.windowed);
    if (windowed.length === 0 || !this.opts.events) return out;
    const lookback = Math.max(...windowed.map(lookbackMs));
    const events = await this.opts.events.forProfiles(ids, new Date(now - lookback));
    for (const id of ids) {
      const evs: ObservedEvent[] = events.get(id) ?? [];
      const per: Record<string, ProfileWindows> = {};
      for (const s of windowed) per[s.key] = windowsFromEvents(s, evs, now);
      out.set(id, per);
    }
    return out;
  }
}

/** The rebuilt windows of one segment: an own property only (a segment may be keyed `toString`). */
function windowsOf(rebuilt: Record<string, ProfileWindows> | undefined, segmentKey: string): ProfileWindows {
  return rebuilt !== undefined && Object.hasOwn(rebuilt, segmentKey) ? (rebuilt[segmentKey] as ProfileWindows) : {};
}
