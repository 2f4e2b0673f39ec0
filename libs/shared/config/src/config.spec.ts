import { ConfigError, loadConfig, z } from './config';

const token = 'x'.repeat(20);

describe('loadConfig', () => {
  it('applies defaults and derives per-service values', () => {
    const c = loadConfig('identity', undefined, { MOSAIC_ADMIN_TOKEN: token });
    expect(c.http.port).toBe(8081);
    expect(c.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(c.kafka.topicPrefix).toBe('mosaic.');
    expect(c.kafka.consumer.groupId).toBe('mosaic.identity');
    expect(c.mongo.uri).toBe('mongodb://127.0.0.1:27017/mosaic');
    expect(c.kafka.provisionTopics).toBe(true);
    expect(c.kafka.consumer.concurrency).toBe(6);
  });

  it('validates KAFKA_CONSUMER_CONCURRENCY (a positive integer)', () => {
    expect(loadConfig('identity', undefined, { MOSAIC_ADMIN_TOKEN: token, KAFKA_CONSUMER_CONCURRENCY: '3' }).kafka.consumer.concurrency).toBe(3);
    for (const bad of ['0', '-1', '1.5', 'many']) {
      expect(() => loadConfig('identity', undefined, { MOSAIC_ADMIN_TOKEN: token, KAFKA_CONSUMER_CONCURRENCY: bad })).toThrow(/KAFKA_CONSUMER_CONCURRENCY/);
    }
  });

  it('reads overrides, typed', () => {
    const c = loadConfig('collector', undefined, {
      MOSAIC_ADMIN_TOKEN: token,
      COLLECTOR_PORT: '9000',
      KAFKA_BROKERS: 'a:1, b:2',
      KAFKA_PROVISION_TOPICS: 'false',
      MOSAIC_TOPIC_PREFIX: 'acme-',
    });
    expect(c.http.port).toBe(9000);
    expect(c.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(c.kafka.provisionTopics).toBe(false);
    expect(c.kafka.consumer.groupId).toBe('acme-collector');
  });

  it('reports every problem at once, naming the variable', () => {
    try {
      loadConfig('collector', z.object({ COLLECTOR_X: z.coerce.number().int() }), {
        MOSAIC_ADMIN_TOKEN: 'short',
        KAFKA_TOPIC_PARTITIONS: '0',
        MONGODB_URI: 'http://nope',
        MOSAIC_TOPIC_PREFIX: 'bad prefix',
        COLLECTOR_X: 'abc',
      });
      throw new Error('expected ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      for (const v of ['MOSAIC_ADMIN_TOKEN', 'KAFKA_TOPIC_PARTITIONS', 'MONGODB_URI', 'MOSAIC_TOPIC_PREFIX', 'COLLECTOR_X']) expect(msg).toContain(v);
    }
  });

  it('requires the admin token', () => {
    expect(() => loadConfig('activation', undefined, {})).toThrow(/MOSAIC_ADMIN_TOKEN/);
  });
});
