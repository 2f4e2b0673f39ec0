import { topicName } from '@mosaic/contracts';
import { waitFor } from '@mosaic/shared-testing';
import { ConsumerHost, type BatchHandler } from './consumer-host';
import { EventProducer } from './producer';
import { FAST_CONSUMER, committedOffset, provision, testKafka, testKafkaConfig, testLogger } from './testing/support';

/** A session long enough that only a graceful leave explains a quick hand-over. */
const SESSION_MS = 30_000;

describe('ConsumerHost group membership (real broker)', () => {
  const logger = testLogger();

  it('stop() leaves the group at once, so the partitions move without waiting for the session timeout', async () => {
    const cfg = testKafkaConfig({ partitions: 2 });
    const kafka = testKafka(cfg, logger);
    await provision(kafka, cfg, ['eventsResolved'], logger);
    const producer = new EventProducer(kafka, cfg, logger);
    const noop: BatchHandler = async () => undefined;
    const a = new ConsumerHost({
      kafka,
      config: cfg,
      service: 'identity',
      producer,
      logger,
      ...FAST_CONSUMER,
      sessionTimeoutMs: SESSION_MS,
      rebalanceTimeoutMs: SESSION_MS,
    }).register({ topic: 'eventsResolved', handler: noop });
    const b = new ConsumerHost({
      kafka,
      config: cfg,
      service: 'identity',
      producer,
      logger,
      ...FAST_CONSUMER,
      sessionTimeoutMs: SESSION_MS,
      rebalanceTimeoutMs: SESSION_MS,
    }).register({ topic: 'eventsResolved', handler: noop });
    try {
      await a.start();
      await b.start();
      await waitFor(() => a.health().topics[0]?.assignedPartitions.length === 1 && b.health().topics[0]?.assignedPartitions.length === 1, {
        timeoutMs: 20_000,
        message: 'one partition each',
      });
      const t0 = Date.now();
      await a.stop();
      await waitFor(() => b.health().topics[0]?.assignedPartitions.length === 2, { timeoutMs: 20_000, message: 'b owns both partitions' });
      // A member that leaves is replaced at once; a crashed one would be noticed only when its
      // session (30 s here) times out. Half of that is a margin a busy machine cannot exhaust.
      expect(Date.now() - t0).toBeLessThan(SESSION_MS / 2);
    } finally {
      await a.stop();
      await b.stop();
      await producer.disconnect();
    }
  }, 60_000);

  it('keeps partitions with their owners when a member leaves (sticky assignment)', async () => {
    const cfg = testKafkaConfig({ partitions: 6 });
    const kafka = testKafka(cfg, logger);
    await provision(kafka, cfg, ['eventsResolved'], logger);
    const producer = new EventProducer(kafka, cfg, logger);
    const noop: BatchHandler = async () => undefined;
    const hosts = [0, 1, 2].map(() =>
      new ConsumerHost({ kafka, config: cfg, service: 'identity', producer, logger, ...FAST_CONSUMER }).register({ topic: 'eventsResolved', handler: noop }),
    );
    const owned = (h: ConsumerHost) => h.health().topics[0]?.assignedPartitions ?? [];
    try {
      for (const h of hosts) await h.start();
      await waitFor(() => hosts.every((h) => owned(h).length === 2), { timeoutMs: 30_000, message: 'two partitions each' });
      const [a, b, c] = hosts as [ConsumerHost, ConsumerHost, ConsumerHost];
      const before = { a: owned(a), b: owned(b) };
      await c.stop();
      await waitFor(() => owned(a).length === 3 && owned(b).length === 3, { timeoutMs: 20_000, message: 'three partitions each' });
      expect(owned(a)).toEqual(expect.arrayContaining(before.a));
      expect(owned(b)).toEqual(expect.arrayContaining(before.b));
      expect([...owned(a), ...owned(b)].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      for (const h of hosts) await h.stop();
      await producer.disconnect();
    }
  }, 60_000);

  it('a handler that heartbeats keeps its membership through a batch longer than the session timeout', async () => {
    const cfg = testKafkaConfig({ partitions: 1 });
    const kafka = testKafka(cfg, logger);
    await provision(kafka, cfg, ['eventsResolved'], logger);
    const producer = new EventProducer(kafka, cfg, logger);
    let calls = 0;
    const host = new ConsumerHost({ kafka, config: cfg, service: 'identity', producer, logger, ...FAST_CONSUMER }).register({
      topic: 'eventsResolved',
      handler: async (_messages, ctx) => {
        calls++;
        const until = Date.now() + FAST_CONSUMER.sessionTimeoutMs + 1_500;
        while (Date.now() < until) {
          await new Promise((r) => setTimeout(r, 250));
          await ctx.heartbeat();
        }
      },
    });
    const topic = topicName(cfg.topicPrefix, 'eventsResolved');
    try {
      await producer.send(topic, [{ key: 'k', value: Buffer.from('slow'), headers: {} }]);
      await host.start();
      await waitFor(async () => (await committedOffset(kafka, host.groupIdFor('eventsResolved'), topic)) === 1, { timeoutMs: 30_000, message: 'committed' });
      expect(calls).toBe(1);
      expect(host.health().ok).toBe(true);
    } finally {
      await host.stop();
      await producer.disconnect();
    }
  }, 60_000);
});
