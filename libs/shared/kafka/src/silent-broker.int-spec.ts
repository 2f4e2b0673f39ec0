import { topicName } from '@mosaic/contracts';
import type { KafkaConfig } from '@mosaic/shared-config';
import type { Logger } from '@mosaic/shared-logging';
import { testInfra, waitFor } from '@mosaic/shared-testing';
import { createKafkaClient } from './client';
import { ProducerUnavailableError } from './errors';
import { EventProducer } from './producer';
import { TopicFollower } from './topic-follower';
import { startSilentProxy, type SilentProxy } from './testing/silent-proxy';
import { capturingLogger, provision, testKafkaConfig, type LoggedLine } from './testing/support';

// A broker too loaded to answer accepts the connection and lets kafkajs' first request on it
// (ApiVersions) time out. kafkajs then counts that connection as connected but never learned
// the broker's versions: every later use of the same client fails with "Broker not connected".
// Seen in CI beside CPU hogs: a restarted service's producer never became ready. The proxy
// plays that broker; the clients must recover once it answers again.
jest.setTimeout(120_000);

const REQUEST_TIMEOUT_MS = 2_000;

/** A client whose requests time out soon, so a silent broker shows quickly. */
function impatientKafka(cfg: KafkaConfig, logger: Logger) {
  return createKafkaClient(cfg, logger, {
    connectionTimeoutMs: 1_000,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
  });
}

const isApiVersionsTimeout = ({ line }: LoggedLine) => /Request ApiVersions.*timed out/.test(String(line['msg']));

const message = (text: string) => [{ key: 'k', value: Buffer.from(text), headers: {} }];

/** A follower (reading its topic from the beginning) started while the proxy is silent, once a request of its start-up read timed out. */
async function followerStartedOnSilence(proxy: SilentProxy): Promise<{ follower: TopicFollower; started: Promise<void> }> {
  const { logger, lines } = capturingLogger('silent-broker-test', 'error');
  const cfg = testKafkaConfig({ brokers: [proxy.address], partitions: 1 });
  const kafka = impatientKafka(cfg, logger);
  await provision(kafka, cfg, ['sources']);
  proxy.silence();
  const follower = new TopicFollower(kafka, {
    topics: [topicName(cfg.topicPrefix, 'sources')],
    groupPrefix: `${cfg.topicPrefix}follower`,
    fromBeginning: true,
    onRecord: () => undefined,
    onError: () => undefined,
  });
  const started = follower.start();
  await waitFor(() => lines.some(isApiVersionsTimeout), { timeoutMs: 30_000, message: 'an ApiVersions request timed out' });
  return { follower, started };
}

describe('Kafka clients behind a broker that accepts connections and does not answer', () => {
  let proxy: SilentProxy;
  let producer: EventProducer | undefined;

  beforeEach(async () => {
    proxy = await startSilentProxy(testInfra().kafkaBrokers[0]);
  });
  afterEach(async () => {
    await producer?.disconnect();
    producer = undefined;
    await proxy.close();
  });

  it('becomes ready once the broker answers, though its first connect timed out on a connection that stayed open', async () => {
    const { logger, lines } = capturingLogger('silent-broker-test', 'error');
    const cfg = testKafkaConfig({ brokers: [proxy.address], partitions: 1 });
    const kafka = impatientKafka(cfg, logger);
    await provision(kafka, cfg, ['eventsRaw']);
    const topic = topicName(cfg.topicPrefix, 'eventsRaw');

    proxy.silence();
    producer = new EventProducer(kafka, cfg, logger, { connectTimeoutMs: 3 * REQUEST_TIMEOUT_MS });
    producer.start();
    await waitFor(() => lines.some(isApiVersionsTimeout), { timeoutMs: 30_000, message: 'an ApiVersions request timed out' });
    await waitFor(() => producer?.state === 'unavailable', { timeoutMs: 30_000, message: 'the producer gave its connect up' });
    expect(proxy.silentConnections).toBeGreaterThan(0);

    proxy.speak();
    await waitFor(() => producer?.isReady(), { timeoutMs: 60_000, message: 'the producer ready once the broker answers' });
    await producer.send(topic, message('after'));
  });

  it('checks a new topic again on new connections after a check timed out on a silent one', async () => {
    const { logger } = capturingLogger('silent-broker-test', 'error');
    const cfg = testKafkaConfig({ brokers: [proxy.address], partitions: 1 });
    const kafka = impatientKafka(cfg, logger);
    await provision(kafka, cfg, ['eventsRaw']);
    producer = new EventProducer(kafka, cfg, logger);
    await producer.connect(30_000);

    // The producer's own connections stay; its first topic check opens new ones.
    proxy.silence();
    const unchecked = topicName(cfg.topicPrefix, 'eventsRaw');
    await expect(producer.send(unchecked, message('while silent'))).rejects.toBeInstanceOf(ProducerUnavailableError);
    expect(proxy.silentConnections).toBeGreaterThan(0);

    proxy.speak();
    // A send may still join the failing check; the ones after it must get through.
    await waitFor(
      () =>
        producer?.send(unchecked, message('after')).then(
          () => true,
          () => false,
        ),
      {
        timeoutMs: 60_000,
        message: 'a send to the topic checked again',
      },
    );
  });

  it('a TopicFollower starts once the broker answers, though its first read of where its topics end met a silent broker', async () => {
    const { follower, started } = await followerStartedOnSilence(proxy);
    try {
      proxy.speak();
      await started;
      expect(follower.caughtUp).toBe(true);
    } finally {
      await started.catch(() => undefined);
      await follower.stop();
    }
  });

  it('TopicFollower.stop() during the start-up read: it stops retrying, and no consumer starts after it', async () => {
    const { follower, started } = await followerStartedOnSilence(proxy);
    const stopped = follower.stop();
    proxy.speak(); // a retry after stop() would now succeed and start the consumer
    await stopped;
    await started;
    expect(follower.activity()).toEqual({ connected: false, restartPending: false, starting: false });
    expect(follower.caughtUp).toBe(false);
  });
});
