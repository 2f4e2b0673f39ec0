'use strict';
// Small helpers shared by the infrastructure scripts: logging, child processes, PID
// ownership checks, locks, probes. Plain CommonJS with no dependencies beyond what the
// workspace already has (kafkajs, mongodb), so Jest's global setup can require() it.

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

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

/**
 * Does anything accept a TCP connection on host:port?
 * @param {string} host
 * @param {number} port
 * @param {number} [timeoutMs]
 * @returns {Promise<boolean>}
 */
function tcpAnswers(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (/** @type {boolean} */ ok) => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * A free loopback TCP port (bound then released; racy by nature but fine for tests).
 * @returns {Promise<number>}
 */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Does a Kafka broker answer a metadata request (admin listTopics)?
 * @param {string[]} brokers
 * @param {number} [timeoutMs]
 * @returns {Promise<{ok: true} | {ok: false, error: string}>}
 */
async function kafkaAnswers(brokers, timeoutMs = 3000) {
  const { Kafka, logLevel } = require('kafkajs');
  const kafka = new Kafka({
    clientId: 'mosaic-infra-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 2000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  try {
    const attempt = (async () => {
      await admin.connect();
      await admin.listTopics();
    })();
    attempt.catch(() => undefined);
    await Promise.race([
      attempt,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Get the broker past its first-use delays now rather than in the first test: the group
 * coordinator's topic (FindCoordinator) and a producer-id block (InitProducerId of an
 * idempotent producer). Best effort; returns whether both succeeded.
 * @param {string[]} brokers
 * @param {number} [timeoutMs]
 */
async function kafkaWarmUp(brokers, timeoutMs = 20000) {
  const { Kafka, logLevel, Partitioners } = require('kafkajs');
  const kafka = new Kafka({ clientId: 'mosaic-infra-warmup', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const deadline = Date.now() + timeoutMs;
  /** @param {() => Promise<unknown>} step */
  const retrying = async (step) => {
    while (Date.now() < deadline) {
      try {
        await step();
        return true;
      } catch {
        await sleep(300);
      }
    }
    return false;
  };
  const admin = kafka.admin({ retry: { retries: 0 } });
  const producer = kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
  });
  try {
    const groups = await retrying(async () => {
      await admin.connect();
      await admin.describeGroups(['mosaic-infra-warmup']);
    });
    const producerId = await retrying(async () => {
      await producer.disconnect().catch(() => undefined);
      await producer.connect();
    });
    return groups && producerId;
  } catch {
    return false;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Does a MongoDB-wire server answer ping? Also tells which server it is.
 * @param {string} uri
 * @param {number} [timeoutMs]
 * @returns {Promise<{ok: true, server: string} | {ok: false, error: string}>}
 */
async function mongoAnswers(uri, timeoutMs = 3000) {
  const { MongoClient } = require('mongodb');
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
  });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    /** @type {string} */
    let server = 'mongodb';
    try {
      const info = await client.db('admin').command({ buildInfo: 1 });
      server = info.ferretdbVersion ? `FerretDB ${info.ferretdbVersion}` : `MongoDB ${info.version}`;
    } catch {
      // buildInfo is optional for the readiness decision
    }
    return { ok: true, server };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** @param {unknown} err */
function errorMessage(err) {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The command line of a live (non-zombie) process, or null.
 * @param {number} pid
 * @returns {string | null}
 */
function processCmdline(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (fs.existsSync('/proc/self/cmdline')) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') return null;
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      return null;
    }
  }
  // No /proc (macOS): ask ps.
  try {
    const { execFileSync } = require('node:child_process');
    const out = execFileSync('ps', ['-o', 'stat=,command=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    if (!out || out.startsWith('Z')) return null;
    return out.replace(/^\S+\s+/, '');
  } catch {
    return null;
  }
}

/**
 * Is pid a live process whose command line contains every marker?
 * @param {number} pid
 * @param {string[]} markers
 */
function pidMatches(pid, markers) {
  const cmdline = processCmdline(pid);
  return cmdline !== null && markers.every((m) => cmdline.includes(m));
}

/**
 * Stop a process we started: SIGTERM, wait, then SIGKILL. Only if it is still ours.
 * @param {number} pid
 * @param {string[]} markers strings its command line must contain
 * @param {{graceMs?: number, log?: Logger, name?: string, signal?: NodeJS.Signals}} [opts]
 *   signal: the polite one (default SIGTERM)
 * @returns {Promise<'stopped' | 'killed' | 'not-running'>}
 */
async function stopPid(pid, markers, opts = {}) {
  const { graceMs = 30000, log = () => undefined, name = `pid ${pid}`, signal = 'SIGTERM' } = opts;
  if (!pidMatches(pid, markers)) return 'not-running';
  try {
    process.kill(pid, signal);
  } catch {
    return 'not-running';
  }
  const deadline = Date.now() + graceMs;
  let said = false;
  while (Date.now() < deadline) {
    if (processCmdline(pid) === null) return 'stopped';
    if (!said && Date.now() > deadline - graceMs + 3000) {
      log(`waiting for ${name} to stop (up to ${Math.round(graceMs / 1000)} s)...`);
      said = true;
    }
    await sleep(200);
  }
  if (pidMatches(pid, markers)) {
    log(`${name} did not stop after ${Math.round(graceMs / 1000)} s: SIGKILL`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    for (let i = 0; i < 50 && processCmdline(pid) !== null; i++) await sleep(100);
    return 'killed';
  }
  return 'stopped';
}

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

/**
 * Run a command to completion, capturing its output (also appended to logFile if given).
 * @param {string} cmd
 * @param {string[]} args
 * @param {{cwd?: string, env?: NodeJS.ProcessEnv, timeoutMs?: number, logFile?: string, uid?: number, gid?: number}} [opts]
 * @returns {Promise<{code: number | null, stdout: string, stderr: string}>}
 */
function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env || process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    const logFd = opts.logFile ? fs.openSync(opts.logFile, 'a') : null;
    child.stdout.on('data', (b) => {
      stdout += b;
      if (logFd !== null) fs.writeSync(logFd, b);
    });
    child.stderr.on('data', (b) => {
      stderr += b;
      if (logFd !== null) fs.writeSync(logFd, b);
    });
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
      }, opts.timeoutMs);
    }
    child.once('error', (err) => {
      clearTimeout(timer);
      if (logFd !== null) fs.closeSync(logFd);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (logFd !== null) fs.closeSync(logFd);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Absolute path of an executable on PATH, or null.
 * @param {string} name
 */
function which(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
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

/**
 * Open a log file for appending (rotating it to .1 past 50 MB) and write a header line.
 * @param {string} file
 * @param {string} header
 * @returns {number} file descriptor
 */
function openLog(file, header) {
  mkdirp(path.dirname(file));
  try {
    if (fs.statSync(file).size > 50 * 1024 * 1024) fs.renameSync(file, `${file}.1`);
  } catch {
    // no log yet
  }
  const fd = fs.openSync(file, 'a');
  fs.writeSync(fd, `\n===== ${new Date().toISOString()} ${header} =====\n`);
  return fd;
}

/**
 * Start a long-running server process detached from us: its own process group,
 * stdout/stderr appended to logFile, not keeping our event loop alive.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{logFile: string, header: string, cwd?: string, env?: NodeJS.ProcessEnv, uid?: number, gid?: number}} opts
 *   uid/gid: run as that user (root only)
 */
function spawnDetached(cmd, args, opts) {
  const fd = openLog(opts.logFile, `${opts.header}: ${cmd} ${args.join(' ')}`);
  try {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env || process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
    });
    child.unref();
    return child;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Poll until check() reports ok, the child dies, or the timeout expires.
 * @param {object} p
 * @param {string} p.name
 * @param {() => Promise<{ok: boolean, error?: string}>} p.check
 * @param {number} p.timeoutMs
 * @param {string} [p.logFile]
 * @param {import('node:child_process').ChildProcess | null} [p.child]
 * @param {number | null} [p.pid]
 * @param {Logger} [p.log]
 */
async function waitUntilAnswers(p) {
  const started = Date.now();
  const deadline = started + p.timeoutMs;
  /** @type {number | null} */
  let exitCode = null;
  let exited = false;
  if (p.child) {
    p.child.once('exit', (code, signal) => {
      exited = true;
      exitCode = code === null ? null : code;
      if (signal) exitCode = null;
    });
  }
  let lastError = '';
  let lastSaid = started;
  for (;;) {
    const r = await p.check();
    if (r.ok) return Date.now() - started;
    lastError = r.error || lastError;
    const dead = exited || (p.pid ? processCmdline(p.pid) === null : false);
    if (dead) {
      throw new Error(
        `${p.name} exited before answering${exitCode !== null ? ` (exit code ${exitCode})` : ''}.` +
          (p.logFile ? ` Log: ${p.logFile}\n--- last lines of ${p.logFile} ---\n${tailFile(p.logFile, 25)}` : ''),
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${p.name} did not answer within ${Math.round(p.timeoutMs / 1000)} s (last error: ${lastError}).` +
          (p.logFile ? ` Log: ${p.logFile}\n--- last lines of ${p.logFile} ---\n${tailFile(p.logFile, 25)}` : ''),
      );
    }
    if (p.log && Date.now() - lastSaid > 15000) {
      p.log(`still waiting for ${p.name} (${Math.round((Date.now() - started) / 1000)} s)...`);
      lastSaid = Date.now();
    }
    await sleep(500);
  }
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
  tcpAnswers,
  freePort,
  kafkaAnswers,
  kafkaWarmUp,
  mongoAnswers,
  errorMessage,
  processCmdline,
  pidMatches,
  stopPid,
  withLock,
  run,
  which,
  tailFile,
  openLog,
  spawnDetached,
  waitUntilAnswers,
  readJson,
  writeJson,
  rel,
};
