// `npm run bench -- segmentation [--profiles 2000] [--changes 6000] [--duration 10] [--rate 20]
//                                  [--timers 200] [--backfill-profiles 20000]`
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
//                  and the engine's part alone (parse, evaluate, serialise; no store) over
//                  `--engine-backfill-profiles` (1,000,000) generated profiles
// The service runs as a child process (dist/), one instance. Prints a table, writes JSON to
// .mosaic/bench/.
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchSetup, numberOption, prng, rssMb, stopChild, timedOps, spawnOwned } from './bench-util.mjs';

const log = (m) => console.error(`[bench segmentation] ${m}`);
const HOUR = 3_600_000;
const DAY = 86_400_000;
const CATEGORIES = ['coffee machines', 'grinders', 'coffee beans', 'mugs', 'accessories'];


/** The 50 segments. */
function segments() {
  const out = [];
  for (let i = 1; i <= 10; i += 1) out.push({ key: `ltv-${i * 100}`, condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: i * 100 } });
  const plans = ['free', 'pro', 'team', 'enterprise', 'trial'];
  for (let i = 0; i < 10; i += 1) out.push({ key: `trait-${i}`, condition: i < 5 ? { trait: 'plan', op: 'equals', value: plans[i] } : { trait: 'country', op: 'in', value: [['US', 'CA'], ['DE', 'AT'], ['FR'], ['GB', 'IE'], ['JP']][i - 5] } });
  for (let i = 0; i < 15; i += 1) {
    out.push({
      key: `views-${i}`,
      condition: { event: 'Product Viewed', where: [{ property: 'category', op: 'equals', value: CATEGORIES[i % 5] }, { property: 'price', op: 'gte', value: (i % 3) * 100 }], aggregate: { fn: 'count', op: 'gte', value: 1 + (i % 4) }, within: { amount: 1 + (i % 7), unit: 'days' } },
    });
  }
  for (let i = 0; i < 5; i += 1) out.push({ key: `spend-${i}`, condition: { event: 'Order Completed', aggregate: { fn: 'sum', property: 'total', op: 'gt', value: 100 * (i + 1) }, within: { amount: 30, unit: 'days' } } });
  for (let i = 0; i < 5; i += 1) out.push({ key: `cart-${i}`, condition: { sequence: { first: { event: 'Product Added' }, thenNot: { event: 'Order Completed' }, within: { amount: i + 2, unit: 'hours' } } } });
  out.push({ key: 'tier-gold', priority: 3, exclusivityGroup: 'tier', condition: { segment: 'ltv-500' } });
  out.push({ key: 'tier-silver', priority: 2, exclusivityGroup: 'tier', condition: { segment: 'ltv-200' } });
  out.push({ key: 'tier-bronze', priority: 1, exclusivityGroup: 'tier', condition: { segment: 'ltv-100' } });
  out.push({ key: 'premium-coffee', condition: { all: [{ segment: 'views-0' }, { attribute: 'priceTier', op: 'equals', value: 'premium' }] } });
  out.push({ key: 'flag-on', condition: { trait: 'benchFlag', op: 'equals', value: true } });
  return out;
}

