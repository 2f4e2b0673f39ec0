'use strict';
// The smallest helpers of the infrastructure scripts: the repository root, logging, paths,
// JSON files, ports from the environment. No dependencies, so every other module can use it.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** Repository root (tools/infra/ is two levels below it). */
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * @typedef {(line: string) => void} Logger
 */

/** @type {Logger} */
function defaultLogger(line) {
  process.stderr.write(`[infra] ${line}\n`);
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** @param {string} dir */
function mkdirp(dir) {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Default cache dir for downloaded/built artefacts, outside the work tree. */
function cacheDir() {
  return path.resolve(process.env.MOSAIC_CACHE_DIR || path.join(os.homedir(), '.cache', 'mosaic'));
}

/**
 * @param {string} name environment variable holding a TCP port
 * @param {number} fallback
 */
function portFromEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name}=${raw} is not a TCP port`);
  return n;
}

/** @param {unknown} err */
function errorMessage(err) {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The last lines of a file ('' if missing).
 * @param {string} file
 * @param {number} lines
 */
function tailFile(file, lines) {
  let text;
  try {
    const size = fs.statSync(file).size;
    const start = Math.max(0, size - 256 * 1024);
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all.slice(-lines).join('\n');
}

/** @param {string} file */
function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * @param {string} file
 * @param {unknown} value
 */
function writeJson(file, value) {
  mkdirp(path.dirname(file));
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** @param {string} p path to show relative to the repo when inside it */
function rel(p) {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
}

module.exports = {
  REPO_ROOT,
  defaultLogger,
  sleep,
  mkdirp,
  cacheDir,
  portFromEnv,
  errorMessage,
  tailFile,
  readJson,
  writeJson,
  rel,
};
