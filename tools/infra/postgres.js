'use strict';
// The private PostgreSQL cluster behind FerretDB for local runs: the machine's PostgreSQL
// binaries (installed with apt-get when missing and we are root), one cluster initialised in
// .mosaic/data/postgres/<major>, listening on loopback only, started and stopped by PID.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { defaultLogger, mkdirp } = require('./common.js');
const { run, which, spawnDetached, waitUntilAnswers, processCmdline, pidMatches } = require('./processes.js');
const { tcpAnswers } = require('./probes.js');

const PG_DEFAULT_PORT = 27432;
/** The database FerretDB keeps everything in (one PostgreSQL schema per MongoDB database). */
const FERRETDB_DATABASE = 'ferretdb';
const GIN_TWINS_SQL = path.join(__dirname, 'postgres-gin-twins.sql');
const CAS_GUARD_SQL = path.join(__dirname, 'postgres-cas-guard.sql');

/*
 * Settings passed on the command line at every start (so that changing them here needs no
 * new cluster). Tuned for a developer's or CI machine holding test data:
 * - synchronous_commit=off: a commit returns before its WAL is flushed; a machine crash can
 *   lose the last few hundred milliseconds of commits, never corrupt the cluster (fsync stays on);
 * - plan_cache_mode=force_custom_plan: FerretDB passes the field name of a filter as a query
 *   parameter (`_jsonb -> $1 @> $2`); only a plan made with the actual value can match an index
 *   on `_jsonb -> 'field'`, and PostgreSQL switches prepared statements to a generic plan otherwise;
 * - jit=off: compiling is slower than running the small queries of tests;
 * - default_toast_compression=lz4: FerretDB's documents over ~2 KB are compressed on every
 *   write and decompressed on every read; pglz took about 1 % of the machine in the pipeline
 *   benchmark (perf), lz4 is several times faster at a similar ratio for JSON (PostgreSQL 14 and
 *   later: the packaged builds of Debian, Ubuntu and PGDG have lz4; see settingsFor());
 * - shared_buffers: an eighth of the machine's memory, between 128 MB (PostgreSQL's default)
 *   and 4 GB; see sharedBuffersMb().
 */
const SETTINGS = [
  'listen_addresses=127.0.0.1',
  'unix_socket_directories=',
  'max_connections=500',
  `shared_buffers=${sharedBuffersMb(os.totalmem())}MB`,
  `effective_cache_size=${Math.floor(os.totalmem() / 2 ** 21)}MB`,
  'work_mem=8MB',
  'maintenance_work_mem=64MB',
  'synchronous_commit=off',
  'plan_cache_mode=force_custom_plan',
  'jit=off',
  'log_min_messages=warning',
  'log_line_prefix=%m [%p] ',
  'log_timezone=UTC',
];

/** The settings for a server of version `major`, with or without the statement statistics. @param {string} major @param {boolean} statementStats */
function settingsFor(major, statementStats) {
  const settings = Number(major) >= 14 ? [...SETTINGS, 'default_toast_compression=lz4'] : [...SETTINGS];
  if (statementStats) settings.push(`shared_preload_libraries=${STATEMENT_STATS}`);
  return settings;
}

/*
 * pg_stat_statements (PostgreSQL's contrib module, part of the packaged server builds): calls and
 * execution time per statement since the last reset. The pipeline benchmark reads it to say which
 * of FerretDB's statements take the store's time (bench-store-tables.mjs); an operator reads the
 * same view. Its cost is a hash-table update per statement. It is loaded only where its library is
 * installed: PostgreSQL refuses to start with a preload library it cannot find.
 */
const STATEMENT_STATS = 'pg_stat_statements';

/** @param {string} binDir */
function hasStatementStats(binDir) {
  return fs.existsSync(path.join(packageLibDir(binDir), `${STATEMENT_STATS}.so`));
}

