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
import { cpus, totalmem } from 'node:os';
import { histogram, scrapeMetrics } from './bench-metrics.mjs';
import {
  benchContext,
  benchLogFile,
  cleanUpOnce,
  deleteBenchTopics,
  dropBenchDatabases,
  machineInfo,
  numberOption,
  pct,
  rssMb,
  serviceEnv,
  sleep,
  startService,
  stopChild,
  timedOps,
  writeResult,
} from './bench-util.mjs';

const log = (m) => console.error(`[bench identity] ${m}`);

// ---- raw limit: the store's own upsert rate ------------------------------------------------
async function rawStore({ mongodb, mongoBase, dbName, opts }) {
  const client = new mongodb.MongoClient(`${mongoBase}/${dbName}`, { maxPoolSize: 32 });
  await client.connect();
  const col = client.db(dbName).collection('raw_upserts');
  const doc = (i) => ({ profileId: `p_${i % 1000}`, type: 'anonymousId', value: `v-${i}`, updatedAt: new Date().toISOString(), updatedBy: 'bench' });
  const timed = async (workers, fn) => {
    const { ops, seconds } = await timedOps(workers, opts.DURATION, fn);
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
async function startIdentity(ctx) {
  const port = await ctx.infra.freePort();
  const env = serviceEnv(ctx.setup, { IDENTITY_SWEEP_INTERVAL_SECONDS: '0' });
  ctx.service = await startService({ root: ctx.root, name: 'identity', port, env, logFile: ctx.serviceLog, timeoutMs: 60_000 });
}

// ---- load: producer and a consumer of events.resolved ------------------------------------------
async function startLoad({ admin, producer, consumer, topics, prefix, tap }) {
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [topics.raw, topics.resolved, `${prefix}dlq.identity`].map((topic) => ({ topic, numPartitions: 6 })),
  });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: topics.resolved, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        const id = m.headers?.messageId?.toString();
        if (id?.startsWith('merge:')) tap.notices += 1;
        else if (id !== undefined && !tap.arrived.has(id)) tap.arrived.set(id, now);
      }
    },
  });
}

/** A raw event with `fields` (an identify when it has a userId, else a page view), encoded. */
function raw(ctx, fields) {
  const now = new Date().toISOString();
  const messageId = `b-${ctx.runId}-${(ctx.seq += 1)}`;
  const payload = {
    type: fields.userId ? 'identify' : 'page',
    messageId,
    ...fields,
    properties: {},
    traits: {},
    context: { page: { url: 'https://shop.example.com/p/barista-pro-900' } },
    timestamp: now,
    receivedAt: now,
    sourceId: 'src_bench',
  };
  const enc = ctx.contracts.encodeMessage(ctx.contracts.Schemas.rawEvent, payload, { producer: 'bench', messageId, validate: false });
  return { key: fields.anonymousId ?? fields.userId, value: enc.value, headers: enc.headers, messageId };
}

async function produce({ producer, topics, tap }, messages) {
  for (let i = 0; i < messages.length; i += 500) {
    const chunk = messages.slice(i, i + 500);
    const t = Date.now();
    for (const m of chunk) tap.sent.set(m.messageId, t);
    await producer.send({ topic: topics.raw, acks: -1, messages: chunk.map(({ key, value, headers }) => ({ key, value, headers })) });
  }
}

async function waitResolved({ tap }, ids, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!ids.every((id) => tap.arrived.has(id))) {
    if (Date.now() > deadline) throw new Error(`only ${ids.filter((id) => tap.arrived.has(id)).length}/${ids.length} resolved within ${timeoutMs} ms`);
    await sleep(50);
  }
  return Math.max(...ids.map((id) => tap.arrived.get(id)));
}

async function phase(ctx, name, messages) {
  log(`${name}: ${messages.length} events...`);
  const started = Date.now();
  await produce(ctx, messages);
  const last = await waitResolved(
    ctx,
    messages.map((m) => m.messageId),
  );
  const seconds = (last - started) / 1000;
  return { events: messages.length, seconds: +seconds.toFixed(2), eventsPerSec: Math.round(messages.length / seconds) };
}

