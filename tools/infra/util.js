'use strict';
// The helpers shared by the infrastructure scripts, in one place for the scripts and tests
// outside tools/infra (libs/shared/kafka's secured broker, tools/scripts): basics (common.js),
// child processes (processes.js), the cross-process lock (lock.js), readiness probes
// (probes.js). Plain CommonJS with no dependencies beyond what the workspace already has
// (kafkajs, mongodb), so Jest's global setup can require() it.

const common = require('./common.js');
const processes = require('./processes.js');
const { withLock } = require('./lock.js');
const probes = require('./probes.js');

module.exports = {
  REPO_ROOT: common.REPO_ROOT,
  defaultLogger: common.defaultLogger,
  sleep: common.sleep,
  mkdirp: common.mkdirp,
  cacheDir: common.cacheDir,
  portFromEnv: common.portFromEnv,
  tcpAnswers: probes.tcpAnswers,
  freePort: probes.freePort,
  kafkaAnswers: probes.kafkaAnswers,
  kafkaWarmUp: probes.kafkaWarmUp,
  mongoAnswers: probes.mongoAnswers,
  errorMessage: common.errorMessage,
  processCmdline: processes.processCmdline,
  pidMatches: processes.pidMatches,
  stopPid: processes.stopPid,
  withLock,
  run: processes.run,
  which: processes.which,
  tailFile: common.tailFile,
  openLog: processes.openLog,
  spawnDetached: processes.spawnDetached,
  waitUntilAnswers: processes.waitUntilAnswers,
  readJson: common.readJson,
  writeJson: common.writeJson,
  rel: common.rel,
};