/** A stream of profile changes over `ids` (what enrichment produces), deterministic. */
function changeSource(seed, ids) {
  const rnd = prng(seed);
  const state = new Map(ids.map((id) => [id, { version: 0, orders: 0, ltv: 0, plan: 'free', country: 'US' }]));
  let n = 0;
  return (id, now = Date.now()) => {
    const s = state.get(id);
    s.version += 1;
    n += 1;
    const r = rnd();
    let trigger;
    let changed = [];
    if (r < 0.6) {
      const cat = CATEGORIES[Math.floor(rnd() * 5)];
      trigger = { event: 'Product Viewed', properties: { category: cat, price: Math.round(rnd() * 900) } };
      changed = ['computed.productViews'];
    } else if (r < 0.75) {
      trigger = { event: 'Product Added', properties: { product_id: 'x', price: 100 } };
      changed = ['computed.cart'];
    } else if (r < 0.87) {
      const total = Math.round(rnd() * 300);
      s.orders += 1;
      s.ltv += total;
      trigger = { event: 'Order Completed', properties: { total } };
      changed = ['computed.orders'];
    } else {
      s.plan = ['free', 'pro', 'team', 'enterprise', 'trial'][Math.floor(rnd() * 5)];
      s.country = ['US', 'DE', 'FR', 'GB', 'JP'][Math.floor(rnd() * 5)];
      trigger = { eventType: 'identify' };
      changed = ['traits.plan', 'traits.country'];
    }
    const at = new Date(now - Math.floor(rnd() * DAY)).toISOString();
    return {
      profileId: id,
      version: s.version,
      changed,
      profile: { identifiers: [{ type: 'userId', value: `u-${id}` }], traits: { plan: s.plan, country: s.country }, computed: { orders: { count: s.orders, lifetimeValue: s.ltv }, priceTier: s.ltv > 400 ? 'premium' : 'mid' }, membershipVersion: 0 },
      trigger: { messageId: `bench-${seed}-${n}`, kind: 'event', eventType: trigger.eventType ?? 'track', ...(trigger.event ? { event: trigger.event, properties: trigger.properties } : {}), timestamp: at },
      at: new Date(now).toISOString(),
    };
  };
}

