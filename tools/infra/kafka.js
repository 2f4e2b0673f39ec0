'use strict';
// Apache Kafka in KRaft mode (single node, broker + controller) from its Maven Central
// artefacts: the jars are resolved once with Maven into the cache dir and shared by the
// project's broker (.mosaic/data/kafka) and any private broker a test starts.

const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {
  defaultLogger,
  mkdirp,
  cacheDir: defaultCacheDir,
  withLock,
  run,
  which,
  tailFile,
  spawnDetached,
  openLog,
  waitUntilAnswers,
  kafkaAnswers,
  tcpAnswers,
  freePort,
  pidMatches,
  processCmdline,
  stopPid,
  sleep,
  errorMessage,
} = require('./util.js');
const { spawn } = require('node:child_process');

const KAFKA_VERSION = '4.1.1';
const SCALA_VERSION = '2.13';
/** slf4j 1.7 -> log4j2 binding, same log4j version kafka 4.1.1 depends on. */
const LOG4J_VERSION = '2.24.3';

/** @param {string} cache */
function kafkaHome(cache) {
  return path.join(cache, `kafka-${KAFKA_VERSION}`);
}

/** @type {Promise<string> | null} */
let javaChecked = null;

/** The java executable (JAVA_HOME first), checked to be Java 17 or newer. */
function ensureJava() {
  if (!javaChecked) {
    javaChecked = (async () => {
      const fromHome = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : null;
      const java = fromHome && fs.existsSync(fromHome) ? fromHome : which('java');
      if (!java) {
        throw new Error(
          'Running Kafka locally needs Java 17+ (java on PATH or JAVA_HOME) and Maven (mvn). ' +
            'Alternatively start a Docker engine, or point KAFKA_BROKERS and MONGODB_URI at running servers.',
        );
      }
      const r = await run(java, ['-version']);
      const m = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr + r.stdout);
      const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : NaN;
      if (!(major >= 17)) {
        throw new Error(`Kafka ${KAFKA_VERSION} needs Java 17 or newer; ${java} is ${m ? `Java ${major}` : 'of unknown version'}`);
      }
      return java;
    })();
    javaChecked.catch(() => {
      javaChecked = null;
    });
  }
  return javaChecked;
}

/**
 * Make sure the Kafka jars are in <cache>/kafka-<version>/libs (download them with Maven
 * the first time). A marker file records a finished download; anything else is redone.
 * @param {{cacheDir?: string, log?: (line: string) => void}} [opts]
 * @returns {Promise<string>} the libs directory
 */
