// `npm run bench -- enrichment [--profiles 300] [--events 3000] [--duration 10] [--rate <events/s>]`
//
// Measures the enrichment service next to the raw limit of the store it runs on, in one run:
//   raw.store      the native MongoDB driver alone on the same server, on documents of the size the
//                  service writes (a profile built by the enrichment domain from the bench's own
//                  event mix), over a collection of as many documents as the bench has profiles:
//                  replaceOne upserts by bulkWrite in batches of 50 (FerretDB never answers update
//                  batches of ~100), 2 in flight and 1 in flight (the service writes one batch at a
//                  time), and findOne by _id (4 in flight: how the service reads profiles on
//                  FerretDB), ops/s. Not 4 writes in flight: FerretDB 1.24 stops answering
//                  concurrent bulk replacements of existing documents at 4 (measured: it hangs).
//   create         one page view per profile (creates the P profiles; also warms the service up)
//   apply          N resolved events (page views with page/campaign/user agent, Product Viewed and
//                  Product Added with category and price, Order Completed, identify with traits)
//                  over the P existing profiles, produced as fast as possible; events/s applied =
//                  events ÷ (last change consumed − first event produced); plus the profile
//                  documents written per second (the service's mosaic_enrichment_profiles_written_total:
//                  one write per profile per batch segment)
//   latency        events at a fixed rate (default: half the apply throughput, so it measures
//                  latency, not queueing): produce → profiles.changes message consumed, p50/p99 ms;
//                  plus the service's own batch apply time (mosaic_enrichment_apply_seconds) and
//                  event lag (mosaic_enrichment_event_lag_seconds) over that phase
// and the service's resident memory. The service runs as a child process (dist/), one instance,
// sweep and RFM jobs off, otherwise with its defaults; it inherits this process's environment, so
// e.g. `KAFKA_CONSUMER_SESSION_TIMEOUT_MS=180000 npm run bench -- enrichment` applies to it. Dead
// letters are reported as they arrive; a phase fails after 300 s without a new change.
// Prints a table and writes JSON to .mosaic/bench/.
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { eventSource, sampleProfileDocument } from './bench-event-mix.mjs';
import { histogram, histogramDelta, metricValue, scrapeMetrics } from './bench-metrics.mjs';
import {
  benchContext,
  benchLogFile,
  cleanUpOnce,
  deleteBenchTopics,
  dropBenchDatabases,
  machineInfo,
  numberOption,
  pct,
  perSec as rate,
  rssSampler,
  serviceEnv,
  sleep,
  startService,
  stopChild,
  timedOps,
  writeResult,
} from './bench-util.mjs';

const log = (m) => console.error(`[bench enrichment] ${m}`);

/** What the steps of the bench share: options, the run's setup, the modules from dist/, the Kafka clients and what the tap saw. */
async function enrichmentContext(args) {
  const opt = (name, def) => numberOption(args, name, def);
  const PROFILES = Math.max(1, opt('profiles', 300));
  const ctx = await benchContext('enrichment', {
    PROFILES,
    EVENTS: Math.max(1, opt('events', 3000)),
    DURATION: opt('duration', 10),
    RATE_OPTION: opt('rate', 0),
  });
  const { root, require, runId, prefix } = ctx;
  return {
    ...ctx,
    mongodb: require('mongodb'),
    domain: require(join(root, 'dist', 'libs', 'enrichment', 'domain', 'src', 'index.js')),
    documents: require(join(root, 'dist', 'libs', 'enrichment', 'data-access', 'src', 'documents.js')),
    topics: { resolved: `${prefix}events.resolved`, changes: `${prefix}profiles.changes`, dlq: `${prefix}dlq.enrichment` },
    source: eventSource(
      runId,
      Array.from({ length: PROFILES }, (_, i) => `p-${runId}-${i}`),
    ),
    serviceLog: benchLogFile(root, 'enrichment', runId),
    // event messageId -> ms the first change for it was consumed; event messageId -> ms produced
    tap: { arrived: new Map(), sent: new Map(), changeMessages: 0, deadLetters: 0, lastArrival: Date.now() },
    service: undefined,
    rss: undefined,
  };
}

