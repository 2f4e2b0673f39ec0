'use strict';
// Mosaic's own infrastructure command (DESIGN §9): Kafka and a MongoDB-wire server for
// local runs and tests. Resolution order:
//   1. KAFKA_BROKERS and MONGODB_URI both set: use them, wait until they answer;
//   2. a Docker engine answers: `docker compose -f docker/compose.yml up -d kafka mongo`;
//   3. local processes: Apache Kafka (KRaft) from Maven Central jars, and mongod from PATH
//      or else FerretDB built with Go, on a private PostgreSQL cluster (SQLite when
//      PostgreSQL can neither be found nor installed).
// Anything already answering on the Kafka / MongoDB port is reused, never started twice.
// State lives in <repo>/.mosaic/ (infra/ pids + state.json, data/, logs/).
//
// Plain CommonJS so that the CLI (tools/infra/cli.js) and Jest's global setup can require it.

const fs = require('node:fs');
const path = require('node:path');
const {
  REPO_ROOT,
  defaultLogger,
  cacheDir: defaultCacheDir,
  portFromEnv,
  tcpAnswers,
  kafkaAnswers,
  kafkaWarmUp,
  mongoAnswers,
  errorMessage,
  pidMatches,
  processCmdline,
  stopPid,
  withLock,
  run,
  which,
  tailFile,
  waitUntilAnswers,
  readJson,
  writeJson,
  rel,
  sleep,
  mkdirp,
  freePort,
} = require('./util.js');
const kafka = require('./kafka.js');
const mongo = require('./mongo.js');
const postgres = require('./postgres.js');

const DEFAULT_TIMEOUT_MS = 120000;
/** @typedef {'kafka' | 'mongo'} Service */
/** @type {Service[]} */
const SERVICES = ['kafka', 'mongo'];

/**
 * @typedef {object} InfraOptions
 * @property {number} [kafkaPort]            default env MOSAIC_KAFKA_PORT or 9092
 * @property {number} [kafkaControllerPort]  default env MOSAIC_KAFKA_CONTROLLER_PORT or kafkaPort + 1
 * @property {number} [mongoPort]            default env MOSAIC_MONGO_PORT or 27017
 * @property {number} [postgresPort]         FerretDB's PostgreSQL; default env MOSAIC_POSTGRES_PORT or 27432
 * @property {number} [timeoutMs]            how long to wait for the servers to answer (120 s)
 * @property {string} [root]                 repository root (state goes to <root>/.mosaic)
 * @property {string} [cacheDir]             default env MOSAIC_CACHE_DIR or ~/.cache/mosaic
 * @property {boolean} [quiet]               no progress lines
 * @property {(line: string) => void} [log]  progress lines (default: stderr)
 * @property {boolean} [lease]  (up) record this process as a user of the servers until it
 *   calls release(); servers are then only stopped once no live user remains
 */

/**
 * @typedef {object} UpResult
 * @property {string[]} kafkaBrokers
 * @property {string} mongoUri   without a database name
 * @property {{kafka: boolean, mongo: boolean}} started  what this call started
 * @property {'external' | 'docker' | 'local'} mode
 * @property {string} [mongoServer]  e.g. "FerretDB v1.24.0" or "MongoDB 7.0.x"
 * @property {{kafka?: string, mongo?: string}} logFiles
 */

/** @param {InfraOptions} [opts] */
function resolveOptions(opts = {}) {
  const kafkaPort = opts.kafkaPort || portFromEnv('MOSAIC_KAFKA_PORT', 9092);
  const root = path.resolve(opts.root || REPO_ROOT);
  return {
    kafkaPort,
    kafkaControllerPort: opts.kafkaControllerPort || portFromEnv('MOSAIC_KAFKA_CONTROLLER_PORT', kafkaPort + 1),
    mongoPort: opts.mongoPort || portFromEnv('MOSAIC_MONGO_PORT', 27017),
    postgresPort: opts.postgresPort || portFromEnv('MOSAIC_POSTGRES_PORT', postgres.PG_DEFAULT_PORT),
    timeoutMs: opts.timeoutMs || DEFAULT_TIMEOUT_MS,
    root,
    cacheDir: opts.cacheDir ? path.resolve(opts.cacheDir) : defaultCacheDir(),
    log: opts.log || (opts.quiet ? () => undefined : defaultLogger),
    lease: Boolean(opts.lease),
    paths: layout(root),
  };
}

