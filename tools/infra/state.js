'use strict';
// What mosaic infra started, kept in .mosaic/infra/state.json (plus a pid file per service), and
// the leases of the processes (Jest runs) that use the servers.

const fs = require('node:fs');
const path = require('node:path');
const { readJson, writeJson } = require('./common.js');
const { processCmdline } = require('./processes.js');
const { SERVICES } = require('./options.js');

/**
 * @typedef {import('./options.js').Service} Service
 * @typedef {ReturnType<typeof import('./options.js').layout>} Layout
 */

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

/** @param {Layout} L @returns {State} */
function readState(L) {
  return readJson(L.stateFile) || {};
}

/** @param {Layout} L @param {State} state */
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

/**
 * Live leases (processes that called up({lease: true}) and have not released). Leases of
 * processes that are gone (a Jest run killed before its teardown) are removed, and what
 * those started is marked to stop when the infrastructure is no longer used.
 * @param {Layout} L
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

module.exports = { readState, saveState, liveLeases };
