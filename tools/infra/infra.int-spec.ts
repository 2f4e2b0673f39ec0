// Integration test of the project's infrastructure (tools/infra + libs/shared/testing):
// whatever server Jest's global setup brought up must serve the Kafka and MongoDB
// features the services rely on.
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import mongoose from 'mongoose';
import { dropTestDatabase, startPrivateKafka, testInfra, waitFor, type PrivateKafka } from '@mosaic/shared-testing';

jest.setTimeout(120000);

describe('shared Kafka broker', () => {
  const { kafkaBrokers, topicPrefix } = testInfra();
  const kafka = new Kafka({ clientId: `${topicPrefix}infra-test`, brokers: kafkaBrokers, logLevel: logLevel.WARN });
  const compacted = `${topicPrefix}profiles.compacted`;
  const events = `${topicPrefix}events`;
  let admin: Admin;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [compacted, events] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('does not auto-create topics', async () => {
    const quiet = new Kafka({ clientId: `${topicPrefix}infra-test-quiet`, brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
    const producer = quiet.producer({ allowAutoTopicCreation: true, retry: { retries: 1 } });
    await producer.connect();
    try {
      await expect(producer.send({ topic: `${topicPrefix}never-created`, messages: [{ value: 'x' }] })).rejects.toThrow();
    } finally {
      await producer.disconnect();
    }
  });

  it('keeps its broker session long enough for a controller that stalls on a busy machine', async () => {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 4 /* BROKER */, name: '1', configNames: ['broker.session.timeout.ms'] }],
    });
    expect(described.resources[0].configEntries.map((e) => [e.configName, e.configValue])).toEqual([['broker.session.timeout.ms', '30000']]);
  });

  it('creates a compacted topic, produces idempotently and consumes in a group with committed offsets', async () => {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: compacted, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
        { topic: events, numPartitions: 3 },
      ],
    });
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2 /* TOPIC */, name: compacted }] });
    expect(described.resources[0].configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue).toBe('compact');

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: compacted,
      acks: -1,
      messages: [
        { key: 'user-1', value: JSON.stringify({ v: 1 }), headers: { 'content-type': 'application/json' } },
        { key: 'user-1', value: JSON.stringify({ v: 2 }) },
        { key: 'user-2', value: null }, // tombstone
      ],
    });
    await producer.send({
      topic: events,
      acks: -1,
      messages: [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
        { key: 'c', value: '3' },
      ],
    });
    await producer.disconnect();

    const groupId = `${topicPrefix}group`;
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topics: [compacted, events], fromBeginning: true });
    const seen: Array<{ topic: string; key: string | undefined; value: string | null; headers: string | undefined }> = [];
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (const m of batch.messages) {
          seen.push({
            topic: batch.topic,
            key: m.key?.toString(),
            value: m.value ? m.value.toString() : null,
            headers: m.headers?.['content-type']?.toString(),
          });
          resolveOffset(m.offset);
        }
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }]);
        await heartbeat();
      },
    });
    try {
      await waitFor(() => seen.length >= 6 || null, { timeoutMs: 60000, message: 'all six messages consumed' });
    } finally {
      await consumer.disconnect();
    }
    expect(seen.filter((m) => m.topic === compacted)).toEqual([
      { topic: compacted, key: 'user-1', value: '{"v":1}', headers: 'application/json' },
      { topic: compacted, key: 'user-1', value: '{"v":2}', headers: undefined },
      { topic: compacted, key: 'user-2', value: null, headers: undefined },
    ]);
    expect(
      seen
        .filter((m) => m.topic === events)
        .map((m) => m.value)
        .sort(),
    ).toEqual(['1', '2', '3']);

    const committed = await admin.fetchOffsets({ groupId, topics: [compacted, events] });
    const total = (topic: string) => committed.find((t) => t.topic === topic)?.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    expect(total(compacted)).toBe(3);
    expect(total(events)).toBe(3);
    await admin.deleteGroups([groupId]);
  });
});

