// `npm run bench -- pipeline [--profiles 10000] [--stored-profiles N] [--events N | --duration S] [--rate R]
//                  [--timeout 600] [--connections 4] [--batch 100] [--raw-seconds 5] [--latency-seconds 20] [--warm]
//                  [--partitions N] [--latency-rate R]`
//
// The whole system on this machine, in one run: Kafka, the store, the five services (children
// from dist/, one instance each, production settings) and the load generator (this process).
//   raw            the limits of this machine measured first, in the same run: the collector alone
//                  (its own topics, nothing consuming: /v1/batch of 100, events/s acked), a kafkajs
//                  producer and a consumer alone (events.raw-sized records), and the store alone on
//                  profile-sized documents (enrichment's own mapping) over as many documents as the
//                  run has profiles: insertMany docs/s, findOne and replaceOne by _id (4 in flight)
//   warm-up        with --warm only: every person's first event (after a login on another device
//                  for 30 %) through the pipeline, drained, so the measured phases are returning
//                  visitors rather than new ones; its own rate is reported (mostly creations)
//   seeding        with --stored-profiles N (implies --warm): the warm-up's documents copied into
//                  the store until it holds N people's, then compacted (bench-pipeline-seed.mjs)
//   throughput     a realistic mix (page views, Product Viewed / Added, Order Completed, identify on
//                  login, merges of an anonymous visitor into the profile the same user has from
//                  another device, Email Link Clicked) over P people, interleaved, deterministic,
//                  through the collector's /v1/batch (keep-alive, a few connections), as fast as
//                  accepted or at `--rate`; events/s end to end = events acked ÷ (first send → the
//                  lag sample where every stage's consumer group, activation's last, has consumed
//                  everything; ±1 s); per stage messages consumed/s; every consumer group's lag each
//                  second; CPU seconds of each process over the phase and of the machine (bench-cpu.mjs);
//                  rows PostgreSQL read by sequential and index scans per collection (bench-store-tables.mjs)
//   latency        the same mix at 70 % of that rate, every 4th event a `Bench Ping` of a person not
//                  pinged before: POST → its `bench-latency` entry on segments.membership (a consumer
//                  of this process), p50/p99; and each stage's hop of it (bench-pipeline-hops.mjs)
//   memory         each service's resident memory, peak and at the end
// The topics get the services' default partition count (KAFKA_TOPIC_PARTITIONS) unless --partitions names
// one; the report says the count the topics have. Profiles are created through the pipeline, copied by --stored-profiles only. A run ends after `--timeout` s even
// if the pipeline has not drained (it reports what drained so far and exits 1). Prints a table, writes JSON
// to .mosaic/bench/pipeline-<runId>.json; deletes its topics, groups and databases on every way out.
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { cpuBetween, cpuSnapshot } from './bench-cpu.mjs';
import { LATENCY_SEGMENT } from './bench-pipeline-hops.mjs';
import { drained, lagSampler, lagSeries, sampleLag, stageResults, STAGES } from './bench-pipeline-lag.mjs';
import { latencyPhase } from './bench-pipeline-latency.mjs';
import { loadMix, sendLoad } from './bench-pipeline-load.mjs';
import { rawLimits } from './bench-pipeline-raw.mjs';
import { memoryOf, printReport } from './bench-pipeline-report.mjs';
import { seedStoredProfiles, seedingSummary } from './bench-pipeline-seed.mjs';
import { readStoreCounters, storeCountersBetween } from './bench-store-tables.mjs';
import { scrapeServices, workByService } from './bench-metrics.mjs';
import {
  adminApi,
  benchContext,
  benchLogFile,
  cleanUpOnce,
  createBenchSource,
  deleteBenchTopics,
  dropBenchDatabases,
  httpClient,
  numberOption,
  perSec,
  rssSampler,
  serviceEnv,
  sleep,
  startService,
  stopChild,
  writeResult,
} from './bench-util.mjs';

const log = (m) => console.error(`[bench pipeline] ${m}`);

const SERVICES = ['collector', 'identity', 'enrichment', 'segmentation', 'activation'];
/** The services behind the collector, whose Kafka batches and store commands the throughput phase counts. */
const STAGE_SERVICES = SERVICES.slice(1);
const SEGMENTS = [
  { key: LATENCY_SEGMENT, condition: { event: 'Bench Ping', within: { amount: 1, unit: 'days' } } },
  { key: 'bench-high-ltv', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 500 } },
  { key: 'bench-browsers', condition: { event: 'Product Viewed', aggregate: { fn: 'count', op: 'gte', value: 3 }, within: { amount: 7, unit: 'days' } } },
  { key: 'bench-email-clickers', condition: { event: 'Email Link Clicked', within: { amount: 30, unit: 'days' } } },
];

