'use strict';
// Private brokers for tests: a second single-node Kafka on other ports that a test can stop,
// start again on the same data, freeze and thaw. A child of the test process (killed when it
// exits), never shared.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { defaultLogger, sleep, errorMessage } = require('./common.js');
const { pidMatches, processCmdline, stopPid, waitUntilAnswers } = require('./processes.js');
const { freePort, tcpAnswers, kafkaAnswers } = require('./probes.js');
const { ensureJava, ensureKafkaJars } = require('./kafka-jars.js');
const { writeKafkaConfig, formatKafkaStorage, kafkaMarkers, spawnKafka } = require('./kafka-broker.js');

/** PIDs of private brokers still running, killed when this process exits. */
const privatePids = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of privatePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/**
 * True once every thread of pid is stopped (or gone). kill(SIGSTOP) returns before that: the
 * kernel wakes one thread to start the group stop, and until it gets a CPU the others keep
 * serving requests (on a loaded machine for 100 ms and more).
 * @param {number} pid
 */
function allThreadsStopped(pid) {
  if (!fs.existsSync('/proc/self/stat')) {
    // No /proc (macOS): ps shows the process as T once it is stopped.
    try {
      const { execFileSync } = require('node:child_process');
      return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' })
        .trim()
        .startsWith('T');
    } catch {
      return true;
    }
  }
  let tids;
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return true;
  }
  return tids.every((tid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return 'TtZX'.includes(stat.charAt(stat.lastIndexOf(')') + 2));
    } catch {
      return true; // the thread exited
    }
  });
}

/**
 * @typedef {object} PrivateKafka
 * @property {string[]} brokers
 * @property {number} port
 * @property {number} controllerPort
 * @property {string} dataDir
 * @property {string} logFile
 * @property {number | null} pid      null while stopped
 * @property {(signal?: 'SIGTERM' | 'SIGKILL') => Promise<void>} stop
 * @property {() => Promise<void>} start  start again on the same ports and data
 * @property {() => Promise<void>} freeze  SIGSTOP, resolves once every thread is stopped
 * @property {() => void} thaw  SIGCONT
 * @property {() => Promise<void>} destroy  SIGKILL it and remove a data dir this call created
 */

/**
 * A second, private single-node broker on other ports, which a test can stop and start
 * again on the same data dir. Uses the cached jars. Not detached from the calling process
 * (and SIGKILLed when it exits), so it does not outlive the test run.
 * @param {{port?: number, controllerPort?: number, dataDir?: string, logFile?: string,
 *   timeoutMs?: number, cacheDir?: string, log?: (line: string) => void}} [opts]
 * @returns {Promise<PrivateKafka>}
 */
async function startPrivateKafka(opts = {}) {
  const broker = await preparePrivateKafka(opts);
  installExitHook();
  const handle = privateKafkaHandle(broker);
  await handle.start();
  return handle;
}

/**
 * @typedef {object} PrivateBroker
 * @property {(line: string) => void} log
 * @property {number} port
 * @property {number} controllerPort
 * @property {boolean} ownsDir   the data dir is a temporary one this call created
 * @property {string} dataDir
 * @property {string} logFile
 * @property {number} timeoutMs
 * @property {string} libs
 * @property {string} java
 * @property {import('./kafka-broker.js').KafkaLayout} layout
 * @property {string[]} brokers
 * @property {string[]} markers
 */

/**
 * Ports, data dir, jars, configuration and formatted storage of a private broker.
 * @param {Parameters<typeof startPrivateKafka>[0] & {}} opts
 * @returns {Promise<PrivateBroker>}
 */
