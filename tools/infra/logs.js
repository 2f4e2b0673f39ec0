'use strict';
// `logs`: the last lines of the servers' log files, optionally followed.

const fs = require('node:fs');
const { sleep, tailFile } = require('./common.js');
const { SERVICES, resolveOptions, externalFromEnv } = require('./options.js');
const { readState } = require('./state.js');

/**
 * @typedef {import('./options.js').Service} Service
 * @typedef {import('./options.js').InfraOptions} InfraOptions
 */

/**
 * Print the last lines of the log files (and keep following them with follow: true).
 * @param {InfraOptions & {follow?: boolean, lines?: number, services?: (Service | 'postgres')[], out?: NodeJS.WritableStream}} [opts]
 */
async function logs(opts = {}) {
  const o = resolveOptions({ quiet: true, ...opts });
  const out = opts.out || process.stdout;
  /** @type {(Service | 'postgres')[]} */
  const services = opts.services && opts.services.length ? opts.services : [...SERVICES, 'postgres'];
  const lines = opts.lines || 50;
  const state = readState(o.paths);
  if (externalFromEnv()) {
    out.write('KAFKA_BROKERS and MONGODB_URI are set: those servers are external, their logs are not kept here.\n');
  }
  const viaDocker = services.filter((svc) => svc !== 'postgres' && state[svc]?.how === 'docker');
  if (viaDocker.length) {
    const args = ['compose', '-f', o.paths.composeFile, 'logs', '--tail', String(lines), ...(opts.follow ? ['-f'] : []), ...viaDocker];
    const { spawn } = require('node:child_process');
    await new Promise((resolve) => spawn('docker', args, { stdio: 'inherit' }).once('close', resolve));
  }
  // PostgreSQL's log only when asked for or when there is one (FerretDB on SQLite, or mongod, has none).
  const files = services
    .filter((svc) => !viaDocker.includes(svc))
    .map((svc) => o.paths.logFile(svc))
    .filter((f) => opts.services?.length || f !== o.paths.logFile('postgres') || fs.existsSync(f));
  const present = files.filter((f) => fs.existsSync(f));
  for (const f of files) if (!present.includes(f)) out.write(`(no log yet at ${f})\n`);
  /** @type {Map<string, number>} */
  const pos = new Map();
  for (const f of present) {
    if (present.length > 1) out.write(`==> ${f} <==\n`);
    const t = tailFile(f, lines);
    out.write(t ? `${t}\n` : '');
    pos.set(f, fs.statSync(f).size);
  }
  if (!opts.follow) return;
  let last = present[present.length - 1];
  for (;;) {
    await sleep(500);
    for (const f of files) {
      let size;
      try {
        size = fs.statSync(f).size;
      } catch {
        continue;
      }
      let from = pos.get(f) ?? 0;
      if (size < from) from = 0; // rotated or truncated
      if (size === from) continue;
      const fd = fs.openSync(f, 'r');
      const buf = Buffer.alloc(size - from);
      fs.readSync(fd, buf, 0, buf.length, from);
      fs.closeSync(fd);
      pos.set(f, size);
      if (files.length > 1 && last !== f) out.write(`\n==> ${f} <==\n`);
      last = f;
      out.write(buf);
    }
  }
}

module.exports = { logs };
