'use strict';
// `up`: find Kafka and a MongoDB-wire server answering, or start what is missing (Docker
// Compose when an engine answers, local processes otherwise), and wait until both answer.

const fs = require('node:fs');
const path = require('node:path');
const { errorMessage, mkdirp, rel } = require('./common.js');
const { pidMatches, processCmdline, waitUntilAnswers } = require('./processes.js');
const { withLock } = require('./lock.js');
const { tcpAnswers, kafkaAnswers, mongoAnswers } = require('./probes.js');
const { SERVICES, resolveOptions, externalFromEnv, redact, warnHalfExternal } = require('./options.js');
const { readState, saveState } = require('./state.js');
const { dockerAnswers, composeUp } = require('./docker.js');
const { waitForMongo, waitService, logFilesOf, startLocal } = require('./services.js');
const { downLocked } = require('./down.js');

/**
 * @typedef {import('./options.js').Service} Service
 * @typedef {import('./options.js').InfraOptions} InfraOptions
 * @typedef {ReturnType<typeof resolveOptions>} Options
 * @typedef {import('./state.js').State} State
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
 * What one `up` shares between its steps.
 * @typedef {object} UpContext
 * @property {Options} o
 * @property {string[]} kafkaBrokers
 * @property {string} mongoUri
 * @property {State} state
 * @property {{kafka: boolean, mongo: boolean}} started  what this call started
 * @property {Record<Service, number>} ports
 * @property {Record<Service, string>} names
 * @property {Record<Service, boolean>} need  still to be started
 * @property {Array<Promise<unknown>>} waits  services being waited for
 * @property {string} mongoServer
 */

/** @param {Options} o @returns {Promise<UpResult>} */
async function upLocked(o) {
  const t0 = Date.now();
  const L = o.paths;
  /** @type {UpContext} */
  const c = {
    o,
    kafkaBrokers: [`127.0.0.1:${o.kafkaPort}`],
    mongoUri: `mongodb://127.0.0.1:${o.mongoPort}`,
    state: readState(L),
    started: { kafka: false, mongo: false },
    ports: { kafka: o.kafkaPort, mongo: o.mongoPort },
    names: { kafka: `Kafka on 127.0.0.1:${o.kafkaPort}`, mongo: `MongoDB-wire server on 127.0.0.1:${o.mongoPort}` },
    need: { kafka: true, mongo: true },
    waits: [],
    mongoServer: '',
  };
  const [k, m] = await Promise.all([kafkaAnswers(c.kafkaBrokers, 3000), mongoAnswers(c.mongoUri, 3000)]);
  if (m.ok) c.mongoServer = m.server;
  c.need = { kafka: !k.ok, mongo: !m.ok };
  for (const svc of SERVICES) await reuseOrWaitFor(c, svc);
  const mode = await startMissing(c);
  await settle(c);
  await nameMongoServer(c);
  if (o.lease) writeLease(L, c.started);
  const logFiles = logFilesOf(o, readState(L));
  o.log(
    `infra up in ${((Date.now() - t0) / 1000).toFixed(1)} s (${mode || 'local'}): Kafka ${c.kafkaBrokers.join(',')}, ` +
      `MongoDB ${c.mongoUri}${c.mongoServer ? ` (${c.mongoServer})` : ''}` +
      (logFiles.kafka || logFiles.mongo
        ? `; logs: ${[logFiles.kafka, logFiles.mongo]
            .filter(Boolean)
            .map((f) => rel(/** @type {string} */ (f)))
            .join(', ')}`
        : ''),
  );
  return { kafkaBrokers: c.kafkaBrokers, mongoUri: c.mongoUri, started: c.started, mode: mode || 'local', mongoServer: c.mongoServer, logFiles };
}

/**
 * A service that answers is reused; one that mosaic infra started earlier and that is still
 * starting, or something listening on its port, is waited for instead of starting another.
 * @param {UpContext} c
 * @param {Service} svc
 */