/** Where the server's modules are: pg_config's answer, else <binDir>/../lib (Debian's layout). @param {string} binDir */
function packageLibDir(binDir) {
  try {
    return execFileSync(path.join(binDir, 'pg_config'), ['--pkglibdir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return path.join(binDir, '..', 'lib');
  }
}

/**
 * PostgreSQL's own page cache, in MB (its default is 128 MB). A store of 1,000,000 profiles
 * holds about 11 GB of tables and indexes; with 3 GB, 5.8 % of the pipeline's block reads missed
 * the buffers there (0.5 % at 10,000 profiles), each miss a copy from the OS cache (the pipeline
 * bench's "block reads missed the shared buffers"). The memory is reserved but only touched as
 * pages are read, so a test run's small tables cost no more than before.
 * @param {number} totalBytes
 */
function sharedBuffersMb(totalBytes) {
  return Math.min(4096, Math.max(128, Math.floor(totalBytes / 8 / 2 ** 20)));
}

/**
 * The PostgreSQL server binaries: initdb and postgres from PATH, else the newest
 * /usr/lib/postgresql/<major>/bin (Debian and Ubuntu keep them off PATH).
 * @returns {{binDir: string, major: string} | null}
 */
function findPostgres() {
  const onPath = which('initdb');
  /** @type {string[]} */
  const candidates = onPath ? [path.dirname(onPath)] : [];
  try {
    const majors = fs
      .readdirSync('/usr/lib/postgresql')
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    for (const m of majors) candidates.push(path.join('/usr/lib/postgresql', m, 'bin'));
  } catch {
    // no Debian layout
  }
  for (const binDir of candidates) {
    if (!['initdb', 'postgres', 'pg_isready', 'psql'].every((b) => fs.existsSync(path.join(binDir, b)))) continue;
    const m = /postgresql\/(\d+)\/bin$/.exec(binDir);
    return { binDir, major: m ? m[1] : majorOf(binDir) };
  }
  return null;
}

/** @param {string} binDir */
function majorOf(binDir) {
  const out = execFileSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const m = /(\d+)(?:\.\d+)?/.exec(out);
  return m ? m[1] : 'unknown';
}

class PostgresUnavailableError extends Error {}

/**
 * Find the PostgreSQL binaries, installing Debian's `postgresql` package when they are missing
 * and we are root on a machine with apt-get.
 * @param {{log?: (line: string) => void}} [opts]
 * @returns {Promise<{binDir: string, major: string}>}
 */
async function ensurePostgres(opts = {}) {
  const log = opts.log || defaultLogger;
  const found = findPostgres();
  if (found) return found;
  const aptGet = which('apt-get');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!aptGet || !root) {
    throw new PostgresUnavailableError(
      'no PostgreSQL server binaries (initdb, postgres) on PATH or in /usr/lib/postgresql/*/bin. Install PostgreSQL ' +
        '(Debian/Ubuntu: `sudo apt-get install -y postgresql`; macOS: `brew install postgresql@16` and put its bin/ on PATH)',
    );
  }
  log("no PostgreSQL server binaries: installing Debian's postgresql package (apt-get update && apt-get install -y postgresql; about a minute)...");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'postgresql']]) {
    const r = await run(aptGet, args, { env, timeoutMs: 15 * 60 * 1000 });
    if (r.code !== 0) throw new PostgresUnavailableError(`apt-get ${args.join(' ')} failed (exit code ${r.code}):\n${(r.stdout + r.stderr).slice(-2000)}`);
  }
  const installed = findPostgres();
  if (!installed) throw new PostgresUnavailableError('apt-get installed postgresql but no initdb/postgres was found in /usr/lib/postgresql/*/bin');
  return installed;
}

/**
 * PostgreSQL refuses to run as root: as root, run it as the `postgres` user (or `nobody`).
 * @returns {{uid: number, gid: number, name: string, home: string} | undefined}
 */
function serverUser() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  /** @type {Map<string, string[]>} */
  const users = new Map();
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f.length >= 7) users.set(f[0], f);
  }
  const f = users.get('postgres') || users.get('nobody');
  if (!f) throw new PostgresUnavailableError('running as root, and there is neither a `postgres` nor a `nobody` user to run PostgreSQL as');
  return { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] };
}

/**
 * Can that user reach dir (search permission on every ancestor)?
 * @param {string} dir
 * @param {{uid: number, gid: number}} user
 */
function reachable(dir, user) {
  for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
    let st;
    try {
      st = fs.statSync(d);
    } catch {
      return true; // created later by us (root), with the default mode
    }
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) return false;
    if (d === path.dirname(d)) return true;
  }
}

/**
 * Where the cluster lives: <dataRoot>/postgres/<major>, unless the server's user cannot reach
 * it (a checkout under /root): then under that user's home, one directory per checkout.
 * @param {string} dataRoot
 * @param {string} major
 * @param {{name: string, uid: number, gid: number, home: string} | undefined} user
 */
