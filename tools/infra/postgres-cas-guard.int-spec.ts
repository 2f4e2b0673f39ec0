// The compare-and-set guard of the local PostgreSQL cluster (tools/infra/postgres-cas-guard.sql):
// FerretDB v1.24 checks an update's filter and writes the document in two statements, so a
// writer that lost a race between them still writes. The guard refuses such a write under the
// row lock. The races here are made deterministic: a psql session holds the row lock, so
// FerretDB's UPDATE waits after its filter matched, while the session moves the document on.
import { MongoClient, type Collection, type Db } from 'mongodb';
import { VersionedWriter, bulkWriteSkippingMovedOn, isCasGuardConflict } from '@mosaic/shared-mongo';
import { dropTestDatabase, storePlansReadable, testInfra, waitFor } from '@mosaic/shared-testing';
import mongoose, { type Connection } from 'mongoose';
import { PsqlSession, ferretTable, psql } from './psql.test-helper';

jest.setTimeout(120000);

interface Doc {
  _id: string;
  version: number;
  writeId: string;
  casFrom?: number;
  by: string;
  note?: string;
}

if (!storePlansReadable()) {
  process.stderr.write(
    `[postgres-cas-guard.int-spec] skipped: the store is "${testInfra().mongoServer || 'unknown'}", not FerretDB on tools/infra's PostgreSQL\n`,
  );
}

