'use strict';
// A lock across processes: a directory created atomically, with its owner's PID inside so that
// a lock whose owner died is taken over.

const fs = require('node:fs');
const path = require('node:path');
const { sleep, mkdirp } = require('./common.js');
const { processCmdline } = require('./processes.js');

/**
 * @typedef {import('./common.js').Logger} Logger
 */

/**
 * Run fn while holding a lock directory (works across processes). A lock whose owner
 * died is taken over.
 * @template T
 * @param {string} lockDir
 * @param {() => Promise<T>} fn
 * @param {{timeoutMs?: number, log?: Logger, what?: string}} [opts]
 * @returns {Promise<T>}
 */
async function withLock(lockDir, fn, opts = {}) {
  const { timeoutMs = 20 * 60 * 1000, log = () => undefined, what = lockDir } = opts;
  mkdirp(path.dirname(lockDir));
  const deadline = Date.now() + timeoutMs;
  let said = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'owner'), String(process.pid));
      break;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(lockDir, 'owner'), 'utf8'));
      } catch {
        // owner not written yet, or lock just released
      }
      let ageMs = 0;
      try {
        ageMs = Date.now() - fs.statSync(lockDir).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      const ownerDead = Number.isInteger(owner) ? processCmdline(owner) === null : ageMs > 10000;
      if (ownerDead || owner === process.pid) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (held by pid ${owner}; lock ${lockDir})`);
      if (!said) {
        log(`waiting for another process (pid ${owner}) that holds ${what}...`);
        said = true;
      }
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

module.exports = { withLock };