const pct = (values, p) => {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const rate = (ops, seconds) => Math.round((ops / seconds) * 10) / 10;

export async function runSegmentationBench(argv) {
  const opt = (name, def) => numberOption(argv, name, def);
  const PROFILES = opt('profiles', 2000);
  const CHANGES = opt('changes', 6000);
  const DURATION = opt('duration', 10);
  const RATE_OPTION = opt('rate', 0);
  const TIMERS = opt('timers', 200);
  const BACKFILL = opt('backfill-profiles', 20_000);
  const ENGINE_BACKFILL = opt('engine-backfill-profiles', 1_000_000);

  const { root, require, infra, brokers, runId, prefix, dbName, mongoBase, token, kafka: benchKafka } = await benchSetup('segmentation');
  const { Partitioners } = require('kafkajs');
  const { MongoClient } = require('mongodb');
  const contracts = require(join(root, 'dist', 'libs', 'contracts', 'src', 'index.js'));
  const domain = require(join(root, 'dist', 'libs', 'segmentation', 'domain', 'src', 'index.js'));
  const defs = segments();
  const ids = Array.from({ length: PROFILES }, (_, i) => `p-${runId}-${i}`);

  // ---- raw.evaluate: the engine alone ----------------------------------------------------------
  log('raw: the engine alone over 50 segments');
  const plan = domain.planSegments(defs.map((d) => ({ key: d.key, version: 1, definition: d })));
  const rawEval = await (async () => {
    const next = changeSource(1, ids);
    const states = new Map();
    const { ops, seconds } = await timedOps(1, Math.min(DURATION, 5), async (k) => {
      for (let j = 0; j < 200; j += 1) {
        const id = ids[(k * 200 + j) % ids.length];
        const c = next(id);
        states.set(id, domain.applyChange(states.get(id) ?? domain.emptyState(id), c, plan, Date.now()).state);
      }
      await new Promise((r) => setImmediate(r));
      return 200;
    });
    const sample = JSON.stringify(states.values().next().value).length;
    return { changesPerSec: rate(ops, seconds), stateBytes: sample };
  })();
  log(`raw evaluate: ${rawEval.changesPerSec} changes/s (state ~${rawEval.stateBytes} B)`);

  // ---- raw.backfill: the engine's part of a backfill over generated profiles, no store --------------
  log(`raw: the engine's part of a backfill over ${ENGINE_BACKFILL} generated profiles`);
  const rawBackfill = (() => {
    const gen = prng(4);
    const seg = { key: 'bf-ltv-900', version: 1, definition: { key: 'bf-ltv-900', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 900 } } };
    const bfPlan = domain.planSegments([...defs.map((d) => ({ key: d.key, version: 1, definition: d })), seg]);
    const keys = new Set([seg.key]);
    const now = Date.now();
    let changed = 0;
    const t = Date.now();
    for (let i = 0; i < ENGINE_BACKFILL; i += 1) {
      const id = `g-${i}`;
      // as the store holds it: JSON text, parsed, evaluated, serialised again when changed
      const text = JSON.stringify({ ...domain.emptyState(id), sourceVersion: 1, profile: { identifiers: [{ type: 'userId', value: `u-${i}` }], traits: { plan: 'pro' }, computed: { orders: { count: 1, lifetimeValue: Math.round(gen() * 1000) } } } });
      const r = domain.applyDefinitions(JSON.parse(text), bfPlan, keys, now);
      if (r.changed) {
        changed += 1;
        JSON.stringify(r.state);
      }
    }
    const seconds = (Date.now() - t) / 1000;
    return { profiles: ENGINE_BACKFILL, seconds, profilesPerSec: rate(ENGINE_BACKFILL, seconds), changed };
  })();
  log(`raw backfill (engine only): ${rawBackfill.profilesPerSec} profiles/s over ${ENGINE_BACKFILL} (${rawBackfill.changed} changed)`);

  // ---- raw.store ------------------------------------------------------------------------------------
  log('raw: the store alone');
  const mongo = new MongoClient(`${mongoBase}/${dbName}`, { maxPoolSize: 16, socketTimeoutMS: 600_000 });
  await mongo.connect();
  const rawStore = await (async () => {
    const col = mongo.db(dbName).collection('raw_segment_profiles');
    const doc = (i, k) => ({ _id: `r-${i}`, partition: i % 6, version: k, writeId: randomUUID(), state: 'x'.repeat(rawEval.stateBytes), segments: ['ltv-100', 'views-1'], timerAt: null, outbox: null, updatedAt: new Date() });
    const N = Math.min(PROFILES, 5000);
    for (let i = 0; i < N; i += 500) await col.insertMany(Array.from({ length: Math.min(500, N - i) }, (_, j) => doc(i + j, 0)));
    const upserts = await timedOps(1, DURATION, async (k) => {
      const ops = Array.from({ length: 50 }, (_, j) => {
        const { _id, ...replacement } = doc((k * 50 + j) % N, k);
        return { replaceOne: { filter: { _id }, replacement, upsert: true } };
      });
      await col.bulkWrite(ops, { ordered: false });
      return 50;
    });
    const t = Date.now();
    let scanned = 0;
    for await (const _ of col.find({}).batchSize(1000)) scanned += 1;
    const scan = rate(scanned, (Date.now() - t) / 1000);
    await col.drop().catch(() => undefined);
    return { upsertsPerSec: rate(upserts.ops, upserts.seconds), scanDocsPerSec: scan };
  })();
  log(`raw store: ${rawStore.upsertsPerSec} upserts/s, scan ${rawStore.scanDocsPerSec} docs/s`);

  // ---- the service --------------------------------------------------------------------------------
  const port = await infra.freePort();
  const serviceEnv = {
    KAFKA_BROKERS: brokers.join(','),
    MONGODB_URI: `${mongoBase}/${dbName}`,
    MOSAIC_TOPIC_PREFIX: prefix,
    MOSAIC_ADMIN_TOKEN: token,
    MOSAIC_HTTP_HOST: '127.0.0.1',
    SEGMENTATION_PORT: String(port),
    KAFKA_TOPIC_PARTITIONS: '6',
    SEGMENTATION_BACKFILL_RATE: '0',
    SEGMENTATION_BACKFILL_PAGE: '500',
    SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  };
  const serviceLog = join(root, '.mosaic', 'logs', `bench-segmentation-${runId}.log`);
  mkdirSync(join(root, '.mosaic', 'logs'), { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  const out = openSync(serviceLog, 'a');
  const child = spawnOwned(process.execPath, [join(root, 'dist', 'apps', 'segmentation', 'src', 'main.js')], { cwd: root, env: { ...process.env, ...serviceEnv }, stdio: ['ignore', out, 'pipe'] });
  closeSync(out);
  let childErr = '';
  child.stderr.on('data', (d) => (childErr = (childErr + d.toString()).slice(-4000)));
  let rssPeak = 0;
  const rssTimer = setInterval(() => {
    try {
      rssPeak = Math.max(rssPeak, rssMb(child.pid));
    } catch {
      // exited
    }
  }, 500);
  const api = async (method, path, body) => {
    const r = await fetch(`${url}${path}`, { method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, json: await r.json().catch(() => ({})) };
  };
  const metric = async (name) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop());
    return sum;
  };
  const kafka = benchKafka('bench-segmentation');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `${prefix}bench-tap`, maxWaitTimeInMs: 50 });
  const results = { machine: { cpus: cpus().length, memGb: Math.round(totalmem() / 2 ** 30) }, raw: { evaluate: rawEval, backfillEngine: rawBackfill, store: rawStore } };
  try {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const body = await fetch(`${url}/ready`).then((r) => (r.status === 200 ? r.json() : null), () => null);
      if (body?.checks?.find((c) => c.name === 'kafka-consumers')?.detail?.topics?.[0]?.assignedPartitions?.length > 0) break;
      if (child.exitCode !== null) throw new Error(`segmentation exited: ${childErr}`);
      if (Date.now() > deadline) throw new Error(`segmentation not ready within 90 s (log: ${serviceLog})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const d of defs) {
      const r = await api('POST', '/v1/segments', d);
      if (r.status !== 201) throw new Error(`creating ${d.key}: ${r.status} ${JSON.stringify(r.json)}`);
    }
    await producer.connect();
    await consumer.connect();
    const arrivals = new Map(); // key -> [ms consumed, payload]
    await consumer.subscribe({ topic: `${prefix}segments.membership`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const p = JSON.parse(message.value.toString()).payload;
        const key = `${p.profileId}|${p.segmentKey}|${p.profileVersion}`;
        if (!arrivals.has(key)) arrivals.set(key, [Date.now(), p]);
      },
    });
    const produce = async (changes) => {
      for (let i = 0; i < changes.length; i += 500) {
        const chunk = changes.slice(i, i + 500).map((c) => {
          const enc = contracts.encodeMessage(contracts.Schemas.profileChange, c, { producer: 'bench', messageId: `chg:${c.profileId}:${c.trigger.messageId}`, correlationId: c.trigger.messageId });
          return { key: c.profileId, value: enc.value, headers: enc.headers };
        });
        await producer.send({ topic: `${prefix}profiles.changes`, acks: -1, messages: chunk });
      }
    };
    const waitChanges = async (target, what) => {
      let last = -1;
      let lastAt = Date.now();
      for (;;) {
        const n = await metric('mosaic_segmentation_changes_total');
        if (n >= target) return;
        if (n !== last) [last, lastAt] = [n, Date.now()];
        if (Date.now() - lastAt > 120_000) throw new Error(`${what}: stuck at ${n}/${target} changes (log: ${serviceLog})`);
        if (child.exitCode !== null) throw new Error(`segmentation exited: ${childErr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    // ---- evaluate: throughput --------------------------------------------------------------------
    log(`evaluate: ${CHANGES} changes over ${PROFILES} profiles`);
    const next = changeSource(2, ids);
    const warm = ids.map((id) => next(id));
    await produce(warm);
    await waitChanges(warm.length, 'warm-up (one change per profile)');
    const batch = Array.from({ length: CHANGES }, (_, i) => next(ids[(i * 7919) % ids.length]));
    const before = await metric('mosaic_segmentation_changes_total');
    const t0 = Date.now();
    await produce(batch);
    await waitChanges(before + CHANGES, 'evaluate');
    const seconds = (Date.now() - t0) / 1000;
    results.evaluate = { changes: CHANGES, profiles: PROFILES, seconds, changesPerSec: rate(CHANGES, seconds), membershipMessages: arrivals.size };
    log(`evaluate: ${results.evaluate.changesPerSec} changes/s`);

    // ---- latency: changes that flip flag-on ---------------------------------------------------------
    const RATE = RATE_OPTION > 0 ? RATE_OPTION : Math.max(1, Math.round(results.evaluate.changesPerSec / 2));
    log(`latency: ${RATE} flips/s for ${DURATION} s`);
    const flipIds = Array.from({ length: 50 }, (_, i) => `flip-${runId}-${i}`);
    const flipState = new Map();
    const sentAt = new Map();
    const flips = [];
    const n = Math.max(1, Math.round(RATE * DURATION));
    const started = Date.now();
    for (let i = 0; i < n; i += 1) {
      const id = flipIds[i % flipIds.length];
      const s = flipState.get(id) ?? { version: 0, flag: false, mv: 0 };
      s.version += 1;
      s.flag = !s.flag;
      s.mv += 1;
      flipState.set(id, s);
      const c = { profileId: id, version: s.version, changed: ['traits.benchFlag'], profile: { identifiers: [], traits: { benchFlag: s.flag }, computed: {}, membershipVersion: 0 }, trigger: { messageId: `flip-${runId}-${i}`, kind: 'event', eventType: 'identify', timestamp: new Date().toISOString() }, at: new Date().toISOString() };
      const key = `${id}|flag-on|${s.mv}`;
      sentAt.set(key, Date.now());
      flips.push(key);
      await produce([c]);
      const wait = started + ((i + 1) * 1000) / RATE - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const flipDeadline = Date.now() + 120_000;
    while (!flips.every((k) => arrivals.has(k)) && Date.now() < flipDeadline) await new Promise((r) => setTimeout(r, 50));
    const latencies = flips.filter((k) => arrivals.has(k)).map((k) => arrivals.get(k)[0] - sentAt.get(k));
    results.latency = { rate: RATE, flips: n, received: latencies.length, p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99) };
    log(`latency: p50 ${results.latency.p50Ms} ms, p99 ${results.latency.p99Ms} ms (${latencies.length}/${n})`);

    // ---- timers ----------------------------------------------------------------------------------------
    const cartIds = Array.from({ length: TIMERS }, (_, i) => `cart-${runId}-${i}`);
    // deadlines after the carts' changes are applied: 10 s per 100 carts at the measured rate, plus 10 s
    const lead = 10_000 + Math.ceil((TIMERS / Math.max(1, results.evaluate.changesPerSec)) * 1000) * 2;
    log(`timers: ${TIMERS} carts due in ${lead / 1000}–${lead / 1000 + 10} s`);
    const now = Date.now();
    const due = new Map();
    const beforeCarts = await metric('mosaic_segmentation_changes_total');
    const carts = cartIds.map((id, i) => {
      const addedAt = now - 2 * HOUR + lead + Math.floor((i / TIMERS) * 10_000);
      due.set(`${id}|cart-0|1`, addedAt + 2 * HOUR);
      return { profileId: id, version: 1, changed: ['computed.cart'], profile: { identifiers: [], traits: {}, computed: {}, membershipVersion: 0 }, trigger: { messageId: `cart-${runId}-${i}`, kind: 'event', eventType: 'track', event: 'Product Added', properties: {}, timestamp: new Date(addedAt).toISOString() }, at: new Date().toISOString() };
    });
    await produce(carts);
    await waitChanges(beforeCarts + TIMERS, 'timers (carts applied)');
    const appliedBeforeDue = Date.now() < now + lead;
    const timerDeadline = Date.now() + 120_000;
    while (![...due.keys()].every((k) => arrivals.has(k)) && Date.now() < timerDeadline) await new Promise((r) => setTimeout(r, 50));
    const lateAt = [...due].filter(([k]) => arrivals.has(k)).map(([k, d]) => Date.parse(arrivals.get(k)[1].at) - d);
    const lateConsumed = [...due].filter(([k]) => arrivals.has(k)).map(([k, d]) => arrivals.get(k)[0] - d);
    results.timers = { timers: TIMERS, fired: lateAt.length, appliedBeforeFirstDeadline: appliedBeforeDue, latenessMs: { p50: pct(lateAt, 50), p99: pct(lateAt, 99), max: Math.max(...lateAt) }, consumedAfterDueMs: { p50: pct(lateConsumed, 50), p99: pct(lateConsumed, 99) } };
    log(`timers: lateness p50 ${results.timers.latenessMs.p50} ms, p99 ${results.timers.latenessMs.p99} ms`);

    // ---- backfill ----------------------------------------------------------------------------------------
    log(`backfill: generating ${BACKFILL} profiles`);
    const col = mongo.db(dbName).collection('segmentation_profiles');
    const gen = prng(3);
    const tg = Date.now();
    for (let i = 0; i < BACKFILL; i += 1000) {
      const docs = Array.from({ length: Math.min(1000, BACKFILL - i) }, (_, j) => {
        const id = `bf-${runId}-${String(i + j).padStart(8, '0')}`;
        const state = { ...domain.emptyState(id), sourceVersion: 1, profile: { identifiers: [{ type: 'userId', value: `u-${id}` }], traits: { plan: 'pro' }, computed: { orders: { count: 1, lifetimeValue: Math.round(gen() * 1000) } } } };
        return { _id: id, partition: (i + j) % 6, version: 1, writeId: randomUUID(), state: JSON.stringify(state), segments: [], timerAt: null, outbox: null, updatedAt: new Date() };
      });
      await col.insertMany(docs, { ordered: false });
      if ((i / 1000) % 50 === 49) log(`  ${i + docs.length} stored (${rate(i + docs.length, (Date.now() - tg) / 1000)}/s)`);
    }
    results.backfillGeneration = { profiles: BACKFILL, insertsPerSec: rate(BACKFILL, (Date.now() - tg) / 1000) };
    const tb = Date.now();
    const created = await api('POST', '/v1/segments', { key: 'bf-ltv-900', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 900 } });
    if (created.status !== 201) throw new Error(`creating the backfill segment: ${created.status}`);
    let progress;
    for (;;) {
      progress = (await api('GET', '/v1/segments/bf-ltv-900')).json.backfill;
      if (progress?.status === 'done' || progress?.status === 'failed') break;
      if (child.exitCode !== null) throw new Error(`segmentation exited: ${childErr}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const bfSeconds = (Date.now() - tb) / 1000;
    results.backfill = { profiles: progress.processed, status: progress.status, seconds: bfSeconds, profilesPerSec: rate(progress.processed, bfSeconds), changed: progress.changed, published: progress.published };
    log(`backfill: ${results.backfill.profilesPerSec} profiles/s (${progress.processed} in ${bfSeconds} s, ${progress.changed} changed)`);
    results.rssPeakMb = rssPeak;
  } finally {
    clearInterval(rssTimer);
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await stopChild(child);
    await mongo.db(dbName).dropDatabase().catch(() => undefined);
    await mongo.close();
  }

  const r = results;
  const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : 'n/a');
  const table = [
    ['measure', 'result', 'raw limit (same run)', 'ratio'],
    ['evaluations (changes/s, 50 segments)', `${r.evaluate.changesPerSec}`, `engine alone ${r.raw.evaluate.changesPerSec}/s; store ${r.raw.store.upsertsPerSec} upserts/s`, `${ratio(r.evaluate.changesPerSec, r.raw.evaluate.changesPerSec)} / ${ratio(r.evaluate.changesPerSec, r.raw.store.upsertsPerSec)}`],
    [`change → membership at ${r.latency.rate}/s`, `p50 ${r.latency.p50Ms} ms, p99 ${r.latency.p99Ms} ms`, '', ''],
    ['timer lateness (at − due)', `p50 ${r.timers.latenessMs.p50} ms, p99 ${r.timers.latenessMs.p99} ms, max ${r.timers.latenessMs.max} ms`, `consumed − due p50 ${r.timers.consumedAfterDueMs.p50} ms`, ''],
    [`backfill (${r.backfill.profiles} stored profiles)`, `${r.backfill.profilesPerSec} profiles/s`, `scan ${r.raw.store.scanDocsPerSec} docs/s`, ratio(r.backfill.profilesPerSec, r.raw.store.scanDocsPerSec)],
    [`backfill, engine only (${r.raw.backfillEngine.profiles} generated profiles)`, `${r.raw.backfillEngine.profilesPerSec} profiles/s`, '', ''],
  ];
  console.log(table.map((row) => `| ${row.join(' | ')} |`).join('\n'));
  console.log(`service RSS peak ${r.rssPeakMb} MB; membership messages in the evaluate phase ${r.evaluate.membershipMessages}`);
  mkdirSync(join(root, '.mosaic', 'bench'), { recursive: true });
  const file = join(root, '.mosaic', 'bench', `segmentation-${runId}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  log(`results: ${file}`);
}
