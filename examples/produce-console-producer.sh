#!/bin/sh
# Sends Segment-spec events to Mosaic's Kafka ingest topic with Apache Kafka's own console
# producer. Same input as produce-kcat.sh: lines of `<key><TAB><json>` on stdin.
#   WRITE_KEY=... ./produce-console-producer.sh < events.tsv
# Uses kafka-console-producer.sh from a Kafka distribution when it is on PATH, else the
# producer's class from KAFKA_TOOLS_CLASSPATH (jars of org.apache.kafka:kafka-tools).
set -eu
: "${WRITE_KEY:?set WRITE_KEY to the source's write key}"
BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
TOPIC="${TOPIC:-mosaic.events.ingest}"
TAB="$(printf '\t')"

set -- --bootstrap-server "$BROKERS" --topic "$TOPIC" \
  --property parse.key=true --property parse.headers=true \
  --property "key.separator=$TAB" --property "headers.delimiter=$TAB"
if command -v kafka-console-producer.sh >/dev/null 2>&1; then
  producer() { kafka-console-producer.sh "$@"; }
else
  : "${KAFKA_TOOLS_CLASSPATH:?put kafka-console-producer.sh on PATH or set KAFKA_TOOLS_CLASSPATH}"
  producer() { java -cp "$KAFKA_TOOLS_CLASSPATH" org.apache.kafka.tools.ConsoleProducer "$@"; }
fi

# Each input line becomes `writeKey:<key><TAB><record key><TAB><json>` (headers, key, value).
sed "s/^/writeKey:$WRITE_KEY$TAB/" | producer "$@"