/** Upper bounds (ms) of the service's per-event resolution time since it started. */
async function histogramQuantiles(url) {
  const { buckets } = histogram(await scrapeMetrics(url), 'mosaic_identity_resolution_seconds');
  const total = buckets.at(-1)?.[1] ?? 0;
  const q = (p) => buckets.find(([, c]) => c >= total * p)?.[0] ?? null;
  return { count: total, p50UpperBoundMs: q(0.5) * 1000, p99UpperBoundMs: q(0.99) * 1000 };
}

/** Create, cold and warm cache, merges; the service is restarted between create and cold. */
async function throughputPhases(ctx) {
  const { visitors, opts } = ctx;
  await startIdentity(ctx);
  const create = await phase(
    ctx,
    'create (new visitors)',
    visitors.map((v) => raw(ctx, { anonymousId: v })),
  );
  await stopChild(ctx.service.child);
  await startIdentity(ctx);
  const cold = await phase(
    ctx,
    'cold cache (known visitors, after a restart)',
    visitors.map((v) => raw(ctx, { anonymousId: v })),
  );
  const warm = await phase(
    ctx,
    'warm cache (known visitors again)',
    visitors.map((v) => raw(ctx, { anonymousId: v })),
  );
  const users = visitors.slice(0, opts.MERGES);
  await phase(
    ctx,
    'known profiles for the merges',
    users.map((_, i) => raw(ctx, { anonymousId: `device-${i}`, userId: `user-${i}` })),
  );
  const noticesBefore = ctx.tap.notices;
  const merges = await phase(
    ctx,
    'merges (login of each anonymous visitor into an existing known profile)',
    users.map((v, i) => raw(ctx, { anonymousId: v, userId: `user-${i}` })),
  );
  merges.mergesPerSec = merges.eventsPerSec;
  merges.notices = ctx.tap.notices - noticesBefore;
  return { create, cold, warm, merges };
}

/** Warm read-only events at `RATE`/s for `DURATION` s: produce → resolved, and the service's histogram. */
async function latencyPhase(ctx, RATE) {
  const { visitors, opts, tap } = ctx;
  log(`latency: warm read-only events at ${RATE}/s for ${opts.DURATION}s...`);
  const latencyIds = [];
  const paced = Date.now();
  for (let tick = 0; Date.now() - paced < opts.DURATION * 1000; tick += 1) {
    // One send every 50 ms (or every 1000/RATE ms when slower), RATE per second in all.
    const interval = Math.max(50, 1000 / RATE);
    const batch = Array.from({ length: Math.max(1, Math.round((RATE * interval) / 1000)) }, (_, j) =>
      raw(ctx, { anonymousId: visitors[(tick * 37 + j) % visitors.length] }),
    );
    latencyIds.push(...batch.map((m) => m.messageId));
    await produce(ctx, batch);
    const next = paced + (tick + 1) * interval;
    await sleep(Math.max(0, next - Date.now()));
  }
  await waitResolved(ctx, latencyIds);
  const e2e = latencyIds.map((id) => tap.arrived.get(id) - tap.sent.get(id));
  return { rate: RATE, events: latencyIds.length, e2eP50Ms: pct(e2e, 50), e2eP99Ms: pct(e2e, 99), service: await histogramQuantiles(ctx.service.url) };
}

async function cleanUp({ service, consumer, producer, admin, prefix, mongodb, mongoBase, dbName, up, infra }) {
  if (service) await stopChild(service.child);
  await consumer.disconnect().catch(() => undefined);
  await producer.disconnect().catch(() => undefined);
  await deleteBenchTopics(admin, prefix, log);
  await dropBenchDatabases(mongodb, mongoBase, [dbName], log);
  if (up.started.kafka || up.started.mongo) await infra.down({}).catch(() => undefined);
}

