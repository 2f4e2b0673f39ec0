#!/usr/bin/env python3
"""Rebuilds every profile's current segments from Mosaic's public segments.membership topic.

Reads the compacted topic from the beginning to its end with confluent-kafka and prints
{"<profileId>": ["<segmentKey>", ...]} as JSON. The record key is `<profileId>|<segmentKey>`;
the last record of a key is the profile's current state in that segment. A tombstone (a record
whose value is null) deletes its key. `profileVersion` only grows per profile: a record older
than what we hold for the profile is stale and dropped.

    KAFKA_BROKERS=127.0.0.1:9092 TOPIC=mosaic.segments.membership python3 consume_membership.py
"""
import json
import os

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

BROKERS = os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092")
TOPIC = os.environ.get("TOPIC", "mosaic.segments.membership")


def read_to_end(consumer):
    """Yields (key, value) of every record, from the beginning of each partition to its end."""
    partitions = consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
    consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in partitions])
    at_end = set()
    while len(at_end) < len(partitions):
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(msg.partition())
                continue
            raise RuntimeError(msg.error())
        yield msg.key().decode("utf-8"), msg.value()


def current_segments():
    consumer = Consumer({
        "bootstrap.servers": BROKERS,
        "group.id": "membership-example",  # required by the client; no offsets are committed
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    })
    state = {}  # key -> (profileVersion, entered?)
    try:
        for key, value in read_to_end(consumer):
            if value is None:  # tombstone: the key is gone
                state.pop(key, None)
                continue
            change = json.loads(value)["payload"]
            held = state.get(key)
            if held is None or change["profileVersion"] > held[0]:
                state[key] = (change["profileVersion"], change["change"] == "entered")
    finally:
        consumer.close()
    segments = {}
    for key, (_, entered) in state.items():
        profile_id, segment_key = key.split("|", 1)
        if entered:
            segments.setdefault(profile_id, []).append(segment_key)
    return {p: sorted(s) for p, s in sorted(segments.items())}


if __name__ == "__main__":
    print(json.dumps(current_segments(), indent=2))