/** @param {string} root */
function layout(root) {
  const base = path.join(root, '.mosaic');
  return {
    base,
    stateFile: path.join(base, 'infra', 'state.json'),
    lockDir: path.join(base, 'infra', 'lock'),
    leasesDir: path.join(base, 'infra', 'leases'),
    /** @param {Service} svc */
    pidFile: (svc) => path.join(base, 'infra', `${svc}.pid`),
    dataRoot: path.join(base, 'data'),
    logDir: path.join(base, 'logs'),
    /** @param {Service | 'postgres'} svc */
    logFile: (svc) => path.join(base, 'logs', `${svc}.log`),
    composeFile: path.join(root, 'docker', 'compose.yml'),
  };
}

/**
 * @typedef {object} ServiceState
 * @property {'local' | 'docker'} how
 * @property {number} port
 * @property {number} [pid]
 * @property {string[]} [markers]
 * @property {string} [kind]            mongod | ferretdb | kafka
 * @property {string} [dataDir]
 * @property {string} [logFile]
 * @property {number} [controllerPort]
 * @property {'postgresql' | 'sqlite'} [backend]   FerretDB's
 * @property {PostgresState} [postgres]   the cluster behind FerretDB, stopped after it
 * @property {string} startedAt
 */
/**
 * @typedef {object} PostgresState
 * @property {number} pid
 * @property {string[]} markers
 * @property {number} port
 * @property {string} major
 * @property {string} binDir
 * @property {string} dataDir
 * @property {string} logFile
 */
/**
 * @typedef {object} State
 * @property {'docker' | 'local'} [mode]
 * @property {ServiceState} [kafka]
 * @property {ServiceState} [mongo]
 * @property {Service[]} [stopWhenUnused]  to stop when the last lease is released
 */

/** @param {ReturnType<typeof layout>} L @returns {State} */
function readState(L) {
  return readJson(L.stateFile) || {};
}

/** @param {ReturnType<typeof layout>} L @param {State} state */
function saveState(L, state) {
  for (const svc of SERVICES) {
    const s = state[svc];
    if (s && s.how === 'local' && s.pid) fs.writeFileSync(L.pidFile(svc), `${s.pid}\n`);
    else fs.rmSync(L.pidFile(svc), { force: true });
  }
  if (state.stopWhenUnused) state.stopWhenUnused = state.stopWhenUnused.filter((svc) => state[svc]);
  if (state.stopWhenUnused && state.stopWhenUnused.length === 0) delete state.stopWhenUnused;
  if (!state.kafka && !state.mongo) fs.rmSync(L.stateFile, { force: true });
  else writeJson(L.stateFile, state);
}

