/**
 * Segment sizes kept from membership changes, never counted per request, exact across crashes
 * and with several instances, on FerretDB as on MongoDB.
 *
 * FerretDB 1.24 applies a filtered update in separate read and write steps, so two writers of one
 * document can both "match" (see @mosaic/shared-mongo's cas.ts); only a unique-key insert is
 * atomic. So every document here has one writer, and shared decisions are inserts:
 * - Every membership change leaves the outbox of its profile's document only after a delta for
 *   it was inserted into `segmentation_size_deltas`, keyed by profile, membership version and
 *   time: a change published twice (an unconfirmed outbox published again, or carried into a
 *   newer write, by any instance) is recorded once, because its key is taken. The delta names the
 *   instance that recorded it.
 * - Each instance folds only its own deltas into its own counter document in
 *   `segmentation_sizes` (all its segments' sums): it marks its unsettled deltas with a fold id,
 *   adds their sums to its counter together with the fold id, then marks them settled. A round
 *   repeated after a crash finds the fold id in the counter and does not add it twice.
 * - Settled deltas stay as tombstones for `keepMs` (24 h): an outbox whose confirmation failed
 *   after its changes were recorded is published and recorded again later and must find them.
 *   Any instance prunes tombstones of any fold older than that (deleting them changes no size).
 *
 * A size is the sum of every instance's counter plus the unsettled deltas not yet in one. Deltas
 * are read before counters, and a counter keeps a fold's id for a while after the fold settled
 * its deltas, so a read that overlaps a fold counts each change once. Deltas recorded by an
 * instance that stopped before folding them stay unsettled and are counted from there.
 */
import { randomUUID } from 'node:crypto';
import { Schema, type Connection, type mongo } from 'mongoose';
import { ensureSchemaIndexes, insertAbsent, isDuplicateKeyError, openDb } from '@mosaic/shared-mongo';

export const SIZE_COLLECTIONS = Object.freeze({
  deltas: 'segmentation_size_deltas',
  counters: 'segmentation_sizes',
  folds: 'segmentation_size_folds',
});

/** What a membership change contributes to its segment's size. */
export interface MembershipCount {
  profileId: string;
  segmentKey: string;
  change: 'entered' | 'exited';
  /** The profile's membership version after the change. */
  profileVersion: number;
  /** When it changed (ISO). */
  at: string;
}

export interface SizeDeltaDocument {
  /** `profileId|membershipVersion|at`: the change's identity, the same however often it is published. */
  _id: string;
  segment: string;
  delta: 1 | -1;
  /** The instance that recorded it (the only one that folds it). */
  by: string;
  /** The fold that claimed it; null until then. */
  fold: string | null;
  /** In its instance's counter (kept as a tombstone until its fold is pruned). */
  settled: boolean;
}

export interface SizeCounterDocument {
  /** The instance id (or `~seeded` for the counts taken when sizes were first kept). */
  _id: string;
  /** JSON text of `{segment key: sum}` (keys may hold dots, so not field names; FerretDB stores no nested arrays). */
  sums: string;
  /** Folds already added (kept a while after their deltas are settled, for readers). */
  folds: string[];
}

/** A finished fold, pruned with its tombstones after `keepMs`. */
export interface SizeFoldDocument {
  _id: string;
  at: Date;
}

export const SizeDeltaSchema = new Schema(
  {
    _id: { type: String, required: true },
    segment: { type: String, required: true },
    delta: { type: Number, required: true },
    by: { type: String, required: true },
    fold: { type: String, default: null },
    settled: { type: Boolean, required: true },
  },
  { collection: SIZE_COLLECTIONS.deltas, versionKey: false },
);
SizeDeltaSchema.index({ settled: 1, by: 1, fold: 1 });

export const SizeCounterSchema = new Schema(
  {
    _id: { type: String, required: true },
    sums: { type: String, required: true },
    folds: { type: [String], default: [] },
  },
  { collection: SIZE_COLLECTIONS.counters, versionKey: false },
);

export const SizeFoldSchema = new Schema(
  { _id: { type: String, required: true }, at: { type: Date, required: true } },
  { collection: SIZE_COLLECTIONS.folds, versionKey: false },
);

/** Reads of `sizes()` before it answers from the last one even though a fold landed during it. */
const MAX_SIZE_READS = 5;