describe('shared MongoDB-wire server (through mongoose)', () => {
  const infra = testInfra();
  let conn: mongoose.Connection;

  beforeAll(async () => {
    conn = await mongoose.createConnection(infra.mongoUri, { serverSelectionTimeoutMS: 10000, autoIndex: false }).asPromise();
  });

  afterAll(async () => {
    await conn.close();
    await dropTestDatabase();
  });

  it('uses a database of its own for this test file', () => {
    expect(conn.db?.databaseName).toBe(infra.dbName);
    expect(infra.mongoUri).toContain(`/${infra.dbName}`);
  });

  it('inserts, finds, upserts and enforces a unique index', async () => {
    const Identity = conn.model(
      'Identity',
      new mongoose.Schema({ type: { type: String, required: true }, value: { type: String, required: true }, profileId: String, seen: Number }).index(
        { type: 1, value: 1 },
        { unique: true },
      ),
    );
    await Identity.createIndexes();
    const indexes = await Identity.collection.indexes();
    expect(indexes.find((i) => i.key.type === 1 && i.key.value === 1)?.unique).toBe(true);

    await Identity.create({ type: 'email', value: 'a@example.com', profileId: 'p1' });
    await expect(Identity.create({ type: 'email', value: 'a@example.com', profileId: 'p2' })).rejects.toMatchObject({ code: 11000 });
    const found = await Identity.findOne({ type: 'email', value: 'a@example.com' }).lean();
    expect(found?.profileId).toBe('p1');

    const upserted = await Identity.findOneAndUpdate(
      { type: 'anonymousId', value: 'anon-1' },
      { $setOnInsert: { profileId: 'p3' }, $inc: { seen: 1 } },
      { upsert: true, new: true },
    ).lean();
    expect(upserted).toMatchObject({ profileId: 'p3', seen: 1 });
    expect(await Identity.countDocuments({})).toBe(2);
  });

  // TTL indexes are served by MongoDB but not by FerretDB v1 (the local fallback when no
  // mongod is on PATH), which answers NotImplemented (code 238). This test pins both
  // behaviours so the gap stays visible: code that needs expiry must not rely on a TTL
  // index alone where FerretDB may serve it (see tools/infra/README.md).
  it('TTL index (expireAfterSeconds): created by MongoDB, rejected as NotImplemented by FerretDB v1', async () => {
    const sessions = conn.collection('sessions');
    const create = sessions.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 3600, name: 'expiresAt_ttl' });
    if (/^FerretDB v1\./.test(infra.mongoServer)) {
      await expect(create).rejects.toMatchObject({ code: 238 });
    } else {
      await create;
      const ttl = (await sessions.indexes()).find((i) => i.name === 'expiresAt_ttl');
      expect(ttl?.expireAfterSeconds).toBe(3600);
    }
  });
});

describe('startPrivateKafka', () => {
  let broker: PrivateKafka | undefined;
  let admin: Admin | undefined;
  let producer: Producer | undefined;

  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await broker?.destroy();
  });

  it('produces, survives SIGKILL and SIGTERM restarts on the same data dir', async () => {
    broker = await startPrivateKafka();
    const { topicPrefix } = testInfra();
    const topic = `${topicPrefix}private`;
    const kafka = new Kafka({ clientId: `${topicPrefix}private`, brokers: broker.brokers, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic }] });
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const send = (value: string) => producer!.send({ topic, acks: -1, messages: [{ key: 'k', value }] });
    await send('before');

    const firstPid = broker.pid;
    await broker.stop('SIGKILL');
    expect(broker.pid).toBeNull();
    const impatient = kafka.producer({ retry: { retries: 0 } });
    await expect(impatient.connect().then(() => impatient.send({ topic, messages: [{ value: 'down' }] }))).rejects.toThrow();
    await impatient.disconnect().catch(() => undefined);

    await broker.start();
    expect(broker.pid).not.toBe(firstPid);
    await waitFor(() => send('after-kill'), { timeoutMs: 60000, intervalMs: 500, message: 'produce after restart' });

    await broker.stop('SIGTERM');
    await broker.start();
    await waitFor(() => send('after-term'), { timeoutMs: 60000, intervalMs: 500, message: 'produce after second restart' });

    const offsets = await waitFor(() => admin!.fetchTopicOffsets(topic), { timeoutMs: 30000 });
    // The topic and its three records survived both restarts (auto-creation is off).
    expect(Number(offsets[0].high)).toBe(3);
  }, 240000);
});