async function identityContext(args) {
  const opt = (name, def) => numberOption(args, name, def);
  const EVENTS = opt('events', 1000);
  const ctx = await benchContext('identity', {
    EVENTS,
    MERGES: Math.min(opt('merges', 200), EVENTS),
    DURATION: opt('duration', 10),
    RATE_OPTION: opt('rate', 0),
  });
  const { root, runId, prefix } = ctx;
  return {
    ...ctx,
    mongodb: ctx.require('mongodb'),
    topics: { raw: `${prefix}events.raw`, resolved: `${prefix}events.resolved` },
    serviceLog: benchLogFile(root, 'identity', runId),
    // messageId -> ms resolved (events only); messageId -> ms produced
    tap: { arrived: new Map(), sent: new Map(), notices: 0 },
    visitors: Array.from({ length: EVENTS }, (_, i) => `v-${i}`),
    seq: 0,
    service: undefined,
  };
}

export async function runIdentityBench(args) {
  const ctx = await identityContext(args);
  const { opts, up } = ctx;
  const cleanUpRun = cleanUpOnce(() => cleanUp(ctx));
  let store, create, cold, warm, merges, latency, memory;
  try {
    log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GiB; store ${up.mongoServer}`);
    log('raw limit: native driver upserts (bulkWrite, single updateOne)...');
    store = await rawStore(ctx);
    await startLoad(ctx);
    ({ create, cold, warm, merges } = await throughputPhases(ctx));
    latency = await latencyPhase(ctx, opts.RATE_OPTION > 0 ? opts.RATE_OPTION : Math.max(1, Math.round(warm.eventsPerSec / 2)));
    memory = rssMb(ctx.service.child.pid);
  } finally {
    await cleanUpRun();
  }

  const result = {
    benchmark: 'identity',
    at: new Date().toISOString(),
    machine: machineInfo(up),
    settings: { events: opts.EVENTS, merges: opts.MERGES, latencyRate: latency.rate, latencySeconds: opts.DURATION, partitions: 6, instances: 1 },
    raw: { store },
    identity: { create, cold, warm, merges, latency, rssMb: memory },
    ratios: {
      warmEventsVsSingleUpserts: +(warm.eventsPerSec / store.singleUpsertsPerSec).toFixed(3),
      createEventsVsSingleUpserts: +(create.eventsPerSec / store.singleUpsertsPerSec).toFixed(3),
    },
  };
  printReport(result, writeResult(ctx.root, 'identity', ctx.runId, result), ctx.serviceLog);
}

function printReport(result, file, serviceLog) {
  const { store } = result.raw;
  const { create, cold, warm, merges, latency, rssMb: memory } = result.identity;
  const row = (name, v) => `${name.padEnd(58)} ${String(v).padStart(14)}`;
  console.log(
    [
      '',
      `identity benchmark (${result.machine.cores} cores, ${result.machine.mongo}, 1 instance, 6 partitions)`,
      row('raw: store bulkWrite upserts (50/batch, 4 in flight), ops/s', store.bulkUpsertsPerSec),
      row('raw: store single updateOne upserts (16 in flight), ops/s', store.singleUpsertsPerSec),
      row('raw: store single updateOne upserts (1 in flight), ops/s', store.sequentialUpsertsPerSec),
      row('raw: store findOne by _id (4 in flight), ops/s', store.pointReadsPerSec),
      row(`create: new visitors, events/s (${result.settings.events})`, create.eventsPerSec),
      row('cold cache: known visitors after restart, events/s', cold.eventsPerSec),
      row('warm cache: known visitors, events/s', warm.eventsPerSec),
      row(`merges: logins merging anonymous into known, merges/s (${result.settings.merges})`, merges.mergesPerSec),
      row(`latency at ${latency.rate} events/s: produce → resolved p50 / p99 ms`, `${latency.e2eP50Ms} / ${latency.e2eP99Ms}`),
      row('service resolution time per event p50 / p99 ms (≤ bucket)', `${latency.service.p50UpperBoundMs} / ${latency.service.p99UpperBoundMs}`),
      row('identity RSS, MB', memory),
      row('ratio: warm events/s ÷ single upserts/s', result.ratios.warmEventsVsSingleUpserts),
      `JSON: ${file}`,
      `service log: ${serviceLog}`,
      '',
    ].join('\n'),
  );
}