// ---- raw limit: the store's own upsert and read rates ------------------------------------------
async function rawStore({ mongodb, mongoBase, dbName, domain, documents, opts }) {
  const { PROFILES, EVENTS, DURATION } = opts;
  // A socket timeout, so a server that stops answering fails the run instead of hanging it.
  const client = new mongodb.MongoClient(`${mongoBase}/${dbName}`, { maxPoolSize: 32, socketTimeoutMS: 600_000 });
  await client.connect();
  try {
    const col = client.db(dbName).collection('raw_profiles');
    // The indexes the service's profile collection has (besides _id).
    await col.createIndex({ idKeys: 1 });
    await col.createIndex({ expiresAt: 1 });
    const template = sampleProfileDocument(domain, documents, Math.max(2, Math.round(EVENTS / PROFILES) + 1));
    const docBytes = mongodb.BSON.calculateObjectSize(template);
    const doc = (i, k) => ({ ...template, _id: `r-${i}`, version: k, writeId: randomUUID(), idKeys: [`anonymousId:anon-r-${i}`] });
    const timed = async (workers, fn) => {
      const { ops, seconds } = await timedOps(workers, DURATION, fn);
      return rate(ops, seconds);
    };
    // As many documents as the bench has profiles, inserted first (untimed): every upsert then
    // replaces an existing document, as the service's writes after a profile's first event do.
    for (let i = 0; i < PROFILES; i += 50) {
      await col.insertMany(
        Array.from({ length: Math.min(50, PROFILES - i) }, (_, j) => doc(i + j, 0)),
        { ordered: false },
      );
    }
    const bulkUpserts = async (k) => {
      const ops = Array.from({ length: 50 }, (_, j) => {
        const i = (k * 50 + j) % PROFILES;
        const { _id, ...replacement } = doc(i, k);
        return { replaceOne: { filter: { _id }, replacement, upsert: true } };
      });
      await col.bulkWrite(ops, { ordered: false });
      return ops.length;
    };
    const bulk = await timed(2, bulkUpserts);
    const bulkSequential = await timed(1, bulkUpserts);
    const pointReads = await timed(4, async (k) => {
      await col.findOne({ _id: `r-${(k * 7919) % Math.min(PROFILES, 50_000)}` });
      return 1;
    });
    await col.drop().catch(() => undefined);
    return { docBytes, documents: PROFILES, bulkUpsertsPerSec: bulk, sequentialBulkUpsertsPerSec: bulkSequential, pointReadsPerSec: pointReads };
  } finally {
    await client.close();
  }
}

// ---- load: a producer of events.resolved and a consumer of profiles.changes (and the DLQ) --------
/** Creates the topics and starts the producer and the tap (consumer of profiles.changes and the DLQ). */
async function startLoad({ admin, producer, consumer, topics, tap, serviceLog }) {
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [topics.resolved, topics.changes, topics.dlq].map((topic) => ({ topic, numPartitions: 6 })) });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.changes, topics.dlq], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      if (batch.topic === topics.dlq) {
        tap.deadLetters += batch.messages.length;
        log(`${batch.messages.length} dead letter(s) on ${topics.dlq} (${tap.deadLetters} in all); see ${serviceLog}`);
        return;
      }
      for (const m of batch.messages) {
        tap.changeMessages += 1;
        const key = m.key?.toString();
        const id = m.headers?.messageId?.toString();
        if (!key || !id?.startsWith(`chg:${key}:`)) continue;
        const eventId = id.slice(`chg:${key}:`.length);
        if (!tap.arrived.has(eventId)) {
          tap.arrived.set(eventId, now);
          tap.lastArrival = now;
        }
      }
    },
  });
}

/** Starts the service (sweep and RFM jobs off) and samples its memory. */
async function startEnrichment(ctx) {
  const port = await ctx.infra.freePort();
  const env = serviceEnv(ctx.setup, { ENRICHMENT_SWEEP_INTERVAL_SECONDS: '0', ENRICHMENT_RFM_INTERVAL_SECONDS: '0' });
  ctx.service = await startService({ root: ctx.root, name: 'enrichment', port, env, logFile: ctx.serviceLog, timeoutMs: 60_000 });
  ctx.rss = rssSampler(ctx.service.child);
}

