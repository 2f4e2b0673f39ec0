// Segment sizes over time against the real MongoDB-wire server: instances sampling the same
// interval at once write one point per segment (also a restarted one sampling it again), a
// range is answered in time order across days, expired points are deleted, and the reads and
// the steady-state retention deletes are served by an index (FerretDB: equality only).
import mongoose, { type Connection } from 'mongoose';
import { SIZE_HISTORY_COLLECTION, SizeHistoryRepository, sizeHistoryBucket } from '@mosaic/segmentation-data-access';
import { dropTestDatabase, plannedFinds, storePlansReadable, testInfra, wholeCollectionReads } from '@mosaic/shared-testing';
import { ReadSizeHistory, SampleSegmentSizes } from './size-history.use-case';

jest.setTimeout(120_000);

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.parse('2026-12-05T23:50:00Z');
let conn: Connection;

beforeAll(async () => {
  conn = await mongoose.createConnection(testInfra().mongoUri, { monitorCommands: true }).asPromise();
  await new SizeHistoryRepository(conn).ensureIndexes();
});

beforeEach(async () => {
  await points().deleteMany({});
});

afterAll(async () => {
  await conn?.close();
  await dropTestDatabase().catch(() => undefined);
});

const points = () => conn.db!.collection(SIZE_HISTORY_COLLECTION);

/** A sampler as one instance runs it, over sizes it is given. */
function sampler(sizes: Record<string, number>, keys = Object.keys(sizes)): SampleSegmentSizes {
  return new SampleSegmentSizes({
    history: new SizeHistoryRepository(conn),
    sizes: async () => new Map(Object.entries(sizes)),
    keys: async () => keys,
    intervalMs: 5 * MIN,
  });
}

it('writes one point per segment per interval however many instances sample it at once, and again after a restart', async () => {
  const a = sampler({ 'a.b': 10, c: 3 });
  const b = sampler({ 'a.b': 11, c: 4 });
  const [ra, rb] = await Promise.all([a.execute(T0 + 1000), b.execute(T0 + 2000)]);
  expect(ra.written + rb.written).toBe(2);
  expect(await points().countDocuments({})).toBe(2);
  const winner = ra.written === 2 ? { 'a.b': 10, c: 3 } : { 'a.b': 11, c: 4 };
  const read = new ReadSizeHistory(new SizeHistoryRepository(conn));
  expect(await read.execute('a.b', T0, T0)).toEqual([{ at: new Date(T0).toISOString(), size: winner['a.b'] }]);

  // The same instance within the interval reads nothing; a restarted one offers its points and writes none.
  expect(await a.execute(T0 + 4 * MIN)).toEqual({ interval: null, written: 0 });
  expect(await sampler({ 'a.b': 99, c: 99 }).execute(T0 + 3 * MIN)).toMatchObject({ written: 0 });
  // The next interval gets its points; a segment with no size yet is sampled as 0, a deleted one no longer.
  expect(await b.execute(T0 + 5 * MIN)).toMatchObject({ interval: new Date(T0 + 5 * MIN).toISOString(), written: 2 });
  expect(await sampler({ c: 5 }, ['c', 'new']).execute(T0 + 10 * MIN)).toMatchObject({ written: 2 });
  expect(await read.execute('new', T0, T0 + DAY)).toEqual([{ at: new Date(T0 + 10 * MIN).toISOString(), size: 0 }]);
  expect(await points().countDocuments({ segment: 'a.b' })).toBe(2);
});

it('answers the points of a range in time order across days, bounds included, one per step when asked', async () => {
  const repo = new SizeHistoryRepository(conn);
  // Every 5 minutes from 23:50 to 00:20 (two UTC days), written newest first.
  for (let i = 6; i >= 0; i -= 1)
    await repo.record(
      new Date(T0 + i * 5 * MIN),
      new Map([
        ['s', 100 + i],
        ['other', i],
      ]),
    );
  const read = new ReadSizeHistory(repo);
  const all = await read.execute('s', T0 + 5 * MIN, T0 + 25 * MIN);
  expect(all.map((p) => p.size)).toEqual([101, 102, 103, 104, 105]);
  expect(all.map((p) => p.at)).toEqual([...all.map((p) => p.at)].sort());
  expect(all[0]).toEqual({ at: '2026-12-05T23:55:00.000Z', size: 101 });
  // 15-minute steps: [23:45, 00:00) -> 23:55, [00:00, 00:15) -> 00:10, [00:15, 00:30) -> 00:20.
  expect((await read.execute('s', T0, T0 + 30 * MIN, 15 * MIN)).map((p) => p.at.slice(11, 16))).toEqual(['23:55', '00:10', '00:20']);
  expect(await read.execute('s', T0 + DAY, T0 + 2 * DAY)).toEqual([]);
  expect(await read.execute('nobody', T0, T0 + DAY)).toEqual([]);
});

it('deletes points past their retention: by range at the first sweep, then by the ended hours they expire in', async () => {
  const now = Date.parse('2026-12-06T07:00:00Z');
  const repo = new SizeHistoryRepository(conn, 2 * DAY);
  await repo.record(new Date(now - 3 * DAY), new Map([['s', 1]]), new Date(now - 3 * DAY));
  await repo.record(new Date(now - DAY), new Map([['s', 2]]), new Date(now - DAY));
  expect(await repo.sweepExpired(new Date(now))).toBe(1);
  // Written at the time it was sampled: expires 2 days later, an hour ago.
  await repo.record(new Date(now - 2 * DAY - 90 * MIN), new Map([['s', 3]]), new Date(now - 2 * DAY - 90 * MIN));
  expect(await repo.sweepExpired(new Date(now))).toBe(1);
  const left = await new ReadSizeHistory(repo).execute('s', now - 4 * DAY, now);
  expect(left.map((p) => p.size)).toEqual([2]);
});

it('reads a day and deletes expired hours from an index, at a few thousand points', async () => {
  const repo = new SizeHistoryRepository(conn, 2 * DAY);
  const keys = Array.from({ length: 10 }, (_, k) => `seg-${k}`);
  const start = Date.parse('2026-11-20T00:00:00Z');
  for (let i = 0; i < 300; i += 1) await repo.record(new Date(start + i * 30 * MIN), new Map(keys.map((k) => [k, i])), new Date(start + i * 30 * MIN));
  await repo.sweepExpired(new Date(start)); // the first sweep (by range) is behind it
  let day: unknown[] = [];
  const finds = await plannedFinds(conn, async () => {
    day = await repo.pointsOfDay('seg-3', '2026-11-21');
    await repo.sweepExpired(new Date(start + 3 * DAY));
  });
  expect(day).toHaveLength(48);
  expect(finds.some((f) => f.filter['bucket'] === sizeHistoryBucket('seg-3', '2026-11-21'))).toBe(true);
  if (storePlansReadable()) expect(wholeCollectionReads(finds)).toEqual([]);
});
