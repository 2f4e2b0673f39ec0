'use strict';
// `status`: what answers, where, and who started it.

const fs = require('node:fs');
const { pidMatches } = require('./processes.js');
const { kafkaAnswers, mongoAnswers } = require('./probes.js');
const { resolveOptions, externalFromEnv, redact } = require('./options.js');
const { readState } = require('./state.js');

/**
 * @typedef {import('./options.js').Service} Service
 * @typedef {import('./options.js').InfraOptions} InfraOptions
 * @typedef {import('./state.js').ServiceState} ServiceState
 * @typedef {import('./state.js').PostgresState} PostgresState
 */

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

module.exports = { status };
