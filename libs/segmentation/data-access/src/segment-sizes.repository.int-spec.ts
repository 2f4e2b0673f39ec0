// Segment sizes kept from membership changes, against the real MongoDB-wire server: each change
// counts once however often and by whichever instance it is recorded (also after it was folded,
// until its tombstone is pruned), folding keeps the sizes, a fold left half done by a crash
// (marked only, or added to the counter but not settled) is finished once on restart, and
// several instances folding at once count every change once.
import { useTestConnection } from '@mosaic/shared-testing';
import { SIZE_COLLECTIONS, SegmentSizesRepository, type MembershipCount } from './segment-sizes.repository';

const db = useTestConnection();
let clock = Date.parse('2026-12-05T12:00:00Z');

beforeAll(async () => {
  await new SegmentSizesRepository(db.conn, 'setup').ensureIndexes();
});

beforeEach(async () => {
  for (const c of Object.values(SIZE_COLLECTIONS)) await db.conn.db!.collection(c).deleteMany({});
});

function change(profile: number, version: number, segmentKey: string, kind: 'entered' | 'exited' = 'entered'): MembershipCount {
  return {
    profileId: `${segmentKey}-${profile}`,
    segmentKey,
    change: kind,
    profileVersion: version,
    at: new Date(Date.UTC(2026, 11, 5, 0, 0, version)).toISOString(),
  };
}

/** n profiles enter `seg` (version 1); the even ones leave it again (version 2): n/2 members. */
function churn(n: number, seg: string): MembershipCount[] {
  const entered = Array.from({ length: n }, (_, i) => change(i, 1, seg));
  const left = entered.filter((_, i) => i % 2 === 0).map((_, i) => change(i * 2, 2, seg, 'exited'));
  return [...entered, ...left];
}

const deltas = () => db.conn.db!.collection(SIZE_COLLECTIONS.deltas);
const unsettled = () => deltas().countDocuments({ settled: false });
const tombstones = () => deltas().countDocuments({ settled: true });
const sizesAre = (entries: [string, number][]) => new Map(entries);

it('counts each change once however often it is recorded, before and after folding, until its tombstone is pruned', async () => {
  const repo = new SegmentSizesRepository(db.conn, 'a');
  const changes = [...churn(40, 'a.b'), ...churn(10, 'c')];
  await repo.record(changes);
  await repo.record(changes.slice(5, 30)); // published again (an outbox confirmed late)
  expect(await repo.sizes()).toEqual(
    sizesAre([
      ['a.b', 20],
      ['c', 5],
    ]),
  );

  expect(await repo.fold({}, (clock += 1000))).toBe(changes.length);
  expect(await unsettled()).toBe(0);
  expect(await repo.sizes()).toEqual(
    sizesAre([
      ['a.b', 20],
      ['c', 5],
    ]),
  );

  // an outbox whose confirmation failed is published and recorded again later: its changes are tombstones by then
  await new SegmentSizesRepository(db.conn, 'b').record(changes);
  expect(await unsettled()).toBe(0);
  expect(await repo.sizes()).toEqual(
    sizesAre([
      ['a.b', 20],
      ['c', 5],
    ]),
  );

  expect(await tombstones()).toBe(changes.length);
  await repo.fold({ keepMs: 3_600_000 }, clock + 1000);
  expect(await tombstones()).toBe(changes.length);
  await repo.fold({ keepMs: 3_600_000 }, clock + 3_700_000);
  expect(await tombstones()).toBe(0);
  expect(await repo.sizes()).toEqual(
    sizesAre([
      ['a.b', 20],
      ['c', 5],
    ]),
  );
});

it('finishes on restart a fold that was marked and not added (a crash in between)', async () => {
  await new SegmentSizesRepository(db.conn, 'a').record(churn(30, 's'));
  await deltas().updateMany({ by: 'a' }, { $set: { fold: 'crashed-fold' } }); // the round's first step, then the process died
  const restarted = new SegmentSizesRepository(db.conn, 'a');
  expect(await restarted.sizes()).toEqual(sizesAre([['s', 15]]));
  expect(await restarted.fold({}, (clock += 1000))).toBe(45);
  expect(await unsettled()).toBe(0);
  expect(await restarted.sizes()).toEqual(sizesAre([['s', 15]]));
});

