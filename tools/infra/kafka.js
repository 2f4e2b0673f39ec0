'use strict';
// Apache Kafka in KRaft mode (single node, broker + controller) from its Maven Central
// artefacts: the jars are resolved once with Maven into the cache dir (kafka-jars.js) and
// shared by the project's broker (.mosaic/data/kafka, kafka-broker.js) and any private broker a
// test starts (kafka-private.js). This module is what the other scripts require.

const jars = require('./kafka-jars.js');
const broker = require('./kafka-broker.js');
const { startPrivateKafka } = require('./kafka-private.js');

module.exports = {
  KAFKA_VERSION: jars.KAFKA_VERSION,
  LOG4J_VERSION: jars.LOG4J_VERSION,
  kafkaHome: jars.kafkaHome,
  ensureJava: jars.ensureJava,
  ensureKafkaJars: jars.ensureKafkaJars,
  writeKafkaConfig: broker.writeKafkaConfig,
  formatKafkaStorage: broker.formatKafkaStorage,
  kafkaMarkers: broker.kafkaMarkers,
  spawnKafka: broker.spawnKafka,
  startPrivateKafka,
};