async function reuseOrWaitFor(c, svc) {
  const { o, state, ports, names, need } = c;
  const s = state[svc];
  const ours = Boolean(s && s.how === 'local' && s.pid && s.markers && pidMatches(s.pid, s.markers));
  if (!need[svc]) {
    const who = ours ? `mosaic infra's (pid ${s && s.pid})` : s && s.how === 'docker' ? 'the docker compose one' : 'one not started by mosaic infra';
    o.log(`${names[svc]} already answers${svc === 'mongo' && c.mongoServer ? ` (${c.mongoServer})` : ''}: reusing it (${who})`);
    return;
  }
  if (s && s.how === 'local') {
    if (ours && s.port === ports[svc]) {
      // Started earlier (e.g. by an `up` that was interrupted) and still starting up.
      o.log(`${names[svc]}: the process mosaic infra started earlier (pid ${s.pid}) is still starting; waiting for it`);
      need[svc] = false;
      c.waits.push(waitService(o, svc, { pid: s.pid, logFile: s.logFile }));
      return;
    }
    if (ours) {
      throw new Error(`mosaic infra already runs ${svc} on port ${s.port} (pid ${s.pid}), not on ${ports[svc]}: run \`npm run infra -- down\` first`);
    }
    delete state[svc]; // died: forget it
  }
  if (await tcpAnswers('127.0.0.1', ports[svc], 1000)) {
    // Not ours, not answering as Kafka/MongoDB yet: perhaps a server still starting.
    o.log(
      `something listens on 127.0.0.1:${ports[svc]} but does not answer as ${svc === 'kafka' ? 'Kafka' : 'MongoDB'} yet; waiting for it instead of starting another`,
    );
    need[svc] = false;
    c.waits.push(waitService(o, svc, {}));
  }
}

/**
 * Start what is still needed: with Docker Compose when an engine answers, else as local processes.
 * @param {UpContext} c
 * @returns {Promise<'docker' | 'local' | undefined>} the mode
 */
async function startMissing(c) {
  const { o, state, started, need } = c;
  /** @type {'docker' | 'local' | undefined} */
  let mode = state.mode;
  if (need.kafka || need.mongo) {
    /** @type {Service[]} */
    const toStart = SERVICES.filter((svc) => need[svc]);
    if (await dockerAnswers()) {
      mode = 'docker';
      await composeUp(o, toStart);
      for (const svc of toStart) {
        state[svc] = { how: 'docker', port: c.ports[svc], startedAt: new Date().toISOString() };
        started[svc] = true;
        c.waits.push(waitService(o, svc, {}));
      }
      state.mode = mode;
      saveState(o.paths, state);
    } else {
      mode = 'local';
      state.mode = mode;
      for (const svc of toStart) c.waits.push(startLocal(o, svc, state, started));
    }
  }
  return mode;
}

/**
 * Wait for every service; after a failure, stop what this call started (nothing is left
 * half-started behind) and throw every failure.
 * @param {UpContext} c
 */
async function settle(c) {
  const { o, started } = c;
  const results = await Promise.allSettled(c.waits);
  const failed = /** @type {PromiseRejectedResult[]} */ (results.filter((r) => r.status === 'rejected'));
  for (const r of results) if (r.status === 'fulfilled' && typeof r.value === 'string' && r.value) c.mongoServer = r.value;
  if (failed.length) {
    const startedNow = SERVICES.filter((svc) => started[svc]);
    if (startedNow.length) {
      o.log(`stopping what this call started (${startedNow.join(', ')}) after the failure`);
      await downLocked(o, { kafka: started.kafka, mongo: started.mongo }, false).catch((err) => o.log(`cleanup failed: ${errorMessage(err)}`));
    }
    throw new Error(failed.map((f) => errorMessage(f.reason)).join('\n\n'));
  }
}

/**
 * The MongoDB-wire server's description, with FerretDB's backend when mosaic infra started it.
 * @param {UpContext} c
 */
async function nameMongoServer(c) {
  if (!c.mongoServer) {
    const r = await mongoAnswers(c.mongoUri, 3000);
    if (r.ok) c.mongoServer = r.server;
  }
  // Which FerretDB is known only here (buildInfo does not say); tests and benchmarks report it.
  const backend = readState(c.o.paths).mongo?.backend;
  if (backend && c.mongoServer?.startsWith('FerretDB')) c.mongoServer += ` (${backend === 'postgresql' ? 'PostgreSQL' : 'SQLite'} backend)`;
}

/**
 * Record this process as a user of the servers (see release()).
 * @param {Options['paths']} L
 * @param {{kafka: boolean, mongo: boolean}} started
 */
function writeLease(L, started) {
  mkdirp(L.leasesDir);
  const lease = { pid: process.pid, cmdline: processCmdline(process.pid), at: new Date().toISOString(), started: SERVICES.filter((svc) => started[svc]) };
  fs.writeFileSync(path.join(L.leasesDir, `${process.pid}`), `${JSON.stringify(lease)}\n`);
}

module.exports = { up };
