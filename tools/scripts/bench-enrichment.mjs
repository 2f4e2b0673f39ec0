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
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchSetup, prng, timedOps, numberOption, pct, rssMb, startService as startServiceChild, stopChild } from './bench-util.mjs';

const log = (m) => console.error(`[bench enrichment] ${m}`);

// ---- the event mix ---------------------------------------------------------------------------------
const PRODUCTS = [
  { product_id: 'cm-900', name: 'Barista Pro 900', category: 'coffee machines', price: 899 },
  { product_id: 'cm-450', name: 'Barista Home 450', category: 'coffee machines', price: 449 },
  { product_id: 'cm-120', name: 'Drip Classic', category: 'coffee machines', price: 119 },
  { product_id: 'gr-200', name: 'Burr Grinder 200', category: 'grinders', price: 189 },
  { product_id: 'gr-060', name: 'Hand Grinder', category: 'grinders', price: 59 },
  { product_id: 'bn-eth', name: 'Ethiopia Yirgacheffe 1kg', category: 'coffee beans', price: 32 },
  { product_id: 'bn-col', name: 'Colombia Huila 1kg', category: 'coffee beans', price: 27 },
  { product_id: 'bn-esp', name: 'Espresso Blend 1kg', category: 'coffee beans', price: 22 },
  { product_id: 'mg-set', name: 'Cappuccino Cups (6)', category: 'mugs', price: 39 },
  { product_id: 'mg-one', name: 'Travel Mug', category: 'mugs', price: 18 },
  { product_id: 'ac-tmp', name: 'Tamper 58mm', category: 'accessories', price: 45 },
  { product_id: 'ac-jug', name: 'Milk Jug 600ml', category: 'accessories', price: 25 },
];
const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0',
];
const CAMPAIGNS = [
  { query: '?utm_source=newsletter&utm_medium=email&utm_campaign=nov', campaign: { source: 'newsletter', medium: 'email', name: 'nov' }, referrer: 'https://mail.example.com/' },
  { query: '?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=abc123', campaign: { source: 'google', medium: 'cpc', name: 'brand' }, referrer: 'https://www.google.com/' },
  { query: '', referrer: 'https://www.google.com/' },
  { query: '', referrer: 'https://www.instagram.com/' },
  { query: '' },
];
const PAGES = ['/', '/coffee-machines', '/grinders', '/coffee-beans', '/mugs', '/accessories', '/blog/how-to-dial-in-espresso', '/cart'];


/**
 * Resolved events for a set of profiles, as identity would produce them: each profile has its
 * own anonymous id, user agent and clock (event times move forward 1–180 minutes per event,
 * from 20 days ago, never past now); after an identify its events carry the user id too.
 */
