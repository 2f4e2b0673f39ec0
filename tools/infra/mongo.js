'use strict';
// The MongoDB-wire server for local runs: `mongod` from PATH when there is one, otherwise
// FerretDB v1 (built once from its Go module into the cache dir: ferretdb.js) on a private
// PostgreSQL cluster (postgres.js), or on SQLite as the last resort when PostgreSQL cannot be had.

const path = require('node:path');
const { defaultLogger, mkdirp } = require('./common.js');
const { which, spawnDetached } = require('./processes.js');
const { FERRETDB_VERSION, ferretdbHome, ensureFerretdb } = require('./ferretdb.js');
const postgres = require('./postgres.js');

/** @param {string} dir absolute directory -> "file:/abs/dir/" */
function fileUrl(dir) {
  return `file:${path.resolve(dir).split(path.sep).map(encodeURIComponent).join('/')}/`;
}

/**
 * @typedef {object} MongoProcess
 * @property {'mongod' | 'ferretdb'} kind
 * @property {'postgresql' | 'sqlite'} [backend]  FerretDB's
 * @property {import('node:child_process').ChildProcess} child
 * @property {string[]} markers   command-line markers for PID ownership checks
 * @property {string} dataDir
 * @property {import('./postgres.js').PostgresProcess} [postgres]  the cluster behind FerretDB
 */

/**
 * FerretDB's connection pool holds one PostgreSQL connection per statement of an `update`
 * command until the whole command is done (v1.24), and waits forever for a free one: with the
 * default pool of 50, one bulkWrite of 50 matching updates never answers, and concurrent bulk
 * updates that together need more than the pool wait for each other forever. A large pool (idle
 * connections closed after a minute), with each service sending one bulk update of at most 25 at
 * a time (`limitBulkUpdates` in libs/shared/mongo), keeps five services below it.
 */
const FERRETDB_POOL = 'pool_max_conns=400&pool_max_conn_idle_time=1m';

/*
 * FerretDB's Go runtime: its garbage collector's mark workers took 3.6 % of the machine's CPU
 * samples in the pipeline benchmark (perf, 2026-12-07), 1.2 % with GOGC=400, which lets the heap
 * grow to five times what is live between cycles instead of twice (FerretDB's RSS peaked at
 * 229 MB in that run); GOMEMLIMIT keeps it bounded. A user's own GOGC / GOMEMLIMIT win.
 */
const FERRETDB_GO_ENV = { GOGC: '400', GOMEMLIMIT: '1GiB' };

const SQLITE_WARNING =
  'FerretDB falls back to its SQLite backend, which is very slow with more than a few thousand documents ' +
  '(no index serves its filters: an indexed findOne was measured at ~3/s at 2,000 documents) and answers ' +
  'SQLITE_BUSY under concurrent writes';

/**
 * Start mongod (if on PATH) or FerretDB on 127.0.0.1:port, detached, logging to logFile.
 * FerretDB's backend: MOSAIC_FERRETDB_BACKEND (postgresql | sqlite), by default PostgreSQL
 * when it can be found or installed, else SQLite (with a warning).
 * @param {{dataRoot: string, port: number, logFile: string, postgresPort: number, postgresLogFile: string, timeoutMs?: number, cacheDir?: string, log?: (line: string) => void}} p
 * @returns {Promise<MongoProcess>}
 */
async function startMongoServer(p) {
  const log = p.log || defaultLogger;
  const mongod = which('mongod');
  if (mongod) {
    const dataDir = mkdirp(path.join(p.dataRoot, 'mongod'));
    log(`starting mongod (${mongod}) on 127.0.0.1:${p.port}, data in ${dataDir}`);
    const child = spawnDetached(mongod, ['--dbpath', dataDir, '--port', String(p.port), '--bind_ip', '127.0.0.1'], {
      logFile: p.logFile,
      header: `mongod 127.0.0.1:${p.port}`,
      cwd: dataDir,
    });
    return { kind: 'mongod', child, markers: ['mongod', dataDir], dataDir };
  }
  const wanted = (process.env.MOSAIC_FERRETDB_BACKEND || '').trim().toLowerCase();
  if (wanted && wanted !== 'postgresql' && wanted !== 'sqlite') throw new Error(`MOSAIC_FERRETDB_BACKEND=${wanted}: expected postgresql or sqlite`);
  const bin = await ensureFerretdb({ cacheDir: p.cacheDir, log });
  const dataDir = path.join(p.dataRoot, 'ferretdb');
  const stateDir = mkdirp(path.join(dataDir, 'state'));
  /** @type {import('./postgres.js').PostgresProcess | undefined} */
  let pg;
  if (wanted !== 'sqlite') {
    try {
      pg = await postgres.startPostgres({ dataRoot: p.dataRoot, port: p.postgresPort, logFile: p.postgresLogFile, timeoutMs: p.timeoutMs, log });
    } catch (err) {
      if (wanted === 'postgresql' || !(err instanceof postgres.PostgresUnavailableError)) throw err;
      log(`WARNING: ${err.message}. ${SQLITE_WARNING}.`);
    }
  } else {
    log(`WARNING: MOSAIC_FERRETDB_BACKEND=sqlite: ${SQLITE_WARNING}.`);
  }
  const common = [
    `--listen-addr=127.0.0.1:${p.port}`,
    `--state-dir=${stateDir}`,
    '--telemetry=disable',
    // Human-readable, and only warnings: those include every command FerretDB rejects
    // (e.g. "... is not implemented yet"), which is what one looks for in this log.
    '--log-format=console',
    '--log-level=warn',
    '--debug-addr=-',
  ];
  const env = { ...FERRETDB_GO_ENV, ...process.env };
  if (pg) {
    const urlArg = `--postgresql-url=${pg.url}?${FERRETDB_POOL}`;
    log(`starting FerretDB ${FERRETDB_VERSION} (PostgreSQL backend, 127.0.0.1:${pg.port}) on 127.0.0.1:${p.port}`);
    const child = spawnDetached(bin, ['--handler=postgresql', urlArg, ...common], {
      logFile: p.logFile,
      header: `ferretdb 127.0.0.1:${p.port}`,
      cwd: dataDir,
      env,
    });
    return { kind: 'ferretdb', backend: 'postgresql', child, markers: ['ferretdb', urlArg], dataDir, postgres: pg };
  }
  const sqliteDir = mkdirp(path.join(dataDir, 'sqlite'));
  log(`starting FerretDB ${FERRETDB_VERSION} (SQLite backend) on 127.0.0.1:${p.port}, data in ${sqliteDir}`);
  const sqliteUrlArg = `--sqlite-url=${fileUrl(sqliteDir)}`;
  const child = spawnDetached(bin, ['--handler=sqlite', sqliteUrlArg, ...common], {
    logFile: p.logFile,
    header: `ferretdb 127.0.0.1:${p.port}`,
    cwd: dataDir,
    env,
  });
  return { kind: 'ferretdb', backend: 'sqlite', child, markers: ['ferretdb', sqliteUrlArg], dataDir };
}

module.exports = { FERRETDB_VERSION, ferretdbHome, ensureFerretdb, startMongoServer };