async function preparePrivateKafka(opts) {
  const log = opts.log || (() => undefined);
  const port = opts.port || (await freePort());
  let controllerPort = opts.controllerPort || (await freePort());
  while (controllerPort === port) controllerPort = await freePort();
  const ownsDir = !opts.dataDir;
  const dataDir = path.resolve(opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'mosaic-kafka-')));
  const logFile = path.resolve(opts.logFile || path.join(dataDir, 'kafka.log'));
  const timeoutMs = opts.timeoutMs || 120000;
  const libs = await ensureKafkaJars({ cacheDir: opts.cacheDir, log: opts.log || defaultLogger });
  const java = await ensureJava();
  const layout = writeKafkaConfig({ dir: dataDir, port, controllerPort, logFile });
  await formatKafkaStorage(libs, layout, log);
  const brokers = [`127.0.0.1:${port}`];
  const markers = kafkaMarkers(layout);
  return { log, port, controllerPort, ownsDir, dataDir, logFile, timeoutMs, libs, java, layout, brokers, markers };
}

/**
 * Wait a moment for ports to be released (a just-killed broker's can take one); throws when
 * one stays in use.
 * @param {number[]} ports
 */
async function waitForFreePorts(ports) {
  for (const p of ports) {
    for (let i = 0; i < 20 && (await tcpAnswers('127.0.0.1', p, 500)); i++) await sleep(250);
    if (await tcpAnswers('127.0.0.1', p, 500)) throw new Error(`cannot start private Kafka: 127.0.0.1:${p} is in use`);
  }
}

/**
 * SIGKILL pid if it is still the broker, and wait (up to 10 s) until it is gone.
 * @param {number} pid
 * @param {string[]} markers
 */
async function killAndWait(pid, markers) {
  if (pidMatches(pid, markers)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (let i = 0; i < 100 && processCmdline(pid) !== null; i++) await sleep(100);
}

/**
 * The handle of a prepared private broker (not started yet).
 * @param {PrivateBroker} b
 * @returns {PrivateKafka}
 */
function privateKafkaHandle(b) {
  const { log, port, controllerPort, ownsDir, dataDir, logFile, timeoutMs, libs, java, layout, brokers, markers } = b;
  /** @type {number | null} */
  let pid = null;

  const handle = {
    brokers,
    port,
    controllerPort,
    dataDir,
    logFile,
    get pid() {
      return pid;
    },
    async start() {
      if (pid !== null && pidMatches(pid, markers)) return;
      await waitForFreePorts([port, controllerPort]);
      const child = spawnKafka(java, libs, layout, { detached: false, heap: ['128m', '512m'], header: `private kafka 127.0.0.1:${port}` });
      if (child.pid === undefined) throw new Error(`could not start java for private Kafka (see ${logFile})`);
      pid = child.pid;
      privatePids.add(pid);
      child.once('exit', () => privatePids.delete(child.pid));
      try {
        await waitUntilAnswers({
          name: `private Kafka on 127.0.0.1:${port}`,
          check: () => kafkaAnswers(brokers, 2000),
          timeoutMs,
          logFile,
          child,
          pid,
        });
      } catch (err) {
        await handle.stop('SIGKILL');
        throw err;
      }
    },
    /** @param {'SIGTERM' | 'SIGKILL'} [signal] */
    async stop(signal = 'SIGTERM') {
      const current = pid;
      if (current === null) return;
      if (signal === 'SIGKILL') await killAndWait(current, markers);
      else await stopPid(current, markers, { graceMs: 30000, log, name: `private Kafka (pid ${current})` });
      privatePids.delete(current);
      pid = null;
    },
    async freeze() {
      const current = pid;
      if (current === null || !pidMatches(current, markers)) throw new Error('private Kafka is not running');
      process.kill(current, 'SIGSTOP');
      const deadline = Date.now() + 10000;
      while (!allThreadsStopped(current)) {
        if (Date.now() > deadline) throw new Error(`private Kafka (pid ${current}) did not stop within 10 s of SIGSTOP`);
        await sleep(5);
      }
    },
    thaw() {
      if (pid !== null && pidMatches(pid, markers)) process.kill(pid, 'SIGCONT');
    },
    async destroy() {
      await handle.stop('SIGKILL');
      if (ownsDir) {
        try {
          fs.rmSync(dataDir, { recursive: true, force: true });
        } catch (err) {
          log(`could not remove ${dataDir}: ${errorMessage(err)}`);
        }
      }
    },
  };
  return handle;
}

module.exports = { startPrivateKafka };