(storePlansReadable() ? describe : describe.skip)('FerretDB on PostgreSQL: the compare-and-set guard', () => {
  const t = testInfra();
  let client: MongoClient;
  let conn: Connection;
  let db: Db;

  beforeAll(async () => {
    client = await new MongoClient(t.mongoUri, { serverSelectionTimeoutMS: 10000 }).connect();
    db = client.db(t.dbName);
    conn = await mongoose.createConnection(t.mongoUri, { dbName: t.dbName }).asPromise();
  });

  afterAll(async () => {
    await conn?.close();
    await client?.close();
    await dropTestDatabase();
  });

  async function seeded(name: string, count: number): Promise<Collection<Doc>> {
    const c = db.collection<Doc>(name);
    // As a guarded writer leaves them: at version 1, written by a compare-and-set from 0.
    await c.insertMany(Array.from({ length: count }, (_, i) => ({ _id: `${name}-${i}`, version: 1, writeId: 'w0', casFrom: 0, by: 'init' })));
    return c;
  }

  /** Until a backend of FerretDB waits for a row lock (the UPDATE after its filter matched). */
  async function untilFerretDbWaitsForTheLock(): Promise<void> {
    const waiting = async () => Number(await psql(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE %'`));
    await waitFor(async () => (await waiting()) > 0 || null, { timeoutMs: 60_000, intervalMs: 20, message: "FerretDB's UPDATE waiting for the row lock" });
  }

  /**
   * Runs `write` while a psql session holds the row lock of `id`; once FerretDB waits for it, the
   * session moves the document to version 2 (as another guarded writer would) and commits.
   */
  async function racedWith<T>(c: Collection<Doc>, id: string, write: () => Promise<T>): Promise<T> {
    const table = await ferretTable(t.dbName, c.collectionName);
    const session = await PsqlSession.open();
    try {
      await session.run(`BEGIN; SELECT 1 FROM ${table} WHERE _jsonb->'_id' = '"${id}"' FOR UPDATE;`);
      const pending = write().then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      await untilFerretDbWaitsForTheLock();
      await session.run(
        `UPDATE ${table} SET _jsonb = _jsonb || '{"version": 2, "writeId": "other", "casFrom": 1, "by": "other"}' WHERE _jsonb->'_id' = '"${id}"'; COMMIT;`,
      );
      const settled = await pending;
      if ('error' in settled) throw settled.error;
      return settled.value;
    } finally {
      await session.close();
    }
  }

  it('is on every collection table, also one whose guard went missing after the next install', async () => {
    const c = await seeded('tables', 1);
    const table = await ferretTable(t.dbName, c.collectionName);
    const guarded = () => psql(`SELECT count(*) FROM pg_trigger WHERE tgrelid = '${table}'::regclass AND tgname = 'mosaic_cas_guard'`);
    expect(await guarded()).toBe('1');
    await psql(`DROP TRIGGER mosaic_cas_guard ON ${table}`);
    expect(await guarded()).toBe('0');
    await psql(`SELECT mosaic_cas_guard_attach('${table}'::regclass)`); // what the install runs on every table
    expect(await guarded()).toBe('1');
  });

  it('refuses the write of a writer whose filter matched before another writer moved the document on', async () => {
    const c = await seeded('raced', 1);
    const error = await racedWith(c, 'raced-0', () =>
      c.replaceOne({ _id: 'raced-0', version: 1 }, { version: 2, writeId: 'late', casFrom: 1, by: 'late' }),
    ).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isCasGuardConflict(error)).toBe(true);
    expect(await c.findOne({ _id: 'raced-0' })).toMatchObject({ version: 2, writeId: 'other', by: 'other' });
  });

  it('refuses a $set computed from a document another writer replaced since, and lets one that keeps the writeId through', async () => {
    const c = await seeded('sets', 2);
    const stale = await racedWith(c, 'sets-0', () => c.updateOne({ _id: 'sets-0', writeId: 'w0' }, { $set: { note: 'stale' } })).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isCasGuardConflict(stale)).toBe(true);
    expect(await c.findOne({ _id: 'sets-0' })).toEqual({ _id: 'sets-0', version: 2, writeId: 'other', casFrom: 1, by: 'other' });
    expect((await c.updateOne({ _id: 'sets-1', writeId: 'w0' }, { $set: { note: 'fresh' } })).modifiedCount).toBe(1);
    expect(await c.findOne({ _id: 'sets-1' })).toMatchObject({ version: 1, writeId: 'w0', note: 'fresh' });
  });

  it('leaves writes that name no expected version alone (other collections, ticket-mode writers)', async () => {
    const c = db.collection<{ _id: string; version: number; writeId: string; n: number }>('plain');
    await c.insertOne({ _id: 'p', version: 7, writeId: 'a', n: 1 });
    expect((await c.replaceOne({ _id: 'p' }, { version: 3, writeId: 'b', n: 2 })).modifiedCount).toBe(1);
    expect(await c.findOne({ _id: 'p' })).toEqual({ _id: 'p', version: 3, writeId: 'b', n: 2 });
  });

  it('a guarded bulk write that FerretDB stopped at a lost race lands the replacements after it', async () => {
    const c = await seeded('bulk', 6);
    const writer = new VersionedWriter(conn, { mode: 'guarded', ticketCollection: 'unused_tickets', pointReads: true });
    const typed = conn.db!.collection<Doc>('bulk');
    const results = await racedWith(c, 'bulk-2', () =>
      writer.writeMany(
        typed,
        Array.from({ length: 6 }, (_, i) => ({ expected: 1, doc: { _id: `bulk-${i}`, version: 2, writeId: `b${i}`, by: 'bulk' } })),
      ),
    );
    expect(Object.fromEntries(results)).toEqual({
      'bulk-0': 'applied',
      'bulk-1': 'applied',
      'bulk-2': 'conflict',
      'bulk-3': 'applied',
      'bulk-4': 'applied',
      'bulk-5': 'applied',
    });
    expect(await c.findOne({ _id: 'bulk-2' })).toMatchObject({ by: 'other' });
    expect(await c.countDocuments({ by: 'bulk' })).toBe(5);
  });

  it('a bulk of updates filtered on the writeId they read skips the one whose document was replaced meanwhile', async () => {
    const c = await seeded('confirms', 3);
    await racedWith(c, 'confirms-1', () =>
      bulkWriteSkippingMovedOn(
        c,
        [0, 1, 2].map((i) => ({ updateOne: { filter: { _id: `confirms-${i}`, writeId: 'w0' }, update: { $set: { note: 'confirmed' } } } })),
      ),
    );
    expect(await c.find({}, { sort: { _id: 1 } }).toArray()).toEqual([
      { _id: 'confirms-0', version: 1, writeId: 'w0', casFrom: 0, by: 'init', note: 'confirmed' },
      { _id: 'confirms-1', version: 2, writeId: 'other', casFrom: 1, by: 'other' },
      { _id: 'confirms-2', version: 1, writeId: 'w0', casFrom: 0, by: 'init', note: 'confirmed' },
    ]);
  });
});
