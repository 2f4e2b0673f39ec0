// `npm run bench -- segmentation [--profiles 2000] [--changes 6000] [--duration 10] [--rate 20]
//                                  [--timers 200] [--backfill-profiles 20000] [--backfill-page 500]`
//
// Measures the segmentation service with 50 active segments (thresholds on computed
// attributes, traits, rolling event windows with filters, sums over 30 days, "added to cart and
// no order within N hours" sequences, references and an exclusivity group), next to the raw
// limits measured in the same run:
//   raw.evaluate   the engine alone (the pure domain, in this process): profile changes applied
//                  per second over the same 50 segments — the CPU ceiling of evaluation
//   raw.store      the native driver on the same server: replaceOne upserts of segmentation-sized
//                  documents by bulkWrite (batches of 50, 1 in flight) and a full scan (docs/s)
//   evaluate       N profiles.changes over P profiles produced as fast as possible; changes
//                  evaluated per second (the service's mosaic_segmentation_changes_total)
//   latency        changes at a fixed rate (default: half the evaluate throughput, so it measures
//                  latency, not queueing) that each flip a segment: produce → segments.membership
//                  consumed, p50/p99 ms
//   timers         T profiles whose "no order within 2 hours" deadline falls 10 s after their changes
//                  were all applied, spread over 10 s: how late the entry is published after the
//                  deadline (message `at` and consumed), p50/p99/max
//   backfill       B generated profiles stored, a new segment created: profiles re-evaluated per
//                  second until the backfill reports done (unthrottled), vs the raw scan rate;
//                  meanwhile 20 live changes/s for 10 s (from 3 s in): change → membership p50/p99;
//   reads          then the sizes of every segment (GET /v1/segments, kept counts) against one
//                  countDocuments per segment (what sizes cost when counted), and a preview;
//                  and the engine's part alone (parse, evaluate, serialise; no store) over
//                  `--engine-backfill-profiles` (1,000,000) generated profiles
// The service runs as a child process (dist/), one instance. Prints a table, writes JSON to
// .mosaic/bench/.
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { metricValue, scrapeMetrics } from './bench-metrics.mjs';
import { backfillDocument, cartChange, changeSource, flipChange, HOUR, segments } from './bench-segmentation-load.mjs';
import { readsPhase } from './bench-segmentation-reads.mjs';
import { rawBackfillEngine, rawEvaluate, rawStore } from './bench-segmentation-raw.mjs';
import {
  adminApi,
  benchContext,
  benchLogFile,
  cleanUpOnce,
  deleteBenchTopics,
  dropBenchDatabases,
  numberOption,
  oneDecimalRate as rate,
  pct,
  prng,
  rssSampler,
  serviceEnv,
  sleep,
  startService,
  stopChild,
  writeResult,
} from './bench-util.mjs';

const log = (m) => console.error(`[bench segmentation] ${m}`);

async function segmentationContext(argv) {
  const opt = (name, def) => numberOption(argv, name, def);
  const opts = {
    PROFILES: opt('profiles', 2000),
    CHANGES: opt('changes', 6000),
    DURATION: opt('duration', 10),
    RATE_OPTION: opt('rate', 0),
    TIMERS: opt('timers', 200),
    BACKFILL: opt('backfill-profiles', 20_000),
    BACKFILL_PAGE: opt('backfill-page', 500),
    ENGINE_BACKFILL: opt('engine-backfill-profiles', 1_000_000),
  };
  const ctx = await benchContext('segmentation', opts);
  const { root, require, runId, mongoBase, dbName } = ctx;
  const { MongoClient } = require('mongodb');
  return {
    ...ctx,
    domain: require(join(root, 'dist', 'libs', 'segmentation', 'domain', 'src', 'index.js')),
    defs: segments(),
    ids: Array.from({ length: opts.PROFILES }, (_, i) => `p-${runId}-${i}`),
    mongo: new MongoClient(`${mongoBase}/${dbName}`, { maxPoolSize: 16, socketTimeoutMS: 600_000 }),
    arrivals: new Map(), // profileId|segmentKey|profileVersion -> [ms consumed, payload]
    serviceLog: benchLogFile(root, 'segmentation', runId),
    service: undefined,
    rss: undefined,
    api: undefined,
  };
}

