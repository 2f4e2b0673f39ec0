// The raw limit of Kafka on this machine, for the benchmarks (bench.mjs, bench-pipeline-raw.mjs).
import { timedOps } from './bench-util.mjs';

/**
 * Kafka alone: a kafkajs producer (idempotent, acks=all, batches of 100, 4 in flight) writes
 * `value` under `keys` distinct keys into a new 6-partition `topic` for `seconds`, events/s; with
 * `consume`, one consumer then reads them all back (events/s). Deletes the topic and group.
 */
export async function rawKafkaLimits({ kafka, topic, value, seconds, keys = 5000, consume = false }) {
  const { Partitioners } = await import('kafkajs');
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${topic}.raw-consumer`;
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    let sent = 0;
    const produced = await timedOps(4, seconds, async () => {
      const messages = Array.from({ length: 100 }, (_, i) => ({ key: `k-${(sent + i) % keys}`, value, headers: { messageId: 'x' } }));
      sent += messages.length;
      await producer.send({ topic, acks: -1, messages });
      return messages.length;
    });
    await producer.disconnect();
    const result = { producer: { eventsPerSec: Math.round(produced.ops / produced.seconds), events: produced.ops, recordBytes: value.length } };
    if (consume) result.consumer = await consumeAll(kafka, topic, groupId, produced.ops);
    return result;
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

async function consumeAll(kafka, topic, groupId, total) {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let first;
  let done;
  const finished = new Promise((r) => (done = r));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      first ??= Date.now();
      seen += batch.messages.length;
      if (seen >= total) done(Date.now());
    },
  });
  const timeout = new Promise((r) => setTimeout(() => r(null), 120_000));
  const last = await Promise.race([finished, timeout]);
  await consumer.disconnect();
  const seconds = ((last ?? Date.now()) - (first ?? Date.now())) / 1000;
  return { eventsPerSec: seconds > 0 ? Math.round(seen / seconds) : null, events: seen, complete: last !== null };
}
