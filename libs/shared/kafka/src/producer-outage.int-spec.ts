import { topicName } from '@mosaic/contracts';
import { startPrivateKafka, waitFor, type PrivateKafka } from '@mosaic/shared-testing';
import { ProducerUnavailableError } from './errors';
import { EventProducer } from './producer';
import { expectRefusedAtOnce, provision, testKafka, testKafkaConfig, testLogger } from './testing/support';

/**
 * A send while the producer is 'unavailable' is refused without touching the network: it has
 * settled before the next macrotask, and no batch or produce request was counted for it.
 */

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
    const err = await producer.send(topic, [{ key: 'a', value: Buffer.from('during'), headers: {} }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProducerUnavailableError);
    // Either kafkajs gave the batch up or the send's own ackTimeoutMs timer fired (which bounds the wait).
    expect((err as Error).message).toMatch(/Kafka did not acknowledge|no acknowledgement from Kafka within 2000 ms/);
    expect(producer.state).toBe('unavailable');
    await expectRefusedAtOnce(producer, topic);

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
      // Not process.kill(pid, 'SIGSTOP'): that returns before the JVM's threads have stopped,
      // and a broker still running for a moment acknowledges the next send.
      await broker.freeze();
      try {
        const before = p.stats();
        const err = await p.send(topic, [{ key: 'a', value: Buffer.from('frozen'), headers: {} }]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProducerUnavailableError);
        // The send's own ackTimeoutMs timer rejected it: its batch went out and nothing answered.
        expect((err as Error).message).toMatch(/^no acknowledgement from Kafka within 1500 ms/);
        expect(p.stats()).toMatchObject({ batches: before.batches + 1, acked: before.acked });
        expect(p.state).toBe('unavailable');
        await expectRefusedAtOnce(p, topic);
      } finally {
        broker.thaw();
      }
      await waitFor(() => p.isReady(), { timeoutMs: 60_000, message: 'producer ready after SIGCONT' });
      await p.send(topic, [{ key: 'a', value: Buffer.from('after'), headers: {} }]);
    } finally {
      await p.disconnect();
    }
  }, 120_000);
});