/** The raw limits, before the service starts. */
async function rawLimits(ctx) {
  log('raw: the engine alone over 50 segments');
  const evaluate = await rawEvaluate(ctx);
  log(`raw evaluate: ${evaluate.changesPerSec} changes/s (state ~${evaluate.stateBytes} B)`);
  log(`raw: the engine's part of a backfill over ${ctx.opts.ENGINE_BACKFILL} generated profiles`);
  const backfillEngine = rawBackfillEngine(ctx);
  log(`raw backfill (engine only): ${backfillEngine.profilesPerSec} profiles/s over ${ctx.opts.ENGINE_BACKFILL} (${backfillEngine.changed} changed)`);
  log('raw: the store alone');
  await ctx.mongo.connect();
  const store = await rawStore(ctx, evaluate.stateBytes);
  log(`raw store: ${store.upsertsPerSec} upserts/s, scan ${store.scanDocsPerSec} docs/s`);
  return { evaluate, backfillEngine, store };
}

/** Starts the service (backfill unthrottled, cluster job off) with the 50 segments, and the tap on segments.membership. */
async function startSegmentation(ctx) {
  const port = await ctx.infra.freePort();
  const env = serviceEnv(ctx.setup, {
    SEGMENTATION_BACKFILL_RATE: '0',
    SEGMENTATION_BACKFILL_PAGE: String(ctx.opts.BACKFILL_PAGE),
    SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0',
  });
  ctx.service = await startService({ root: ctx.root, name: 'segmentation', port, env, logFile: ctx.serviceLog });
  ctx.rss = rssSampler(ctx.service.child);
  ctx.api = adminApi(ctx.service.url, ctx.token);
  for (const d of ctx.defs) {
    const r = await ctx.api('POST', '/v1/segments', d);
    if (r.status !== 201) throw new Error(`creating ${d.key}: ${r.status} ${JSON.stringify(r.json)}`);
  }
  await ctx.producer.connect();
  await ctx.consumer.connect();
  await ctx.consumer.subscribe({ topic: `${ctx.prefix}segments.membership`, fromBeginning: true });
  await ctx.consumer.run({
    eachMessage: async ({ message }) => {
      const p = JSON.parse(message.value.toString()).payload;
      const key = `${p.profileId}|${p.segmentKey}|${p.profileVersion}`;
      if (!ctx.arrivals.has(key)) ctx.arrivals.set(key, [Date.now(), p]);
    },
  });
}

function checkRunning({ service }) {
  if (service.child.exitCode !== null) throw new Error(`segmentation exited: ${service.stderr()}`);
}

async function produce({ contracts, producer, prefix }, changes) {
  for (let i = 0; i < changes.length; i += 500) {
    const chunk = changes.slice(i, i + 500).map((c) => {
      const enc = contracts.encodeMessage(contracts.Schemas.profileChange, c, {
        producer: 'bench',
        messageId: `chg:${c.profileId}:${c.trigger.messageId}`,
        correlationId: c.trigger.messageId,
      });
      return { key: c.profileId, value: enc.value, headers: enc.headers };
    });
    await producer.send({ topic: `${prefix}profiles.changes`, acks: -1, messages: chunk });
  }
}

const changesTotal = async ({ service }) => metricValue(await scrapeMetrics(service.url), 'mosaic_segmentation_changes_total');

/** Waits until the service counted `target` changes; fails after 120 s without progress. */
async function waitChanges(ctx, target, what) {
  let last = -1;
  let lastAt = Date.now();
  for (;;) {
    const n = await changesTotal(ctx);
    if (n >= target) return;
    if (n !== last) [last, lastAt] = [n, Date.now()];
    if (Date.now() - lastAt > 120_000) throw new Error(`${what}: stuck at ${n}/${target} changes (log: ${ctx.serviceLog})`);
    checkRunning(ctx);
    await sleep(100);
  }
}

