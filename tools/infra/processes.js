'use strict';
// Child processes: running a command to completion, starting detached servers with their
// log files, waiting until they answer, and stopping them by PID only while the PID is still
// the process we started (its command line carries our markers).

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { sleep, mkdirp, tailFile } = require('./common.js');

/**
 * @typedef {import('./common.js').Logger} Logger
 */

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

module.exports = { processCmdline, pidMatches, stopPid, run, which, openLog, spawnDetached, waitUntilAnswers };
