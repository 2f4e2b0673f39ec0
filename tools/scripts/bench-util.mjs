// Helpers shared by the benchmarks (tools/scripts/bench*.mjs).
import { spawn } from 'node:child_process';
import { closeSync, createWriteStream, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { constants, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';

export { deleteBenchTopics, dropBenchDatabases } from './bench-cleanup.mjs';

/** Children the benchmark started and has not seen exit. */
const owned = new Set();
/** What a benchmark registered with `onInterrupt`. */
const cleanups = new Set();
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
  // Cleanups (topics, groups, databases) get 30 s: an interrupted benchmark must still exit.
  const cleaned = () => Promise.race([Promise.allSettled([...cleanups].map((fn) => fn())), new Promise((r) => setTimeout(r, 30_000))]);
  Promise.all([...owned].map(stopChild))
    .then(cleaned)
    .finally(() => process.exit(code));
}

/**
 * Registers `fn` (async) to run after the children are stopped when the benchmark is interrupted
 * (signal, uncaught error); returns a function that unregisters it. For what a benchmark leaves in
 * the shared infrastructure (topics, consumer groups, databases); its normal end cleans up itself.
 */
export function onInterrupt(fn) {
  installExitHooks();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/**
 * `fn` (async: removes what the benchmark leaves in the shared infrastructure) run once, whichever
 * comes first: the returned function, to await in the benchmark's `finally`, or an interrupt
 * (`onInterrupt`, after the children are stopped).
 */
export function cleanUpOnce(fn) {
  let running;
  const run = () => (running ??= fn());
  const unregister = onInterrupt(run);
  return () => run().finally(unregister);
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
    kafka: benchKafkaFactory(require, join(root, 'dist'), up.kafkaBrokers),
    brokers: up.kafkaBrokers,
    runId,
    prefix: `bench-${runId}.`,
    dbName: `bench_${name}_${runId}`,
    mongoBase: up.mongoUri.replace(/\/$/, ''),
    token: 'bench-admin-token-0123456789',
  };
}

/**
 * What the steps of a benchmark share, to extend with its own: what `benchSetup(name)` returned
 * (also as `setup`), its options `opts`, the contracts (dist/), and a Kafka client `kafka` with an
 * `admin`, an idempotent `producer` and `consumer`, the bench's tap (group `<prefix>bench-tap`); none connected.
 */
export async function benchContext(name, opts) {
  const setup = await benchSetup(name);
  const { Partitioners } = setup.require('kafkajs');
  const kafka = setup.kafka(`bench-${name}`);
  return {
    ...setup,
    setup,
    opts,
    contracts: setup.require(join(setup.root, 'dist', 'libs', 'contracts', 'src', 'index.js')),
    kafka,
    admin: kafka.admin(),
    producer: kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner }),
    consumer: kafka.consumer({ groupId: `${setup.prefix}bench-tap`, maxWaitTimeInMs: 50 }),
  };
}

/** The machine and versions a benchmark's JSON records (`up`: what infra.up returned). */
export function machineInfo(up) {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kafka: '4.1.1',
    mongo: up.mongoServer,
  };
}

/**
 * `kafka(clientId)`: a kafkajs client for the benchmark's own producers and consumers, made by the
 * services' factory (createKafkaClient, built in dist/) from the same environment, so that
 * KAFKA_SSL* and KAFKA_SASL_* reach it as they reach the services it starts.
 */
export function benchKafkaFactory(require, dist, brokers) {
  const { loadConfig } = require(`${dist}/libs/shared/config/src/index.js`);
  const { createKafkaClient } = require(`${dist}/libs/shared/kafka/src/client.js`);
  const { createLogger } = require(`${dist}/libs/shared/logging/src/index.js`);
  const env = { MOSAIC_ADMIN_TOKEN: 'bench-admin-token-0123456789', ...process.env, KAFKA_BROKERS: brokers.join(',') };
  const { kafka } = loadConfig('collector', undefined, env);
  return (clientId) => createKafkaClient(kafka, createLogger({ service: clientId, level: 'silent' }), { clientId });
}

/** Runs `fn(n)` (returning how many operations it did) in `workers` loops for `seconds`; the operations and the seconds taken. */
export async function timedOps(workers, seconds, fn) {
  const deadline = Date.now() + seconds * 1000;
  let ops = 0;
  let n = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < deadline) {
        // not `ops += await fn()`: that reads ops before the await, and concurrent workers overwrite each other's counts
        const done = await fn((n += 1));
        ops += done;
      }
    }),
  );
  return { ops, seconds: (Date.now() - started) / 1000 };
}

/** A rate for tables and JSON: one decimal below 100/s (a store or pipeline can be that slow), whole above; null without time. */
export function perSec(n, seconds) {
  if (!(seconds > 0)) return null;
  const r = n / seconds;
  return r < 100 ? +r.toFixed(1) : Math.round(r);
}

/** Operations per second, one decimal. */
export const oneDecimalRate = (ops, seconds) => Math.round((ops / seconds) * 10) / 10;