function clusterDir(dataRoot, major, user) {
  const preferred = path.join(dataRoot, 'postgres', major);
  if (!user || reachable(preferred, user)) return preferred;
  const id = crypto.createHash('sha256').update(path.resolve(dataRoot)).digest('hex').slice(0, 12);
  return path.join(user.home && user.home !== '/nonexistent' ? user.home : os.tmpdir(), `mosaic-${id}`, major);
}

/** @param {number} port */
function postgresUrl(port) {
  return `postgres://postgres@127.0.0.1:${port}/${FERRETDB_DATABASE}`;
}

/**
 * psql's command line for database `db` of the cluster on `port`: rows unaligned, fields
 * separated by tabs, no headers, stopping at the first error.
 * @param {string} binDir
 * @param {number} port
 * @param {string} [db]
 * @returns {{bin: string, args: string[]}}
 */
function psqlCommand(binDir, port, db = FERRETDB_DATABASE) {
  return {
    bin: path.join(binDir, 'psql'),
    args: ['-X', '-q', '-At', '-F', '\t', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1'],
  };
}

/**
 * @param {string} binDir
 * @param {number} port
 * @param {string} db
 * @param {string[]} args
 */
function psql(binDir, port, db, args) {
  const { bin, args: common } = psqlCommand(binDir, port, db);
  return run(bin, [...common, ...args], { env: { ...process.env, PGCONNECT_TIMEOUT: '5' }, timeoutMs: 120000 });
}

/**
 * The postmaster already running on dataDir (left by an earlier run), if any, and its port.
 * @param {string} dataDir
 * @returns {{pid: number, port: number} | null}
 */
function runningPostmaster(dataDir) {
  let lines;
  try {
    lines = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  return Number.isInteger(pid) && pid > 0 && pidMatches(pid, postgresMarkers(dataDir)) ? { pid, port: Number(lines[3]) } : null;
}

/** @param {string} dataDir */
function postgresMarkers(dataDir) {
  return ['postgres', `-D ${dataDir}`];
}

/**
 * @typedef {object} PostgresProcess
 * @property {number} pid
 * @property {import('node:child_process').ChildProcess | null} child  null when reused
 * @property {string[]} markers
 * @property {string} dataDir
 * @property {string} binDir
 * @property {string} major
 * @property {number} port
 * @property {string} url   for FerretDB's --postgresql-url
 * @property {boolean} reused
 */

/**
 * Initialise (first time) and start the private cluster, wait until it answers, create
 * FerretDB's database and (re)install the GIN twin triggers (postgres-gin-twins.sql).
 * @param {{dataRoot: string, port: number, logFile: string, timeoutMs?: number, log?: (line: string) => void}} p
 * @returns {Promise<PostgresProcess>}
 */
async function startPostgres(p) {
  const log = p.log || defaultLogger;
  const { binDir, major } = await ensurePostgres({ log });
  const statementStats = hasStatementStats(binDir); // asks pg_config once: the settings and the database both need it
  const user = serverUser();
  const dataDir = clusterDir(p.dataRoot, major, user);
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    mkdirp(dataDir);
    fs.chmodSync(dataDir, 0o700);
    if (user) fs.chownSync(dataDir, user.uid, user.gid);
    log(`initialising a PostgreSQL ${major} cluster in ${dataDir}${user ? ` (owned by ${user.name}: PostgreSQL does not run as root)` : ''}`);
    const r = await run(path.join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-instructions'], {
      ...asUser,
      cwd: dataDir,
      timeoutMs: 5 * 60 * 1000,
    });
    if (r.code !== 0) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`initdb failed (exit code ${r.code}):\n${r.stdout}${r.stderr}`);
    }
  }
  const markers = postgresMarkers(dataDir);
  const url = postgresUrl(p.port);
  const existing = runningPostmaster(dataDir);
  /** @type {PostgresProcess} */
  let proc;
  if (existing) {
    if (existing.port !== p.port) {
      throw new Error(
        `PostgreSQL on ${dataDir} already runs on port ${existing.port} (pid ${existing.pid}), not on ${p.port}: run \`npm run infra -- down\` or set MOSAIC_POSTGRES_PORT=${existing.port}`,
      );
    }
    log(`PostgreSQL on ${dataDir} is already running (pid ${existing.pid}): reusing it`);
    proc = { pid: existing.pid, child: null, markers, dataDir, binDir, major, port: p.port, url, reused: true };
  } else {
    if (await tcpAnswers('127.0.0.1', p.port, 1000)) {
      throw new Error(`cannot start PostgreSQL: 127.0.0.1:${p.port} is in use (set MOSAIC_POSTGRES_PORT to a free port)`);
    }
    log(`starting PostgreSQL ${major} on 127.0.0.1:${p.port}, data in ${dataDir}`);
    const args = ['-D', dataDir, '-p', String(p.port), ...settingsFor(major, statementStats).flatMap((s) => ['-c', s])];
    const child = spawnDetached(path.join(binDir, 'postgres'), args, {
      logFile: p.logFile,
      header: `postgres 127.0.0.1:${p.port}`,
      cwd: dataDir,
      ...asUser,
    });
    if (child.pid === undefined) throw new Error(`could not start ${path.join(binDir, 'postgres')}; log: ${p.logFile}`);
    proc = { pid: child.pid, child, markers, dataDir, binDir, major, port: p.port, url, reused: false };
  }
  try {
    await waitUntilAnswers({
      name: `PostgreSQL on 127.0.0.1:${p.port}`,
      check: async () => {
        const r = await run(path.join(binDir, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(p.port), '-U', 'postgres', '-t', '2']);
        return r.code === 0 ? { ok: true } : { ok: false, error: `pg_isready exit code ${r.code}` };
      },
      timeoutMs: p.timeoutMs || 120000,
      log,
      child: proc.child,
      pid: proc.pid,
      logFile: p.logFile,
    });
    await prepareDatabase(binDir, p.port, log, statementStats);
  } catch (err) {
    if (!proc.reused) stopPostgresSoon(proc);
    throw err;
  }
  return proc;
}

