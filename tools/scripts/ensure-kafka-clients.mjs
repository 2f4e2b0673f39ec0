#!/usr/bin/env node
// Installs the Kafka clients the examples in examples/ use, so that their tests never skip:
// - kcat (Debian's package), with apt-get when missing and we are root;
// - confluent-kafka (PyPI, pinned) in a virtualenv under the cache dir (python3 -m venv;
//   Debian's python3-venv is installed first when root and venv is missing);
// - Apache Kafka's console producer (org.apache.kafka:kafka-tools, same version as the
//   broker), resolved with Maven into the cache dir: the broker's own jars have no tools.
// Not root and something missing: says what to install and exits non-zero.
// `--json` prints {kcat, python, consoleProducerClasspath} for the tests.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptInstall, which } from './apt.mjs';

const require = createRequire(import.meta.url);
const { cacheDir } = require('../infra/util.js');
const { KAFKA_VERSION } = require('../infra/kafka.js');

export const CONFLUENT_KAFKA_VERSION = '2.16.1';
const log = (msg) => console.error(`[mosaic] ${msg}`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30 * 60_000, ...opts });
  return { ok: !r.error && r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

export function ensureKcat() {
  if (!which('kcat')) aptInstall('kcat', 'kcat is missing');
  const path = which('kcat');
  if (!path || !run(path, ['-V']).ok) throw new Error('kcat is installed but `kcat -V` fails');
  return path;
}

export function ensurePythonClient(dir = join(cacheDir(), `python-confluent-kafka-${CONFLUENT_KAFKA_VERSION}`)) {
  const python = join(dir, 'bin', 'python');
  const check = () => run(python, ['-c', 'import confluent_kafka; print(confluent_kafka.__version__)']);
  if (existsSync(python) && check().out === CONFLUENT_KAFKA_VERSION) return python;
  if (!which('python3')) aptInstall('python3-venv', 'python3 is missing');
  rmSync(dir, { recursive: true, force: true });
  if (!run('python3', ['-m', 'venv', dir]).ok) {
    aptInstall('python3-venv', '`python3 -m venv` does not work');
    rmSync(dir, { recursive: true, force: true });
    const again = run('python3', ['-m', 'venv', dir]);
    if (!again.ok) throw new Error(`python3 -m venv ${dir} failed: ${again.out}`);
  }
  log(`installing confluent-kafka==${CONFLUENT_KAFKA_VERSION} into ${dir}...`);
  const pip = run(join(dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `confluent-kafka==${CONFLUENT_KAFKA_VERSION}`]);
  if (!pip.ok) throw new Error(`pip install confluent-kafka==${CONFLUENT_KAFKA_VERSION} failed: ${pip.out}`);
  if (check().out !== CONFLUENT_KAFKA_VERSION) throw new Error(`confluent-kafka does not import from ${python}: ${check().out}`);
  return python;
}

export function ensureConsoleProducer(home = join(cacheDir(), `kafka-tools-${KAFKA_VERSION}`)) {
  const libs = join(home, 'libs');
  const marker = join(home, '.complete');
  if (existsSync(marker)) return `${libs}/*`;
  if (!which('mvn')) aptInstall('maven', "Maven (mvn) is missing to download Kafka's console producer");
  mkdirSync(home, { recursive: true });
  rmSync(libs, { recursive: true, force: true });
  const pom = join(home, 'pom.xml');
  writeFileSync(pom, pomXml());
  log(`downloading org.apache.kafka:kafka-tools:${KAFKA_VERSION} (the console producer) with Maven into ${libs}...`);
  const r = run('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${libs}`], { cwd: home });
  const jars = existsSync(libs) ? readdirSync(libs) : [];
  if (!r.ok || !jars.includes(`kafka-tools-${KAFKA_VERSION}.jar`))
    throw new Error(`Maven failed to download kafka-tools ${KAFKA_VERSION}: ${r.out.slice(-2000)}`);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return `${libs}/*`;
}

function pomXml() {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by tools/scripts/ensure-kafka-clients.mjs: Kafka's command-line tools for examples/. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.mosaic</groupId>
  <artifactId>kafka-tools-runtime</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;
}

export function ensureKafkaClients() {
  return { kcat: ensureKcat(), python: ensurePythonClient(), consoleProducerClasspath: ensureConsoleProducer() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const tools = ensureKafkaClients();
    if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(tools)}\n`);
    else log(`Kafka clients for examples/: kcat ${tools.kcat}, python ${tools.python}, console producer ${tools.consoleProducerClasspath}`);
  } catch (err) {
    log(`the examples' tests cannot run: ${err.message}`);
    process.exit(1);
  }
}
