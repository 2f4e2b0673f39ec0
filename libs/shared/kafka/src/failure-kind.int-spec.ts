import type { Connection } from 'mongoose';
import { connectMongo, openDb } from '@mosaic/shared-mongo';
import { testInfra } from '@mosaic/shared-testing';
import { classifyFailure } from './failure-kind';

/** What the real store (FerretDB locally) answers to data it rejects, as the consumer host classifies it. */
describe('classifyFailure against the real store', () => {
  let conn: Connection;
  beforeAll(async () => {
    conn = await connectMongo({ uri: testInfra().mongoUri, serverSelectionTimeoutMs: 5_000 });
  });
  afterAll(async () => {
    await conn.close();
  });

  const failure = async (fn: () => Promise<unknown>): Promise<object> => {
    try {
      await fn();
    } catch (err) {
      return err as object;
    }
    throw new Error('expected the store to reject the write');
  };

  it('a data error is permanent (FerretDB: BadValue 2 for nested arrays and $-prefixed keys, TypeMismatch 14)', async () => {
    const coll = openDb(conn).collection('failure_kind');
    const ferret = testInfra().mongoServer.startsWith('FerretDB');
    const nested = await failure(() => coll.insertOne({ a: [[1, 2]] }));
    if (ferret) {
      expect(nested).toMatchObject({ name: 'MongoServerError', code: 2, message: expect.stringContaining('nested arrays are not supported') });
      expect(classifyFailure(nested)).toBe('permanent');
      expect(classifyFailure(await failure(() => coll.insertOne({ $bad: 1 })))).toBe('permanent');
    }
    await coll.insertOne({ _id: 'doc-1' as never, s: 'text' });
    const mismatch = await failure(() => coll.updateOne({ _id: 'doc-1' as never }, { $inc: { s: 1 } as never }));
    expect(mismatch).toMatchObject({ name: 'MongoServerError', code: 14 });
    expect(classifyFailure(mismatch)).toBe('permanent');
    // Too large to serialise: the driver throws before sending anything.
    expect(classifyFailure(await failure(() => coll.insertOne({ s: 'x'.repeat(17 * 1024 * 1024) })))).toBe('permanent');
  });

  it('a duplicate key is not a data error by itself: unknown unless the handler calls it a race', async () => {
    const coll = openDb(conn).collection('failure_kind_dup');
    await coll.insertOne({ _id: 'same' as never });
    const dup = await failure(() => coll.insertOne({ _id: 'same' as never }));
    expect(dup).toMatchObject({ code: 11000 });
    expect(classifyFailure(dup)).toBe('unknown');
  });

  it('an unreachable store is transient', async () => {
    const dead = await failure(() => connectMongo({ uri: 'mongodb://127.0.0.1:9/none', serverSelectionTimeoutMs: 300 }));
    expect(classifyFailure(dead)).toBe('transient');
  });
});
