// `npm run bench -- identity [--events 1000] [--merges 200] [--duration 10] [--rate <events/s>]`
//
// Measures the identity service next to the raw limit of the store it runs on, in one run:
//   raw.store      the native MongoDB driver alone on the same server: upserts by bulkWrite
//                  (batches of 50, 4 in flight) and single updateOne upserts (16 in flight), ops/s
//   create         new visitors (every event creates a profile), events/s resolved
//   cold / warm    the same visitors again (read-only resolution) right after a restart of the
//                  service (empty per-instance cache) and then with the cache warm, events/s
//   merges         logins linking each anonymous profile to an existing known profile (one merge
//                  per event, notice + event produced), merges/s
//   latency        warm read-only events at a fixed rate (default: half the warm throughput, so
//                  it measures latency, not queueing): produce → resolved message consumed,
//                  p50/p99 ms; plus the service's own per-event resolution time (histogram)
// and the service's resident memory. Throughput = events of the phase ÷ (last resolved message
// consumed − first event produced); the producer is much faster than the service, so this is
// the service's drain rate. The service runs as a child process (dist/), one instance.
// Prints a table and writes JSON to .mosaic/bench/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchSetup, timedOps, numberOption, pct, rssMb, startService as startServiceChild } from './bench-util.mjs';

const log = (m) => console.error(`[bench identity] ${m}`);

