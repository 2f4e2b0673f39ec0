import type { Kafka } from 'kafkajs';
import { mongo } from 'mongoose';
import { ContractViolationError, DLQ_TOPIC_OF, Schemas, decodeMessage, topicName } from '@mosaic/contracts';
import type { KafkaConfig } from '@mosaic/shared-config';
import { Registry } from '@mosaic/shared-logging';
import { freePort, waitFor } from '@mosaic/shared-testing';
import { ConsumerHost, type BatchContext, type BatchHandler, type ConsumerCrashInfo, type InboundMessage } from './consumer-host';
import { NonRetriableError, TransientError } from './errors';
import { EventProducer, type MessageSender } from './producer';
import { FAST_CONSUMER, committedOffset, provision, readMessages, testKafka, testKafkaConfig, testLogger } from './testing/support';

interface Setup {
  cfg: KafkaConfig;
  kafka: Kafka;
  topic: string;
  dlq: string;
  groupId: string;
  producer: EventProducer;
  registry: Registry;
  host: ConsumerHost;
}

describe('ConsumerHost (real broker)', () => {
  const logger = testLogger();
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** Fresh topics (1 partition), producer and host for one test. */
  async function setup(
    handler: BatchHandler,
    opts: {
      dlqProducer?: EventProducer;
      maxRetries?: number;
      partitions?: number;
      retryBackoffMs?: number;
      extra?: Partial<ConstructorParameters<typeof ConsumerHost>[0]>;
    } = {},
  ): Promise<Setup> {
    const partitions = opts.partitions ?? 1;
    const cfg = testKafkaConfig({
      partitions,
      consumer: { groupId: '', maxRetries: opts.maxRetries ?? 2, retryBackoffMs: opts.retryBackoffMs ?? 20, sessionTimeoutMs: 6_000, concurrency: partitions },
    });
    cfg.consumer.groupId = `${cfg.topicPrefix}identity`;
    const kafka = testKafka(cfg, logger);
    await provision(kafka, cfg, ['eventsResolved', 'dlqIdentity'], logger);
    const producer = new EventProducer(kafka, cfg, logger);
    await producer.connect(10_000);
    cleanups.push(() => producer.disconnect());
    const registry = new Registry();
    const host = new ConsumerHost({
      kafka,
      config: cfg,
      service: 'identity',
      producer: opts.dlqProducer ?? producer,
      logger,
      registry,
      ...FAST_CONSUMER,
      ...opts.extra,
    });
    host.register({ topic: 'eventsResolved', handler });
    cleanups.push(() => host.stop());
    const topic = topicName(cfg.topicPrefix, 'eventsResolved');
    return { cfg, kafka, topic, dlq: topicName(cfg.topicPrefix, DLQ_TOPIC_OF.identity), groupId: host.groupIdFor('eventsResolved'), producer, registry, host };
  }

  const send = (s: Setup, values: string[], key = 'p-1', partition?: number) =>
    s.producer.send(
      s.topic,
      values.map((v, i) => ({
        key,
        value: Buffer.from(v),
        headers: { messageId: `${v}-${i}`, correlationId: `corr-${v}` },
        ...(partition === undefined ? {} : { partition }),
      })),
    );
  const text = (m: InboundMessage) => m.value?.toString() ?? '';

  async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const m = await registry.getSingleMetric(name)?.get();
    return m?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
  }

  it('commits only after the handler resolved: a failed batch is processed again and committed after', async () => {
    const seen: string[] = [];
    let calls = 0;
    let committedDuringFailure = Number.NaN;
    const ref: { setup?: Setup } = {};
    const handler: BatchHandler = async (messages, ctx) => {
      calls++;
      if (calls === 1) {
        committedDuringFailure = await committedOffset((ref.setup as Setup).kafka, ctx.groupId, ctx.topic);
        throw new Error('transient: database unavailable');
      }
      seen.push(...messages.map((m) => m.value?.toString() ?? ''));
    };
    const s = await setup(handler);
    ref.setup = s;
    await send(s, ['a', 'b', 'c']);
    await s.host.start();
    await waitFor(async () => (await committedOffset(s.kafka, s.groupId, s.topic)) === 3, { timeoutMs: 20_000, message: 'offset 3 committed' });
    expect(committedDuringFailure).toBe(-1);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(await metric(s.registry, 'mosaic_kafka_consumed_messages_total', { topic: s.topic })).toBe(3);
    expect(await metric(s.registry, 'mosaic_kafka_consumer_lag', { topic: s.topic, partition: '0' })).toBe(0);

    const health = s.host.health();
    expect(health.ok).toBe(true);
    expect(health.topics[0]).toMatchObject({
      topicKey: 'eventsResolved',
      groupId: `${s.cfg.topicPrefix}identity.eventsResolved`,
      state: 'running',
      assignedPartitions: [0],
    });
    expect(health.lastPollAt).not.toBeNull();
    expect(s.host.health(Date.now() + 60_000).ok).toBe(false);
  });

  it('a handler interrupted by a rebalance error (session expired) is redelivered, never retried message by message or dead-lettered', async () => {
    const seen: string[] = [];
    let calls = 0;
    const handler: BatchHandler = async (messages) => {
      calls++;
      if (calls <= 2) throw Object.assign(new Error('The coordinator is not aware of this member'), { type: 'UNKNOWN_MEMBER_ID' });
      seen.push(...messages.map((m) => m.value?.toString() ?? ''));
    };
    const s = await setup(handler);
    await send(s, ['a', 'b']);
    await s.host.start();
    await waitFor(async () => (await committedOffset(s.kafka, s.groupId, s.topic)) === 2, { timeoutMs: 30_000, message: 'offset 2 committed' });
    expect(seen).toEqual(['a', 'b']);
    expect(await metric(s.registry, 'mosaic_kafka_dead_lettered_total', { topic: s.topic })).toBeUndefined();
    expect(await metric(s.registry, 'mosaic_kafka_consumer_retries_total', { topic: s.topic })).toBeUndefined();
  });

  it('dead-letters a poison message after maxRetries and moves on to the next ones', async () => {
    const processed: string[] = [];
    const attemptsOfPoison: BatchContext[] = [];
    const handler: BatchHandler = async (messages, ctx) => {
      if (messages.some((m) => m.value?.toString() === 'poison')) {
        if (messages.length === 1) attemptsOfPoison.push(ctx);
        throw new Error('poison!');
      }
      if (messages.some((m) => m.value?.toString() === 'bad-contract')) throw new ContractViolationError('events.resolved: envelope invalid');
      processed.push(...messages.map((m) => m.value?.toString() ?? ''));
    };
    const s = await setup(handler, { maxRetries: 2 });
    await send(s, ['good1', 'poison', 'good2', 'bad-contract', 'good3'], 'profile-9');
    await s.host.start();
    await waitFor(async () => (await committedOffset(s.kafka, s.groupId, s.topic)) === 5, { timeoutMs: 20_000, message: 'offset 5 committed' });
    expect(processed).toEqual(['good1', 'good2', 'good3']);
    expect(attemptsOfPoison.map((c) => [c.mode, c.attempt])).toEqual([
      ['single', 1],
      ['single', 2],
      ['single', 3],
    ]);

    const letters = (await readMessages(s.kafka, s.dlq, 2)).sort(
      (a, b) => Number(JSON.parse(a.value?.toString() ?? '{}').payload.offset) - Number(JSON.parse(b.value?.toString() ?? '{}').payload.offset),
    );
    const poison = decodeMessage(Schemas.deadLetter, letters[0]?.value);
    expect(letters[0]?.key).toBe('profile-9');
    expect(letters[0]?.headers['correlationId']).toBe('corr-poison');
    expect(poison.producer).toBe('identity');
    expect(poison.payload).toMatchObject({
      service: 'identity',
      sourceTopic: s.topic,
      partition: 0,
      offset: '1',
      key: 'profile-9',
      attempts: 3,
      headers: { messageId: 'poison-1', correlationId: 'corr-poison' },
      error: { name: 'Error', message: 'poison!' },
    });
    expect(Buffer.from(poison.payload.valueBase64, 'base64').toString()).toBe('poison');
    const contract = decodeMessage(Schemas.deadLetter, letters[1]?.value);
    expect(contract.payload).toMatchObject({ offset: '3', attempts: 1, error: { name: 'ContractViolationError' } });

    expect(await metric(s.registry, 'mosaic_kafka_dead_lettered_total', { topic: s.topic })).toBe(2);
    expect(await metric(s.registry, 'mosaic_kafka_consumer_retries_total', { topic: s.topic })).toBe(2);
    expect(await metric(s.registry, 'mosaic_kafka_consumed_messages_total', { topic: s.topic })).toBe(5);
  });

  it('does not commit past a message it could not dead-letter (nothing is lost)', async () => {
    const port = await freePort();
    const deadCfg = { ...testKafkaConfig(), brokers: [`127.0.0.1:${port}`] };
    const deadProducer = new EventProducer(testKafka(deadCfg, logger), deadCfg, logger, { ackTimeoutMs: 500 });
    deadProducer.start();
    cleanups.push(() => deadProducer.disconnect());
    let poisonCalls = 0;
    const processed: string[] = [];
    const s = await setup(
      async (messages) => {
        if (messages.some((m) => m.value?.toString() === 'poison')) {
          poisonCalls++;
          throw new Error('poison!');
        }
        processed.push(...messages.map((m) => m.value?.toString() ?? ''));
      },
      { dlqProducer: deadProducer, maxRetries: 0, extra: { consumerRetry: { retries: 1, initialRetryTime: 100 } } },
    );
    const crashes: ConsumerCrashInfo[] = [];
    s.host.onCrash((c) => crashes.push(c));
    await send(s, ['good1', 'poison', 'good2']);
    await s.host.start();
    await waitFor(() => poisonCalls >= 3 && crashes.length > 0, { timeoutMs: 20_000, message: 'poison redelivered, consumer crashed' });
    expect(await committedOffset(s.kafka, s.groupId, s.topic)).toBe(1);
    expect(processed).toEqual(['good1']);
    // The crash is surfaced (kafkajs restarts the consumer, which will fail again until the DLQ is back).
    expect(crashes[0]).toMatchObject({ topic: s.topic, groupId: s.groupId, restart: true });
    expect(s.host.health().topics[0]?.crash?.error).toMatch(/ProducerUnavailableError|KafkaJSNumberOfRetriesExceeded/);
    expect(await metric(s.registry, 'mosaic_kafka_consumer_crashes_total', { topic: s.topic })).toBeGreaterThanOrEqual(1);
  });

  it('pause() stops delivery on every topic until resume(), also before start()', async () => {
    const seen: string[] = [];
    const s = await setup(async (messages) => void seen.push(...messages.map(text)));
    s.host.pause();
    await send(s, ['a']);
    await s.host.start();
    // Joined and polling, yet nothing is delivered while paused.
    await waitFor(() => s.host.health().topics[0]?.lastPollAt !== null, { message: 'first poll' });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(seen).toEqual([]);
    expect(s.host.isPaused()).toBe(true);
    s.host.resume();
    await waitFor(() => seen.length === 1, { message: 'a delivered after resume' });
    s.host.pause();
    await send(s, ['b']);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(seen).toEqual(['a']);
    s.host.resume();
    await waitFor(() => seen.length === 2, { message: 'b delivered after resume' });
    expect(seen).toEqual(['a', 'b']);
  });

  it('a consumer kafkajs restarts after a crash stays paused', async () => {
    // The dead-letter writes fail until `dlqUp`, so the poison message crashes the consumer.
    let dlqUp = false;
    const flaky: MessageSender = { send: (topic, messages) => (dlqUp ? s.producer.send(topic, messages) : Promise.reject(new Error('DLQ down'))) };
    const seen: string[] = [];
    const s = await setup(
      async (messages) => {
        if (messages.some((m) => text(m) === 'poison')) throw new Error('poison!');
        seen.push(...messages.map(text));
      },
      { dlqProducer: flaky as EventProducer, maxRetries: 0, extra: { consumerRetry: { retries: 0, initialRetryTime: 300 } } },
    );
    const crashes: ConsumerCrashInfo[] = [];
    s.host.onCrash((c) => {
      crashes.push(c);
      // Paused between the crash and kafkajs' restart: only the host can carry it over.
      s.host.pause();
      dlqUp = true;
    });
    await send(s, ['poison']);
    await s.host.start();
    await waitFor(() => crashes.length > 0 && s.host.health().topics[0]?.state === 'running', { timeoutMs: 20_000, message: 'crashed and restarted' });
    await send(s, ['after']);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(seen).toEqual([]);
    expect(await committedOffset(s.kafka, s.groupId, s.topic)).toBe(-1);
    s.host.resume();
    await waitFor(() => seen.includes('after'), { timeoutMs: 15_000, message: 'delivered after resume' });
    expect(crashes).toHaveLength(1);
    expect((await readMessages(s.kafka, s.dlq, 1)).length).toBe(1);
  });

  it('graceful stop waits for the in-flight batch and commits it', async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const done: InboundMessage[] = [];
    let finishedAt = 0;
    const s = await setup(async (messages) => {
      entered();
      await new Promise((r) => setTimeout(r, 1_500));
      done.push(...messages);
      finishedAt = Date.now();
    });
    await send(s, ['x', 'y']);
    await s.host.start();
    await inHandler;
    await s.host.stop();
    const stoppedAt = Date.now();
    expect(done.map((m) => m.value?.toString())).toEqual(['x', 'y']);
    expect(finishedAt).toBeGreaterThan(0);
    expect(finishedAt).toBeLessThanOrEqual(stoppedAt);
    expect(await committedOffset(s.kafka, s.groupId, s.topic)).toBe(2);
    const health = s.host.health();
    expect(health.ok).toBe(false);
    expect(health.topics[0]?.state).toBe('stopped');
  });

  it('hands the handler decoded messages and a batch context', async () => {
    const batches: { messages: InboundMessage[]; ctx: BatchContext }[] = [];
    const s = await setup(async (messages, ctx) => {
      await ctx.heartbeat();
      batches.push({ messages, ctx });
    });
    await send(s, ['m1', 'm2'], 'key-1');
    await s.host.start();
    await waitFor(() => batches.reduce((n, b) => n + b.messages.length, 0) === 2, { timeoutMs: 20_000 });
    const first = batches[0];
    expect(first?.ctx).toMatchObject({ topic: s.topic, topicKey: 'eventsResolved', partition: 0, mode: 'batch', attempt: 1 });
    expect(first?.messages[0]).toMatchObject({
      topic: s.topic,
      topicKey: 'eventsResolved',
      partition: 0,
      offset: '0',
      key: 'key-1',
      messageId: 'm1-0',
      correlationId: 'corr-m1',
      headers: { messageId: 'm1-0', correlationId: 'corr-m1' },
    });
    expect(typeof first?.messages[0]?.timestamp).toBe('number');
  });

  describe('poison isolation', () => {
    it('dead-letters a permanently failing message after one attempt and processes the next message of the same key', async () => {
      const singleAttempts: string[] = [];
      const processed: string[] = [];
      const s = await setup(
        async (messages, ctx) => {
          if (ctx.mode === 'single') singleAttempts.push(...messages.map(text));
          if (messages.some((m) => text(m) === 'nested')) throw new NonRetriableError('invalid value (nested arrays are not supported)');
          if (messages.some((m) => text(m) === 'bug')) throw new TypeError("Cannot read properties of undefined (reading 'id')");
          processed.push(...messages.map(text));
        },
        { maxRetries: 5 },
      );
      await send(s, ['before', 'nested', 'after', 'bug', 'last'], 'profile-1');
      await s.host.start();
      await waitFor(async () => (await committedOffset(s.kafka, s.groupId, s.topic)) === 5, { timeoutMs: 20_000, message: 'offset 5 committed' });
      expect(processed).toEqual(['before', 'after', 'last']);
      // One attempt each in single mode (after the failed batch attempt): no retries.
      expect(singleAttempts.filter((v) => v === 'nested' || v === 'bug')).toEqual(['nested', 'bug']);
      expect(await metric(s.registry, 'mosaic_kafka_consumer_retries_total', { topic: s.topic })).toBeUndefined();
      const letters = (await readMessages(s.kafka, s.dlq, 2))
        .map((m) => decodeMessage(Schemas.deadLetter, m.value).payload)
        .sort((a, b) => Number(a.offset) - Number(b.offset));
      expect(letters.map((l) => [l.offset, l.attempts, l.error.name])).toEqual([
        ['1', 1, 'NonRetriableError'],
        ['3', 1, 'TypeError'],
      ]);
    });

    it('keeps processing partition 1 while a message of partition 0 waits to retry a transient failure', async () => {
      const log: string[] = [];
      let p1Done = 0;
      let stuckAttempts = 0;
      const ref: { setup?: Setup } = {};
      const s = await setup(
        async (messages, ctx) => {
          for (const m of messages) {
            if (text(m) === 'stuck') {
              // Fails until every message of partition 1 — including those produced after this
              // began failing — was processed (if partition 1 waited for partition 0, this never
              // ends), and at least past maxRetries.
              if (ctx.mode === 'single') stuckAttempts++;
              if (p1Done < 6 || stuckAttempts < 3) {
                if (stuckAttempts === 1) await send(ref.setup as Setup, ['late1', 'late2', 'late3'], 'k1', 1);
                throw new TransientError('store unavailable');
              }
            }
          }
          for (const m of messages) {
            log.push(`${m.partition}:${text(m)}`);
            if (m.partition === 1) p1Done++;
          }
        },
        { partitions: 2, maxRetries: 1, retryBackoffMs: 50 },
      );
      ref.setup = s;
      await send(s, ['stuck', 'after-stuck'], 'k0', 0);
      await send(s, ['early1', 'early2', 'early3'], 'k1', 1);
      await s.host.start();
      await waitFor(
        async () => (await committedOffset(s.kafka, s.groupId, s.topic, 0)) === 2 && (await committedOffset(s.kafka, s.groupId, s.topic, 1)) === 6,
        {
          timeoutMs: 30_000,
          message: 'both partitions committed',
        },
      );
      const p0 = log.filter((e) => e.startsWith('0:'));
      const p1 = log.filter((e) => e.startsWith('1:'));
      expect(p0).toEqual(['0:stuck', '0:after-stuck']);
      expect(p1).toEqual(['1:early1', '1:early2', '1:early3', '1:late1', '1:late2', '1:late3']);
      // Partition 1 finished while partition 0 was still retrying, past maxRetries, never dead-lettered.
      expect(log.indexOf('1:late3')).toBeLessThan(log.indexOf('0:stuck'));
      expect(stuckAttempts).toBe(3);
      expect(await metric(s.registry, 'mosaic_kafka_dead_lettered_total', { topic: s.topic })).toBeUndefined();
    });

    it('never dead-letters a transient failure, however often it repeats, and processes the message once it passes', async () => {
      const attempts: number[] = [];
      const processed: string[] = [];
      const s = await setup(
        async (messages, ctx) => {
          if (messages.some((m) => text(m) === 'outage')) {
            if (ctx.mode === 'single') attempts.push(ctx.attempt);
            if (attempts.length < 6) throw new mongo.MongoNetworkError('connection 3 to 127.0.0.1:27017 closed');
          }
          processed.push(...messages.map(text));
        },
        { maxRetries: 1, extra: { maxRetryBackoffMs: 100 } },
      );
      await send(s, ['first', 'outage', 'next'], 'profile-2');
      await s.host.start();
      await waitFor(async () => (await committedOffset(s.kafka, s.groupId, s.topic)) === 3, { timeoutMs: 30_000, message: 'offset 3 committed' });
      expect(attempts).toEqual([1, 2, 3, 4, 5, 6]);
      expect(processed).toEqual(['first', 'outage', 'next']);
      expect(await metric(s.registry, 'mosaic_kafka_dead_lettered_total', { topic: s.topic })).toBeUndefined();
      expect(await metric(s.registry, 'mosaic_kafka_consumer_retries_total', { topic: s.topic })).toBe(5);
    });
  });
});
