// Helpers for integration tests (*.int-spec.ts) against the Kafka broker and
// MongoDB-wire server that Jest's global setup brings up (global-setup.ts).
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { MongoClient } from 'mongodb';
import mongoose, { type Connection } from 'mongoose';
import { TEST_DB_PREFIX, TEST_TOPIC_PREFIX } from './cleanup';
import type { TestFileGlobals } from './test-environment';
// tools/infra is plain CommonJS outside the Nx projects (it runs before anything is compiled).
type Infra = typeof import('../../../../tools/infra/index.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports, @nx/enforce-module-boundaries -- not an Nx project
const infra: Infra = require('../../../../tools/infra/index.js');

export type PrivateKafka = import('../../../../tools/infra/index.js').PrivateKafka;
export type PrivateKafkaOptions = import('../../../../tools/infra/index.js').PrivateKafkaOptions;

/**
 * A second, private single-node Kafka broker (free ports and a temp data dir by default)
 * that a test can stop (SIGTERM or SIGKILL) and start again on the same data dir, using
 * the same cached Kafka jars. Call destroy() in afterAll.
 */
export function startPrivateKafka(opts?: PrivateKafkaOptions): Promise<PrivateKafka> {
  return infra.startPrivateKafka(opts);
}

export interface TestInfra {
  kafkaBrokers: string[];
  /** MongoDB URI with this test file's own database (dbName) */
  mongoUri: string;
  /** the server's URI without a database name */
  baseMongoUri: string;
  /** unique per test file, e.g. "mt-1a2b3c4d."; prefix every topic and consumer group with it */
  topicPrefix: string;
  /** unique per test file, e.g. "mt_profiles_int_1a2b3c4d" */
  dbName: string;
  /** e.g. "FerretDB v1.24.0" or "MongoDB 7.0.14" ('' if unknown) */
  mongoServer: string;
}

let cached: TestInfra | undefined;

/**
 * The infrastructure of this Jest run, with names unique to the calling test file (the
 * same values on every call within one file).
 */
export function testInfra(): TestInfra {
  if (cached) return cached;
  const brokers = process.env.MOSAIC_TEST_KAFKA_BROKERS;
  const baseMongoUri = process.env.MOSAIC_TEST_MONGODB_URI;
  if (!brokers || !baseMongoUri) {
    throw new Error(
      'testInfra(): MOSAIC_TEST_KAFKA_BROKERS / MOSAIC_TEST_MONGODB_URI are not set. Run integration tests with Jest ' +
        'and the root jest.config.js, whose global setup starts Kafka and MongoDB (and not with MOSAIC_TEST_NO_INFRA).',
    );
  }
  const fileGlobals = globalThis as TestFileGlobals;
  // The test environment removes what is named after this id when the file ends.
  const id = fileGlobals.__MOSAIC_TEST_FILE_ID__ ?? randomBytes(4).toString('hex');
  fileGlobals.__MOSAIC_TEST_INFRA_USED__ = true;
  const testPath = typeof expect === 'undefined' ? undefined : expect.getState().testPath;
  const stem = path
    .basename(testPath ?? 'test')
    .replace(/\.ts$/, '')
    .replace(/[^a-zA-Z0-9]+/g, '_')
    .slice(0, 40);
  // FerretDB accepts database names matching ^[a-zA-Z0-9_-]{1,63}$.
  const dbName = `${TEST_DB_PREFIX}${stem}_${id}`;
  cached = {
    kafkaBrokers: brokers.split(',').filter(Boolean),
    mongoUri: withDatabase(baseMongoUri, dbName),
    baseMongoUri,
    topicPrefix: `${TEST_TOPIC_PREFIX}${id}.`,
    dbName,
    mongoServer: process.env.MOSAIC_TEST_MONGO_SERVER ?? '',
  };
  return cached;
}

const MONGO_URI = /^(mongodb(?:\+srv)?:\/\/)([^/?]*)(?:\/([^?]*))?(\?.*)?$/;

/** The URI with its database set to dbName (query options kept). */
export function withDatabase(uri: string, dbName: string): string {
  const m = MONGO_URI.exec(uri);
  if (!m) throw new Error(`not a MongoDB URI: ${uri}`);
  const [, scheme, authority, oldDb, query = ''] = m;
  let q = query;
  // With credentials, the database in the URI was also the authentication database.
  if (authority.includes('@') && oldDb && !/[?&]authSource=/.test(q)) q = `${q ? `${q}&` : '?'}authSource=${oldDb}`;
  return `${scheme}${authority}/${dbName}${q}`;
}

/** Drop the database named in the URI (default: this test file's). */
export async function dropTestDatabase(uri: string = testInfra().mongoUri): Promise<void> {
  const dbName = MONGO_URI.exec(uri)?.[3];
  if (!dbName) throw new Error(`dropTestDatabase: the URI names no database: ${uri}`);
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10000 });
  try {
    await client.connect();
    await client.db(decodeURIComponent(dbName)).dropDatabase();
  } finally {
    await client.close();
  }
}

export interface WaitForOptions {
  /** default 10 000 */
  timeoutMs?: number;
  /** default 100 */
  intervalMs?: number;
  /** what is being waited for, for the timeout error */
  message?: string;
}

/**
 * Poll fn until it passes: it returns without throwing and its result is neither `false`
 * nor `null` (so assertion-style callbacks that return nothing pass once they stop
 * throwing, and `findOne()`-style callbacks pass once they find something). Resolves with
 * that result; rejects after timeoutMs with the last error or value.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<Exclude<T, false | null>> {
  const { timeoutMs = 10000, intervalMs = 100 } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: string;
    let cause: unknown;
    try {
      const value = await fn();
      if (value !== false && value !== null) return value as Exclude<T, false | null>;
      last = `last result: ${String(value)}`;
    } catch (err) {
      cause = err;
      last = `last error: ${err instanceof Error ? err.message : String(err)}`;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(`waitFor: ${opts.message ?? 'condition'} not met within ${timeoutMs} ms (${last})`, { cause });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}

/** A free loopback TCP port (bound, then released). */
export function freePort(): Promise<number> {
  return infra.freePort();
}

/**
 * A mongoose connection to this test file's database for the whole file: opened before its first
 * test, closed after its last, the database dropped then. `const db = useTestConnection();` at
 * the top of the file, `db.conn` in the tests.
 */
export function useTestConnection(): { readonly conn: Connection } {
  const holder = {} as { conn: Connection };
  beforeAll(async () => {
    holder.conn = await mongoose.createConnection(testInfra().mongoUri).asPromise();
  });
  afterAll(async () => {
    await holder.conn?.close();
    await dropTestDatabase().catch(() => undefined);
  });
  return holder;
}
