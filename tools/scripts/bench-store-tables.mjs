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
  return countersBetween(before, after, COUNTERS);
}

/** Per key, the change of each of `counters` between two readings (keys with no change left out; a key new since the first counts from zero); null if either is. */
function countersBetween(before, after, counters) {
  if (!before || !after) return null;
  const out = {};
  for (const [key, now] of Object.entries(after)) {
    const was = before[key] ?? Object.fromEntries(counters.map((name) => [name, 0]));
    const delta = Object.fromEntries(counters.map((name) => [name, now[name] - was[name]]));
    if (counters.some((name) => delta[name] !== 0)) out[key] = delta;
  }
  return out;
}

const STATEMENT_COUNTERS = ['calls', 'ms'];

/**
 * What pg_stat_statements counted (tools/infra preloads it where it is installed) for the
 * statements on database `db`'s tables, per statement kind and collection (`UPDATE
 * enrichment_profiles`): calls and execution milliseconds, cumulative; null where the store is
 * not such a cluster or the module is not loaded. Execution time leaves out parsing, planning and
 * the protocol, so it is a part of PostgreSQL's CPU, not all of it.
 */
export async function readStatementTimes(infra, db) {
  const psql = await infra.storePsqlCommand();
  if (!psql) return null;
  const sql = `SELECT upper(split_part(ltrim(s.query), ' ', 1)) || ' ' || (m._jsonb->>'_id'), sum(s.calls), sum(s.total_exec_time)
    FROM pg_stat_statements s JOIN "${db}"._ferretdb_database_metadata m ON substring(s.query from '"${db}"\\."([^"]+)"') = m._jsonb->>'table'
    GROUP BY 1`;
  let stdout;
  try {
    ({ stdout } = await promisify(execFile)(psql.bin, [...psql.args, '-c', sql]));
  } catch {
    return null; // not loaded (a cluster started before tools/infra preloaded it), or not installed
  }
  const out = {};
  for (const line of stdout.trim().split('\n').filter(Boolean)) {
    const [statement, calls, ms] = line.split('\t');
    out[statement] = { calls: Number(calls), ms: Number(ms) };
  }
  return out;
}

/** Both readings of the store's own counters: per collection (`readTableCounters`) and per statement (`readStatementTimes`). */
export async function readStoreCounters(infra, db) {
  return { tables: await readTableCounters(infra, db), statements: await readStatementTimes(infra, db) };
}

/** What changed between two `readStoreCounters`. */
export function storeCountersBetween(before, after) {
  return { tables: tableCountersBetween(before.tables, after.tables), statements: statementTimesBetween(before.statements, after.statements) };
}

/** Per statement kind and collection, the calls and milliseconds between two readings; null if either is. */
export function statementTimesBetween(before, after) {
  return countersBetween(before, after, STATEMENT_COUNTERS);
}

/**
 * The report's line: the `top` statements by execution time (or by calls, `by: 'calls'`), with
 * their calls and time per call, then the total; per event as well when `events` is given.
 */
export function statementTimesLine(delta, { events, top = 6, by = 'ms' } = {}) {
  if (!delta) return 'not read (pg_stat_statements is not loaded: the store is not FerretDB on a PostgreSQL cluster tools/infra started with it)';
  const entries = Object.entries(delta).sort(([, a], [, b]) => b[by] - a[by]);
  const ms = (v) => Math.round(v);
  const perCall = (d) => (d.calls > 0 ? (d.ms / d.calls).toFixed(3) : '0');
  const perEvent = (calls) => (events > 0 ? `, ${(calls / events).toFixed(2)} per event` : '');
  const named = entries.slice(0, top).map(([statement, d]) => `${statement} ${ms(d.ms)} ms (${d.calls} calls${perEvent(d.calls)}, ${perCall(d)} ms each)`);
  const total = entries.reduce((sum, [, d]) => ({ calls: sum.calls + d.calls, ms: sum.ms + d.ms }), { calls: 0, ms: 0 });
  const totalPerEvent = events > 0 ? ` (${(total.calls / events).toFixed(2)} per event)` : '';
  return `${named.join(', ')}; all ${entries.length} kinds: ${ms(total.ms)} ms in ${total.calls} statements${totalPerEvent}`;
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