async function waitArrivals({ arrivals }, keys) {
  const deadline = Date.now() + 120_000;
  while (!keys.every((k) => arrivals.has(k)) && Date.now() < deadline) await sleep(50);
}

// ---- evaluate: throughput --------------------------------------------------------------------
async function evaluatePhase(ctx) {
  const { ids, opts } = ctx;
  log(`evaluate: ${opts.CHANGES} changes over ${opts.PROFILES} profiles`);
  const next = changeSource(2, ids);
  const warm = ids.map((id) => next(id));
  await produce(ctx, warm);
  await waitChanges(ctx, warm.length, 'warm-up (one change per profile)');
  const batch = Array.from({ length: opts.CHANGES }, (_, i) => next(ids[(i * 7919) % ids.length]));
  const before = await changesTotal(ctx);
  const t0 = Date.now();
  await produce(ctx, batch);
  await waitChanges(ctx, before + opts.CHANGES, 'evaluate');
  const seconds = (Date.now() - t0) / 1000;
  const evaluate = {
    changes: opts.CHANGES,
    profiles: opts.PROFILES,
    seconds,
    changesPerSec: rate(opts.CHANGES, seconds),
    membershipMessages: ctx.arrivals.size,
  };
  log(`evaluate: ${evaluate.changesPerSec} changes/s`);
  return evaluate;
}

// ---- latency: changes that flip flag-on ---------------------------------------------------------
async function latencyPhase(ctx, RATE, { prefix = 'flip', seconds = ctx.opts.DURATION } = {}) {
  const { runId, arrivals } = ctx;
  log(`latency (${prefix}): ${RATE} flips/s for ${seconds} s`);
  const flipIds = Array.from({ length: 50 }, (_, i) => `${prefix}-${runId}-${i}`);
  const flipState = new Map();
  const sentAt = new Map();
  const flips = [];
  const n = Math.max(1, Math.round(RATE * seconds));
  const started = Date.now();
  for (let i = 0; i < n; i += 1) {
    const { change, key } = flipChange(flipState, flipIds[i % flipIds.length], `${prefix}-${runId}-${i}`);
    sentAt.set(key, Date.now());
    flips.push(key);
    await produce(ctx, [change]);
    const wait = started + ((i + 1) * 1000) / RATE - Date.now();
    if (wait > 0) await sleep(wait);
  }
  await waitArrivals(ctx, flips);
  const latencies = flips.filter((k) => arrivals.has(k)).map((k) => arrivals.get(k)[0] - sentAt.get(k));
  const latency = { rate: RATE, flips: n, received: latencies.length, p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99) };
  log(`latency (${prefix}): p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms (${latencies.length}/${n})`);
  return latency;
}

// ---- timers ----------------------------------------------------------------------------------------
async function timersPhase(ctx, changesPerSec) {
  const { runId, opts, arrivals } = ctx;
  const { TIMERS } = opts;
  const cartIds = Array.from({ length: TIMERS }, (_, i) => `cart-${runId}-${i}`);
  // deadlines after the carts' changes are applied: 10 s per 100 carts at the measured rate, plus 10 s
  const lead = 10_000 + Math.ceil((TIMERS / Math.max(1, changesPerSec)) * 1000) * 2;
  log(`timers: ${TIMERS} carts due in ${lead / 1000}–${lead / 1000 + 10} s`);
  const now = Date.now();
  const due = new Map();
  const beforeCarts = await changesTotal(ctx);
  const carts = cartIds.map((id, i) => {
    const addedAt = now - 2 * HOUR + lead + Math.floor((i / TIMERS) * 10_000);
    due.set(`${id}|cart-0|1`, addedAt + 2 * HOUR);
    return cartChange(id, `cart-${runId}-${i}`, addedAt);
  });
  await produce(ctx, carts);
  await waitChanges(ctx, beforeCarts + TIMERS, 'timers (carts applied)');
  const appliedBeforeDue = Date.now() < now + lead;
  await waitArrivals(ctx, [...due.keys()]);
  const lateAt = [...due].filter(([k]) => arrivals.has(k)).map(([k, d]) => Date.parse(arrivals.get(k)[1].at) - d);
  const lateConsumed = [...due].filter(([k]) => arrivals.has(k)).map(([k, d]) => arrivals.get(k)[0] - d);
  const timers = {
    timers: TIMERS,
    fired: lateAt.length,
    appliedBeforeFirstDeadline: appliedBeforeDue,
    latenessMs: { p50: pct(lateAt, 50), p99: pct(lateAt, 99), max: Math.max(...lateAt) },
    consumedAfterDueMs: { p50: pct(lateConsumed, 50), p99: pct(lateConsumed, 99) },
  };
  log(`timers: lateness p50 ${timers.latenessMs.p50} ms, p99 ${timers.latenessMs.p99} ms`);
  return timers;
}

