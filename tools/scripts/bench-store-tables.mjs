// What PostgreSQL itself counted for the tables FerretDB keeps the bench's collections in, between
// two readings: rows read by sequential scans and fetched by index scans, and whether autovacuum
// or autoanalyze ran meanwhile. A read whose cost grows with the number of stored profiles shows
// as sequential rows in proportion to the store — the check behind "a design whose cost grows
// with the number of stored profiles is a bug" — and a vacuum running during a measured phase
// takes the same two cores as the pipeline. Read through psql (the cluster tools/infra started);
// on any other store the readings are null and the report says so.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const COUNTERS = ['seqScans', 'seqRows', 'indexScans', 'indexRows', 'autovacuums', 'autoanalyzes'];

/** psql's command line for FerretDB's database, or null when the store is not FerretDB on a cluster of tools/infra. */
async function psqlCommand(infra) {
  const pg = (await infra.status()).mongo?.postgres;
  if (!pg?.running) return null;
  return {
    bin: join(pg.binDir, 'psql'),
    args: ['-X', '-q', '-At', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', 'ferretdb'],
  };
}

/** Every collection of database `db` with its table's counters now, or null (see above). */
export async function readTableCounters(infra, db) {
  const psql = await psqlCommand(infra);
  if (!psql) return null;
  // Counters are flushed by each backend at most once a second: wait that out before reading.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const sql = `SELECT m._jsonb->>'_id', s.seq_scan, s.seq_tup_read, coalesce(s.idx_scan, 0), coalesce(s.idx_tup_fetch, 0), s.autovacuum_count, s.autoanalyze_count
    FROM pg_stat_user_tables s JOIN "${db}"._ferretdb_database_metadata m ON m._jsonb->>'table' = s.relname
    WHERE s.schemaname = '${db}'`;
  const { stdout } = await promisify(execFile)(psql.bin, [...psql.args, '-c', sql]);
  const out = {};
  for (const line of stdout.trim().split('\n').filter(Boolean)) {
    const [collection, ...values] = line.split('\t');
    out[collection] = Object.fromEntries(COUNTERS.map((name, i) => [name, Number(values[i])]));
  }
  return out;
}

/** Per collection, what changed between two readings (collections with no change left out); null if either is. */
export function tableCountersBetween(before, after) {
  if (!before || !after) return null;
  const out = {};
  for (const [collection, now] of Object.entries(after)) {
    const was = before[collection] ?? Object.fromEntries(COUNTERS.map((name) => [name, 0]));
    const delta = Object.fromEntries(COUNTERS.map((name) => [name, now[name] - was[name]]));
    if (COUNTERS.some((name) => delta[name] !== 0)) out[collection] = delta;
  }
  return out;
}

/** The report's line: sequential reads first (the ones that matter), then vacuums, then index reads in total. */
export function tableCountersLine(delta) {
  if (!delta) return 'not read (the store is not FerretDB on a PostgreSQL cluster of tools/infra)';
  const entries = Object.entries(delta);
  const scanned = entries.filter(([, d]) => d.seqRows > 0).sort(([, a], [, b]) => b.seqRows - a.seqRows);
  const vacuumed = entries.filter(([, d]) => d.autovacuums + d.autoanalyzes > 0);
  const indexRows = entries.reduce((sum, [, d]) => sum + d.indexRows, 0);
  const indexScans = entries.reduce((sum, [, d]) => sum + d.indexScans, 0);
  return [
    scanned.length === 0
      ? 'no rows read by sequential scans'
      : `rows read by sequential scans: ${scanned.map(([c, d]) => `${c} ${d.seqRows} (${d.seqScans} scans)`).join(', ')}`,
    vacuumed.length === 0
      ? 'no autovacuum or autoanalyze ran'
      : `autovacuum / autoanalyze ran on ${vacuumed.map(([c, d]) => `${c} (${d.autovacuums} / ${d.autoanalyzes})`).join(', ')}`,
    `${indexScans} index scans fetched ${indexRows} rows`,
  ].join('; ');
}
