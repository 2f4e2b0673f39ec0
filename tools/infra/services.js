'use strict';
// One service at a time: start it as a local process (Kafka from its jars; mongod or FerretDB)
// and wait until it answers on its port.

const fs = require('node:fs');
const path = require('node:path');
const { rel } = require('./common.js');
const { waitUntilAnswers } = require('./processes.js');
const { tcpAnswers, kafkaAnswers, kafkaWarmUp, mongoAnswers } = require('./probes.js');
const { SERVICES } = require('./options.js');
const { saveState } = require('./state.js');
const kafka = require('./kafka.js');
const mongo = require('./mongo.js');

/**
 * @typedef {import('./options.js').Service} Service
 * @typedef {ReturnType<typeof import('./options.js').resolveOptions>} Options
 * @typedef {import('./state.js').State} State
 */

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

/**
 * @param {Options} o
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
 * @param {Options} o
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
 * Start one service as a local process and wait for it.
 * @param {Options} o
 * @param {Service} svc
 * @param {State} state
 * @param {{kafka: boolean, mongo: boolean}} started
 * @returns {Promise<string | undefined>}
 */
async function startLocal(o, svc, state, started) {
  return svc === 'kafka' ? startLocalKafka(o, state, started) : startLocalMongo(o, state, started);
}

/**
 * @param {Options} o
 * @param {State} state
 * @param {{kafka: boolean, mongo: boolean}} started
 * @returns {Promise<undefined>}
 */
/*
 * Under two CPU hogs this node's controller has taken 10-16 s for one event; with Kafka's default
 * 9 s broker session it then fenced its only broker, taking every partition offline
 * (`This server does not host this topic-partition`). 30 s rides that out; the price is that
 * after a SIGKILL the restarted broker waits up to 30 s for its old session to end before it can
 * register (it gives up at 60 s, initial.broker.registration.timeout.ms).
 */
const SHARED_BROKER_SESSION_MS = 30_000;

async function startLocalKafka(o, state, started) {
  const L = o.paths;
  const logFile = L.logFile('kafka');
  if (await tcpAnswers('127.0.0.1', o.kafkaControllerPort, 1000)) {
    throw new Error(`cannot start Kafka: its controller port 127.0.0.1:${o.kafkaControllerPort} is in use (set MOSAIC_KAFKA_CONTROLLER_PORT)`);
  }
  const libs = await kafka.ensureKafkaJars({ cacheDir: o.cacheDir, log: o.log });
  const java = await kafka.ensureJava();
  const lay = kafka.writeKafkaConfig({
    dir: path.join(L.dataRoot, 'kafka'),
    port: o.kafkaPort,
    controllerPort: o.kafkaControllerPort,
    logFile,
    brokerSessionMs: SHARED_BROKER_SESSION_MS,
  });
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
}

/**
 * @param {Options} o
 * @param {State} state
 * @param {{kafka: boolean, mongo: boolean}} started
 * @returns {Promise<string | undefined>}
 */
async function startLocalMongo(o, state, started) {
  const L = o.paths;
  const logFile = L.logFile('mongo');
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
    ...(pg
      ? { postgres: { pid: pg.pid, markers: pg.markers, port: pg.port, major: pg.major, binDir: pg.binDir, dataDir: pg.dataDir, logFile: postgresLogFile } }
      : {}),
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

module.exports = { waitForMongo, waitService, logFilesOf, startLocal };
