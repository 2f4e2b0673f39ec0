/**
 * MongoDB connection for every service (mongoose). Mosaic keeps to the subset of MongoDB
 * that both MongoDB and FerretDB serve (see README "MongoDB compatibility"): single-document
 * atomic updates, unique and TTL indexes, bulkWrite, find/sort/limit. No multi-document
 * transactions, change streams or server-side JavaScript.
 */
import mongoose, { type Connection } from 'mongoose';
import type { Logger } from '@mosaic/shared-logging';

export interface MongoOptions {
  uri: string;
  /** Overrides the database named in the URI (tests use one database per file). */
  dbName?: string;
  serverSelectionTimeoutMs?: number;
  appName?: string;
}

export async function connectMongo(opts: MongoOptions, logger?: Logger): Promise<Connection> {
  const conn = mongoose.createConnection(opts.uri, {
    dbName: opts.dbName,
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMs ?? 5_000,
    appName: opts.appName,
    autoIndex: false,
    autoCreate: true,
    maxPoolSize: 20,
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
