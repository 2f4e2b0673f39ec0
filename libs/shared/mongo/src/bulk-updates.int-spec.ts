// Bulk updates against the real MongoDB-wire server, as many at once as the busiest stage sends.
// FerretDB 1.24 holds a PostgreSQL connection per statement of an update command until the
// command is done and waits without end for a free one, so concurrent bulk updates that together
// need more than its pool (400 in tools/infra) wait for each other forever: `bulkWriteChunked`
// sends one chunk of MAX_BULK_UPDATES at a time per process (`limitBulkUpdates`).
import { MongoClient } from 'mongodb';
import { dropTestDatabase, testInfra } from '@mosaic/shared-testing';
import { MAX_BULK_UPDATES, bulkWriteChunked } from './mongo';

jest.setTimeout(120_000);

let client: MongoClient;

beforeAll(async () => {
  client = await MongoClient.connect(testInfra().mongoUri, { maxPoolSize: 50 });
});

afterAll(async () => {
  await client?.close();
  await dropTestDatabase().catch(() => undefined);
});

const DOCS = 60;
/** Writers at once: together 12 × 60 statements, more than FerretDB's pool of PostgreSQL connections. */
const WRITERS = 12;

it(`${WRITERS} writers each updating ${DOCS} documents in bulk at the same time all finish, every update applied`, async () => {
  const coll = client.db().collection<{ _id: string; n: number }>('bulk_updates');
  await coll.insertMany(Array.from({ length: WRITERS * DOCS }, (_, i) => ({ _id: `d${i}`, n: 0 })));
  const writer = (w: number) =>
    bulkWriteChunked(
      coll,
      Array.from({ length: DOCS }, (_, i) => ({ updateOne: { filter: { _id: `d${w * DOCS + i}` }, update: { $inc: { n: 1 } } } })),
    );
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  expect(await coll.countDocuments({ n: 1 })).toBe(WRITERS * DOCS);
  expect(MAX_BULK_UPDATES).toBeLessThanOrEqual(25);
});