/** The counter of the counts taken when sizes were first kept (not an instance id: those are never `~…`). */
const SEEDED = '~seeded';

export interface FoldOptions {
  /** How long a counter remembers a fold whose deltas are settled (default 60 s). */
  rememberMs?: number;
  /** How long settled deltas are kept as tombstones (default 24 h). */
  keepMs?: number;
}

export class SegmentSizesRepository {
  /** This instance's counter as last written (undefined until loaded). */
  private counter: SizeCounterDocument | undefined;
  /** Whether a round has anything to fold: changes recorded since the last round, or (at start) what a crash left. */
  private dirty = true;
  /** Folds this instance finished, by when: their ids leave its counter after `rememberMs`. */
  private readonly finished: { fold: string; at: number }[] = [];

  constructor(
    private readonly conn: Connection,
    private readonly instanceId: string,
  ) {}

  async ensureIndexes(): Promise<void> {
    await ensureSchemaIndexes(this.conn, [
      ['SegmentationSizeDelta', SizeDeltaSchema],
      ['SegmentationSizeCounter', SizeCounterSchema],
      ['SegmentationSizeFold', SizeFoldSchema],
    ]);
  }

  private get deltas(): mongo.Collection<SizeDeltaDocument> {
    return openDb(this.conn).collection<SizeDeltaDocument>(SIZE_COLLECTIONS.deltas);
  }

  private get counters(): mongo.Collection<SizeCounterDocument> {
    return openDb(this.conn).collection<SizeCounterDocument>(SIZE_COLLECTIONS.counters);
  }

  private get folds(): mongo.Collection<SizeFoldDocument> {
    return openDb(this.conn).collection<SizeFoldDocument>(SIZE_COLLECTIONS.folds);
  }

  /** Records the changes (one command); a change recorded before, by any instance, is left as it is. */
  async record(changes: readonly MembershipCount[]): Promise<void> {
    if (changes.length === 0) return;
    const docs: SizeDeltaDocument[] = changes.map((c) => ({
      _id: `${c.profileId}|${c.profileVersion}|${c.at}`,
      segment: c.segmentKey,
      delta: c.change === 'entered' ? 1 : -1,
      by: this.instanceId,
      fold: null,
      settled: false,
    }));
    try {
      await insertAbsent(this.deltas, docs);
    } finally {
      this.dirty = true; // after the insert: a round that began meanwhile may not have seen it
    }
  }

