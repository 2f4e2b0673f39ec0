// SIGKILL mid-batch: the enrichment service runs as a child process (built from this source
// tree), is killed with SIGKILL while it is applying a stream of events, and is started again.
// Afterwards every counter of every profile is exact: nothing acknowledged was lost, nothing
// was applied twice.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import mongoose from 'mongoose';
import { topicNames, type ProfileChange } from '@mosaic/contracts';
import { type AnyStoredProfileDocument, ENRICHMENT_COLLECTIONS, fromStoredProfile } from '@mosaic/enrichment-data-access';
import type { MessageSender } from '@mosaic/shared-kafka';
import { TopicTap, dropTestDatabase, freePort, testInfra, testServiceEnv, waitFor } from '@mosaic/shared-testing';
import { resolvedEvent, sendResolved } from './enrichment-test-helpers';

jest.setTimeout(300_000);

const root = join(__dirname, '..', '..', '..');
const out = join(root, '.mosaic', `test-build-${process.pid}`);
const topics = topicNames(testInfra().topicPrefix);
const PROFILES = 40;
const EVENTS = 2_400;
let child: ChildProcess | undefined;
let port: number;
let tap: TopicTap;
const kafka = new Kafka({ clientId: 'it-sigkill', brokers: testInfra().kafkaBrokers, logLevel: logLevel.NOTHING });
const producer = kafka.producer({ allowAutoTopicCreation: false });
const sender: MessageSender = {
  send: async (topic, messages) => {
    await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
  },
};

function startChild(instance: string): ChildProcess {
  const env = testServiceEnv(testInfra(), {
    ENRICHMENT_PORT: String(port),
    MOSAIC_INSTANCE_ID: instance,
    ENRICHMENT_SWEEP_INTERVAL_SECONDS: '0',
    ENRICHMENT_RFM_INTERVAL_SECONDS: '0',
  });
  const c = spawn(process.execPath, [join(out, 'apps', 'enrichment', 'src', 'main.js')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  c.stderr?.resume();
  return c;
}

async function ready(): Promise<void> {
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.ok === true || null, {
    timeoutMs: 60_000,
    intervalMs: 200,
  });
}

beforeAll(async () => {
  const built = spawnSync(process.execPath, [join(root, 'tools', 'scripts', 'build.mjs'), '--out', out], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);
  port = await freePort();
  await producer.connect();
}, 180_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
  }
  await tap?.stop();
  await producer.disconnect();
  await dropTestDatabase().catch(() => undefined);
  rmSync(out, { recursive: true, force: true });
});

it('after a SIGKILL mid-batch and a restart, every counter of every profile is exact', async () => {
  child = startChild('enrichment-kill-1');
  await ready();
  // The service provisioned its topics; wait until the broker serves them.
  const admin = kafka.admin();
  await admin.connect();
  await waitFor(
    async () =>
      (await admin.fetchTopicMetadata({ topics: [topics.profilesChanges, topics.eventsResolved] }).catch(() => undefined))?.topics.every(
        (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
      ) || null,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  await admin.disconnect();
  tap = await TopicTap.start(testInfra().kafkaBrokers, topics.profilesChanges);

  // Every profile gets page views and orders; expected counters computed as they are sent.
  const expected = new Map<string, { pageViews: number; orders: number; revenue: number }>();
  const batch = [];
  for (let i = 0; i < EVENTS; i += 1) {
    const profileId = `p-k${i % PROFILES}`;
    const e = expected.get(profileId) ?? { pageViews: 0, orders: 0, revenue: 0 };
    const order = i % 7 === 0;
    batch.push(
      resolvedEvent(
        profileId,
        order
          ? { event: 'Order Completed', properties: { order_id: `o-${i}`, total: (i % 50) + 1 } }
          : { context: { page: { url: `https://shop.example/p/${i}` } } },
        'kill',
      ),
    );
    if (order) {
      e.orders += 1;
      e.revenue += (i % 50) + 1;
    } else e.pageViews += 1;
    expected.set(profileId, e);
  }
  for (let i = 0; i < batch.length; i += 200) await sendResolved(sender, topics.eventsResolved, batch.slice(i, i + 200));

  // Kill it while it is working through them.
  await tap.waitFor((msgs) => msgs.length >= EVENTS / 6, 120_000);
  const seenAtKill = tap.messages.length;
  child.kill('SIGKILL');
  await new Promise((r) => child!.once('exit', r));
  expect(seenAtKill).toBeLessThan(EVENTS);

  child = startChild('enrichment-kill-2');
  await ready();
  const ids = new Set(batch.map((b) => b.event.messageId));
  await tap.waitFor(() => {
    const seen = new Set(tap.payloads<ProfileChange>().map((c) => c.trigger?.messageId));
    return [...ids].every((id) => seen.has(id));
  }, 180_000);

  const conn = await mongoose.createConnection(testInfra().mongoUri).asPromise();
  try {
    const docs = (await conn.db!.collection<AnyStoredProfileDocument>(ENRICHMENT_COLLECTIONS.profiles).find({}).toArray()).map(fromStoredProfile);
    const actual = new Map(docs.map((d) => [d._id, { pageViews: d.computed.pageViews, orders: d.computed.orders.count, revenue: d.computed.orders.revenue }]));
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
    expect(await conn.db!.collection('enrichment_events').countDocuments({})).toBe(EVENTS);
  } finally {
    await conn.close();
  }
  child.kill('SIGTERM');
  await new Promise((r) => child!.once('exit', r));
});
