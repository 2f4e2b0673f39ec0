'use strict';
// Stopping what mosaic infra started: `down`, and `release`, the end of a lease (Jest's global
// teardown), which stops only once no other live process uses the servers.

const fs = require('node:fs');
const path = require('node:path');
const { rel, mkdirp } = require('./common.js');
const { stopPid } = require('./processes.js');
const { withLock } = require('./lock.js');
const { SERVICES, resolveOptions } = require('./options.js');
const { readState, saveState, liveLeases } = require('./state.js');
const { composeStop } = require('./docker.js');

/**
 * @typedef {import('./options.js').Service} Service
 * @typedef {import('./options.js').InfraOptions} InfraOptions
 * @typedef {import('./state.js').PostgresState} PostgresState
 */

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
 * @param {ReturnType<typeof import("./options.js").resolveOptions>} o
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
    await composeStop(o, viaDocker);
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
 * @param {ReturnType<typeof import("./options.js").resolveOptions>} o
 * @param {PostgresState} pg
 */
async function stopPostgres(o, pg) {
  const r = await stopPid(pg.pid, pg.markers, { log: o.log, name: `postgres (pid ${pg.pid})`, graceMs: 60000, signal: 'SIGINT' });
  o.log(`postgres: ${r === 'not-running' ? `pid ${pg.pid} was no longer running` : `${r} (pid ${pg.pid})`}`);
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

module.exports = { down, downLocked, release };