export async function runIdentityBench(args) {
  const opt = (name, def) => numberOption(args, name, def);
  const EVENTS = opt('events', 1000);
  const MERGES = Math.min(opt('merges', 200), EVENTS);
  const DURATION = opt('duration', 10);
  const RATE_OPTION = opt('rate', 0);

  const { root, require, infra, up, brokers, runId, prefix, dbName, mongoBase, token, kafka: benchKafka } = await benchSetup('identity');
  const { Partitioners } = require('kafkajs');
  const { MongoClient } = require('mongodb');
  const contracts = require(join(root, 'dist', 'libs', 'contracts', 'src', 'index.js'));
  const kafka = benchKafka('bench-identity');
  const topics = { raw: `${prefix}events.raw`, resolved: `${prefix}events.resolved` };

  // ---- raw limit: the store's own upsert rate ------------------------------------------------
  async function rawStore() {
    const client = new MongoClient(`${mongoBase}/${dbName}`, { maxPoolSize: 32 });
    await client.connect();
    const col = client.db(dbName).collection('raw_upserts');
    const doc = (i) => ({ profileId: `p_${i % 1000}`, type: 'anonymousId', value: `v-${i}`, updatedAt: new Date().toISOString(), updatedBy: 'bench' });
    const timed = async (workers, fn) => {
      const { ops, seconds } = await timedOps(workers, DURATION, fn);
      return Math.round(ops / seconds);
    };
    const bulk = await timed(4, async (k) => {
      // 50 per bulkWrite: FerretDB 1.24 never answers update commands of ~100 statements.
      const ops = Array.from({ length: 50 }, (_, j) => {
        const i = (k * 50 + j) % 50_000;
        return { updateOne: { filter: { _id: `anonymousId:v-${i}` }, update: { $set: doc(i), $inc: { version: 1 } }, upsert: true } };
      });
      await col.bulkWrite(ops, { ordered: false });
      return ops.length;
    });
    const single = await timed(16, async (k) => {
      const i = k % 50_000;
      await col.updateOne({ _id: `anonymousId:s-${i}` }, { $set: doc(i), $inc: { version: 1 } }, { upsert: true });
      return 1;
    });
    const sequential = await timed(1, async (k) => {
      const i = k % 50_000;
      await col.updateOne({ _id: `anonymousId:q-${i}` }, { $set: doc(i), $inc: { version: 1 } }, { upsert: true });
      return 1;
    });
    // Reads by _id, 4 in flight: what the adapter does per document on FerretDB (its $in scans).
    const pointReads = await timed(4, async (k) => {
      await col.findOne({ _id: `anonymousId:v-${(k * 7919) % 50_000}` });
      return 1;
    });
    await col.drop().catch(() => undefined);
    await client.close();
    return { bulkUpsertsPerSec: bulk, singleUpsertsPerSec: single, sequentialUpsertsPerSec: sequential, pointReadsPerSec: pointReads };
  }

  // ---- the service -----------------------------------------------------------------------------
  const port = await infra.freePort();
  const serviceEnv = {
    KAFKA_BROKERS: brokers.join(','),
    MONGODB_URI: `${mongoBase}/${dbName}`,
    MOSAIC_TOPIC_PREFIX: prefix,
    MOSAIC_ADMIN_TOKEN: token,
    MOSAIC_HTTP_HOST: '127.0.0.1',
    IDENTITY_PORT: String(port),
    KAFKA_TOPIC_PARTITIONS: '6',
    IDENTITY_SWEEP_INTERVAL_SECONDS: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  };
  const serviceLog = join(root, '.mosaic', 'logs', `bench-identity-${runId}.log`);
  mkdirSync(join(root, '.mosaic', 'logs'), { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  let child;
  async function startService() {
    ({ child } = await startServiceChild({ root, name: 'identity', port, env: serviceEnv, logFile: serviceLog, timeoutMs: 60_000 }));
  }
  async function stopService() {
    if (!child || child.exitCode !== null) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await done;
  }
  const childRss = () => rssMb(child.pid);

  // ---- load: producer and a consumer of events.resolved ------------------------------------------
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [topics.raw, topics.resolved, `${prefix}dlq.identity`].map((topic) => ({ topic, numPartitions: 6 })) });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const arrived = new Map(); // messageId -> ms (events only)
  let notices = 0;
  const consumer = kafka.consumer({ groupId: `${prefix}bench-tap`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic: topics.resolved, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        const id = m.headers?.messageId?.toString();
        if (id?.startsWith('merge:')) notices += 1;
        else if (id !== undefined && !arrived.has(id)) arrived.set(id, now);
      }
    },
  });

  let seq = 0;
  const sent = new Map(); // messageId -> ms
  function raw(fields) {
    const now = new Date().toISOString();
    const messageId = `b-${runId}-${(seq += 1)}`;
    const payload = { type: fields.userId ? 'identify' : 'page', messageId, ...fields, properties: {}, traits: {}, context: { page: { url: 'https://shop.example.com/p/barista-pro-900' } }, timestamp: now, receivedAt: now, sourceId: 'src_bench' };
    const enc = contracts.encodeMessage(contracts.Schemas.rawEvent, payload, { producer: 'bench', messageId, validate: false });
    return { key: fields.anonymousId ?? fields.userId, value: enc.value, headers: enc.headers, messageId };
  }
  async function produce(messages) {
    for (let i = 0; i < messages.length; i += 500) {
      const chunk = messages.slice(i, i + 500);
      const t = Date.now();
      for (const m of chunk) sent.set(m.messageId, t);
      await producer.send({ topic: topics.raw, acks: -1, messages: chunk.map(({ key, value, headers }) => ({ key, value, headers })) });
    }
  }
  async function waitResolved(ids, timeoutMs = 600_000) {
    const deadline = Date.now() + timeoutMs;
    while (!ids.every((id) => arrived.has(id))) {
      if (Date.now() > deadline) throw new Error(`only ${ids.filter((id) => arrived.has(id)).length}/${ids.length} resolved within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return Math.max(...ids.map((id) => arrived.get(id)));
  }
  async function phase(name, messages) {
    log(`${name}: ${messages.length} events...`);
    const started = Date.now();
    await produce(messages);
    const last = await waitResolved(messages.map((m) => m.messageId));
    const seconds = (last - started) / 1000;
    return { events: messages.length, seconds: +seconds.toFixed(2), eventsPerSec: Math.round(messages.length / seconds) };
  }
  async function histogramQuantiles() {
    const text = await (await fetch(`${url}/metrics`)).text();
    const buckets = [...text.matchAll(/^mosaic_identity_resolution_seconds_bucket\{le="([^"]+)"[^}]*\} (\d+)/gm)].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
    const total = buckets.at(-1)?.[1] ?? 0;
    const q = (p) => (buckets.find(([, c]) => c >= total * p)?.[0] ?? null);
    return { count: total, p50UpperBoundMs: q(0.5) * 1000, p99UpperBoundMs: q(0.99) * 1000 };
  }

  log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GiB; store ${up.mongoServer}`);
  log('raw limit: native driver upserts (bulkWrite, single updateOne)...');
  const store = await rawStore();

  const visitors = Array.from({ length: EVENTS }, (_, i) => `v-${i}`);
  await startService();
  const create = await phase('create (new visitors)', visitors.map((v) => raw({ anonymousId: v })));
  await stopService();
  await startService();
  const cold = await phase('cold cache (known visitors, after a restart)', visitors.map((v) => raw({ anonymousId: v })));
  const warm = await phase('warm cache (known visitors again)', visitors.map((v) => raw({ anonymousId: v })));
  const users = visitors.slice(0, MERGES);
  await phase('known profiles for the merges', users.map((_, i) => raw({ anonymousId: `device-${i}`, userId: `user-${i}` })));
  const noticesBefore = notices;
  const merges = await phase('merges (login of each anonymous visitor into an existing known profile)', users.map((v, i) => raw({ anonymousId: v, userId: `user-${i}` })));
  merges.mergesPerSec = merges.eventsPerSec;
  merges.notices = notices - noticesBefore;

  const RATE = RATE_OPTION > 0 ? RATE_OPTION : Math.max(1, Math.round(warm.eventsPerSec / 2));
  log(`latency: warm read-only events at ${RATE}/s for ${DURATION}s...`);
  const latencyIds = [];
  const paced = Date.now();
  for (let tick = 0; Date.now() - paced < DURATION * 1000; tick += 1) {
    // One send every 50 ms (or every 1000/RATE ms when slower), RATE per second in all.
    const interval = Math.max(50, 1000 / RATE);
    const batch = Array.from({ length: Math.max(1, Math.round((RATE * interval) / 1000)) }, (_, j) => raw({ anonymousId: visitors[(tick * 37 + j) % visitors.length] }));
    latencyIds.push(...batch.map((m) => m.messageId));
    await produce(batch);
    const next = paced + (tick + 1) * interval;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  await waitResolved(latencyIds);
  const e2e = latencyIds.map((id) => arrived.get(id) - sent.get(id));
  const latency = { rate: RATE, events: latencyIds.length, e2eP50Ms: pct(e2e, 50), e2eP99Ms: pct(e2e, 99), service: await histogramQuantiles() };
  const memory = childRss();

  await stopService();
  await consumer.disconnect();
  await producer.disconnect();
  const ours = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  await admin.deleteTopics({ topics: ours }).catch(() => undefined);
  await admin.disconnect();
  const client = new MongoClient(`${mongoBase}/${dbName}`);
  await client.connect();
  await client.db(dbName).dropDatabase().catch(() => undefined);
  await client.close();
  if (up.started.kafka || up.started.mongo) await infra.down({});

  const result = {
    benchmark: 'identity',
    at: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, kafka: '4.1.1', mongo: up.mongoServer },
    settings: { events: EVENTS, merges: MERGES, latencyRate: latency.rate, latencySeconds: DURATION, partitions: 6, instances: 1 },
    raw: { store },
    identity: { create, cold, warm, merges, latency, rssMb: memory },
    ratios: {
      warmEventsVsSingleUpserts: +(warm.eventsPerSec / store.singleUpsertsPerSec).toFixed(3),
      createEventsVsSingleUpserts: +(create.eventsPerSec / store.singleUpsertsPerSec).toFixed(3),
    },
  };
  mkdirSync(join(root, '.mosaic', 'bench'), { recursive: true });
  const file = join(root, '.mosaic', 'bench', `identity-${runId}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  const row = (name, v) => `${name.padEnd(58)} ${String(v).padStart(14)}`;
  console.log(
    [
      '',
      `identity benchmark (${result.machine.cores} cores, ${up.mongoServer}, 1 instance, 6 partitions)`,
      row('raw: store bulkWrite upserts (50/batch, 4 in flight), ops/s', store.bulkUpsertsPerSec),
      row('raw: store single updateOne upserts (16 in flight), ops/s', store.singleUpsertsPerSec),
      row('raw: store single updateOne upserts (1 in flight), ops/s', store.sequentialUpsertsPerSec),
      row('raw: store findOne by _id (4 in flight), ops/s', store.pointReadsPerSec),
      row(`create: new visitors, events/s (${EVENTS})`, create.eventsPerSec),
      row('cold cache: known visitors after restart, events/s', cold.eventsPerSec),
      row('warm cache: known visitors, events/s', warm.eventsPerSec),
      row(`merges: logins merging anonymous into known, merges/s (${MERGES})`, merges.mergesPerSec),
      row(`latency at ${RATE} events/s: produce → resolved p50 / p99 ms`, `${latency.e2eP50Ms} / ${latency.e2eP99Ms}`),
      row('service resolution time per event p50 / p99 ms (≤ bucket)', `${latency.service.p50UpperBoundMs} / ${latency.service.p99UpperBoundMs}`),
      row('identity RSS, MB', memory),
      row('ratio: warm events/s ÷ single upserts/s', result.ratios.warmEventsVsSingleUpserts),
      `JSON: ${file}`,
      `service log: ${serviceLog}`,
      '',
    ].join('\n'),
  );
}