function pipelineOptions(argv) {
  const opt = (name, def) => numberOption(argv, name, def);
  const DURATION = opt('duration', 0);
  const PROFILES = Math.max(1, opt('profiles', 10_000));
  const STORED_PROFILES = opt('stored-profiles', 0);
  if (STORED_PROFILES > 0 && STORED_PROFILES < 2 * PROFILES) throw new Error('--stored-profiles must be at least twice --profiles');
  return {
    PROFILES,
    STORED_PROFILES,
    /** The raw store limits are measured over as many documents as the services' collections hold. */
    RAW_DOCUMENTS: Math.max(PROFILES, STORED_PROFILES),
    DURATION,
    EVENTS: opt('events', DURATION > 0 ? 0 : 3000),
    RATE: opt('rate', 0),
    TIMEOUT: opt('timeout', 600),
    CONNECTIONS: Math.max(1, opt('connections', 4)),
    BATCH: Math.max(1, Math.min(500, opt('batch', 100))),
    RAW_SECONDS: opt('raw-seconds', 5),
    LATENCY_SECONDS: opt('latency-seconds', 20),
    WARM: argv.includes('--warm') || STORED_PROFILES > 0,
    /** 0: the services' own default. */
    PARTITIONS: opt('partitions', 0),
    /** 0: 70 % of the throughput phase's rate; else this rate (to compare settings at one load). */
    LATENCY_RATE: opt('latency-rate', 0),
  };
}

/** What the steps share: options, the run's setup, the modules from dist/, clients, the services and what the tap saw. */
async function pipelineContext(argv) {
  const opts = pipelineOptions(argv);
  const ctx = await benchContext('pipeline', opts);
  const { root, require, runId, dbName, mongoBase } = ctx;
  const { MongoClient, BSON } = require('mongodb');
  return {
    ...ctx,
    BSON,
    autocannon: require('autocannon'),
    domain: require(join(root, 'dist', 'libs', 'enrichment', 'domain', 'src', 'index.js')),
    documents: require(join(root, 'dist', 'libs', 'enrichment', 'data-access', 'src', 'documents.js')),
    mongo: new MongoClient(`${mongoBase}/${dbName}`, { maxPoolSize: 16, socketTimeoutMS: 600_000 }),
    http: httpClient(opts.CONNECTIONS + 2),
    rawDb: `${dbName}_raw`,
    logFile: (service) => benchLogFile(root, `pipeline-${service}`, runId),
    serviceEnv: (extra = {}) =>
      serviceEnv(ctx.setup, {
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        ...(opts.PARTITIONS > 0 ? { KAFKA_TOPIC_PARTITIONS: String(opts.PARTITIONS) } : {}),
        ...extra,
      }),
    services: new Map(), // name -> { child, url, ... }
    rss: new Map(), // name -> rssSampler
    pings: { seen: new Map(), latencyEntries: 0 }, // ping messageId -> ms its entry was consumed
  };
}

/** How many partitions `topic` has. */
async function partitionsOf(admin, topic) {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0].partitions.length;
}

async function cleanUp(ctx) {
  const { services, rss, lag, consumer, http, admin, prefix, mongo, require, mongoBase, dbName, rawDb, up, infra } = ctx;
  await lag?.stop();
  for (const sampler of rss.values()) sampler.stop();
  await Promise.all([...services.values()].map((s) => stopChild(s.child)));
  await Promise.all([consumer, ctx.hopTap].map((c) => c?.disconnect().catch(() => undefined)));
  http.close();
  await deleteBenchTopics(admin, prefix, log);
  await mongo.close().catch(() => undefined);
  await dropBenchDatabases(require('mongodb'), mongoBase, [dbName, rawDb], log);
  if (up.started.kafka || up.started.mongo) await infra.down({}).catch(() => undefined);
}

/** The five services, the bench's segments, a source (its write key's authorization) and the tap on segments.membership. */
async function startPipeline(ctx) {
  const { root, infra, services, rss, token, consumer: tap, prefix, pings } = ctx;
  log('starting the five services...');
  for (const name of SERVICES) {
    const port = await infra.freePort();
    const extra = name === 'activation' ? { ACTIVATION_COLLECTOR_URL: services.get('collector').url } : {};
    services.set(name, await startService({ root, name, port, env: ctx.serviceEnv(extra), logFile: ctx.logFile(name) }));
  }
  for (const [name, s] of services) rss.set(name, rssSampler(s.child, 1000));
  const segmentation = adminApi(services.get('segmentation').url, token);
  for (const segment of SEGMENTS) {
    const r = await segmentation('POST', '/v1/segments', segment);
    if (r.status !== 201) throw new Error(`creating segment ${segment.key}: ${r.status} ${JSON.stringify(r.json)}`);
  }
  const { authorization } = await createBenchSource(adminApi(services.get('collector').url, token));
  await tap.connect();
  await tap.subscribe({ topic: `${prefix}segments.membership`, fromBeginning: true });
  await tap.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        const p = JSON.parse(m.value.toString()).payload;
        if (p.segmentKey !== LATENCY_SEGMENT || p.change !== 'entered') continue;
        pings.latencyEntries += 1;
        const id = p.reason?.messageId;
        if (id && !pings.seen.has(id)) pings.seen.set(id, now);
      }
    },
  });
  return authorization;
}