/** @param {PostgresProcess} proc */
function stopPostgresSoon(proc) {
  if (processCmdline(proc.pid) !== null) {
    try {
      process.kill(proc.pid, 'SIGINT');
    } catch {
      // gone
    }
  }
}

/**
 * FerretDB's database, the triggers that give its indexes GIN twins, the compare-and-set guard,
 * and the statement statistics' view.
 * @param {string} binDir
 * @param {number} port
 * @param {(line: string) => void} log
 * @param {boolean} statementStats
 */
async function prepareDatabase(binDir, port, log, statementStats) {
  const exists = await psql(binDir, port, 'postgres', ['-c', `SELECT 1 FROM pg_database WHERE datname = '${FERRETDB_DATABASE}'`]);
  if (exists.code !== 0) throw new Error(`psql failed (exit code ${exists.code}): ${exists.stderr}`);
  if (exists.stdout.trim() !== '1') {
    const created = await psql(binDir, port, 'postgres', ['-c', `CREATE DATABASE ${FERRETDB_DATABASE}`]);
    if (created.code !== 0) throw new Error(`CREATE DATABASE ${FERRETDB_DATABASE} failed: ${created.stderr}`);
  }
  for (const file of [GIN_TWINS_SQL, CAS_GUARD_SQL]) {
    const installed = await psql(binDir, port, FERRETDB_DATABASE, ['-f', file]);
    if (installed.code !== 0) throw new Error(`installing ${file} failed: ${installed.stderr}`);
  }
  if (statementStats) {
    const created = await psql(binDir, port, FERRETDB_DATABASE, ['-c', `CREATE EXTENSION IF NOT EXISTS ${STATEMENT_STATS}`]);
    if (created.code !== 0) throw new Error(`CREATE EXTENSION ${STATEMENT_STATS} failed: ${created.stderr}`);
    const counting = await psql(binDir, port, FERRETDB_DATABASE, ['-c', `SELECT count(*) FROM ${STATEMENT_STATS}`]);
    if (counting.code !== 0)
      log(`PostgreSQL counts no statements: started before tools/infra preloaded ${STATEMENT_STATS}; \`npm run infra -- down\`, then up`);
  }
}

module.exports = {
  PG_DEFAULT_PORT,
  FERRETDB_DATABASE,
  PostgresUnavailableError,
  findPostgres,
  ensurePostgres,
  startPostgres,
  postgresUrl,
  psql,
  psqlCommand,
};