function encode({ contracts }, resolved) {
  const messageId = resolved.event.messageId;
  const enc = contracts.encodeMessage(contracts.Schemas.resolved, resolved, { producer: 'bench', messageId, correlationId: messageId });
  return { key: resolved.profileId, value: enc.value, headers: enc.headers, messageId };
}

async function produce({ producer, topics, tap }, messages) {
  for (let i = 0; i < messages.length; i += 500) {
    const chunk = messages.slice(i, i + 500);
    const t = Date.now();
    for (const m of chunk) tap.sent.set(m.messageId, t);
    await producer.send({ topic: topics.resolved, acks: -1, messages: chunk.map(({ key, value, headers }) => ({ key, value, headers })) });
  }
}

/** Resolves with the time the last of `ids` got its change; fails when the service exits or 300 s pass without a change. */
async function waitApplied({ tap, service, serviceLog }, ids) {
  const { child } = service;
  const missing = () => ids.filter((id) => !tap.arrived.has(id)).length;
  while (!ids.every((id) => tap.arrived.has(id))) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`enrichment exited (${child.exitCode ?? child.signalCode}) with ${missing()}/${ids.length} events unapplied: ${service.stderr()}`);
    if (Date.now() - tap.lastArrival > 300_000)
      throw new Error(`no change for 300 s; ${missing()}/${ids.length} events unapplied, ${tap.deadLetters} dead letters (log: ${serviceLog})`);
    await sleep(50);
  }
  return Math.max(...ids.map((id) => tap.arrived.get(id)));
}

/** Produces `messages` as fast as possible and waits for all of them applied: rates and the service's counters over the phase. */
async function phase(ctx, name, messages) {
  log(`${name}: ${messages.length} events...`);
  const before = await scrapeMetrics(ctx.service.url);
  const started = Date.now();
  ctx.tap.lastArrival = started;
  await produce(ctx, messages);
  const last = await waitApplied(
    ctx,
    messages.map((m) => m.messageId),
  );
  const seconds = (last - started) / 1000;
  const after = await scrapeMetrics(ctx.service.url);
  const delta = (n, l) => metricValue(after, n, l) - metricValue(before, n, l);
  const profileWrites = delta('mosaic_enrichment_profiles_written_total');
  return {
    events: messages.length,
    seconds: +seconds.toFixed(2),
    eventsPerSec: rate(messages.length, seconds),
    profileWrites,
    profileWritesPerSec: rate(profileWrites, seconds),
    applied: delta('mosaic_enrichment_messages_total', { outcome: 'applied' }),
    duplicates: delta('mosaic_enrichment_messages_total', { outcome: 'duplicate' }),
    conflicts: delta('mosaic_enrichment_conflicts_total'),
    batches: delta('mosaic_enrichment_apply_seconds_count'),
  };
}

/** Sizes of up to 100 profile documents the service stored. */
async function profileDocSizes({ mongodb, mongoBase, dbName }) {
  const client = new mongodb.MongoClient(`${mongoBase}/${dbName}`);
  await client.connect();
  try {
    const docs = await client.db(dbName).collection('enrichment_profiles').find({}).limit(100).toArray();
    const sizes = docs.map((d) => mongodb.BSON.calculateObjectSize(d));
    return { sampled: sizes.length, avgBytes: Math.round(sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length)), maxBytes: Math.max(0, ...sizes) };
  } finally {
    await client.close();
  }
}

