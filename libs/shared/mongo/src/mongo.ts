/**
 * MongoDB connection for every service (mongoose). Mosaic keeps to the subset of MongoDB
 * that both MongoDB and FerretDB serve (see docs/mongodb.md): single-document
 * atomic updates, unique and TTL indexes, bulkWrite, find/sort/limit. No multi-document
 * transactions, change streams or server-side JavaScript.
 */
import mongoose, { mongo, type Connection } from 'mongoose';
import pLimit from 'p-limit';
import type { Logger } from '@mosaic/shared-logging';

export interface MongoOptions {
  uri: string;
  /** Overrides the database named in the URI (tests use one database per file). */
  dbName?: string;
  serverSelectionTimeoutMs?: number;
  appName?: string;
  /** Emit the driver's command events (what `monitorStoreCommands` counts). */
  monitorCommands?: boolean;
}

export async function connectMongo(opts: MongoOptions, logger?: Logger): Promise<Connection> {
  const conn = mongoose.createConnection(opts.uri, {
    dbName: opts.dbName,
    // The driver's own default: 5 s was too short for a busy machine (CI under two CPU hogs: a
    // service could not start because FerretDB answered its handshake late). Readiness has its
    // own 2 s bound (pingMongo).
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMs ?? 30_000,
    appName: opts.appName,
    autoIndex: false,
    autoCreate: true,
    maxPoolSize: 20,
    // Only when asked: `false` here would override `monitorCommands=true` in the URI.
    ...(opts.monitorCommands ? { monitorCommands: true } : {}),
  });
  conn.on('disconnected', () => logger?.warn({ db: conn.name }, 'mongodb disconnected'));
  conn.on('reconnected', () => logger?.info({ db: conn.name }, 'mongodb reconnected'));
  await conn.asPromise();
  logger?.info({ db: conn.name }, 'mongodb connected');
  return conn;
}

/** Creates the indexes every model of the connection declares (explicitly, at start-up). */
export async function ensureIndexes(conn: Connection): Promise<void> {
  for (const model of Object.values(conn.models)) {
    await model.createIndexes();
  }
}

export async function pingMongo(conn: Connection, timeoutMs = 2_000): Promise<boolean> {
  if (conn.readyState !== 1 || !conn.db) return false;
  try {
    const ping = conn.db.admin().command({ ping: 1 });
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('ping timeout')), timeoutMs).unref());
    await Promise.race([ping, timeout]);
    return true;
  } catch {
    return false;
  }
}

/** True when the error is a duplicate-key error (E11000), which unique indexes turn races into. */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

/**
 * FerretDB 1.24 never answers an `update` command of about 100 statements or more (measured:
 * 90 answer in ~110 ms, 100 hang), so bulk writes of updates go in chunks of at most this many.
 * Why 25 and not 50: see `limitBulkUpdates`.
 */
export const MAX_BULK_UPDATES = 25;

/**
 * How many multi-statement `update` commands one process sends at a time. FerretDB 1.24 holds a
 * PostgreSQL connection per statement of an update command until the whole command is done, and
 * waits without end for a free one: commands that together need more than its pool (400 in
 * tools/infra) wait for each other forever. That was seen: the pipeline benchmark with 100,000
 * people stalled after 16 minutes with FerretDB's 400 connections held by a handful of bulk
 * updates, each waiting for more. With one bulk update of 25 in flight per process, a service
 * holds at most 26 + 2 × 19 connections (one bulk update plus the driver's 19 other pooled
 * commands at 2 each: a query and a write), so five services stay below 320.
 */
const bulkUpdateSlot = pLimit(1);

/** Runs one multi-statement update command (a `bulkWrite` of updates) when this process has none in flight. */
export function limitBulkUpdates<T>(send: () => Promise<T>): Promise<T> {
  return bulkUpdateSlot(send);
}

/**
 * A bulk write in chunks of `MAX_BULK_UPDATES` operations, one chunk at a time per process;
 * unordered unless `ordered` (then the first failing operation stops it, chunks after it included).
 */
export async function bulkWriteChunked<T extends mongo.Document>(
  collection: mongo.Collection<T>,
  ops: mongo.AnyBulkWriteOperation<T>[],
  { ordered = false }: { ordered?: boolean } = {},
): Promise<void> {
  for (let i = 0; i < ops.length; i += MAX_BULK_UPDATES) {
    const chunk = ops.slice(i, i + MAX_BULK_UPDATES);
    await limitBulkUpdates(() => collection.bulkWrite(chunk, { ordered }));
  }
}

/** The indexes of the failed operations of an unordered bulk write when every failure is a duplicate key; otherwise undefined. */
export function duplicateOnlyWriteErrors(err: unknown): number[] | undefined {
  if (!(err instanceof mongo.MongoBulkWriteError)) return undefined;
  const raw = err.writeErrors;
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0 || !list.every((e) => e.code === 11000)) return undefined;
  return list.map((e) => e.index);
}

/** Inserts the documents whose `_id` is not taken yet (one unordered `insertMany`); returns the ones inserted. */
export async function insertAbsent<T extends mongo.Document>(collection: mongo.Collection<T>, docs: readonly T[]): Promise<T[]> {
  if (docs.length === 0) return [];
  try {
    await collection.insertMany(docs as mongo.OptionalUnlessRequiredId<T>[], { ordered: false });
    return [...docs];
  } catch (err) {
    const failed = duplicateOnlyWriteErrors(err);
    if (failed === undefined) throw err;
    const taken = new Set(failed);
    return docs.filter((_, i) => !taken.has(i));
  }
}

/** Below this many documents by the statistics, `approximateCount` counts exactly. */
const EXACT_BELOW = 100_000;

/**
 * About how many documents a collection holds, without reading them. MongoDB answers from its
 * metadata. FerretDB 1.24 answers `estimatedDocumentCount` by reading every document (measured:
 * 10.4 s for 200,000), but `$collStats` from PostgreSQL's table statistics (2 ms). Those lag
 * recent writes (seen: 0 for a young table of 9) and say -1 before the table was first analysed;
 * below `EXACT_BELOW` the `collStats` command's exact count is taken instead (a `count(*)` in
 * PostgreSQL: about 250 ms for 200,000).
 */
export async function approximateCount(db: mongo.Db, collection: string): Promise<number> {
  const [stats] = await db
    .collection(collection)
    .aggregate<{ count?: number }>([{ $collStats: { count: {} } }])
    .toArray();
  if (typeof stats?.count === 'number' && stats.count >= EXACT_BELOW) return stats.count;
  const exact = await db.command({ collStats: collection });
  return Number(exact['count'] ?? 0);
}

/** Registers each `[modelName, schema]` on the connection (once) and creates its declared indexes. Idempotent. */
export async function ensureSchemaIndexes(conn: Connection, schemas: readonly (readonly [string, mongoose.Schema])[]): Promise<void> {
  for (const [name, schema] of schemas) {
    const model = conn.models[name] ?? conn.model(name, schema);
    await model.createIndexes();
  }
}

/** The connection's database handle (throws when the connection is not open). */
export function openDb(conn: Connection): mongo.Db {
  const db = conn.db;
  if (!db) throw new Error('MongoDB connection is not open');
  return db;
}
