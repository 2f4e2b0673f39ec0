'use strict';
// The options of the infra commands (ports, timeouts, where state lives) and the servers named
// by the environment (KAFKA_BROKERS + MONGODB_URI).

const path = require('node:path');
const { REPO_ROOT, defaultLogger, cacheDir: defaultCacheDir, portFromEnv } = require('./common.js');
const { PG_DEFAULT_PORT } = require('./postgres.js');

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

function resolveOptions(opts = {}) {
  const kafkaPort = opts.kafkaPort || portFromEnv('MOSAIC_KAFKA_PORT', 9092);
  const root = path.resolve(opts.root || REPO_ROOT);
  return {
    kafkaPort,
    kafkaControllerPort: opts.kafkaControllerPort || portFromEnv('MOSAIC_KAFKA_CONTROLLER_PORT', kafkaPort + 1),
    mongoPort: opts.mongoPort || portFromEnv('MOSAIC_MONGO_PORT', 27017),
    postgresPort: opts.postgresPort || portFromEnv('MOSAIC_POSTGRES_PORT', PG_DEFAULT_PORT),
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
  if (k !== m)
    log(
      `${k ? 'KAFKA_BROKERS' : 'MONGODB_URI'} is set but ${k ? 'MONGODB_URI' : 'KAFKA_BROKERS'} is not: both are needed to use external servers; ignoring it`,
    );
}

module.exports = { DEFAULT_TIMEOUT_MS, SERVICES, resolveOptions, layout, externalFromEnv, redact, warnHalfExternal };
