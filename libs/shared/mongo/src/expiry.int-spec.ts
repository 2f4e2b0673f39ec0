// Expiry by hour against the real MongoDB-wire server, over 10,000 documents: the first sweep of
// a process deletes by the range once; later sweeps delete the ended hours by the indexed
// `expiryHour` (on FerretDB with PostgreSQL none of their deletes reads the whole collection),
// only what has expired and meets the condition; a document written already expired (an old
// event imported) expires at the end of the hour it was written in.
import mongoose, { type Connection } from 'mongoose';
import { dropTestDatabase, plannedFinds, storePlansReadable, testInfra, wholeCollectionReads } from '@mosaic/shared-testing';
import { ExpirySweeper, expiryHourOf } from './expiry';
import { openDb } from './mongo';

jest.setTimeout(120_000);

const HOUR = 3_600_000;
const NOW = new Date('2026-12-05T12:30:00Z');
let conn: Connection;

interface Doc {
  _id: string;
  status: 'active' | 'merged';
  expiresAt: Date;
  expiryHour: number;
}

/** A document expiring at `expiresAt`, written at `writtenAt`. */
function doc(id: string, expiresAt: Date, writtenAt: Date, status: Doc['status'] = 'active'): Doc {
  return { _id: id, status, expiresAt, expiryHour: expiryHourOf(expiresAt, writtenAt) };
}

const things = () => openDb(conn).collection<Doc>('things');
const ids = async () =>
  (
    await things()
      .find({}, { projection: { _id: 1 } })
      .toArray()
  )
    .map((d) => d._id)
    .sort();

beforeAll(async () => {
  conn = await mongoose.createConnection(testInfra().mongoUri, { monitorCommands: true }).asPromise();
  await things().createIndex({ expiryHour: 1 });
  await things().createIndex({ status: 1 });
  const week = new Date(NOW.getTime() + 7 * 24 * HOUR);
  for (let i = 0; i < 10_000; i += 1000) await things().insertMany(Array.from({ length: 1000 }, (_, k) => doc(`keep-${i + k}`, week, NOW)));
});

afterAll(async () => {
  await conn?.close();
  await dropTestDatabase().catch(() => undefined);
});

it('files a document under the hour it expires in, or under the hour it was written in when already expired', () => {
  expect(expiryHourOf(new Date('2026-12-05T14:10:00Z'), NOW)).toBe(Math.floor(Date.parse('2026-12-05T14:00:00Z') / HOUR));
  expect(expiryHourOf(new Date('2026-11-01T00:00:00Z'), NOW)).toBe(Math.floor(Date.parse('2026-12-05T12:00:00Z') / HOUR));
});

it('sweeps by the range once, then by ended hours from the index, deleting only what expired and meets the condition', async () => {
  const sweeper = new ExpirySweeper();
  await things().insertMany([doc('old-1', new Date(NOW.getTime() - 5 * HOUR), new Date(NOW.getTime() - 30 * HOUR))]);
  expect(await sweeper.deleteExpired(things(), {}, NOW)).toBe(1); // the range: also what expired long before

  const before = new Date(NOW.getTime() - 3 * HOUR);
  await things().insertMany([
    doc('expired-90m', new Date(NOW.getTime() - 1.5 * HOUR), before),
    doc('merged-90m', new Date(NOW.getTime() - 1.5 * HOUR), before, 'merged'),
    doc('active-later', new Date(NOW.getTime() + 0.5 * HOUR), before),
    doc('imported', new Date('2026-10-01T00:00:00Z'), NOW), // written now, long expired
  ]);
  let deleted = 0;
  const finds = await plannedFinds(conn, async () => {
    deleted = await sweeper.deleteExpired(things(), { status: 'merged' }, NOW);
  });
  expect(deleted).toBe(1);
  expect(await ids()).toContain('expired-90m');
  expect(await ids()).not.toContain('merged-90m');
  expect(await sweeper.deleteExpired(things(), {}, NOW)).toBe(1); // a new condition: by the range first
  expect(await sweeper.deleteExpired(things(), {}, NOW)).toBe(0);
  expect(await ids()).toEqual(expect.arrayContaining(['active-later', 'imported']));
  expect(await sweeper.deleteExpired(things(), {}, new Date(NOW.getTime() + HOUR))).toBe(1); // 'imported': its hour (12:00) has ended
  expect(await sweeper.deleteExpired(things(), {}, new Date(NOW.getTime() + 1.5 * HOUR))).toBe(1); // 'active-later': 13:00 has ended
  expect((await ids()).filter((id) => !id.startsWith('keep-'))).toEqual([]);
  expect(await things().countDocuments({})).toBe(10_000);
  expect(finds.length).toBeGreaterThan(0);
  if (storePlansReadable()) expect(wholeCollectionReads(finds)).toEqual([]);
});