  /**
   * Counts once, on the first start of a version that keeps sizes over profiles stored by an
   * older one (which recorded no deltas): one `countDocuments` per segment. The instance whose
   * insert of the seeded counter lands does it; docs/segmentation.md says to upgrade with
   * segmentation stopped, so that no change happens meanwhile.
   */
  async seedOnce(keys: readonly string[], count: (key: string) => Promise<number>): Promise<boolean> {
    if ((await this.counters.countDocuments({}, { limit: 1 })) > 0 || (await this.deltas.countDocuments({}, { limit: 1 })) > 0) return false;
    try {
      await this.counters.insertOne({ _id: SEEDED, sums: '{}', folds: [] });
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
    const sums = new Map<string, number>();
    for (const key of keys) sums.set(key, await count(key));
    await this.counters.replaceOne({ _id: SEEDED }, { sums: sumsText(sums), folds: [] });
    return true;
  }

  /**
   * Every segment's size (segments never entered are absent). The unsettled deltas are read
   * between two reads of the counters and the read is repeated when a fold landed in between
   * (its deltas may have been read before it marked them, and its sums after): a fold that has
   * not written its counter yet is counted from its deltas, one that has from its counter.
   */
  async sizes(): Promise<Map<string, number>> {
    for (let attempt = 1; ; attempt += 1) {
      const before = await this.readCounters();
      const pending = await this.readPending();
      const after = await this.readCounters();
      if (JSON.stringify(before) === JSON.stringify(after) || attempt === MAX_SIZE_READS) return sizesOf(after, pending);
    }
  }

  protected readCounters(): Promise<SizeCounterDocument[]> {
    return this.counters.find({}).sort({ _id: 1 }).toArray();
  }

  protected readPending(): Promise<SizeDeltaDocument[]> {
    return this.deltas.find({ settled: false }).toArray();
  }

  /** One round: folds this instance's unsettled deltas into its counter. Returns how many it folded. */
  async fold(opts: FoldOptions = {}, now = Date.now()): Promise<number> {
    await this.forgetOldFolds(now - (opts.rememberMs ?? 60_000));
    await this.pruneTombstones(new Date(now - (opts.keepMs ?? 24 * 3600_000)));
    if (!this.dirty) return 0; // nothing recorded since the last round: no queries
    this.dirty = false; // a change recorded during this round sets it again
    try {
      let folded = 0;
      for (const fold of await this.unfinishedFolds()) folded += await this.finish(fold, now);
      const fold = randomUUID();
      await this.deltas.updateMany({ settled: false, by: this.instanceId, fold: null }, { $set: { fold } });
      folded += await this.finish(fold, now);
      return folded;
    } catch (err) {
      this.dirty = true; // the next round finishes what this one left
      throw err;
    }
  }

  private async ownCounter(): Promise<SizeCounterDocument> {
    this.counter ??= (await this.counters.findOne({ _id: this.instanceId })) ?? { _id: this.instanceId, sums: '{}', folds: [] };
    return this.counter;
  }

  /** Folds of this instance that were marked but not settled (this round's start, or a crash's). */
  private async unfinishedFolds(): Promise<string[]> {
    const docs = await this.deltas.find({ settled: false, by: this.instanceId, fold: { $ne: null } }, { projection: { fold: 1 } }).toArray();
    return [...new Set(docs.map((d) => d.fold).filter((f): f is string => f !== null))];
  }

  /** Adds a marked fold's deltas to the counter (unless it holds the fold already), then settles them. */
  private async finish(fold: string, now: number): Promise<number> {
    const docs = await this.deltas.find({ settled: false, by: this.instanceId, fold }).toArray();
    if (docs.length === 0) return 0;
    const counter = await this.ownCounter();
    if (!counter.folds.includes(fold)) {
      const sums = sumsOf(counter);
      for (const d of docs) sums.set(d.segment, (sums.get(d.segment) ?? 0) + d.delta);
      await this.writeCounter({ ...counter, sums: sumsText(sums), folds: [...counter.folds, fold] });
    }
    await this.logFold(fold, new Date(now));
    await this.deltas.updateMany({ settled: false, by: this.instanceId, fold }, { $set: { settled: true } });
    this.finished.push({ fold, at: now });
    return docs.length;
  }

  private async writeCounter(next: SizeCounterDocument): Promise<void> {
    await this.counters.replaceOne({ _id: next._id }, { sums: next.sums, folds: next.folds }, { upsert: true });
    this.counter = next;
  }

  private async logFold(fold: string, at: Date): Promise<void> {
    try {
      await this.folds.insertOne({ _id: fold, at });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err; // logged before a crash
    }
  }

  /** Deletes the tombstones of folds older than `before` (one delete per fold: by equality, which the store indexes). */
  private async pruneTombstones(before: Date): Promise<void> {
    for (const f of await this.folds.find({ at: { $lt: before } }).toArray()) {
      await this.deltas.deleteMany({ settled: true, fold: f._id });
      await this.folds.deleteOne({ _id: f._id });
    }
  }

  private async forgetOldFolds(before: number): Promise<void> {
    const old = new Set(this.finished.filter((f) => f.at < before).map((f) => f.fold));
    if (old.size === 0) return;
    const counter = await this.ownCounter();
    await this.writeCounter({ ...counter, folds: counter.folds.filter((f) => !old.has(f)) });
    this.finished.splice(0, old.size);
  }
}

function sumsOf(counter: SizeCounterDocument): Map<string, number> {
  return new Map(Object.entries(JSON.parse(counter.sums) as Record<string, number>));
}

function sumsText(sums: ReadonlyMap<string, number>): string {
  return JSON.stringify(Object.fromEntries([...sums].filter(([, n]) => n !== 0)));
}

function sizesOf(counters: readonly SizeCounterDocument[], pending: readonly SizeDeltaDocument[]): Map<string, number> {
  const sizes = new Map<string, number>();
  const add = (segment: string, n: number): void => void sizes.set(segment, (sizes.get(segment) ?? 0) + n);
  for (const c of counters) for (const [segment, n] of sumsOf(c)) add(segment, n);
  const folded = new Map(counters.map((c) => [c._id, new Set(c.folds)]));
  for (const d of pending) if (d.fold === null || !folded.get(d.by)?.has(d.fold)) add(d.segment, d.delta);
  return sizes;
}