it('does not add twice, on restart, a fold that was added to the counter and not settled', async () => {
  await new SegmentSizesRepository(db.conn, 'a').record([...churn(30, 's'), ...churn(8, 't')]);
  await deltas().updateMany({ by: 'a' }, { $set: { fold: 'crashed-fold' } });
  // the counter written with the fold, then the process died before settling its deltas
  await db.conn.db!.collection(SIZE_COLLECTIONS.counters).insertOne({ _id: 'a' as never, sums: JSON.stringify({ s: 15, t: 4 }), folds: ['crashed-fold'] });
  const restarted = new SegmentSizesRepository(db.conn, 'a');
  expect(await restarted.sizes()).toEqual(
    sizesAre([
      ['s', 15],
      ['t', 4],
    ]),
  );
  await restarted.fold({}, (clock += 1000));
  expect(await unsettled()).toBe(0);
  expect(await restarted.sizes()).toEqual(
    sizesAre([
      ['s', 15],
      ['t', 4],
    ]),
  );
  // the fold's id leaves the counter after a while; the sizes stay
  await restarted.fold({ rememberMs: 1000 }, clock + 5000);
  const counter = await db.conn.db!.collection(SIZE_COLLECTIONS.counters).findOne({ _id: 'a' as never });
  expect(counter).toMatchObject({ folds: [] });
  expect(await restarted.sizes()).toEqual(
    sizesAre([
      ['s', 15],
      ['t', 4],
    ]),
  );
});

it('several instances recording the same changes and folding at once count every change once; a stopped one is counted from its deltas', async () => {
  const a = new SegmentSizesRepository(db.conn, 'a');
  const b = new SegmentSizesRepository(db.conn, 'b');
  const all = churn(600, 'x');
  for (let i = 0; i < all.length; i += 100) {
    const slice = all.slice(i, i + 100);
    await Promise.all([a.record(slice), b.record(slice.slice(20, 70)), a.fold({}, (clock += 500)), b.fold({}, (clock += 500))]);
  }
  await new SegmentSizesRepository(db.conn, 'stopped').record(churn(10, 'y')); // never folds
  await Promise.all([a.fold({}, (clock += 500)), b.fold({}, (clock += 500))]);
  expect(await a.sizes()).toEqual(
    sizesAre([
      ['x', 300],
      ['y', 5],
    ]),
  );
  expect(await deltas().countDocuments({ settled: false, by: { $ne: 'stopped' } })).toBe(0);
});

it("a size read during another instance's fold counts its changes once", async () => {
  const folder = new SegmentSizesRepository(db.conn, 'folder');
  await folder.record(churn(40, 'r'));
  // the reader's deltas are read, then the whole fold happens, then its counters are read
  class RacedReader extends SegmentSizesRepository {
    raced = false;
    protected override async readPending() {
      const pending = await super.readPending();
      if (!this.raced) {
        this.raced = true;
        await folder.fold({}, (clock += 1000));
      }
      return pending;
    }
  }
  expect(await new RacedReader(db.conn, 'reader').sizes()).toEqual(sizesAre([['r', 20]]));
});

it('seeds the counts once from the stored profiles (a version that kept no sizes)', async () => {
  const repo = new SegmentSizesRepository(db.conn, 'a');
  const counts: Record<string, number> = { s: 7, t: 0 };
  expect(await repo.seedOnce(['s', 't'], async (k) => counts[k] ?? 0)).toBe(true);
  expect(await new SegmentSizesRepository(db.conn, 'b').seedOnce(['s', 't'], async () => 99)).toBe(false);
  await repo.record([change(1, 1, 's')]);
  expect(await repo.sizes()).toEqual(sizesAre([['s', 8]]));
  await repo.fold({}, (clock += 1000));
  expect(await repo.sizes()).toEqual(sizesAre([['s', 8]]));
});
