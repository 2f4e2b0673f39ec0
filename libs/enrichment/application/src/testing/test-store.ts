/**
 * For this library's integration tests (not exported from its index): the enrichment store on
 * the Jest run's server (FerretDB or MongoDB, compare-and-set mode as detected), its indexes
 * declared, every enrichment collection emptied before each test, the database dropped at the end.
 */
import type { Connection } from 'mongoose';
import { ENRICHMENT_COLLECTIONS, ProfileRepository, type ProfileRepositoryOptions } from '@mosaic/enrichment-data-access';
import { connectMongo, detectServerProfile } from '@mosaic/shared-mongo';
import { dropTestDatabase, testInfra } from '@mosaic/shared-testing';

export interface TestStore {
  /** Open from `beforeAll` on; it monitors commands (`plannedFinds`). */
  conn: Connection;
  store: ProfileRepository;
  /** What `store` was made with, for more repositories over the same store. */
  options: ProfileRepositoryOptions;
}

/** Registers the hooks; the returned object is filled in by the first `beforeAll`. */
export function useTestStore(instanceId: string): TestStore {
  const t = {} as TestStore;
  beforeAll(async () => {
    t.conn = await connectMongo({ uri: testInfra().mongoUri, monitorCommands: true });
    const server = await detectServerProfile(t.conn);
    t.options = { cas: server.cas, pointReads: server.pointReads, ticketLeaseMs: 500, instanceId };
    t.store = new ProfileRepository(t.conn, t.options);
    await t.store.ensureIndexes(server.ttlIndexes);
  });
  afterAll(async () => {
    await t.conn?.close();
    await dropTestDatabase().catch(() => undefined);
  });
  beforeEach(async () => {
    await Promise.all(Object.values(ENRICHMENT_COLLECTIONS).map((name) => t.conn.db!.collection(name).deleteMany({})));
  });
  return t;
}
