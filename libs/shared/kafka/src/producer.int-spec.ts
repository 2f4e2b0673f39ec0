import { Schemas, decodeMessage, topicName, type RawEvent } from '@mosaic/contracts';
import { Registry } from '@mosaic/shared-logging';
import { freePort, waitFor } from '@mosaic/shared-testing';
import { ProducerSendError, ProducerUnavailableError, UnknownTopicError } from './errors';
import { EventProducer, produceMessage, produceMessages } from './producer';
import { expectRefusedAtOnce, messageCount, provision, readMessages, testKafka, testKafkaConfig, testLogger } from './testing/support';

const rawEvent = (i: number): RawEvent => ({
  type: 'track',
  messageId: `m-${i}`,
  anonymousId: `anon-${i % 7}`,
  event: 'Product Viewed',
  properties: { i },
  traits: {},
  context: {},
  timestamp: '2026-01-01T00:00:00.000Z',
  receivedAt: '2026-01-01T00:00:00.000Z',
  sourceId: 'src-1',
});

describe('EventProducer (real broker)', () => {
  const logger = testLogger();
  const cfg = testKafkaConfig({ partitions: 3 });
  const kafka = testKafka(cfg, logger);
  const raw = topicName(cfg.topicPrefix, 'eventsRaw');
  const resolved = topicName(cfg.topicPrefix, 'eventsResolved');
  const producers: EventProducer[] = [];
  const newProducer = (...args: Partial<ConstructorParameters<typeof EventProducer>>) => {
    const p = new EventProducer(args[0] ?? kafka, args[1] ?? cfg, args[2] ?? logger, args[3]);
    producers.push(p);
    return p;
  };

  beforeAll(() => provision(kafka, cfg, ['eventsRaw', 'eventsResolved']));
  afterAll(() => Promise.all(producers.map((p) => p.disconnect())));

  it('coalesces concurrent sends into few batches and resolves each caller on its ack', async () => {
    const registry = new Registry();
    const producer = newProducer(kafka, cfg, logger, { lingerMs: 5, registry });
    await producer.connect(10_000);
    expect(producer.isReady()).toBe(true);
    const before = await messageCount(kafka, raw);

    const sends = Array.from({ length: 300 }, (_, i) => producer.send(raw, [{ key: `k-${i % 11}`, value: Buffer.from(`v-${i}`), headers: { n: String(i) } }]));
    await Promise.all(sends);

    const stats = producer.stats();
    expect(stats.sends).toBe(300);
    expect(stats.acked).toBe(300);
    expect(stats.batches).toBeLessThan(300 / 5);
    expect(stats.produceRequests).toBeLessThan(300 / 5);
    expect(stats.produceRequests).toBeGreaterThanOrEqual(1);
    expect(await messageCount(kafka, raw)).toBe(before + 300);

    const produced = await registry.getSingleMetric('mosaic_kafka_produced_messages_total')?.get();
    expect(produced?.values.find((v) => v.labels['topic'] === raw)?.value).toBe(300);
  });

  it('splits a large send into several batches, still one promise', async () => {
    const producer = newProducer(kafka, cfg, logger, { maxBatchMessages: 50 });
    await producer.connect(10_000);
    const before = await messageCount(kafka, resolved);
    await producer.send(
      resolved,
      Array.from({ length: 175 }, (_, i) => ({ key: null, value: Buffer.from(String(i)), headers: {} })),
    );
    expect(producer.stats().batches).toBe(4);
    expect(await messageCount(kafka, resolved)).toBe(before + 175);
  });

  it('rejects a send to a topic that does not exist, and keeps working for the others', async () => {
    const producer = newProducer();
    await producer.connect(10_000);
    await expect(producer.send(`${cfg.topicPrefix}no.such.topic`, [{ key: 'a', value: Buffer.from('x'), headers: {} }])).rejects.toBeInstanceOf(
      UnknownTopicError,
    );
    await producer.send(raw, [{ key: 'a', value: Buffer.from('x'), headers: {} }]);
    expect(producer.isReady()).toBe(true);
  });

  it('refuses a record larger than the limit up front', async () => {
    const producer = newProducer(kafka, cfg, logger, { maxMessageBytes: 1_000 });
    await expect(producer.send(raw, [{ key: 'a', value: Buffer.alloc(2_000), headers: {} }])).rejects.toBeInstanceOf(ProducerSendError);
  });

  it('fails fast when the broker is unreachable, and immediately once known to be unavailable', async () => {
    const port = await freePort();
    const deadCfg = { ...cfg, brokers: [`127.0.0.1:${port}`] };
    const producer = newProducer(testKafka(deadCfg, logger), deadCfg, logger, { ackTimeoutMs: 1_500 });
    producer.start();
    const t0 = Date.now();
    const err = await producer.send(raw, [{ key: 'a', value: Buffer.from('x'), headers: {} }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProducerUnavailableError);
    // fails within its acknowledgement timeout, with a margin a busy machine cannot exhaust
    expect(Date.now() - t0).toBeLessThan(1_500 + 10_000);
    expect(producer.isReady()).toBe(false);

    // Known to be unavailable now: rejected at once, without trying Kafka.
    await waitFor(() => producer.state === 'unavailable', { timeoutMs: 10_000 });
    await expectRefusedAtOnce(producer, raw);
    await expect(producer.connect(300)).rejects.toBeInstanceOf(ProducerUnavailableError);
  });

  it('flushes pending sends on disconnect, then refuses new ones', async () => {
    const producer = newProducer(kafka, cfg, logger, { lingerMs: 200 });
    await producer.connect(10_000);
    const before = await messageCount(kafka, raw);
    const pending = producer.send(raw, [{ key: 'late', value: Buffer.from('x'), headers: {} }]);
    await producer.disconnect();
    await expect(pending).resolves.toBeUndefined();
    expect(await messageCount(kafka, raw)).toBe(before + 1);
    await expect(producer.send(raw, [{ key: 'a', value: Buffer.from('x'), headers: {} }])).rejects.toBeInstanceOf(ProducerUnavailableError);
  });

  it('produceMessage(s) encode through the contracts codec', async () => {
    const cfg2 = testKafkaConfig({ partitions: 1 });
    const kafka2 = testKafka(cfg2, logger);
    await provision(kafka2, cfg2, ['eventsRaw']);
    const topic = topicName(cfg2.topicPrefix, 'eventsRaw');
    const producer = newProducer(kafka2, cfg2, logger);
    const envelope = await produceMessage(producer, topic, Schemas.rawEvent, rawEvent(1), { key: 'anon-1', producer: 'collector', correlationId: 'corr-1' });
    expect(envelope.correlationId).toBe('corr-1');
    const many = await produceMessages(
      producer,
      topic,
      Schemas.rawEvent,
      [2, 3].map((i) => ({ payload: rawEvent(i), meta: { key: `anon-${i}`, producer: 'collector', messageId: `id-${i}` } })),
    );
    expect(many.map((e) => e.messageId)).toEqual(['id-2', 'id-3']);

    const read = await readMessages(kafka2, topic, 3);
    const first = read.find((m) => m.key === 'anon-1');
    expect(first?.headers).toMatchObject({ messageId: envelope.messageId, correlationId: 'corr-1', schema: 'events.raw@1' });
    expect(decodeMessage(Schemas.rawEvent, first?.value).payload.messageId).toBe('m-1');

    await expect(produceMessage(producer, topic, Schemas.segmentMembership, {} as never, { key: 'x', producer: 'collector' })).rejects.toThrow(
      /not carried on topic/,
    );
    await expect(
      produceMessage(producer, topic, Schemas.rawEvent, { type: 'nope' } as unknown as RawEvent, { key: 'x', producer: 'collector' }),
    ).rejects.toThrow(/payload invalid/);
  });
});