/** Value at percentile `p` (0–100) of `values`, null when empty. */
export function pct(values, p) {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** A keep-alive HTTP client (node:http: on this kind of machine several times faster than fetch). */
export function httpClient(maxSockets) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const post = (url, body, headers = {}) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { post, close: () => agent.destroy() };
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The environment every service a benchmark starts gets, from what `benchSetup` returned: the
 * run's brokers, database, topic prefix and admin token, loopback only, the services' default partitions, LOG_LEVEL
 * from this process (else info), the collector's rate limits out of reach; `extra` adds or overrides
 * (`<NAME>_PORT` is startService's).
 */
export function serviceEnv({ brokers, mongoBase, dbName, prefix, token }, extra = {}) {
  return {
    KAFKA_BROKERS: brokers.join(','),
    MONGODB_URI: `${mongoBase}/${dbName}`,
    MOSAIC_TOPIC_PREFIX: prefix,
    MOSAIC_ADMIN_TOKEN: token,
    MOSAIC_HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    // One loopback address and one write key send the load: the limits stay on (their cost is
    // measured) but out of reach (the default 1,000 requests/s per address would bind).
    COLLECTOR_RATE_PER_IP: '1000000',
    COLLECTOR_RATE_PER_KEY: '1000000',
    ...extra,
  };
}

/** Where a benchmark's service writes its output: `.mosaic/logs/bench-<name>-<runId>.log`. */
export function benchLogFile(root, name, runId) {
  return join(root, '.mosaic', 'logs', `bench-${name}-${runId}.log`);
}

/**
 * Samples the resident memory of `child` every `intervalMs` until it exits or `stop()`:
 * `peakMb` is the highest seen; `now()` samples once more (null when it has exited).
 */
export function rssSampler(child, intervalMs = 500) {
  let peakMb = 0;
  const now = () => {
    try {
      const mb = rssMb(child.pid);
      peakMb = Math.max(peakMb, mb);
      return mb;
    } catch {
      return null; // exited
    }
  };
  const timer = setInterval(now, intervalMs);
  const stop = () => clearInterval(timer);
  child.once('exit', stop);
  return {
    get peakMb() {
      return peakMb;
    },
    now,
    stop,
  };
}

/** `api(method, path, body?)`: a request to a service's admin API (bearer `token`); its status and JSON body ({} when none). */
export function adminApi(url, token) {
  return async (method, path, body) => {
    const headers = { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) };
    const r = await fetch(`${url}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, json: await r.json().catch(() => ({})) };
  };
}

/** Creates the source "bench" through the collector's admin API `collector` (adminApi): the source and `authorization`, the Basic header of its write key. */
export async function createBenchSource(collector) {
  const r = await collector('POST', '/v1/sources', { name: 'bench' });
  if (r.status !== 201 && r.status !== 200) throw new Error(`creating a source: ${r.status} ${JSON.stringify(r.json)}`);
  return { ...r.json, authorization: `Basic ${Buffer.from(`${r.json.writeKey}:`).toString('base64')}` };
}

/** Writes `result` to `.mosaic/bench/<name>-<runId>.json`; the file's path. */
export function writeResult(root, name, runId, result) {
  mkdirSync(join(root, '.mosaic', 'bench'), { recursive: true });
  const file = join(root, '.mosaic', 'bench', `${name}-${runId}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  return file;
}

/** Extra Node options for the services a benchmark starts, e.g. `MOSAIC_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` (Node refuses `--cpu-prof` in NODE_OPTIONS). */
function benchNodeArgs() {
  return (process.env.MOSAIC_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/**
 * Starts the service `name` from dist/ (`<NAME>_PORT` = `port`, this process's environment plus
 * `env`, output appended to `logFile`) and resolves once `/ready` answers 200 and each of its
 * Kafka consumers owns partitions (it joined its group). Rejects when it exits first or is not
 * ready within `timeoutMs`. `stderr()` is the tail of what it wrote there.
 */
export async function startService({ root, name, port, env, logFile, timeoutMs = 90_000 }) {
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  const child = spawnOwned(process.execPath, [...benchNodeArgs(), join(root, 'dist', 'apps', name, 'src', 'main.js')], {
    cwd: root,
    env: { ...process.env, ...env, [`${name.toUpperCase()}_PORT`]: String(port) },
    stdio: ['ignore', out, 'pipe'],
  });
  closeSync(out);
  const errLog = createWriteStream(logFile, { flags: 'a' });
  let err = '';
  child.stderr.on('data', (d) => {
    err = (err + d.toString()).slice(-4000);
    errLog.write(d);
  });
  child.once('close', () => errLog.end());
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`${name} exited (${code ?? signal}) (log: ${logFile}): ${err}`))),
  );
  exited.catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await fetch(`${url}/ready`).then(
      (r) => (r.status === 200 ? r.json() : null),
      () => null,
    );
    const topics = body?.checks?.find((c) => c.name === 'kafka-consumers')?.detail?.topics ?? [];
    if (body && topics.every((t) => t.assignedPartitions.length > 0)) return { child, url, logFile, stderr: () => err };
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`${name} not ready within ${timeoutMs / 1000} s (log: ${logFile}): ${err}`);
    }
    await Promise.race([new Promise((r) => setTimeout(r, 200)), exited]);
  }
}

/** One autocannon run (`opts` as autocannon takes them); resolves with its result. */
export function runAutocannon(autocannon, opts) {
  return new Promise((resolve, reject) => {
    autocannon({ pipelining: 1, ...opts }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** The figures the benches report from an autocannon result whose requests carry `eventsPerRequest` events. */
export function cannonSummary(r, eventsPerRequest) {
  return {
    requestsPerSec: Math.round(r.requests.average),
    eventsPerSec: Math.round((r['2xx'] * eventsPerRequest) / r.duration),
    p50ms: r.latency.p50,
    p99ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}
