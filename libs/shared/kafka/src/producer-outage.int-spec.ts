import { topicName } from '@mosaic/contracts';
import { startPrivateKafka, waitFor, type PrivateKafka } from '@mosaic/shared-testing';
import { ProducerUnavailableError } from './errors';
import { EventProducer } from './producer';
import { provision, testKafka, testKafkaConfig, testLogger } from './testing/support';

// A private broker that the test kills and restarts: the producer must fail fast while it is
// gone and recover on its own when it is back.
describe('EventProducer when the broker goes away (private broker)', () => {
  let broker: PrivateKafka;
  let producer: EventProducer | undefined;

  beforeAll(async () => {
    broker = await startPrivateKafka();
  }, 120_000);
  afterAll(async () => {
    await producer?.disconnect();
    await broker?.destroy();
  }, 60_000);

  it('rejects within ackTimeoutMs, then immediately, and recovers after the broker restarts', async () => {
    const logger = testLogger();
    const cfg = testKafkaConfig({ brokers: broker.brokers, partitions: 1 });
    const kafka = testKafka(cfg, logger);
    await provision(kafka, cfg, ['eventsRaw']);
    const topic = topicName(cfg.topicPrefix, 'eventsRaw');
    producer = new EventProducer(kafka, cfg, logger, { ackTimeoutMs: 2_000 });
    await producer.connect(15_000);
    await producer.send(topic, [{ key: 'a', value: Buffer.from('before'), headers: {} }]);

    await broker.stop('SIGKILL');
    const t0 = Date.now();
    const err = await producer.send(topic, [{ key: 'a', value: Buffer.from('during'), headers: {} }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProducerUnavailableError);
    expect(Date.now() - t0).toBeLessThan(2_000 + 1_000);
    expect(producer.isReady()).toBe(false);
    const t1 = Date.now();
    await expect(producer.send(topic, [{ key: 'a', value: Buffer.from('during'), headers: {} }])).rejects.toBeInstanceOf(ProducerUnavailableError);
    expect(Date.now() - t1).toBeLessThan(100);

    await broker.start();
    await waitFor(() => producer?.isReady(), { timeoutMs: 60_000, message: 'producer ready again' });
    await producer.send(topic, [{ key: 'a', value: Buffer.from('after'), headers: {} }]);
  }, 120_000);

  it('rejects after ackTimeoutMs when the broker stops answering (SIGSTOP), and recovers on SIGCONT', async () => {
    const logger = testLogger();
    const cfg = testKafkaConfig({ brokers: broker.brokers, partitions: 1 });
    const kafka = testKafka(cfg, logger);
    await provision(kafka, cfg, ['eventsRaw']);
    const topic = topicName(cfg.topicPrefix, 'eventsRaw');
    const p = new EventProducer(kafka, cfg, logger, { ackTimeoutMs: 1_500 });
    try {
      await p.connect(15_000);
      await p.send(topic, [{ key: 'a', value: Buffer.from('before'), headers: {} }]);
      const pid = broker.pid as number;
      process.kill(pid, 'SIGSTOP');
      try {
        const t0 = Date.now();
        const err = await p.send(topic, [{ key: 'a', value: Buffer.from('frozen'), headers: {} }]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProducerUnavailableError);
        expect((err as Error).message).toMatch(/within 1500 ms/);
        const waited = Date.now() - t0;
        expect(waited).toBeGreaterThanOrEqual(1_400);
        expect(waited).toBeLessThan(1_500 + 1_000);
        await waitFor(() => p.state === 'unavailable', { timeoutMs: 1_000 });
        const t1 = Date.now();
        await expect(p.send(topic, [{ key: 'a', value: Buffer.from('x'), headers: {} }])).rejects.toBeInstanceOf(ProducerUnavailableError);
        expect(Date.now() - t1).toBeLessThan(100);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await waitFor(() => p.isReady(), { timeoutMs: 60_000, message: 'producer ready after SIGCONT' });
      await p.send(topic, [{ key: 'a', value: Buffer.from('after'), headers: {} }]);
    } finally {
      await p.disconnect();
    }
  }, 120_000);
});
