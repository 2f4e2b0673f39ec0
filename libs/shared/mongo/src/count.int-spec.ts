// approximateCount against the real MongoDB-wire server: without reading the documents, the
// number a collection holds (exact on a collection PostgreSQL has no statistics for yet).
import mongoose, { type Connection } from 'mongoose';
import { dropTestDatabase, testInfra } from '@mosaic/shared-testing';
import { approximateCount, openDb } from './mongo';

let conn: Connection;

beforeAll(async () => {
  conn = await mongoose.createConnection(testInfra().mongoUri).asPromise();
});

afterAll(async () => {
  await conn?.close();
  await dropTestDatabase().catch(() => undefined);
});

it('counts the documents of a collection', async () => {
  const db = openDb(conn);
  await db.collection('counted').insertMany(Array.from({ length: 1234 }, (_, i) => ({ _id: `d${i}` as never, v: i })));
  expect(await approximateCount(db, 'counted')).toBe(1234);
});
