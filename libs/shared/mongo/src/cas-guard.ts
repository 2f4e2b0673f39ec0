/**
 * What the connected server needs for compare-and-set (`detectServerProfile`), and the guard of
 * the PostgreSQL cluster tools/infra runs (tools/infra/postgres-cas-guard.sql): how a writer
 * finds it, what its refusal looks like, and the bulk update that lives with it. The writes
 * themselves are `VersionedWriter`'s (cas.ts).
 */
import { randomUUID } from 'node:crypto';
import { mongo, type Connection } from 'mongoose';
import { MAX_BULK_UPDATES, limitBulkUpdates } from './mongo';

/**
 * `native`: conditional single-document writes (MongoDB). `guarded`: the same, made exact on
 * FerretDB by Mosaic's PostgreSQL trigger. `ticket`: insert-based compare-and-set (any FerretDB 1.24).
 */
export type CasMode = 'native' | 'guarded' | 'ticket';

export interface ServerProfile {
  /** The server is FerretDB (`buildInfo.ferretdbVersion`). */
  ferretdb: boolean;
  /** e.g. `FerretDB v1.24.0` or `MongoDB 7.0.14`. */
  version: string;
  /** What a writer should use on it: `native` on MongoDB; on FerretDB `guarded` when the guard answers, else `ticket`. */
  cas: CasMode;
  /** Read by `_id` one document at a time instead of `$in`. */
  pointReads: boolean;
  /** The server builds TTL indexes (MongoDB; FerretDB 1.24 refuses them: expiry is by sweeps there). */
  ttlIndexes: boolean;
}

/** What the connected server needs: guarded or ticket compare-and-set and point reads on FerretDB, native and `$in` on MongoDB. */
export async function detectServerProfile(conn: Connection): Promise<ServerProfile> {
  const db = conn.db;
  if (!db) throw new Error('MongoDB connection is not open');
  const info = (await db.admin().command({ buildInfo: 1 })) as { ferretdbVersion?: unknown; version?: unknown };
  const ferretdb = info.ferretdbVersion !== undefined;
  return {
    ferretdb,
    version: String(ferretdb ? `FerretDB ${String(info.ferretdbVersion)}` : `MongoDB ${String(info.version)}`),
    cas: ferretdb ? ((await casGuardAnswers(db)) ? 'guarded' : 'ticket') : 'native',
    pointReads: ferretdb,
    ttlIndexes: !ferretdb,
  };
}

/**
 * Why a configured mode is not exact on this server (a conditional write that is not atomic
 * there lets concurrent writers both land), or undefined when it is.
 */
export function casModeRisk(server: ServerProfile, mode: CasMode): string | undefined {
  if (!server.ferretdb || mode === 'ticket' || mode === server.cas) return undefined;
  return `compare-and-set mode ${mode} on ${server.version}${server.cas === 'ticket' ? ' without the guard of tools/infra/postgres-cas-guard.sql' : ''}: its conditional writes are not atomic under concurrency, so concurrent writers can lose updates (use auto)`;
}

/** The field a guarded compare-and-set records the version it expected in (the guard reads it; readers drop it). */
export const CAS_FROM = 'casFrom';

/** The collection `casGuardAnswers` writes its probe documents to (and deletes them from). */
export const CAS_PROBE_COLLECTION = 'mosaic_cas_probe';

/**
 * Whether the server refuses a compare-and-set whose expected version is not the stored one
 * (the guard of tools/infra/postgres-cas-guard.sql): a probe document is written at version 1,
 * then replaced by a write that says it expected version 0, which only the guard refuses.
 */
export async function casGuardAnswers(db: mongo.Db): Promise<boolean> {
  const probes = db.collection<{ _id: string; version: number; writeId: string; casFrom?: number }>(CAS_PROBE_COLLECTION);
  const id = randomUUID();
  await probes.insertOne({ _id: id, version: 1, writeId: randomUUID() });
  try {
    await probes.replaceOne({ _id: id }, { version: 2, writeId: randomUUID(), [CAS_FROM]: 0 });
    return false;
  } catch (err) {
    if (isCasGuardConflict(err)) return true;
    throw err;
  } finally {
    await probes.deleteOne({ _id: id });
  }
}

/**
 * `bulkWriteChunked` for updates filtered on the `writeId` they read (not compare-and-sets):
 * where the guard refuses one because the document was replaced since (FerretDB then stops the
 * chunk there), the chunk is sent again one operation at a time and refused ones are skipped:
 * they were meant only for the document that is gone. The operations must be idempotent.
 */
export async function bulkWriteSkippingMovedOn<T extends mongo.Document>(
  collection: mongo.Collection<T>,
  ops: mongo.AnyBulkWriteOperation<T>[],
): Promise<void> {
  for (let i = 0; i < ops.length; i += MAX_BULK_UPDATES) {
    const chunk = ops.slice(i, i + MAX_BULK_UPDATES);
    try {
      await limitBulkUpdates(() => collection.bulkWrite(chunk, { ordered: false }));
    } catch (err) {
      if (!isCasGuardConflict(err)) throw err;
      for (const op of chunk) {
        await collection.bulkWrite([op]).catch((e: unknown) => {
          if (!isCasGuardConflict(e)) throw e;
        });
      }
    }
  }
}

/** The error the guard raises when a versioned write lost its race (FerretDB reports it as an `InternalError` with this text). */
export function isCasGuardConflict(err: unknown): boolean {
  return err instanceof Error && err.message.includes('mosaic_cas_conflict');
}