// ---- backfill ----------------------------------------------------------------------------------------
/** Stores `BACKFILL` generated profiles; their insert rate. */
async function storeBackfillProfiles({ mongo, dbName, runId, domain, opts }) {
  const { BACKFILL } = opts;
  log(`backfill: generating ${BACKFILL} profiles`);
  const col = mongo.db(dbName).collection('segmentation_profiles');
  const gen = prng(3);
  const tg = Date.now();
  for (let i = 0; i < BACKFILL; i += 1000) {
    const docs = Array.from({ length: Math.min(1000, BACKFILL - i) }, (_, j) =>
      backfillDocument(domain, `bf-${runId}-${String(i + j).padStart(8, '0')}`, (i + j) % 6, gen, randomUUID()),
    );
    await col.insertMany(docs, { ordered: false });
    if ((i / 1000) % 50 === 49) log(`  ${i + docs.length} stored (${rate(i + docs.length, (Date.now() - tg) / 1000)}/s)`);
  }
  return { profiles: BACKFILL, insertsPerSec: rate(BACKFILL, (Date.now() - tg) / 1000) };
}

/** Creates a segment over the stored profiles and waits for its backfill to end. */
async function backfillPhase(ctx) {
  const tb = Date.now();
  const created = await ctx.api('POST', '/v1/segments', { key: 'bf-ltv-900', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 900 } });
  if (created.status !== 201) throw new Error(`creating the backfill segment: ${created.status}`);
  let progress;
  for (;;) {
    progress = (await ctx.api('GET', '/v1/segments/bf-ltv-900')).json.backfill;
    if (progress?.status === 'done' || progress?.status === 'failed') break;
    checkRunning(ctx);
    await sleep(1000);
  }
  const bfSeconds = (Date.now() - tb) / 1000;
  const backfill = {
    profiles: progress.processed,
    status: progress.status,
    seconds: bfSeconds,
    profilesPerSec: rate(progress.processed, bfSeconds),
    changed: progress.changed,
    published: progress.published,
  };
  log(`backfill: ${backfill.profilesPerSec} profiles/s (${progress.processed} in ${bfSeconds} s, ${progress.changed} changed)`);
  return backfill;
}

async function measureService(ctx, results) {
  await startSegmentation(ctx);
  results.evaluate = await evaluatePhase(ctx);
  const RATE = ctx.opts.RATE_OPTION > 0 ? ctx.opts.RATE_OPTION : Math.max(1, Math.round(results.evaluate.changesPerSec / 2));
  results.latency = await latencyPhase(ctx, RATE);
  results.timers = await timersPhase(ctx, results.evaluate.changesPerSec);
  results.backfillGeneration = await storeBackfillProfiles(ctx);
  // live changes while the backfill runs: 20 flips/s from 3 s after it starts, for 10 s
  const [backfill, duringBackfill] = await Promise.all([backfillPhase(ctx), sleep(3000).then(() => latencyPhase(ctx, 20, { prefix: 'flipbf', seconds: 10 }))]);
  results.backfill = { ...backfill, liveLatency: duringBackfill };
  results.reads = await readsPhase(ctx);
  results.rssPeakMb = ctx.rss.peakMb;
}