async function ensureKafkaJars(opts = {}) {
  const log = opts.log || defaultLogger;
  const home = kafkaHome(opts.cacheDir || defaultCacheDir());
  const libs = path.join(home, 'libs');
  const marker = path.join(home, '.complete');
  const mainJar = path.join(libs, `kafka_${SCALA_VERSION}-${KAFKA_VERSION}.jar`);
  const complete = () => fs.existsSync(marker) && fs.existsSync(mainJar);
  if (complete()) return libs;
  await ensureJava();
  return withLock(
    `${home}.lock`,
    async () => {
      if (complete()) return libs;
      const mvn = which('mvn');
      if (!mvn) {
        throw new Error(
          `Kafka ${KAFKA_VERSION} jars are not in ${libs} and Maven (mvn) is not on PATH to download them. ` +
            'Install Maven, or start a Docker engine, or point KAFKA_BROKERS and MONGODB_URI at running servers.',
        );
      }
      mkdirp(home);
      fs.rmSync(libs, { recursive: true, force: true });
      fs.rmSync(marker, { force: true });
      const pom = path.join(home, 'pom.xml');
      fs.writeFileSync(pom, pomXml());
      const mvnLog = path.join(home, 'mvn.log');
      fs.writeFileSync(mvnLog, `${new Date().toISOString()} mvn dependency:copy-dependencies\n`);
      log(
        `downloading Apache Kafka ${KAFKA_VERSION} (about 45 jars, ~60 MB) from Maven Central with Maven into ${libs}` +
          ' - first time only, this takes a minute or two...',
      );
      const t0 = Date.now();
      const r = await run(
        mvn,
        ['-q', '-B', '-Dstyle.color=never', '-f', pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${libs}`],
        { cwd: home, logFile: mvnLog, timeoutMs: 30 * 60 * 1000 },
      );
      if (r.code !== 0) {
        throw new Error(`Maven failed (exit code ${r.code}) to download the Kafka jars. Log: ${mvnLog}\n${tailFile(mvnLog, 30)}`);
      }
      const jars = fs.existsSync(libs) ? fs.readdirSync(libs).filter((f) => f.endsWith('.jar')) : [];
      for (const needed of [path.basename(mainJar), `log4j-slf4j-impl-${LOG4J_VERSION}.jar`, `log4j-core-${LOG4J_VERSION}.jar`]) {
        if (!jars.includes(needed)) throw new Error(`Maven finished but ${needed} is missing from ${libs}. Log: ${mvnLog}`);
      }
      fs.writeFileSync(marker, `${JSON.stringify({ kafka: KAFKA_VERSION, log4j: LOG4J_VERSION, jars: jars.sort(), at: new Date().toISOString() }, null, 2)}\n`);
      log(`Kafka jars ready (${jars.length} jars in ${Math.round((Date.now() - t0) / 1000)} s)`);
      return libs;
    },
    { log, what: 'the Kafka download' },
  );
}

function pomXml() {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by tools/infra (mosaic): resolves the jars of Apache Kafka ${KAFKA_VERSION}. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.mosaic</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_${SCALA_VERSION}</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`;
}

/**
 * @typedef {object} KafkaLayout
 * @property {string} dir          directory holding the config files and the data
 * @property {string} configPath   server.properties
 * @property {string} log4jPath    log4j2.properties
 * @property {string} logDir       Kafka's log.dirs (topic data and KRaft metadata)
 * @property {string} logFile      where the broker logs
 * @property {number} port
 * @property {number} controllerPort
 */

/**
 * Write server.properties and log4j2.properties for a single-node KRaft broker.
 * @param {{dir: string, port: number, controllerPort: number, logFile: string}} p
 * @returns {KafkaLayout}
 */
function writeKafkaConfig(p) {
  const dir = path.resolve(p.dir);
  const logDir = path.join(dir, 'data');
  mkdirp(logDir);
  mkdirp(path.dirname(p.logFile));
  const configPath = path.join(dir, 'server.properties');
  const log4jPath = path.join(dir, 'log4j2.properties');
  const props = [
    '# Written by tools/infra (mosaic) on every start; edits are overwritten.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${p.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${p.port},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${p.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${logDir}`,
    // Topics are created explicitly (by the services' topic bootstrap and by tests).
    'auto.create.topics.enable=false',
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // A small machine: keep the cleaner's buffer and thread counts modest.
    'log.cleaner.dedupe.buffer.size=16777216',
    'num.io.threads=4',
    'num.network.threads=2',
    'num.recovery.threads.per.data.dir=2',
    '',
  ].join('\n');
  fs.writeFileSync(configPath, props);
  const logFile = path.resolve(p.logFile).replace(/\\/g, '/');
  const quiet = [
    'kafka.request.logger',
    'state.change.logger',
    'kafka.cluster',
    'kafka.log',
    'org.apache.kafka.storage',
    'kafka.server.ReplicaFetcherManager',
    'kafka.server.ReplicaAlterLogDirsManager',
    'org.apache.kafka.raft',
    'org.apache.kafka.image',
    'org.apache.kafka.metadata',
    'kafka.server.metadata',
    'org.apache.kafka.clients',
    'org.apache.kafka.common.utils.AppInfoParser',
    'org.apache.kafka.common.config',
    'kafka.server.KafkaConfig',
  ];
  const log4j = [
    '# Written by tools/infra (mosaic). Kafka logs to one file: ' + logFile,
    'status = error',
    'name = mosaic-kafka',
    'appender.file.type = File',
    'appender.file.name = FILE',
    `appender.file.fileName = ${logFile}`,
    'appender.file.append = true',
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.file.ref = FILE',
    ...quiet.flatMap((name, i) => [`logger.q${i}.name = ${name}`, `logger.q${i}.level = WARN`]),
    '',
  ].join('\n');
  fs.writeFileSync(log4jPath, log4j);
  return { dir, configPath, log4jPath, logDir, logFile: path.resolve(p.logFile), port: p.port, controllerPort: p.controllerPort };
}

/** A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (as Uuid.randomUuid()). */
function randomClusterId() {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * Format the KRaft storage once (when log.dirs has no meta.properties yet).
 * @param {string} libs
 * @param {KafkaLayout} layout
 * @param {(line: string) => void} [log]
 */
async function formatKafkaStorage(libs, layout, log = defaultLogger) {
  if (fs.existsSync(path.join(layout.logDir, 'meta.properties'))) return false;
  const java = await ensureJava();
  const clusterId = randomClusterId();
  log(`formatting Kafka storage in ${layout.logDir} (cluster id ${clusterId})`);
  const r = await run(
    java,
    [
      '-Xmx256m',
      `-Dlog4j2.configurationFile=${layout.log4jPath}`,
      '-cp',
      `${libs}/*`,
      'kafka.tools.StorageTool',
      'format',
      '--ignore-formatted',
      '-t',
      clusterId,
      '-c',
      layout.configPath,
    ],
    { logFile: layout.logFile, timeoutMs: 120000 },
  );
  if (r.code !== 0) {
    throw new Error(`formatting Kafka storage failed (exit code ${r.code}). Log: ${layout.logFile}\n${r.stdout}${r.stderr}`);
  }
  return true;
}

/**
 * Command-line markers that identify the broker of a layout (for PID ownership checks).
 * @param {KafkaLayout} layout
 */
function kafkaMarkers(layout) {
  return ['kafka.Kafka', layout.configPath];
}

/**
 * Start the broker JVM (does not wait).
 * @param {string} java
 * @param {string} libs
 * @param {KafkaLayout} layout
 * @param {{detached?: boolean, heap?: [string, string], header?: string}} [opts]
 */
function spawnKafka(java, libs, layout, opts = {}) {
  const [xms, xmx] = opts.heap || ['256m', '1g'];
  const args = [
    `-Xms${xms}`,
    `-Xmx${xmx}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${layout.log4jPath}`,
    '-cp',
    `${libs}/*`,
    'kafka.Kafka',
    layout.configPath,
  ];
  const header = opts.header || `kafka 127.0.0.1:${layout.port}`;
  if (opts.detached === false) {
    const fd = openLog(layout.logFile, `${header}: ${java} ${args.join(' ')}`);
    try {
      const child = spawn(java, args, { cwd: layout.dir, stdio: ['ignore', fd, fd] });
      child.unref();
      return child;
    } finally {
      fs.closeSync(fd);
    }
  }
  return spawnDetached(java, args, { logFile: layout.logFile, header, cwd: layout.dir });
}

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
      return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim().startsWith('T');
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
  /** @type {number | null} */
  let pid = null;
  installExitHook();

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
      for (const p of [port, controllerPort]) {
        // A just-killed broker's ports can take a moment to be released.
        for (let i = 0; i < 20 && (await tcpAnswers('127.0.0.1', p, 500)); i++) await sleep(250);
        if (await tcpAnswers('127.0.0.1', p, 500)) throw new Error(`cannot start private Kafka: 127.0.0.1:${p} is in use`);
      }
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
      if (signal === 'SIGKILL') {
        if (pidMatches(current, markers)) {
          try {
            process.kill(current, 'SIGKILL');
          } catch {
            // gone
          }
        }
        for (let i = 0; i < 100 && processCmdline(current) !== null; i++) await sleep(100);
      } else {
        await stopPid(current, markers, { graceMs: 30000, log, name: `private Kafka (pid ${current})` });
      }
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
  await handle.start();
  return handle;
}

module.exports = {
  KAFKA_VERSION,
  LOG4J_VERSION,
  kafkaHome,
  ensureJava,
  ensureKafkaJars,
  writeKafkaConfig,
  formatKafkaStorage,
  kafkaMarkers,
  spawnKafka,
  startPrivateKafka,
};
