'use strict';
// Artefacts made once into the cache dir (the Kafka jars downloaded with Maven, FerretDB built
// with Go) and shared by every checkout and process of the machine.

const { withLock } = require('./lock.js');

/**
 * @typedef {import('./common.js').Logger} Logger
 */

/**
 * Make sure a cached artefact is there: `isComplete()` tells (a marker file written last
 * records a finished job, so anything half done is redone); otherwise `make()` runs under the
 * lock `<home>.lock`, once for all the processes that want it at the same time (one that waited
 * finds it complete and does nothing).
 * @template T
 * @param {{home: string, isComplete: () => boolean, result: T, what: string, log: Logger}} p
 *   what: named in "waiting for ..." lines; result: what to return when it is complete
 * @param {() => Promise<T>} make
 * @returns {Promise<T>}
 */
async function ensureCached(p, make) {
  if (p.isComplete()) return p.result;
  return withLock(`${p.home}.lock`, async () => (p.isComplete() ? p.result : make()), { log: p.log, what: p.what });
}

module.exports = { ensureCached };
