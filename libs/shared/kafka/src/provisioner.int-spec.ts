import { ConfigResourceTypes, type Kafka } from 'kafkajs';
import { topicName } from '@mosaic/contracts';
import { TopicProvisioner } from './provisioner';
import { testKafka, testKafkaConfig, testLogger, withAdmin } from './testing/support';

async function topicConfig(kafka: Kafka, topic: string): Promise<Record<string, string>> {
  return withAdmin(kafka, async (admin) => {
    const res = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
    return Object.fromEntries((res.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
  });
}

async function partitionCount(kafka: Kafka, topic: string): Promise<number> {
  return withAdmin(kafka, async (admin) => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length ?? 0;
  });
}

describe('TopicProvisioner (real broker)', () => {
  const logger = testLogger();

  it('creates topics from the specs, compacted where the spec says so, and is idempotent', async () => {
    const cfg = testKafkaConfig({ partitions: 3 });
    const kafka = testKafka(cfg);
    const provisioner = new TopicProvisioner(kafka, cfg, logger);

    const first = await provisioner.ensure(['eventsRaw', 'segmentsMembership', 'dlqIdentity']);
    expect(first.map((r) => [r.key, r.status, r.partitions, r.warnings])).toEqual([
      ['eventsRaw', 'created', 3, []],
      ['segmentsMembership', 'created', 3, []],
      ['dlqIdentity', 'created', 3, []],
    ]);
    expect(first[1]?.name).toBe(topicName(cfg.topicPrefix, 'segmentsMembership'));

    const membership = await topicConfig(kafka, topicName(cfg.topicPrefix, 'segmentsMembership'));
    expect(membership['cleanup.policy']).toBe('compact');
    expect(membership['min.insync.replicas']).toBe('1');
    const raw = await topicConfig(kafka, topicName(cfg.topicPrefix, 'eventsRaw'));
    expect(raw['cleanup.policy']).toBe('delete');
    expect(raw['retention.ms']).toBe(String(7 * 24 * 3600 * 1000));
    const dlq = await topicConfig(kafka, topicName(cfg.topicPrefix, 'dlqIdentity'));
    expect(dlq['retention.ms']).toBe(String(30 * 24 * 3600 * 1000));

    const second = await provisioner.ensure(['eventsRaw', 'segmentsMembership', 'dlqIdentity']);
    expect(second.map((r) => [r.status, r.partitions, r.warnings])).toEqual([
      ['existing', 3, []],
      ['existing', 3, []],
      ['existing', 3, []],
    ]);
    expect(await partitionCount(kafka, topicName(cfg.topicPrefix, 'eventsRaw'))).toBe(3);
  });

  it('is safe when several services race to create the same topics', async () => {
    const cfg = testKafkaConfig({ partitions: 2 });
    const kafka = testKafka(cfg);
    const racers = Array.from({ length: 4 }, () => new TopicProvisioner(testKafka(cfg), cfg, logger));
    const reports = await Promise.all(racers.map((p) => p.ensure(['eventsResolved', 'profilesChanges'])));
    for (const key of ['eventsResolved', 'profilesChanges'] as const) {
      const outcomes = reports.map((r) => r.find((x) => x.key === key));
      expect(outcomes.every((o) => o?.partitions === 2 && o.warnings.length === 0)).toBe(true);
      expect(outcomes.filter((o) => o?.status === 'created')).toHaveLength(1);
      expect(await partitionCount(kafka, topicName(cfg.topicPrefix, key))).toBe(2);
    }
  });

  it('warns about, but never repartitions, an existing topic with fewer partitions', async () => {
    const cfg = testKafkaConfig({ partitions: 4 });
    const kafka = testKafka(cfg);
    const name = topicName(cfg.topicPrefix, 'profilesChanges');
    await withAdmin(kafka, (admin) => admin.createTopics({ topics: [{ topic: name, numPartitions: 1 }], waitForLeaders: true }));
    const [report] = await new TopicProvisioner(kafka, cfg, logger).ensure(['profilesChanges']);
    expect(report?.status).toBe('existing');
    expect(report?.partitions).toBe(1);
    expect(report?.warnings.join()).toMatch(/fewer than the configured 4/);
    expect(await partitionCount(kafka, name)).toBe(1);
  });
});
