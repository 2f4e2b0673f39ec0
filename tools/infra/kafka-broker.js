'use strict';
// One single-node Kafka broker in KRaft mode (broker + controller) run from the cached jars:
// its configuration files, its storage format, and the JVM process.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { defaultLogger, mkdirp } = require('./common.js');
const { run, openLog, spawnDetached } = require('./processes.js');
const { ensureJava } = require('./kafka-jars.js');

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
 * `brokerSessionMs`: how long the controller waits for its broker's heartbeat before fencing it
 * (Kafka's default, 9 s, when absent). A longer session rides out a controller stalled on a busy
 * machine, but a broker restarted after SIGKILL cannot register again until its old session ends.
 * @param {{dir: string, port: number, controllerPort: number, logFile: string, brokerSessionMs?: number}} p
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
    ...(p.brokerSessionMs ? [`broker.session.timeout.ms=${p.brokerSessionMs}`] : []),
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

module.exports = { writeKafkaConfig, formatKafkaStorage, kafkaMarkers, spawnKafka };