/** KAFKA_BROKERS + MONGODB_URI, when both are set. */
function externalFromEnv() {
  const brokers = (process.env.KAFKA_BROKERS || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const uri = (process.env.MONGODB_URI || '').trim();
  return brokers.length && uri ? { brokers, uri } : null;
}

/** @param {string} uri */
function redact(uri) {
  return uri.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

/** @param {(line: string) => void} log */
function warnHalfExternal(log) {
  const k = Boolean(process.env.KAFKA_BROKERS);
  const m = Boolean(process.env.MONGODB_URI);
  if (k !== m) log(`${k ? 'KAFKA_BROKERS' : 'MONGODB_URI'} is set but ${k ? 'MONGODB_URI' : 'KAFKA_BROKERS'} is not: both are needed to use external servers; ignoring it`);
}

/** Does a Docker engine answer `docker info` within ~3 s? (MOSAIC_INFRA_DOCKER=0 skips Docker.) */
async function dockerAnswers() {
  if (process.env.MOSAIC_INFRA_DOCKER === '0') return false;
  const docker = which('docker');
  if (!docker) return false;
  try {
    const r = await run(docker, ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 3000 });
    return r.code === 0;
  } catch {
    return false;
  }
}

/**
 * Bring Kafka and a MongoDB-wire server up (or find them up) and wait until both answer.
 * @param {InfraOptions} [opts]
 * @returns {Promise<UpResult>}
 */
async function up(opts = {}) {
  const o = resolveOptions(opts);
  const ext = externalFromEnv();
  if (ext) {
    o.log(`KAFKA_BROKERS and MONGODB_URI are set: using ${ext.brokers.join(',')} and ${redact(ext.uri)}; waiting until they answer...`);
    const [, mongoServer] = await Promise.all([
      waitUntilAnswers({ name: `Kafka at ${ext.brokers.join(',')}`, check: () => kafkaAnswers(ext.brokers, 3000), timeoutMs: o.timeoutMs, log: o.log }),
      waitForMongo(ext.uri, o.timeoutMs, o.log, `MongoDB at ${redact(ext.uri)}`),
    ]);
    return { kafkaBrokers: ext.brokers, mongoUri: ext.uri, started: { kafka: false, mongo: false }, mode: 'external', mongoServer, logFiles: {} };
  }
  warnHalfExternal(o.log);
  mkdirp(path.dirname(o.paths.lockDir));
  return withLock(o.paths.lockDir, () => upLocked(o), { log: o.log, what: 'the mosaic infra lock (.mosaic/infra/lock)' });
}

/**
 * @param {string} uri
 * @param {number} timeoutMs
 * @param {(line: string) => void} log
 * @param {string} name
 * @param {{child?: import('node:child_process').ChildProcess | null, pid?: number | null, logFile?: string}} [extra]
 * @returns {Promise<string>} the server's description
 */
async function waitForMongo(uri, timeoutMs, log, name, extra = {}) {
  let server = '';
  await waitUntilAnswers({
    name,
    check: async () => {
      const r = await mongoAnswers(uri, 2000);
      if (r.ok) server = r.server;
      return r;
    },
    timeoutMs,
    log,
    ...extra,
  });
  return server;
}

/** @param {ReturnType<typeof resolveOptions>} o @returns {Promise<UpResult>} */
async function upLocked(o) {
  const t0 = Date.now();
  const L = o.paths;
  const kafkaBrokers = [`127.0.0.1:${o.kafkaPort}`];
  const mongoUri = `mongodb://127.0.0.1:${o.mongoPort}`;
  const state = readState(L);
  const started = { kafka: false, mongo: false };
  /** @type {Record<Service, number>} */
  const ports = { kafka: o.kafkaPort, mongo: o.mongoPort };
  /** @type {Record<Service, string>} */
  const names = { kafka: `Kafka on 127.0.0.1:${o.kafkaPort}`, mongo: `MongoDB-wire server on 127.0.0.1:${o.mongoPort}` };
  let mongoServer = '';

  const [k, m] = await Promise.all([kafkaAnswers(kafkaBrokers, 3000), mongoAnswers(mongoUri, 3000)]);
  if (m.ok) mongoServer = m.server;
  /** @type {Record<Service, boolean>} */
  const need = { kafka: !k.ok, mongo: !m.ok };
  /** @type {Array<Promise<unknown>>} */
  const waits = [];

  for (const svc of SERVICES) {
    const s = state[svc];
    const ours = Boolean(s && s.how === 'local' && s.pid && s.markers && pidMatches(s.pid, s.markers));
    if (!need[svc]) {
      const who = ours ? `mosaic infra's (pid ${s && s.pid})` : s && s.how === 'docker' ? 'the docker compose one' : 'one not started by mosaic infra';
      o.log(`${names[svc]} already answers${svc === 'mongo' && mongoServer ? ` (${mongoServer})` : ''}: reusing it (${who})`);
      continue;
    }
    if (s && s.how === 'local') {
      if (ours && s.port === ports[svc]) {
        // Started earlier (e.g. by an `up` that was interrupted) and still starting up.
        o.log(`${names[svc]}: the process mosaic infra started earlier (pid ${s.pid}) is still starting; waiting for it`);
        need[svc] = false;
        waits.push(waitService(o, svc, { pid: s.pid, logFile: s.logFile }));
        continue;
      }
      if (ours) {
        throw new Error(
          `mosaic infra already runs ${svc} on port ${s.port} (pid ${s.pid}), not on ${ports[svc]}: run \`npm run infra -- down\` first`,
        );
      }
      delete state[svc]; // died: forget it
    }
    if (await tcpAnswers('127.0.0.1', ports[svc], 1000)) {
      // Not ours, not answering as Kafka/MongoDB yet: perhaps a server still starting.
      o.log(`something listens on 127.0.0.1:${ports[svc]} but does not answer as ${svc === 'kafka' ? 'Kafka' : 'MongoDB'} yet; waiting for it instead of starting another`);
      need[svc] = false;
      waits.push(waitService(o, svc, {}));
    }
  }

  /** @type {'docker' | 'local' | undefined} */
  let mode = state.mode;
  if (need.kafka || need.mongo) {
    /** @type {Service[]} */
    const toStart = SERVICES.filter((svc) => need[svc]);
    if (await dockerAnswers()) {
      mode = 'docker';
      await composeUp(o, toStart);
      for (const svc of toStart) {
        state[svc] = { how: 'docker', port: ports[svc], startedAt: new Date().toISOString() };
        started[svc] = true;
        waits.push(waitService(o, svc, {}));
      }
      state.mode = mode;
      saveState(L, state);
    } else {
      mode = 'local';
      state.mode = mode;
      for (const svc of toStart) waits.push(startLocal(o, svc, state, started));
    }
  }

  const results = await Promise.allSettled(waits);
  const failed = /** @type {PromiseRejectedResult[]} */ (results.filter((r) => r.status === 'rejected'));
  for (const r of results) if (r.status === 'fulfilled' && typeof r.value === 'string' && r.value) mongoServer = r.value;
  if (failed.length) {
    // Leave nothing half-started behind.
    const startedNow = SERVICES.filter((svc) => started[svc]);
    if (startedNow.length) {
      o.log(`stopping what this call started (${startedNow.join(', ')}) after the failure`);
      await downLocked(o, { kafka: started.kafka, mongo: started.mongo }, false).catch((err) => o.log(`cleanup failed: ${errorMessage(err)}`));
    }
    throw new Error(failed.map((f) => errorMessage(f.reason)).join('\n\n'));
  }
  if (!mongoServer) {
    const r = await mongoAnswers(mongoUri, 3000);
    if (r.ok) mongoServer = r.server;
  }
  // Which FerretDB is known only here (buildInfo does not say); tests and benchmarks report it.
  const backend = readState(L).mongo?.backend;
  if (backend && mongoServer?.startsWith('FerretDB')) mongoServer += ` (${backend === 'postgresql' ? 'PostgreSQL' : 'SQLite'} backend)`;
  if (o.lease) {
    mkdirp(L.leasesDir);
    const lease = { pid: process.pid, cmdline: processCmdline(process.pid), at: new Date().toISOString(), started: SERVICES.filter((svc) => started[svc]) };
    fs.writeFileSync(path.join(L.leasesDir, `${process.pid}`), `${JSON.stringify(lease)}\n`);
  }
  const logFiles = logFilesOf(o, readState(L));
  o.log(
    `infra up in ${((Date.now() - t0) / 1000).toFixed(1)} s (${mode || 'local'}): Kafka ${kafkaBrokers.join(',')}, ` +
      `MongoDB ${mongoUri}${mongoServer ? ` (${mongoServer})` : ''}` +
      (logFiles.kafka || logFiles.mongo ? `; logs: ${[logFiles.kafka, logFiles.mongo].filter(Boolean).map((f) => rel(/** @type {string} */ (f))).join(', ')}` : ''),
  );
  return { kafkaBrokers, mongoUri, started, mode: mode || 'local', mongoServer, logFiles };
}

/**
 * @param {ReturnType<typeof resolveOptions>} o
 * @param {State} state
 */
function logFilesOf(o, state) {
  /** @type {{kafka?: string, mongo?: string}} */
  const files = {};
  for (const svc of SERVICES) {
    const s = state[svc];
    if (s && s.how === 'docker') continue;
    const f = (s && s.logFile) || o.paths.logFile(svc);
    if (fs.existsSync(f)) files[svc] = f;
  }
  return files;
}

/**
 * Wait until a service answers on its port.
 * @param {ReturnType<typeof resolveOptions>} o
 * @param {Service} svc
 * @param {{child?: import('node:child_process').ChildProcess, pid?: number, logFile?: string}} extra
 * @returns {Promise<string | undefined>}
 */
async function waitService(o, svc, extra) {
  if (svc === 'kafka') {
    const brokers = [`127.0.0.1:${o.kafkaPort}`];
    await waitUntilAnswers({ name: `Kafka on ${brokers[0]}`, check: () => kafkaAnswers(brokers, 2000), timeoutMs: o.timeoutMs, log: o.log, ...extra });
    await kafkaWarmUp(brokers);
    return undefined;
  }
  return waitForMongo(`mongodb://127.0.0.1:${o.mongoPort}`, o.timeoutMs, o.log, `MongoDB-wire server on 127.0.0.1:${o.mongoPort}`, extra);
}

/**
 * @param {ReturnType<typeof resolveOptions>} o
 * @param {Service[]} services
 */
async function composeUp(o, services) {
  const file = o.paths.composeFile;
  if (!fs.existsSync(file)) throw new Error(`a Docker engine answers but ${file} does not exist`);
  o.log(`Docker engine found: docker compose -f ${rel(file)} up -d ${services.join(' ')} (pulling images may take a while the first time)...`);
  const r = await run('docker', ['compose', '-f', file, 'up', '-d', ...services], {
    cwd: o.root,
    env: { ...process.env, MOSAIC_KAFKA_PORT: String(o.kafkaPort), MOSAIC_MONGO_PORT: String(o.mongoPort) },
    timeoutMs: 15 * 60 * 1000,
  });
  if (r.code !== 0) throw new Error(`docker compose up failed (exit code ${r.code}):\n${r.stdout}${r.stderr}`);
}

/**
 * Start one service as a local process and wait for it.
 * @param {ReturnType<typeof resolveOptions>} o
 * @param {Service} svc
 * @param {State} state
 * @param {{kafka: boolean, mongo: boolean}} started
 * @returns {Promise<string | undefined>}
 */
async function startLocal(o, svc, state, started) {
  const L = o.paths;
  const logFile = L.logFile(svc);
  if (svc === 'kafka') {
    if (await tcpAnswers('127.0.0.1', o.kafkaControllerPort, 1000)) {
      throw new Error(`cannot start Kafka: its controller port 127.0.0.1:${o.kafkaControllerPort} is in use (set MOSAIC_KAFKA_CONTROLLER_PORT)`);
    }
    const libs = await kafka.ensureKafkaJars({ cacheDir: o.cacheDir, log: o.log });
    const java = await kafka.ensureJava();
    const lay = kafka.writeKafkaConfig({ dir: path.join(L.dataRoot, 'kafka'), port: o.kafkaPort, controllerPort: o.kafkaControllerPort, logFile });
    await kafka.formatKafkaStorage(libs, lay, o.log);
    o.log(`starting Kafka ${kafka.KAFKA_VERSION} (KRaft, single node) on 127.0.0.1:${o.kafkaPort}; the JVM takes 5-10 s; log: ${rel(logFile)}`);
    const child = kafka.spawnKafka(java, libs, lay);
    if (child.pid === undefined) throw new Error(`could not start ${java}; log: ${logFile}`);
    state.kafka = {
      how: 'local',
      kind: 'kafka',
      port: o.kafkaPort,
      controllerPort: o.kafkaControllerPort,
      pid: child.pid,
      markers: kafka.kafkaMarkers(lay),
      dataDir: lay.dir,
      logFile,
      startedAt: new Date().toISOString(),
    };
    saveState(L, state);
    started.kafka = true;
    await waitService(o, 'kafka', { child, pid: child.pid, logFile });
    return undefined;
  }
  const postgresLogFile = L.logFile('postgres');
  const p = await mongo.startMongoServer({
    dataRoot: L.dataRoot,
    port: o.mongoPort,
    logFile,
    postgresPort: o.postgresPort,
    postgresLogFile,
    timeoutMs: o.timeoutMs,
    cacheDir: o.cacheDir,
    log: o.log,
  });
  const pg = p.postgres;
  state.mongo = {
    how: 'local',
    kind: p.kind,
    ...(p.backend ? { backend: p.backend } : {}),
    port: o.mongoPort,
    pid: p.child.pid,
    markers: p.markers,
    dataDir: p.dataDir,
    logFile,
    ...(pg ? { postgres: { pid: pg.pid, markers: pg.markers, port: pg.port, major: pg.major, binDir: pg.binDir, dataDir: pg.dataDir, logFile: postgresLogFile } } : {}),
    startedAt: new Date().toISOString(),
  };
  if (p.child.pid === undefined) {
    saveState(L, state);
    started.mongo = true; // so that the failure path stops PostgreSQL
    throw new Error(`could not start ${p.kind}; log: ${logFile}`);
  }
  saveState(L, state);
  started.mongo = true;
  return waitService(o, 'mongo', { child: p.child, pid: p.child.pid, logFile });
}

/**
 * Stop what mosaic infra started (by PID, only if the PID is still that process; or
 * `docker compose stop` for what it started with Docker).
 * @param {InfraOptions & {only?: {kafka?: boolean, mongo?: boolean}, purge?: boolean}} [opts]
 *   only: which services (default both); purge: also delete .mosaic/data afterwards
 * @returns {Promise<{kafka: string, mongo: string}>} per service: stopped | killed | not-running | not-started | skipped
 */
async function down(opts = {}) {
  const o = resolveOptions(opts);
  const only = opts.only || { kafka: true, mongo: true };
  mkdirp(path.dirname(o.paths.lockDir));
  return withLock(
    o.paths.lockDir,
    () => {
      const users = liveLeases(o.paths).filter((pid) => pid !== process.pid);
      if (users.length) o.log(`note: process(es) ${users.join(', ')} (e.g. Jest runs) are still using the infrastructure`);
      return downLocked(o, only, Boolean(opts.purge));
    },
    { log: o.log, what: 'the mosaic infra lock (.mosaic/infra/lock)' },
  );
}

/**
 * @param {ReturnType<typeof resolveOptions>} o
 * @param {{kafka?: boolean, mongo?: boolean}} only
 * @param {boolean} purge
 */
async function downLocked(o, only, purge) {
  const L = o.paths;
  const state = readState(L);
  /** @type {{kafka: string, mongo: string}} */
  const result = { kafka: 'skipped', mongo: 'skipped' };
  /** @type {Service[]} */
  const viaDocker = [];
  await Promise.all(
    SERVICES.map(async (svc) => {
      if (!only[svc]) return;
      const s = state[svc];
      if (!s) {
        result[svc] = 'not-started';
        o.log(`${svc}: nothing started by mosaic infra`);
        return;
      }
      if (s.how === 'docker') {
        viaDocker.push(svc);
        return;
      }
      const r = s.pid && s.markers ? await stopPid(s.pid, s.markers, { log: o.log, name: `${svc} (pid ${s.pid})`, graceMs: 30000 }) : 'not-running';
      result[svc] = r;
      o.log(`${svc}: ${r === 'not-running' ? `pid ${s.pid} was no longer running` : `${r} (pid ${s.pid})`}`);
      if (s.postgres) await stopPostgres(o, s.postgres);
      delete state[svc];
    }),
  );
  if (viaDocker.length) {
    o.log(`docker compose -f ${rel(L.composeFile)} stop ${viaDocker.join(' ')}`);
    const r = await run('docker', ['compose', '-f', L.composeFile, 'stop', ...viaDocker], { cwd: o.root, timeoutMs: 120000 }).catch((err) => ({
      code: 1,
      stdout: '',
      stderr: errorMessage(err),
    }));
    if (r.code !== 0) throw new Error(`docker compose stop failed (exit code ${r.code}):\n${r.stdout}${r.stderr}`);
    for (const svc of viaDocker) {
      result[svc] = 'stopped';
      delete state[svc];
    }
  }
  if (!state.kafka && !state.mongo) delete state.mode;
  saveState(L, state);
  if (purge) {
    if (state.kafka || state.mongo) o.log('not purging .mosaic/data: something mosaic infra started is still running');
    else {
      fs.rmSync(L.dataRoot, { recursive: true, force: true });
      o.log(`removed ${rel(L.dataRoot)}`);
    }
  }
  return result;
}

/**
 * Stop FerretDB's PostgreSQL (after FerretDB): SIGINT is its fast shutdown, which does not
 * wait for clients to disconnect as SIGTERM's does.
 * @param {ReturnType<typeof resolveOptions>} o
 * @param {PostgresState} pg
 */
async function stopPostgres(o, pg) {
  const r = await stopPid(pg.pid, pg.markers, { log: o.log, name: `postgres (pid ${pg.pid})`, graceMs: 60000, signal: 'SIGINT' });
  o.log(`postgres: ${r === 'not-running' ? `pid ${pg.pid} was no longer running` : `${r} (pid ${pg.pid})`}`);
}

/**
 * Live leases (processes that called up({lease: true}) and have not released). Leases of
 * processes that are gone (a Jest run killed before its teardown) are removed, and what
 * those started is marked to stop when the infrastructure is no longer used.
 * @param {ReturnType<typeof layout>} L
 * @param {State} [state]  receives stopWhenUnused additions (caller saves it)
 * @returns {number[]}
 */
function liveLeases(L, state) {
  let names = [];
  try {
    names = fs.readdirSync(L.leasesDir);
  } catch {
    return [];
  }
  /** @type {number[]} */
  const live = [];
  for (const name of names) {
    const file = path.join(L.leasesDir, name);
    const pid = Number(name);
    const lease = readJson(file);
    const cmdline = Number.isInteger(pid) && pid > 0 ? processCmdline(pid) : null;
    // Same PID and same command line: still that process (not a reused PID).
    if (cmdline !== null && (!lease || !lease.cmdline || lease.cmdline === cmdline)) {
      live.push(pid);
      continue;
    }
    if (state && lease && Array.isArray(lease.started)) {
      const orphans = /** @type {Service[]} */ (lease.started).filter((svc) => SERVICES.includes(svc) && state[svc]);
      if (orphans.length) state.stopWhenUnused = [...new Set([...(state.stopWhenUnused || []), ...orphans])];
    }
    fs.rmSync(file, { force: true });
  }
  return live;
}

/**
 * The counterpart of up({lease: true}) (Jest's global teardown): drop this process's
 * lease, and stop the services in `stop` (what its up() started) - but only once no other
 * live process holds a lease; until then they are left running and the last process to
 * release stops them. keep: true stops nothing and cancels any such pending stop.
 * whenLast runs under the lock when no other live process holds a lease, before anything is
 * stopped (the test teardown's sweep of test names: nobody else can be using them then).
 * @param {InfraOptions & {stop?: {kafka?: boolean, mongo?: boolean}, keep?: boolean, whenLast?: () => Promise<void>}} [opts]
 * @returns {Promise<{stopped: Service[], leftRunningFor: number[]}>}
 */
async function release(opts = {}) {
  const o = resolveOptions(opts);
  const L = o.paths;
  mkdirp(path.dirname(L.lockDir));
  return withLock(
    L.lockDir,
    async () => {
      fs.rmSync(path.join(L.leasesDir, `${process.pid}`), { force: true });
      const state = readState(L);
      const others = liveLeases(L, state).filter((pid) => pid !== process.pid);
      if (others.length === 0 && opts.whenLast) await opts.whenLast();
      if (opts.keep) {
        if (state.stopWhenUnused) {
          delete state.stopWhenUnused;
          saveState(L, state);
        }
        return { stopped: [], leftRunningFor: others };
      }
      const stop = opts.stop || {};
      /** @type {Set<Service>} */
      const pending = new Set(state.stopWhenUnused || []);
      for (const svc of SERVICES) if (stop[svc] && state[svc]) pending.add(svc);
      if (pending.size === 0) return { stopped: [], leftRunningFor: others };
      if (others.length) {
        state.stopWhenUnused = [...pending];
        saveState(L, state);
        o.log(`leaving ${[...pending].join(' and ')} running: still used by process(es) ${others.join(', ')}; the last of them stops it`);
        return { stopped: [], leftRunningFor: others };
      }
      await downLocked(o, { kafka: pending.has('kafka'), mongo: pending.has('mongo') }, false);
      return { stopped: [...pending], leftRunningFor: [] };
    },
    { log: o.log, what: 'the mosaic infra lock (.mosaic/infra/lock)' },
  );
}

/**
 * @typedef {object} StatusResult
 * @property {'external' | 'docker' | 'local' | 'none'} mode
 * @property {{brokers: string[], answering: boolean, error?: string, startedBy: string | null, pid?: number, logFile?: string}} kafka
 * @property {{uri: string, answering: boolean, server?: string, error?: string, startedBy: string | null, pid?: number, logFile?: string, backend?: 'postgresql' | 'sqlite', postgres?: PostgresStatus}} mongo
 */
/**
 * @typedef {object} PostgresStatus
 * @property {number} port
 * @property {boolean} running   the PID is still that postgres
 * @property {number} pid
 * @property {string} major
 * @property {string} binDir
 * @property {string} dataDir
 * @property {string} logFile
 */

/**
 * FerretDB's backend, and the PostgreSQL cluster behind it, as mosaic infra started them.
 * @param {ServiceState | undefined} s
 * @returns {{backend?: 'postgresql' | 'sqlite', postgres?: PostgresStatus}}
 */
function backendOf(s) {
  if (!s || s.how !== 'local' || !s.backend) return {};
  const pg = s.postgres;
  if (!pg) return { backend: s.backend };
  const { markers, ...rest } = pg;
  return { backend: s.backend, postgres: { ...rest, running: pidMatches(pg.pid, markers) } };
}

/**
 * What is up, and where.
 * @param {InfraOptions} [opts]
 * @returns {Promise<StatusResult>}
 */
async function status(opts = {}) {
  const o = resolveOptions({ quiet: true, ...opts });
  const ext = externalFromEnv();
  const state = ext ? {} : readState(o.paths);
  const brokers = ext ? ext.brokers : [`127.0.0.1:${(state.kafka && state.kafka.port) || o.kafkaPort}`];
  const uri = ext ? ext.uri : `mongodb://127.0.0.1:${(state.mongo && state.mongo.port) || o.mongoPort}`;
  const [k, m] = await Promise.all([kafkaAnswers(brokers, 3000), mongoAnswers(uri, 3000)]);
  /** @param {Service} svc */
  const who = (svc) => {
    const s = state[svc];
    if (!s) return { startedBy: null };
    if (s.how === 'docker') return { startedBy: 'docker compose', logFile: undefined };
    const alive = Boolean(s.pid && s.markers && pidMatches(s.pid, s.markers));
    return alive ? { startedBy: `mosaic infra (${s.kind || svc})`, pid: s.pid, logFile: s.logFile } : { startedBy: null, logFile: s.logFile };
  };
  const kafkaLog = o.paths.logFile('kafka');
  const mongoLog = o.paths.logFile('mongo');
  return {
    mode: ext ? 'external' : state.mode || 'none',
    kafka: {
      brokers,
      answering: k.ok,
      ...(k.ok ? {} : { error: k.error }),
      ...(ext ? { startedBy: null } : { logFile: fs.existsSync(kafkaLog) ? kafkaLog : undefined, ...who('kafka') }),
    },
    mongo: {
      uri: redact(uri),
      answering: m.ok,
      ...(m.ok ? { server: m.server } : { error: m.error }),
      ...(ext ? { startedBy: null } : { logFile: fs.existsSync(mongoLog) ? mongoLog : undefined, ...who('mongo'), ...backendOf(state.mongo) }),
    },
  };
}

/**
 * Print the last lines of the log files (and keep following them with follow: true).
 * @param {InfraOptions & {follow?: boolean, lines?: number, services?: (Service | 'postgres')[], out?: NodeJS.WritableStream}} [opts]
 */
async function logs(opts = {}) {
  const o = resolveOptions({ quiet: true, ...opts });
  const out = opts.out || process.stdout;
  /** @type {(Service | 'postgres')[]} */
  const services = opts.services && opts.services.length ? opts.services : [...SERVICES, 'postgres'];
  const lines = opts.lines || 50;
  const state = readState(o.paths);
  if (externalFromEnv()) {
    out.write('KAFKA_BROKERS and MONGODB_URI are set: those servers are external, their logs are not kept here.\n');
  }
  const viaDocker = services.filter((svc) => svc !== 'postgres' && state[svc]?.how === 'docker');
  if (viaDocker.length) {
    const args = ['compose', '-f', o.paths.composeFile, 'logs', '--tail', String(lines), ...(opts.follow ? ['-f'] : []), ...viaDocker];
    const { spawn } = require('node:child_process');
    await new Promise((resolve) => spawn('docker', args, { stdio: 'inherit' }).once('close', resolve));
  }
  // PostgreSQL's log only when asked for or when there is one (FerretDB on SQLite, or mongod, has none).
  const files = services
    .filter((svc) => !viaDocker.includes(svc))
    .map((svc) => o.paths.logFile(svc))
    .filter((f) => opts.services?.length || f !== o.paths.logFile('postgres') || fs.existsSync(f));
  const present = files.filter((f) => fs.existsSync(f));
  for (const f of files) if (!present.includes(f)) out.write(`(no log yet at ${f})\n`);
  /** @type {Map<string, number>} */
  const pos = new Map();
  for (const f of present) {
    if (present.length > 1) out.write(`==> ${f} <==\n`);
    const t = tailFile(f, lines);
    out.write(t ? `${t}\n` : '');
    pos.set(f, fs.statSync(f).size);
  }
  if (!opts.follow) return;
  let last = present[present.length - 1];
  for (;;) {
    await sleep(500);
    for (const f of files) {
      let size;
      try {
        size = fs.statSync(f).size;
      } catch {
        continue;
      }
      let from = pos.get(f) ?? 0;
      if (size < from) from = 0; // rotated or truncated
      if (size === from) continue;
      const fd = fs.openSync(f, 'r');
      const buf = Buffer.alloc(size - from);
      fs.readSync(fd, buf, 0, buf.length, from);
      fs.closeSync(fd);
      pos.set(f, size);
      if (files.length > 1 && last !== f) out.write(`\n==> ${f} <==\n`);
      last = f;
      out.write(buf);
    }
  }
}

/**
 * A second, private single-node Kafka broker on other ports (default: free ones) that a
 * test can stop and start again on the same data dir. Same cached jars as the shared one.
 * @param {Parameters<typeof kafka.startPrivateKafka>[0]} [opts]
 */
function startPrivateKafka(opts) {
  return kafka.startPrivateKafka(opts);
}

module.exports = {
  up,
  down,
  release,
  status,
  logs,
  startPrivateKafka,
  freePort,
  layout,
  KAFKA_VERSION: kafka.KAFKA_VERSION,
  FERRETDB_VERSION: mongo.FERRETDB_VERSION,
};