export function eventSource(runId, profiles, seed = 42) {
  const rnd = prng(seed);
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const start = Date.now() - 20 * 86_400_000;
  const state = profiles.map((profileId, i) => ({ profileId, anonymousId: `anon-${profileId}`, userId: undefined, ua: USER_AGENTS[i % USER_AGENTS.length], clock: start + i * 60_000, orders: 0, cart: [] }));
  let seq = 0;
  function next(s, kind) {
    s.clock = Math.min(Date.now(), s.clock + Math.round((1 + rnd() * 179) * 60_000));
    const now = new Date().toISOString();
    const messageId = `e-${runId}-${(seq += 1)}`;
    const product = pick(PRODUCTS);
    const base = { messageId, anonymousId: s.anonymousId, properties: {}, traits: {}, context: {}, timestamp: new Date(s.clock).toISOString(), receivedAt: now, sourceId: 'src_bench' };
    let event;
    switch (kind) {
      case 'page': {
        const c = pick(CAMPAIGNS);
        const path = pick(PAGES);
        event = { ...base, type: 'page', properties: { path, title: `Shop ${path}` }, context: { page: { url: `https://shop.example.com${path}${c.query}`, path, ...(c.referrer ? { referrer: c.referrer } : {}) }, ...(c.campaign ? { campaign: c.campaign } : {}), userAgent: s.ua, locale: 'de-DE', ip: '203.0.113.7' } };
        break;
      }
      case 'view':
        event = { ...base, type: 'track', event: 'Product Viewed', properties: { ...product, currency: 'EUR' }, context: { page: { url: `https://shop.example.com/p/${product.product_id}` }, userAgent: s.ua } };
        break;
      case 'add':
        s.cart.push(product);
        event = { ...base, type: 'track', event: 'Product Added', properties: { ...product, currency: 'EUR', quantity: 1 }, context: { page: { url: `https://shop.example.com/p/${product.product_id}` }, userAgent: s.ua } };
        break;
      case 'order': {
        const items = s.cart.length > 0 ? s.cart.splice(0) : [product];
        s.orders += 1;
        const total = items.reduce((sum, p) => sum + p.price, 0);
        event = { ...base, type: 'track', event: 'Order Completed', properties: { order_id: `o-${s.profileId}-${s.orders}`, total, currency: 'EUR', products: items.map((p) => ({ ...p, quantity: 1 })) }, context: { page: { url: 'https://shop.example.com/checkout/done' }, userAgent: s.ua } };
        break;
      }
      default: {
        s.userId = s.userId ?? `u-${s.profileId}`;
        const n = s.profileId.split('-').at(-1);
        event = { ...base, type: 'identify', traits: { email: `visitor${n}@example.com`, firstName: 'Visitor', lastName: `No ${n}`, plan: pick(['free', 'plus', 'pro']), newsletter: rnd() < 0.5, $set_once: { firstSeenSource: 'bench' } }, context: { userAgent: s.ua } };
      }
    }
    if (s.userId) event.userId = s.userId;
    const identifiers = [...(s.userId ? [{ type: 'userId', value: s.userId }] : []), { type: 'anonymousId', value: s.anonymousId }];
    return { kind: 'event', profileId: s.profileId, event, identifiers };
  }
  // Mix: 40 % page views, 30 % Product Viewed, 12 % Product Added, 10 % identify, 8 % Order Completed.
  const mixed = (s) => {
    const r = rnd();
    return next(s, r < 0.4 ? 'page' : r < 0.7 ? 'view' : r < 0.82 ? 'add' : r < 0.92 ? 'identify' : 'order');
  };
  return { state, next, mixed };
}

/**
 * A profile document as the enrichment service stores it: the domain (dist/libs/enrichment/domain)
 * folds `events` events of this mix into a state, stored with the service's own mapping
 * (dist/libs/enrichment/data-access documents.js: a few top-level fields, the rest as JSON text).
 */
export function sampleProfileDocument(domain, documents, events) {
  const gen = eventSource('sample', ['p-sample-0'], 7);
  const now = new Date().toISOString();
  let state = domain.applyEvent(undefined, gen.next(gen.state[0], 'page'), { now }).state;
  for (let i = 1; i < events; i += 1) state = domain.applyEvent(state, gen.mixed(gen.state[0]), { now }).state;
  return documents.toStoredProfile(documents.stateToDocument(state, { status: 'active', writeId: randomUUID(), expiresAt: new Date(Date.now() + 365 * 86_400_000) }));
}

/** A rate for the table and JSON: one decimal below 100/s (this store can be that slow), whole above. */
const rate = (n, seconds) => {
  const r = n / seconds;
  return r < 100 ? +r.toFixed(1) : Math.round(r);
};

// ---- Prometheus text ---------------------------------------------------------------------------------
function parseLabels(s) {
  return Object.fromEntries([...(s ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
}
function metricValue(text, name, labels = {}) {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)`, 'gm'))) {
    const l = parseLabels(m[1]);
    if (Object.entries(labels).every(([k, v]) => l[k] === v)) sum += Number(m[2]);
  }
  return sum;
}
function histogram(text, name) {
  const buckets = new Map();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)`, 'gm'))) {
    const le = parseLabels(m[1]).le;
    const key = le === '+Inf' ? Infinity : Number(le);
    buckets.set(key, (buckets.get(key) ?? 0) + Number(m[2]));
  }
  return { buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]), sum: metricValue(text, `${name}_sum`), count: metricValue(text, `${name}_count`) };
}
/** Quantile upper bounds (ms) of the observations between two scrapes of one histogram. */
function histogramDelta(before, after) {
  const prev = new Map(before.buckets);
  const buckets = after.buckets.map(([le, c]) => [le, c - (prev.get(le) ?? 0)]);
  const count = after.count - before.count;
  const largest = buckets.filter(([le]) => le !== Infinity).at(-1)?.[0] ?? 0;
  const q = (p) => {
    if (count === 0) return null;
    const le = buckets.find(([, c]) => c >= count * p)?.[0];
    return le === undefined ? null : le === Infinity ? `>${largest * 1000}` : +(le * 1000).toFixed(1);
  };
  return { count, meanMs: count > 0 ? +(((after.sum - before.sum) / count) * 1000).toFixed(1) : null, p50UpperBoundMs: q(0.5), p99UpperBoundMs: q(0.99) };
}

