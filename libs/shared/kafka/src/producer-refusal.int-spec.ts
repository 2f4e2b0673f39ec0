import { ProducerSendError, ProducerUnavailableError } from './errors';
import { classifyFailure } from './failure-kind';
import { EventProducer, type EventProducerOptions, type OutboundMessage } from './producer';
import { messageCount, readMessages, testKafka, testKafkaConfig, testLogger, withAdmin } from './testing/support';

/**
 * Kafka refusing a record (here: over the topic's `max.message.bytes`), on the real broker. It
 * refuses per partition, and kafkajs reports neither which partition nor whose record it was.
 */
describe('EventProducer when Kafka refuses a record (real broker)', () => {
  const logger = testLogger();
  const cfg = testKafkaConfig({ partitions: 3 });
  const kafka = testKafka(cfg, logger);
  const producers: EventProducer[] = [];
  const newProducer = (opts: EventProducerOptions = {}) => {
    const p = new EventProducer(kafka, cfg, logger, { lingerMs: 20, ...opts });
    producers.push(p);
    return p;
  };
  const record = (value: string | Buffer, partition: number): OutboundMessage => ({
    key: null,
    value: Buffer.isBuffer(value) ? value : Buffer.from(value),
    headers: {},
    partition,
  });
  const oversized = (partition: number) => record(Buffer.alloc(5_000), partition);
  const valuesOn = async (topic: string) => (await readMessages(kafka, topic, await messageCount(kafka, topic))).map((m) => m.value?.toString());
  /** A topic of 3 partitions that takes record batches of 2000 bytes at most. */
  const smallRecordsTopic = async (name: string) => {
    const topic = `${cfg.topicPrefix}${name}`;
    await withAdmin(kafka, (admin) =>
      admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '2000' }] }],
      }),
    );
    return topic;
  };
  afterAll(() => Promise.all(producers.map((p) => p.disconnect())));

  it('gives the permanent error only to the caller whose record was refused; the callers sharing its batch get theirs written', async () => {
    const topic = await smallRecordsTopic('shared-batch');
    const producer = newProducer();
    await producer.connect(10_000);
    // Checks the topic once, so the sends below are queued at once, in the same tick: one batch.
    await producer.send(topic, [record('warm-up', 0)]);

    const refused = producer.send(topic, [oversized(1)]);
    // Two callers per partition, whose records went out in one record batch with each other's.
    const others = [record('a0', 0), record('b0', 0), record('c2', 2), record('d2', 2)];
    const innocents = others.map((m) => producer.send(topic, [m]));
    const outcomes = await Promise.allSettled([refused, ...innocents]);

    const err = outcomes[0]?.status === 'rejected' ? (outcomes[0].reason as unknown) : undefined;
    expect(err).toBeInstanceOf(ProducerSendError);
    expect(classifyFailure(err)).toBe('permanent');
    expect(outcomes.slice(1).map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(new Set(await valuesOn(topic))).toEqual(new Set(['warm-up', 'a0', 'b0', 'c2', 'd2']));
  });

  it('a refused send does not make the next records of its other partitions vanish', async () => {
    const topic = await smallRecordsTopic('next-send');
    const producer = newProducer();
    await producer.connect(10_000);
    await producer.send(topic, [record('warm-up', 0)]);
    // Kafka appends 'x0' to partition 0 and refuses partition 1; kafkajs rolls back both
    // partitions' sequence numbers, so 'y0' on the same kafkajs producer would look to the
    // broker like a duplicate of 'x0', be acknowledged and not written.
    await expect(producer.send(topic, [record('x0', 0), oversized(1)])).rejects.toBeInstanceOf(ProducerSendError);
    await producer.send(topic, [record('y0', 0)]);
    expect(await valuesOn(topic)).toContain('y0');
  });

  it("while closing, sends nothing more after a refused batch: no acknowledged record is lost, nobody gets another caller's verdict", async () => {
    const topic = await smallRecordsTopic('closing');
    const producer = newProducer({ maxBatchMessages: 2 });
    await producer.connect(10_000);
    await producer.send(topic, [record('warm-up', 0)]);

    const refused = producer.send(topic, [oversized(1)]);
    const sharing = producer.send(topic, [record('b0', 0)]);
    // Left for the next batch (2 messages a batch): after the refusal, on a kafkajs producer whose
    // partition 0 sequence was rolled back, it would be acknowledged as a duplicate of 'b0'.
    const next = producer.send(topic, [record('c0', 0)]);
    const outcomes = await Promise.allSettled([refused, sharing, next, producer.disconnect()]);

    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).name : o.status))).toEqual([
      ProducerUnavailableError.name,
      ProducerUnavailableError.name,
      ProducerUnavailableError.name,
      'fulfilled',
    ]);
  });
});
