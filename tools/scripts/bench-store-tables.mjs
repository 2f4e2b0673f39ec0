// What PostgreSQL itself counted for the tables FerretDB keeps the bench's collections in, between
// two readings: rows read by sequential scans and fetched by index scans, and whether autovacuum
// or autoanalyze ran meanwhile. A read whose cost grows with the number of stored profiles shows
// as sequential rows in proportion to the store — the check behind "a design whose cost grows
// with the number of stored profiles is a bug" — and a vacuum running during a measured phase
// takes the same two cores as the pipeline. The block reads say whether the tables' hot part fits
// PostgreSQL's shared buffers (a miss is a copy from the OS cache, or a disk read). Read through psql (the cluster tools/infra started);
// on any other store the readings are null and the report says so.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const COUNTERS = ['seqScans', 'seqRows', 'indexScans', 'indexRows', 'autovacuums', 'autoanalyzes', 'blocksHit', 'blocksRead'];

/** Every collection of database `db` with its table's counters now, or null (see above). */
export async function readTableCounters(infra, db) {
  const psql = await infra.storePsqlCommand();
  if (!psql) return null;
  // Counters are flushed by each backend at most once a second: wait that out before reading.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const sql = `SELECT m._jsonb->>'_id', s.seq_scan, s.seq_tup_read, coalesce(s.idx_scan, 0), coalesce(s.idx_tup_fetch, 0), s.autovacuum_count, s.autoanalyze_count,
      coalesce(io.heap_blks_hit, 0) + coalesce(io.idx_blks_hit, 0) + coalesce(io.toast_blks_hit, 0) + coalesce(io.tidx_blks_hit, 0),
      coalesce(io.heap_blks_read, 0) + coalesce(io.idx_blks_read, 0) + coalesce(io.toast_blks_read, 0) + coalesce(io.tidx_blks_read, 0)
    FROM pg_stat_user_tables s JOIN pg_statio_user_tables io USING (relid) JOIN "${db}"._ferretdb_database_metadata m ON m._jsonb->>'table' = s.relname
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

/** The report's line: sequential reads first (the ones that matter), then vacuums, then index reads and block reads in total. */
export function tableCountersLine(delta) {
  if (!delta) return 'not read (the store is not FerretDB on a PostgreSQL cluster of tools/infra)';
  const entries = Object.entries(delta);
  const scanned = entries.filter(([, d]) => d.seqRows > 0).sort(([, a], [, b]) => b.seqRows - a.seqRows);
  const vacuumed = entries.filter(([, d]) => d.autovacuums + d.autoanalyzes > 0);
  const indexRows = entries.reduce((sum, [, d]) => sum + d.indexRows, 0);
  const indexScans = entries.reduce((sum, [, d]) => sum + d.indexScans, 0);
  const hit = entries.reduce((sum, [, d]) => sum + d.blocksHit, 0);
  const missed = entries.reduce((sum, [, d]) => sum + d.blocksRead, 0);
  return [
    scanned.length === 0
      ? 'no rows read by sequential scans'
      : `rows read by sequential scans: ${scanned.map(([c, d]) => `${c} ${d.seqRows} (${d.seqScans} scans)`).join(', ')}`,
    vacuumed.length === 0
      ? 'no autovacuum or autoanalyze ran'
      : `autovacuum / autoanalyze ran on ${vacuumed.map(([c, d]) => `${c} (${d.autovacuums} / ${d.autoanalyzes})`).join(', ')}`,
    `${indexScans} index scans fetched ${indexRows} rows`,
    `${missed} of ${hit + missed} block reads missed the shared buffers (${hit + missed > 0 ? ((100 * missed) / (hit + missed)).toFixed(1) : 0} %)`,
  ].join('; ');
}