export async function runEnrichmentBench(args) {
  const opt = (name, def) => numberOption(args, name, def);
  const PROFILES = Math.max(1, opt('profiles', 300));
  const EVENTS = Math.max(1, opt('events', 3000));
  const DURATION = opt('duration', 10);
  const RATE_OPTION = opt('rate', 0);

  const { root, require, infra, up, brokers, runId, prefix, dbName, mongoBase, token, kafka: benchKafka } = await benchSetup('enrichment');
  const { Partitioners } = require('kafkajs');
  const { MongoClient, BSON } = require('mongodb');
  const contracts = require(join(root, 'dist', 'libs', 'contracts', 'src', 'index.js'));
  const domain = require(join(root, 'dist', 'libs', 'enrichment', 'domain', 'src', 'index.js'));
  const documents = require(join(root, 'dist', 'libs', 'enrichment', 'data-access', 'src', 'documents.js'));
  const kafka = benchKafka('bench-enrichment');
  const topics = { resolved: `${prefix}events.resolved`, changes: `${prefix}profiles.changes`, dlq: `${prefix}dlq.enrichment` };
  const profileIds = Array.from({ length: PROFILES }, (_, i) => `p-${runId}-${i}`);
  const source = eventSource(runId, profileIds);

  // ---- raw limit: the store's own upsert and read rates ------------------------------------------
  async function rawStore() {
    // A socket timeout, so a server that stops answering fails the run instead of hanging it.
    const client = new MongoClient(`${mongoBase}/${dbName}`, { maxPoolSize: 32, socketTimeoutMS: 600_000 });
    await client.connect();
    try {
      const col = client.db(dbName).collection('raw_profiles');
      // The indexes the service's profile collection has (besides _id).
      await col.createIndex({ idKeys: 1 });
      await col.createIndex({ expiresAt: 1 });
      const template = sampleProfileDocument(domain, documents, Math.max(2, Math.round(EVENTS / PROFILES) + 1));
      const docBytes = BSON.calculateObjectSize(template);
      const doc = (i, k) => ({ ...template, _id: `r-${i}`, version: k, writeId: randomUUID(), idKeys: [`anonymousId:anon-r-${i}`] });
      const timed = async (workers, fn) => {
        const { ops, seconds } = await timedOps(workers, DURATION, fn);
        return rate(ops, seconds);
      };
      // As many documents as the bench has profiles, inserted first (untimed): every upsert then
      // replaces an existing document, as the service's writes after a profile's first event do.
      for (let i = 0; i < PROFILES; i += 50) {
        await col.insertMany(Array.from({ length: Math.min(50, PROFILES - i) }, (_, j) => doc(i + j, 0)), { ordered: false });
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

  // ---- the service -------------------------------------------------------------------------------
  const port = await infra.freePort();
  const serviceEnv = {
    KAFKA_BROKERS: brokers.join(','),
    MONGODB_URI: `${mongoBase}/${dbName}`,
    MOSAIC_TOPIC_PREFIX: prefix,
    MOSAIC_ADMIN_TOKEN: token,
    MOSAIC_HTTP_HOST: '127.0.0.1',
    ENRICHMENT_PORT: String(port),
    KAFKA_TOPIC_PARTITIONS: '6',
    ENRICHMENT_SWEEP_INTERVAL_SECONDS: '0',
    ENRICHMENT_RFM_INTERVAL_SECONDS: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  };
  const serviceLog = join(root, '.mosaic', 'logs', `bench-enrichment-${runId}.log`);
  mkdirSync(join(root, '.mosaic', 'logs'), { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  let child;
  let childErr = () => '';
  let rssPeak = 0;
  let rssTimer;
  async function startService() {
    const started = await startServiceChild({ root, name: 'enrichment', port, env: serviceEnv, logFile: serviceLog, timeoutMs: 60_000 });
    child = started.child;
    childErr = started.stderr;
    rssTimer = setInterval(() => {
      try {
        rssPeak = Math.max(rssPeak, rssMb(child.pid));
      } catch {
        // exited
      }
    }, 500);
  }
  const scrape = async () => (await fetch(`${url}/metrics`)).text();

  // ---- load: a producer of events.resolved and a consumer of profiles.changes (and the DLQ) --------
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `${prefix}bench-tap`, maxWaitTimeInMs: 50 });
  const arrived = new Map(); // event messageId -> ms the first change for it was consumed
  const sent = new Map(); // event messageId -> ms
  let changeMessages = 0;
  let deadLetters = 0;
  let lastArrival = Date.now();

  function encode(resolved) {
    const messageId = resolved.event.messageId;
    const enc = contracts.encodeMessage(contracts.Schemas.resolved, resolved, { producer: 'bench', messageId, correlationId: messageId });
    return { key: resolved.profileId, value: enc.value, headers: enc.headers, messageId };
  }
  async function produce(messages) {
    for (let i = 0; i < messages.length; i += 500) {
      const chunk = messages.slice(i, i + 500);
      const t = Date.now();
      for (const m of chunk) sent.set(m.messageId, t);
      await producer.send({ topic: topics.resolved, acks: -1, messages: chunk.map(({ key, value, headers }) => ({ key, value, headers })) });
    }
  }
  async function waitApplied(ids) {
    const missing = () => ids.filter((id) => !arrived.has(id)).length;
    while (!ids.every((id) => arrived.has(id))) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`enrichment exited (${child.exitCode ?? child.signalCode}) with ${missing()}/${ids.length} events unapplied: ${childErr()}`);
      if (Date.now() - lastArrival > 300_000) throw new Error(`no change for 300 s; ${missing()}/${ids.length} events unapplied, ${deadLetters} dead letters (log: ${serviceLog})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return Math.max(...ids.map((id) => arrived.get(id)));
  }
  async function phase(name, messages) {
    log(`${name}: ${messages.length} events...`);
    const before = await scrape();
    const started = Date.now();
    lastArrival = started;
    await produce(messages);
    const last = await waitApplied(messages.map((m) => m.messageId));
    const seconds = (last - started) / 1000;
    const after = await scrape();
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
  const infraStartedHere = up.started.kafka || up.started.mongo;
  let result;
  try {
    log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GiB; store ${up.mongoServer}`);
    log(`raw limit: native driver bulkWrite upserts of profile-sized documents (2 and 1 in flight) and findOne by _id, ${DURATION}s each...`);
    const store = await rawStore();

    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [topics.resolved, topics.changes, topics.dlq].map((topic) => ({ topic, numPartitions: 6 })) });
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.changes, topics.dlq], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        if (batch.topic === topics.dlq) {
          deadLetters += batch.messages.length;
          log(`${batch.messages.length} dead letter(s) on ${topics.dlq} (${deadLetters} in all); see ${serviceLog}`);
          return;
        }
        for (const m of batch.messages) {
          changeMessages += 1;
          const key = m.key?.toString();
          const id = m.headers?.messageId?.toString();
          if (!key || !id?.startsWith(`chg:${key}:`)) continue;
          const eventId = id.slice(`chg:${key}:`.length);
          if (!arrived.has(eventId)) {
            arrived.set(eventId, now);
            lastArrival = now;
          }
        }
      },
    });

    await startService();
    const create = await phase(`create (one page view per profile, ${PROFILES} profiles)`, source.state.map((s) => encode(source.next(s, 'page'))));
    // The apply phase's events, built (and validated against the contract) before it starts.
    const applyMessages = Array.from({ length: EVENTS }, (_, i) => encode(source.mixed(source.state[(i * 7919) % PROFILES])));
    const apply = await phase(`apply (realistic mix over ${PROFILES} existing profiles)`, applyMessages);
    const profileDocs = await (async () => {
      const client = new MongoClient(`${mongoBase}/${dbName}`);
      await client.connect();
      try {
        const docs = await client.db(dbName).collection('enrichment_profiles').find({}).limit(100).toArray();
        const sizes = docs.map((d) => BSON.calculateObjectSize(d));
        return { sampled: sizes.length, avgBytes: Math.round(sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length)), maxBytes: Math.max(0, ...sizes) };
      } finally {
        await client.close();
      }
    })();

    const RATE = RATE_OPTION > 0 ? RATE_OPTION : Math.max(1, Math.round(apply.eventsPerSec / 2));
    log(`latency: events at ${RATE}/s for ${DURATION}s...`);
    const metricsBefore = await scrape();
    const latencyIds = [];
    lastArrival = Date.now();
    const paced = Date.now();
    let cursor = 0;
    for (let tick = 0; Date.now() - paced < DURATION * 1000; tick += 1) {
      // One send every 50 ms (or every 1000/RATE ms when slower), RATE per second in all.
      const interval = Math.max(50, 1000 / RATE);
      const batch = Array.from({ length: Math.max(1, Math.round((RATE * interval) / 1000)) }, () => encode(source.mixed(source.state[((cursor += 1) * 7919) % PROFILES])));
      latencyIds.push(...batch.map((m) => m.messageId));
      await produce(batch);
      const next = paced + (tick + 1) * interval;
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
    await waitApplied(latencyIds);
    const metricsAfter = await scrape();
    const e2e = latencyIds.map((id) => arrived.get(id) - sent.get(id));
    const latency = {
      rate: RATE,
      events: latencyIds.length,
      e2eP50Ms: pct(e2e, 50),
      e2eP99Ms: pct(e2e, 99),
      serviceApplyPerBatch: histogramDelta(histogram(metricsBefore, 'mosaic_enrichment_apply_seconds'), histogram(metricsAfter, 'mosaic_enrichment_apply_seconds')),
      serviceEventLag: histogramDelta(histogram(metricsBefore, 'mosaic_enrichment_event_lag_seconds'), histogram(metricsAfter, 'mosaic_enrichment_event_lag_seconds')),
    };
    const memory = { rssMb: rssMb(child.pid), peakRssMb: Math.max(rssPeak, rssMb(child.pid)) };
    const totals = { changeMessages, deadLetters, eventsProduced: sent.size, eventsWithChange: arrived.size };

    result = {
      benchmark: 'enrichment',
      at: new Date().toISOString(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, kafka: '4.1.1', mongo: up.mongoServer },
      settings: { profiles: PROFILES, events: EVENTS, latencyRate: RATE, latencySeconds: DURATION, partitions: 6, instances: 1, consumerSessionTimeoutMs: Number(process.env.KAFKA_CONSUMER_SESSION_TIMEOUT_MS ?? 30_000) },
      raw: { store },
      enrichment: { create, apply, latency, profileDocs, memory, totals },
      // Against the better of the two raw upsert rates: the most this store did with profile documents.
      ratios: {
        applyEventsVsBulkUpserts: +((apply.events / apply.seconds) / Math.max(store.bulkUpsertsPerSec, store.sequentialBulkUpsertsPerSec)).toFixed(3),
        applyProfileWritesVsBulkUpserts: +((apply.profileWrites / apply.seconds) / Math.max(store.bulkUpsertsPerSec, store.sequentialBulkUpsertsPerSec)).toFixed(3),
        eventsPerProfileWrite: apply.profileWrites > 0 ? +(apply.applied / apply.profileWrites).toFixed(2) : null,
      },
    };
  } finally {
    // Everything this run started goes, whatever happened above.
    clearInterval(rssTimer);
    if (child) await stopChild(child);
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    try {
      await admin.connect();
      const ours = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (ours.length > 0) await admin.deleteTopics({ topics: ours });
    } catch (err) {
      log(`could not delete the bench topics: ${err.message}`);
    }
    await admin.disconnect().catch(() => undefined);
    const client = new MongoClient(`${mongoBase}/${dbName}`);
    try {
      await client.connect();
      await client.db(dbName).dropDatabase();
    } catch (err) {
      log(`could not drop ${dbName}: ${err.message}`);
    } finally {
      await client.close().catch(() => undefined);
    }
    if (infraStartedHere) await infra.down({}).catch(() => undefined);
  }

  const { store } = result.raw;
  const { create, apply, latency, profileDocs, memory, totals } = result.enrichment;
  mkdirSync(join(root, '.mosaic', 'bench'), { recursive: true });
  const file = join(root, '.mosaic', 'bench', `enrichment-${runId}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  const row = (name, v) => `${name.padEnd(62)} ${String(v).padStart(14)}`;
  const svc = latency.serviceApplyPerBatch;
  const lag = latency.serviceEventLag;
  console.log(
    [
      '',
      `enrichment benchmark (${result.machine.cores} cores, ${up.mongoServer}, 1 instance, 6 partitions, ${PROFILES} profiles, consumer session timeout ${result.settings.consumerSessionTimeoutMs / 1000} s)`,
      row(`raw: store bulkWrite upserts, ${store.docBytes} B docs (50/batch, 2 in flight), ops/s`, store.bulkUpsertsPerSec),
      row('raw: store bulkWrite upserts (50/batch, 1 in flight), ops/s', store.sequentialBulkUpsertsPerSec),
      row('raw: store findOne by _id (4 in flight), ops/s', store.pointReadsPerSec),
      row(`create: first event of each profile, events/s (${PROFILES})`, create.eventsPerSec),
      row(`apply: realistic mix, events/s (${EVENTS})`, apply.eventsPerSec),
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
