// Helpers shared by the benchmarks (tools/scripts/bench*.mjs).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

/** Children the benchmark started and has not seen exit. */
const owned = new Set();
let exitHooksInstalled = false;

/**
 * `spawn` for every process a benchmark starts (services, CLIs, load generators): the child is
 * stopped on every way out of the benchmark — its normal end, an error, SIGINT/SIGTERM/SIGHUP,
 * an uncaught exception or an unhandled rejection — so none outlives it.
 */
export function spawnOwned(command, args, options) {
  installExitHooks();
  const child = spawn(command, args, options);
  owned.add(child);
  child.once('exit', () => owned.delete(child));
  return child;
}

function installExitHooks() {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  // 'exit' cannot wait: whatever is still running gets SIGKILL (the graceful paths below and
  // stopChild have already stopped the children of a benchmark that ended normally).
  process.once('exit', () => {
    for (const child of owned) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => stopOwnedAndExit(128 + constants.signals[signal], `received ${signal}`));
  }
  process.once('uncaughtException', (err) => stopOwnedAndExit(1, err));
  process.once('unhandledRejection', (err) => stopOwnedAndExit(1, err));
}

function stopOwnedAndExit(code, reason) {
  console.error('[bench] stopping the services it started:', reason);
  Promise.all([...owned].map(stopChild)).finally(() => process.exit(code));
}

/** Deterministic PRNG (mulberry32), so two runs of a bench apply the same mix. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `--name value` from argv as a number, else `def`. */
export function numberOption(argv, name, def) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
}

/** Resident memory of a process, MB. */
export function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024);
}

/** SIGTERM and wait for the exit (SIGKILL after 30 s): a child must not outlive the benchmark. */
export function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * What every benchmark starts with: dependencies installed, dist/ built, the infrastructure up,
 * and names unique to this run (topic prefix, database, admin token). `require` loads packages
 * and built modules (`dist/...`) from the repository.
 */
export async function benchSetup(name) {
  const { ensureDeps } = await import('./ensure-deps.mjs');
  const { build, root } = await import('./build.mjs');
  const { createRequire } = await import('node:module');
  const { join } = await import('node:path');
  ensureDeps();
  await build({ quiet: true });
  const require = createRequire(import.meta.url);
  const infra = require(join(root, 'tools', 'infra', 'index.js'));
  const up = await infra.up({});
  const runId = Date.now().toString(36);
  return {
    root,
    require,
    infra,
    up,
    brokers: up.kafkaBrokers,
    runId,
    prefix: `bench-${runId}.`,
    dbName: `bench_${name}_${runId}`,
    mongoBase: up.mongoUri.replace(/\/$/, ''),
    token: 'bench-admin-token-0123456789',
  };
}

/** Runs `fn(n)` (returning how many operations it did) in `workers` loops for `seconds`; the operations and the seconds taken. */
export async function timedOps(workers, seconds, fn) {
  const deadline = Date.now() + seconds * 1000;
  let ops = 0;
  let n = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < deadline) ops += await fn((n += 1));
    }),
  );
  return { ops, seconds: (Date.now() - started) / 1000 };
}