/** Events at `RATE`/s for `DURATION` s: produce → change, and the service's histograms over the phase. */
async function latencyPhase(ctx, RATE) {
  const { opts, source, tap } = ctx;
  const { PROFILES, DURATION } = opts;
  log(`latency: events at ${RATE}/s for ${DURATION}s...`);
  const metricsBefore = await scrapeMetrics(ctx.service.url);
  const latencyIds = [];
  tap.lastArrival = Date.now();
  const paced = Date.now();
  let cursor = 0;
  for (let tick = 0; Date.now() - paced < DURATION * 1000; tick += 1) {
    // One send every 50 ms (or every 1000/RATE ms when slower), RATE per second in all.
    const interval = Math.max(50, 1000 / RATE);
    const batch = Array.from({ length: Math.max(1, Math.round((RATE * interval) / 1000)) }, () =>
      encode(ctx, source.mixed(source.state[((cursor += 1) * 7919) % PROFILES])),
    );
    latencyIds.push(...batch.map((m) => m.messageId));
    await produce(ctx, batch);
    const next = paced + (tick + 1) * interval;
    await sleep(Math.max(0, next - Date.now()));
  }
  await waitApplied(ctx, latencyIds);
  const metricsAfter = await scrapeMetrics(ctx.service.url);
  const e2e = latencyIds.map((id) => tap.arrived.get(id) - tap.sent.get(id));
  const delta = (name) => histogramDelta(histogram(metricsBefore, name), histogram(metricsAfter, name));
  return {
    rate: RATE,
    events: latencyIds.length,
    e2eP50Ms: pct(e2e, 50),
    e2eP99Ms: pct(e2e, 99),
    serviceApplyPerBatch: delta('mosaic_enrichment_apply_seconds'),
    serviceEventLag: delta('mosaic_enrichment_event_lag_seconds'),
  };
}

/** The phases against the running service: create, apply, document sizes, latency. */
async function measureService(ctx) {
  const { opts, source } = ctx;
  const { PROFILES, EVENTS, RATE_OPTION } = opts;
  const create = await phase(
    ctx,
    `create (one page view per profile, ${PROFILES} profiles)`,
    source.state.map((s) => encode(ctx, source.next(s, 'page'))),
  );
  // The apply phase's events, built (and validated against the contract) before it starts.
  const applyMessages = Array.from({ length: EVENTS }, (_, i) => encode(ctx, source.mixed(source.state[(i * 7919) % PROFILES])));
  const apply = await phase(ctx, `apply (realistic mix over ${PROFILES} existing profiles)`, applyMessages);
  const profileDocs = await profileDocSizes(ctx);
  const latency = await latencyPhase(ctx, RATE_OPTION > 0 ? RATE_OPTION : Math.max(1, Math.round(apply.eventsPerSec / 2)));
  const end = ctx.rss.now();
  const memory = { rssMb: end, peakRssMb: ctx.rss.peakMb };
  const { changeMessages, deadLetters, sent, arrived } = ctx.tap;
  const totals = { changeMessages, deadLetters, eventsProduced: sent.size, eventsWithChange: arrived.size };
  return { create, apply, latency, profileDocs, memory, totals };
}

function buildResult({ up, opts }, store, enrichment) {
  const { apply, latency } = enrichment;
  // Against the better of the two raw upsert rates: the most this store did with profile documents.
  const bestUpserts = Math.max(store.bulkUpsertsPerSec, store.sequentialBulkUpsertsPerSec);
  return {
    benchmark: 'enrichment',
    at: new Date().toISOString(),
    machine: machineInfo(up),
    settings: {
      profiles: opts.PROFILES,
      events: opts.EVENTS,
      latencyRate: latency.rate,
      latencySeconds: opts.DURATION,
      partitions: 6,
      instances: 1,
      consumerSessionTimeoutMs: Number(process.env.KAFKA_CONSUMER_SESSION_TIMEOUT_MS ?? 30_000),
    },
    raw: { store },
    enrichment,
    ratios: {
      applyEventsVsBulkUpserts: +(apply.events / apply.seconds / bestUpserts).toFixed(3),
      applyProfileWritesVsBulkUpserts: +(apply.profileWrites / apply.seconds / bestUpserts).toFixed(3),
      eventsPerProfileWrite: apply.profileWrites > 0 ? +(apply.applied / apply.profileWrites).toFixed(2) : null,
    },
  };
}

