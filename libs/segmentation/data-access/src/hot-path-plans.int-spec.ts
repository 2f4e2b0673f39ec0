// Segmentation's periodic and per-page reads against the real MongoDB-wire server, over 10,000
// stored profiles and events: the timer round finds what is due (also a timer written after its
// first sweep) and, after that sweep, reads no whole collection; the stored events of a page of
// profiles (backfills of windowed segments) are read from an index. On FerretDB with PostgreSQL
// each of these read the whole collection before (a range and an `$in` are not pushed down).
import mongoose, { type Connection } from 'mongoose';
import { emptyState } from '@mosaic/segmentation-domain';
import { dropTestDatabase, plannedFinds, storePlansReadable, testInfra, wholeCollectionReads, type PlannedFind } from '@mosaic/shared-testing';
import { PROFILES_COLLECTION, SegmentProfilesRepository, type SegmentProfileDocument } from './segment-profiles.repository';
import { StoredEventsRepository } from './stored-events.repository';
import { timerSlotOf } from './timer-slots';

jest.setTimeout(120_000);

const N = 10_000;
const NOW = Date.now();
const PARTITIONS = [0, 1, 2, 3, 4, 5];
let conn: Connection;

/** Every 500th profile has a timer due 5 s before NOW, every 500th + 1 one due in ten minutes, the rest none. */
function profile(i: number): SegmentProfileDocument {
  const timerAt = i % 500 === 0 ? new Date(NOW - 5_000) : i % 500 === 1 ? new Date(NOW + 600_000) : null;
  return {
    _id: `p-${i}`,
    partition: i % 6,
    version: 1,
    writeId: `w-${i}`,
    state: JSON.stringify(emptyState(`p-${i}`)),
    segments: [],
    timerAt,
    timerSlot: timerSlotOf(timerAt, new Date(NOW - 60_000)),
    outbox: null,
    updatedAt: new Date(NOW - 60_000),
  };
}

beforeAll(async () => {
  conn = await mongoose.createConnection(testInfra().mongoUri, { monitorCommands: true }).asPromise();
  await new SegmentProfilesRepository(conn).ensureIndexes();
  const db = conn.db!;
  await db.collection('events').createIndex({ profileId: 1, at: 1, _id: 1 });
  for (let i = 0; i < N; i += 1000) {
    await db.collection(PROFILES_COLLECTION).insertMany(Array.from({ length: 1000 }, (_, k) => profile(i + k)) as never[]);
    const events = Array.from({ length: 1000 }, (_, k) => ({
      _id: `e-${i + k}`,
      profileId: `p-${(i + k) % 2000}`,
      at: new Date(NOW - (i + k) * 60_000),
      type: 'track',
      name: 'Product Viewed',
      json: JSON.stringify({ type: 'track', event: 'Product Viewed', properties: {} }),
    }));
    await db.collection('events').insertMany(events as never[]);
  }
});

afterAll(async () => {
  await conn?.close();
  await dropTestDatabase().catch(() => undefined);
});

function expectIndexedOnly(finds: readonly PlannedFind[]): void {
  expect(finds.length).toBeGreaterThan(0);
  if (storePlansReadable()) expect(wholeCollectionReads(finds)).toEqual([]);
}

it('finds due timers by minute after one sweep, including a timer written since', async () => {
  const repo = new SegmentProfilesRepository(conn, { pointReads: true });
  const overdue = Array.from({ length: N / 500 }, (_, k) => `p-${k * 500}`).sort();
  const first = await repo.due(PARTITIONS, new Date(NOW), 100);
  expect(first.map((d) => d._id).sort()).toEqual(overdue);
  expect(repo.timerSlots.sweeps).toBe(1);

  const loaded = (await repo.load(['p-7'])).get('p-7')!;
  const state = { ...loaded.state, timers: { 'cart-abandoned': NOW + 30_000 } };
  const { written } = await repo.write([{ loaded, state, entries: [], partition: 1 }], new Date(NOW));
  expect(written.map((w) => w.id)).toEqual(['p-7']);

  let later: SegmentProfileDocument[] = [];
  const finds = await plannedFinds(conn, async () => {
    later = await repo.due(PARTITIONS, new Date(NOW + 31_000), 100);
  });
  expect(later.map((d) => d._id).sort()).toEqual([...overdue, 'p-7'].sort());
  expect((await repo.due([1], new Date(NOW + 31_000), 100)).map((d) => d._id)).toEqual(['p-7']); // only its partitions (a sweep: they changed)
  expect(repo.timerSlots.sweeps).toBe(2);
  expectIndexedOnly(finds);
});

it('reads the stored events of a page of profiles from an index', async () => {
  const events = new StoredEventsRepository(conn, 'events', storePlansReadable());
  let found = new Map<string, unknown[]>();
  const finds = await plannedFinds(conn, async () => {
    found = await events.forProfiles(['p-1', 'p-2', 'p-nobody'], new Date(NOW - 5_000 * 60_000));
  });
  // p-1 holds events 1, 2001, 4001, 6001, 8001; those within 5,000 minutes: 1, 2001, 4001.
  expect(found.get('p-1')).toHaveLength(3);
  expect(found.get('p-2')).toHaveLength(3);
  expect(found.has('p-nobody')).toBe(false);
  expectIndexedOnly(finds);
});