async function cleanUp({ rss, consumer, producer, service, admin, prefix, mongo, require, mongoBase, dbName }) {
  rss?.stop();
  await consumer.disconnect().catch(() => undefined);
  await producer.disconnect().catch(() => undefined);
  if (service) await stopChild(service.child);
  await deleteBenchTopics(admin, prefix, log);
  await mongo.close().catch(() => undefined);
  await dropBenchDatabases(require('mongodb'), mongoBase, [dbName], log);
}

export async function runSegmentationBench(argv) {
  const ctx = await segmentationContext(argv);
  const results = { machine: { cpus: cpus().length, memGb: Math.round(totalmem() / 2 ** 30) } };
  const cleanUpRun = cleanUpOnce(() => cleanUp(ctx));
  try {
    results.raw = await rawLimits(ctx);
    await measureService(ctx, results);
  } finally {
    await cleanUpRun();
  }
  printReport(results);
  log(`results: ${writeResult(ctx.root, 'segmentation', ctx.runId, results)}`);
}

function printReport(r) {
  const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : 'n/a');
  const table = [
    ['measure', 'result', 'raw limit (same run)', 'ratio'],
    [
      'evaluations (changes/s, 50 segments)',
      `${r.evaluate.changesPerSec}`,
      `engine alone ${r.raw.evaluate.changesPerSec}/s; store ${r.raw.store.upsertsPerSec} upserts/s`,
      `${ratio(r.evaluate.changesPerSec, r.raw.evaluate.changesPerSec)} / ${ratio(r.evaluate.changesPerSec, r.raw.store.upsertsPerSec)}`,
    ],
    [`change → membership at ${r.latency.rate}/s`, `p50 ${r.latency.p50Ms} ms, p99 ${r.latency.p99Ms} ms`, '', ''],
    [
      'timer lateness (at − due)',
      `p50 ${r.timers.latenessMs.p50} ms, p99 ${r.timers.latenessMs.p99} ms, max ${r.timers.latenessMs.max} ms`,
      `consumed − due p50 ${r.timers.consumedAfterDueMs.p50} ms`,
      '',
    ],
    [
      `backfill (${r.backfill.profiles} stored profiles)`,
      `${r.backfill.profilesPerSec} profiles/s`,
      `scan ${r.raw.store.scanDocsPerSec} docs/s`,
      ratio(r.backfill.profilesPerSec, r.raw.store.scanDocsPerSec),
    ],
    [
      `change → membership during the backfill, ${r.backfill.liveLatency.rate}/s`,
      `p50 ${r.backfill.liveLatency.p50Ms} ms, p99 ${r.backfill.liveLatency.p99Ms} ms`,
      `backfill took ${r.backfill.seconds} s`,
      '',
    ],
    [`backfill, engine only (${r.raw.backfillEngine.profiles} generated profiles)`, `${r.raw.backfillEngine.profilesPerSec} profiles/s`, '', ''],
    [
      `sizes of all ${r.reads.segments} segments (GET /v1/segments), over ${r.backfill.profiles} profiles`,
      `p50 ${r.reads.listMs.p50} ms, max ${r.reads.listMs.max} ms`,
      `counted (one countDocuments per segment): ${r.reads.countAllMs} ms; sizes that differ from the count: ${r.reads.sizesDiffering.length}`,
      '',
    ],
    ['preview of an unsaved definition (default maxProfiles)', `p50 ${r.reads.previewMs.p50} ms, max ${r.reads.previewMs.max} ms`, '', ''],
    [
      `a timer round's query (one minute by timerSlot), over ${r.backfill.profiles} profiles`,
      `p50 ${r.reads.timerRoundMs.slot.p50} ms, max ${r.reads.timerRoundMs.slot.max} ms`,
      `the range over every profile (every round before; a sweep now): p50 ${r.reads.timerRoundMs.sweep.p50} ms`,
      '',
    ],
  ];
  console.log(table.map((row) => `| ${row.join(' | ')} |`).join('\n'));
  console.log(`service RSS peak ${r.rssPeakMb} MB; membership messages in the evaluate phase ${r.evaluate.membershipMessages}`);
}