/** Everything this run started goes, whatever happened. */
async function cleanUp({ rss, service, consumer, producer, admin, prefix, mongodb, mongoBase, dbName, up, infra }) {
  rss?.stop();
  if (service) await stopChild(service.child);
  await consumer.disconnect().catch(() => undefined);
  await producer.disconnect().catch(() => undefined);
  await deleteBenchTopics(admin, prefix, log);
  await dropBenchDatabases(mongodb, mongoBase, [dbName], log);
  if (up.started.kafka || up.started.mongo) await infra.down({}).catch(() => undefined);
}

export async function runEnrichmentBench(args) {
  const ctx = await enrichmentContext(args);
  const cleanUpRun = cleanUpOnce(() => cleanUp(ctx));
  let result;
  try {
    log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GiB; store ${ctx.up.mongoServer}`);
    log(`raw limit: native driver bulkWrite upserts of profile-sized documents (2 and 1 in flight) and findOne by _id, ${ctx.opts.DURATION}s each...`);
    const store = await rawStore(ctx);
    await startLoad(ctx);
    await startEnrichment(ctx);
    result = buildResult(ctx, store, await measureService(ctx));
  } finally {
    await cleanUpRun();
  }
  printReport(result, writeResult(ctx.root, 'enrichment', ctx.runId, result), ctx.serviceLog);
}

function printReport(result, file, serviceLog) {
  const { store } = result.raw;
  const { create, apply, latency, profileDocs, memory, totals } = result.enrichment;
  const { profiles, events } = result.settings;
  const row = (name, v) => `${name.padEnd(62)} ${String(v).padStart(14)}`;
  const svc = latency.serviceApplyPerBatch;
  const lag = latency.serviceEventLag;
  console.log(
    [
      '',
      `enrichment benchmark (${result.machine.cores} cores, ${result.machine.mongo}, 1 instance, 6 partitions, ${profiles} profiles, consumer session timeout ${result.settings.consumerSessionTimeoutMs / 1000} s)`,
      row(`raw: store bulkWrite upserts, ${store.docBytes} B docs (50/batch, 2 in flight), ops/s`, store.bulkUpsertsPerSec),
      row('raw: store bulkWrite upserts (50/batch, 1 in flight), ops/s', store.sequentialBulkUpsertsPerSec),
      row('raw: store findOne by _id (4 in flight), ops/s', store.pointReadsPerSec),
      row(`create: first event of each profile, events/s (${profiles})`, create.eventsPerSec),
      row(`apply: realistic mix, events/s (${events})`, apply.eventsPerSec),
      row('apply: profile documents written/s (service metric)', apply.profileWritesPerSec),
      row('apply: events per profile write / batches / conflicts', `${result.ratios.eventsPerProfileWrite} / ${apply.batches} / ${apply.conflicts}`),
      row('profile document size in the service db, avg / max bytes', `${profileDocs.avgBytes} / ${profileDocs.maxBytes}`),
      row(`latency at ${latency.rate} events/s: produce → change p50 / p99 ms`, `${latency.e2eP50Ms} / ${latency.e2eP99Ms}`),
      row(`service apply time per batch p50 / p99 ms (≤ bucket; ${svc.count} batches)`, `${svc.p50UpperBoundMs} / ${svc.p99UpperBoundMs}`),
      row('service apply time per batch, mean ms', svc.meanMs),
      row('service event lag (received → change produced) p50 / p99 ms (≤)', `${lag.p50UpperBoundMs} / ${lag.p99UpperBoundMs}`),
      row('enrichment RSS at the end / peak, MB', `${memory.rssMb} / ${memory.peakRssMb}`),
      row('dead letters / change messages / events produced', `${totals.deadLetters} / ${totals.changeMessages} / ${totals.eventsProduced}`),
      row('ratio: apply events/s ÷ raw bulk upserts/s (better of the two)', result.ratios.applyEventsVsBulkUpserts),
      row('ratio: apply profile writes/s ÷ raw bulk upserts/s (better)', result.ratios.applyProfileWritesVsBulkUpserts),
      `JSON: ${file}`,
      `service log: ${serviceLog}`,
      '',
    ].join('\n'),
  );
}
