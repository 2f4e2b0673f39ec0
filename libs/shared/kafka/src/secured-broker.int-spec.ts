/**
 * Mosaic's Kafka security settings against a real broker that only speaks SASL_SSL (client
 * certificates required): the environment goes through loadConfig, the client through
 * createKafkaClient, as in a service.
 */
import { topicName } from '@mosaic/contracts';
import { createKafkaClient } from './client';
import { EventProducer } from './producer';
import { TopicProvisioner } from './provisioner';
import { kafkaConfigFromEnv, securedBrokerEnv, startSecuredBroker, type SecuredBroker } from './testing/secured-broker';
import { readMessages, testLogger } from './testing/support';

/** Lists the broker's topics with a client made from `env`; no retries, so a refusal shows at once. */
async function listTopics(env: Record<string, string>): Promise<string[]> {
  const admin = createKafkaClient(kafkaConfigFromEnv(env), testLogger(), { connectionTimeoutMs: 5_000, retry: { retries: 0 } }).admin({
    retry: { retries: 0 },
  });
  try {
    await admin.connect();
    return await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

describe('Kafka over SASL_SSL (real secured broker)', () => {
  let broker: SecuredBroker | undefined;
  const secured = (overrides: Record<string, string | undefined> = {}): Record<string, string> => {
    if (!broker) throw new Error('the secured broker did not start');
    return securedBrokerEnv(broker, overrides);
  };

  beforeAll(async () => {
    broker = await startSecuredBroker();
  }, 150_000);
  afterAll(async () => {
    await broker?.destroy();
  }, 30_000);

  it('provisions topics, produces and consumes with SCRAM-SHA-512 and a client certificate', async () => {
    const cfg = kafkaConfigFromEnv(secured({ MOSAIC_TOPIC_PREFIX: 'secured.', KAFKA_TOPIC_PARTITIONS: '1' }));
    const logger = testLogger();
    const kafka = createKafkaClient(cfg, logger);
    await new TopicProvisioner(kafka, cfg, logger).ensure(['eventsRaw']);
    const topic = topicName(cfg.topicPrefix, 'eventsRaw');
    expect(await listTopics(secured())).toContain(topic);

    const producer = new EventProducer(kafka, cfg, logger);
    try {
      await producer.connect(20_000);
      await producer.send(topic, [{ key: 'k', value: Buffer.from('over SASL_SSL'), headers: { h: 'v' } }]);
    } finally {
      await producer.disconnect();
    }
    const [message] = await readMessages(kafka, topic, 1);
    expect(message?.value?.toString()).toBe('over SASL_SSL');
    expect(message?.headers).toMatchObject({ h: 'v' });
  });

  it('authenticates with SCRAM-SHA-256 and PLAIN as well', async () => {
    for (const mechanism of ['scram-sha-256', 'plain']) {
      await expect(listTopics(secured({ KAFKA_SASL_MECHANISM: mechanism }))).resolves.toEqual(expect.any(Array));
    }
  });

  it('a wrong password fails with a SASL authentication error', async () => {
    await expect(listTopics(secured({ KAFKA_SASL_PASSWORD: 'wrong-password' }))).rejects.toMatchObject({
      name: 'KafkaJSSASLAuthenticationError',
      message: expect.stringMatching(/SCRAM SHA512 authentication failed.*invalid credentials/i),
    });
  });

  it('a client that does not trust the CA is refused; KAFKA_SSL_REJECT_UNAUTHORIZED=false connects', async () => {
    await expect(listTopics(secured({ KAFKA_SSL_CA_FILE: undefined }))).rejects.toThrow(/unable to verify the first certificate/i);
    await expect(listTopics(secured({ KAFKA_SSL_CA_FILE: undefined, KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' }))).resolves.toEqual(expect.any(Array));
  });

  it('a client without a client certificate is refused (the broker requires one)', async () => {
    await expect(listTopics(secured({ KAFKA_SSL_CERT_FILE: undefined, KAFKA_SSL_KEY_FILE: undefined }))).rejects.toThrow(/certificate/i);
  });

  it('a plaintext client gets no answer from the TLS listener', async () => {
    const plaintext = { KAFKA_SSL: undefined, KAFKA_SSL_CA_FILE: undefined, KAFKA_SSL_CERT_FILE: undefined, KAFKA_SSL_KEY_FILE: undefined };
    await expect(listTopics(secured(plaintext))).rejects.toThrow(/closed connection/i);
  });
});
