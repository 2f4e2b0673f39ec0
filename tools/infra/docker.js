'use strict';
// Kafka and the MongoDB-wire server with Docker Compose (docker/compose.yml), when a Docker
// engine answers.

const fs = require('node:fs');
const { errorMessage, rel } = require('./common.js');
const { run, which } = require('./processes.js');

/**
 * @typedef {import('./options.js').Service} Service
 * @typedef {ReturnType<typeof import('./options.js').resolveOptions>} Options
 */

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
 * @param {Options} o
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
 * `docker compose stop` of the services mosaic infra started with Docker.
 * @param {Options} o
 * @param {Service[]} services
 */
async function composeStop(o, services) {
  const file = o.paths.composeFile;
  o.log(`docker compose -f ${rel(file)} stop ${services.join(' ')}`);
  const r = await run('docker', ['compose', '-f', file, 'stop', ...services], { cwd: o.root, timeoutMs: 120000 }).catch((err) => ({
    code: 1,
    stdout: '',
    stderr: errorMessage(err),
  }));
  if (r.code !== 0) throw new Error(`docker compose stop failed (exit code ${r.code}):\n${r.stdout}${r.stderr}`);
}

module.exports = { dockerAnswers, composeUp, composeStop };
