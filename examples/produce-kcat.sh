#!/bin/sh
# Sends Segment-spec events to Mosaic's Kafka ingest topic with kcat.
# Reads lines of `<key><TAB><json>` on stdin: the key is the person's anonymousId (else their
# userId) so that one person's events stay in order; the json is the body of POST /v1/track,
# /v1/identify, ... with its `type`, or a whole `{"batch": [...]}` body.
#   WRITE_KEY=... ./produce-kcat.sh < events.tsv
set -eu
: "${WRITE_KEY:?set WRITE_KEY to the source's write key}"
BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
TOPIC="${TOPIC:-mosaic.events.ingest}"

# -K: key and value are split at the first tab; -H: the header that names the source.
exec kcat -P -b "$BROKERS" -t "$TOPIC" -K "$(printf '\t')" -H "writeKey=$WRITE_KEY"