/** Polls the lag series until a row after the load finds every stage drained, or the timeout; fails when a service exits. */
async function waitDrained({ lag, services, until }, loadEndedAt) {
  let lastLog = Date.now();
  while (Date.now() < until) {
    await sleep(250);
    const last = lag.series.at(-1);
    if (last && last.t > loadEndedAt && drained(last)) return last;
    for (const [name, s] of services)
      if (s.child.exitCode !== null || s.child.signalCode !== null) throw new Error(`${name} exited: ${s.stderr()} (log: ${s.logFile})`);
    if (Date.now() - lastLog > 15_000 && last) {
      lastLog = Date.now();
      log(`  t=${last.s}s lag ${STAGES.map((st) => `${st.key} ${last.stages[st.key].lag}`).join(', ')}`);
    }
  }
  return undefined;
}

// ---- phase 0 (--warm): every person arrives --------------------------------------------------------
/** Every person's first event through the pipeline, drained, so the measured phases are returning visitors; returns what it took. */
async function warmPhase(ctx, authorization) {
  const { opts, mix } = ctx;
  const arrivals = mix.arrivals();
  log(`warm-up: ${arrivals.length} first events of ${opts.PROFILES} people (profiles created through the pipeline), as fast as acked...`);
  const t0 = Date.now();
  let sent = 0;
  const load = await sendLoad(ctx.http, {
    url: ctx.services.get('collector').url,
    authorization,
    build: (n) => arrivals.slice(sent, (sent += n)),
    batch: opts.BATCH,
    connections: opts.CONNECTIONS,
    rate: 0,
    events: arrivals.length,
    seconds: 0,
    until: ctx.until,
  });
  let row;
  for (let lastLog = Date.now(); Date.now() < ctx.until; await sleep(1000)) {
    row = await sampleLag(ctx.admin, ctx.prefix);
    if (drained(row)) break;
    if (Date.now() - lastLog > 15_000) {
      lastLog = Date.now();
      log(`  warm-up lag ${STAGES.map((st) => `${st.key} ${row.stages[st.key].lag}`).join(', ')}`);
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  if (!row || !drained(row)) throw new Error(`the warm-up did not drain before --timeout (${opts.TIMEOUT} s)`);
  log(`warm-up drained: ${load.acked} events in ${seconds.toFixed(1)} s (${perSec(load.acked, seconds)}/s end to end, mostly new profiles)`);
  return { summary: { events: load.acked, people: opts.PROFILES, seconds: +seconds.toFixed(1), eventsPerSec: perSec(load.acked, seconds) }, base: row };
}

// ---- phase 1: throughput -------------------------------------------------------------------------
async function throughputPhase(ctx, authorization, base) {
  const { opts, mix, lag, prefix } = ctx;
  const { EVENTS, DURATION, PROFILES, RATE, TIMEOUT, BATCH, CONNECTIONS } = opts;
  log(
    `throughput: ${EVENTS > 0 ? `${EVENTS} events` : `${DURATION} s`} over ${PROFILES} people, ${RATE > 0 ? `${RATE} events/s offered` : 'as fast as acked'}; timeout ${TIMEOUT} s`,
  );
  const metricsBefore = await scrapeServices(ctx.services, STAGE_SERVICES);
  const countsBefore = { ...mix.counts };
  const storeBefore = await readStoreCounters(ctx.infra, ctx.dbName);
  const cpuBefore = cpuSnapshot(ctx.services);
  const t0 = Date.now();
  lag.start(t0);
  const build = (n) => Array.from({ length: n }, () => mix.next());
  const load = await sendLoad(ctx.http, {
    url: ctx.services.get('collector').url,
    authorization,
    build,
    batch: BATCH,
    connections: CONNECTIONS,
    rate: RATE,
    events: EVENTS,
    seconds: DURATION,
    until: ctx.until,
  });
  log(`load sent: ${load.acked} events acked in ${load.seconds.toFixed(1)} s (${perSec(load.acked, load.seconds)}/s); waiting for the pipeline to drain...`);
  const drainedRow = await waitDrained(ctx, load.endedAt);
  const cpu = cpuBetween(cpuBefore, cpuSnapshot(ctx.services), load.acked);
  const { tables, statements } = storeCountersBetween(storeBefore, await readStoreCounters(ctx.infra, ctx.dbName)); // PostgreSQL's own counters
  const endRow = drainedRow ?? lag.series.at(-1);
  const e2eSeconds = ((drainedRow?.t ?? Date.now()) - t0) / 1000;
  const stages = stageResults({ series: lag.series, endRow, loadEndedAt: load.endedAt, t0, prefix, base });
  const work = workByService(STAGE_SERVICES, metricsBefore, await scrapeServices(ctx.services, STAGE_SERVICES));
  const throughput = {
    drained: Boolean(drainedRow),
    load: {
      ...load,
      ackedPerSec: perSec(load.acked, load.seconds),
      mix: Object.fromEntries(Object.entries(mix.counts).map(([k, v]) => [k, v - countsBefore[k]])),
    },
    endToEnd: {
      events: load.acked,
      seconds: +e2eSeconds.toFixed(1),
      eventsPerSec: drainedRow ? perSec(load.acked, e2eSeconds) : null,
      eventsThroughActivationSoFar: stages.identity.messagesConsumed,
    },
    stages,
    work,
    cpu,
    tables,
    statements,
  };
  if (!drainedRow) log(`timeout: not drained after ${TIMEOUT} s; reporting what drained so far`);
  else log(`drained: ${throughput.endToEnd.eventsPerSec} events/s end to end (${load.acked} events in ${e2eSeconds.toFixed(1)} s)`);
  return throughput;
}

/** The phases against the running pipeline; the exit code (1: not drained, or pings missing). */
async function measurePipeline(ctx, result) {
  const authorization = await startPipeline(ctx);
  result.settings.partitions = await partitionsOf(ctx.admin, `${ctx.prefix}events.raw`);
  ctx.mix = loadMix(ctx.runId, ctx.opts.PROFILES, 42);
  ctx.until = Date.now() + ctx.opts.TIMEOUT * 1000;
  let base;
  if (ctx.opts.WARM) {
    const warm = await warmPhase(ctx, authorization);
    result.warm = warm.summary;
    base = warm.base;
  }
  if (ctx.opts.STORED_PROFILES > 0) {
    const started = Date.now();
    result.seed = await seedStoredProfiles(ctx, log);
    ctx.until += Date.now() - started; // the copying does not count against --timeout
  }
  result.throughput = await throughputPhase(ctx, authorization, base);
  let exitCode = result.throughput.drained ? 0 : 1;
  if (result.throughput.drained && ctx.until - Date.now() > 10_000) {
    result.latency = await latencyPhase(ctx, authorization, result.throughput.endToEnd.eventsPerSec, STAGE_SERVICES);
    if (result.latency.received < result.latency.pings) exitCode = 1;
  } else {
    result.latency = { skipped: result.throughput.drained ? 'too little time left before --timeout' : 'the throughput phase did not drain' };
  }
  await ctx.lag.stop();
  result.memory = memoryOf(ctx.rss, SERVICES);
  result.lagSeries = lagSeries(ctx.lag.series);
  return exitCode;
}

export async function runPipelineBench(argv) {
  const ctx = await pipelineContext(argv);
  ctx.lag = lagSampler(ctx.admin, ctx.prefix);
  const cleanUpRun = cleanUpOnce(() => cleanUp(ctx));
  const { opts, up, runId } = ctx;
  const result = {
    benchmark: 'pipeline',
    runId,
    at: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, mongo: up.mongoServer },
    settings: {
      profiles: opts.PROFILES,
      events: opts.EVENTS || null,
      durationSec: opts.DURATION || null,
      rate: opts.RATE || 'as fast as acked',
      timeoutSec: opts.TIMEOUT,
      connections: opts.CONNECTIONS,
      batch: opts.BATCH,
      rawSeconds: opts.RAW_SECONDS,
      latencySeconds: opts.LATENCY_SECONDS,
      latencyRate: opts.LATENCY_RATE || '70 % of the sustained rate',
      partitions: null, // read from the topics once the services created them
      instances: 1,
      logLevel: process.env.LOG_LEVEL ?? 'warn',
      storedProfiles: opts.STORED_PROFILES || null,
      seeding: seedingSummary(opts),
    },
  };
  let exitCode = 0;
  try {
    log(`machine: ${cpus().length} cores, ${result.machine.memGiB} GiB; store ${up.mongoServer}; run ${runId}`);
    await ctx.admin.connect();
    await ctx.mongo.connect();
    result.raw = await rawLimits(ctx, log);
    exitCode = await measurePipeline(ctx, result);
  } finally {
    await ctx.lag.stop();
    await cleanUpRun();
  }
  printReport(result, writeResult(ctx.root, 'pipeline', runId, result), ctx.logFile('<service>'));
  return exitCode;
}
