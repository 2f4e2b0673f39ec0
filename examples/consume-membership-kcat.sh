#!/bin/sh
# Rebuilds every profile's current segments from the public segments.membership topic with
# kcat: reads it from the beginning to its end and prints `<profileId><TAB><segmentKey>` for
# each current membership. The record key is `<profileId>|<segmentKey>` and the topic is
# compacted, so the last record of a key is the profile's current state in that segment.
# A tombstone (a record with a null value) deletes its key: the profile is not in the segment.
set -eu
BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
TOPIC="${TOPIC:-mosaic.segments.membership}"

# -Z prints a null value as NULL (not as an empty string); %S is the value's size (-1: null).
kcat -C -b "$BROKERS" -t "$TOPIC" -o beginning -e -q -Z -f '%k\t%S\t%s\n' |
  awk -F '\t' '
    $2 == -1 { delete member[$1]; next }                  # tombstone
    /"change":"entered"/ { member[$1] = 1; next }
    /"change":"exited"/ { delete member[$1] }
    END { for (key in member) { split(key, k, "|"); print k[1] "\t" substr(key, length(k[1]) + 2) } }
  ' | sort
