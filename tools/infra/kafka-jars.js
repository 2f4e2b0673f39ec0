'use strict';
// Apache Kafka's jars from Maven Central, resolved once with Maven into the cache dir, and the
// Java that runs them.

const fs = require('node:fs');
const path = require('node:path');
const { defaultLogger, mkdirp, cacheDir: defaultCacheDir, tailFile } = require('./common.js');
const { run, which } = require('./processes.js');
const { ensureCached } = require('./downloads.js');

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
  const isComplete = () => fs.existsSync(marker) && fs.existsSync(mainJar);
  if (isComplete()) return libs;
  await ensureJava();
  return ensureCached({ home, isComplete, result: libs, what: 'the Kafka download', log }, () => downloadKafkaJars({ home, libs, marker, mainJar, log }));
}

/**
 * @param {{home: string, libs: string, marker: string, mainJar: string, log: (line: string) => void}} p
 * @returns {Promise<string>} the libs directory
 */
async function downloadKafkaJars({ home, libs, marker, mainJar, log }) {
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

module.exports = { KAFKA_VERSION, SCALA_VERSION, LOG4J_VERSION, kafkaHome, ensureJava, ensureKafkaJars };
