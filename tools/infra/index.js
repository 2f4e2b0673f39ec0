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
//
// The parts: options.js (ports, paths, KAFKA_BROKERS + MONGODB_URI), up.js, down.js (down and
// release), status.js, logs.js; state.js (what was started, leases), services.js (starting
// one service locally and waiting for it), docker.js; kafka*.js, mongo.js, ferretdb.js,
// postgres.js (the servers); common.js, processes.js, lock.js, probes.js, downloads.js (helpers).

const { freePort } = require('./probes.js');
const { layout } = require('./options.js');
const { up } = require('./up.js');
const { down, release } = require('./down.js');
const { status } = require('./status.js');
const { logs } = require('./logs.js');
const kafka = require('./kafka.js');
const { FERRETDB_VERSION } = require('./ferretdb.js');
const { psqlCommand } = require('./postgres.js');

/**
 * A second, private single-node Kafka broker on other ports (default: free ones) that a
 * test can stop and start again on the same data dir. Same cached jars as the shared one.
 * @param {Parameters<typeof kafka.startPrivateKafka>[0]} [opts]
 */
function startPrivateKafka(opts) {
  return kafka.startPrivateKafka(opts);
}

/**
 * psql's command line for FerretDB's database on the PostgreSQL cluster this infra started
 * (for tests and benchmarks that read what PostgreSQL made of the collections), or null when
 * the store is anything else.
 * @param {import('./options.js').InfraOptions} [opts]
 */
async function storePsqlCommand(opts) {
  const pg = (await status(opts)).mongo.postgres;
  return pg?.running ? psqlCommand(pg.binDir, pg.port) : null;
}

module.exports = {
  storePsqlCommand,
  up,
  down,
  release,
  status,
  logs,
  startPrivateKafka,
  freePort,
  layout,
  KAFKA_VERSION: kafka.KAFKA_VERSION,
  FERRETDB_VERSION,
};
