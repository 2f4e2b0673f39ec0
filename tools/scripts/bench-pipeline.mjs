// `npm run bench -- pipeline [--profiles 10000] [--events N | --duration S] [--rate R] [--timeout 600]
//                              [--connections 4] [--batch 100] [--raw-seconds 5] [--latency-seconds 20]`
//
// The whole system on this machine, in one run: Kafka, the store, the five services (children
// from dist/, one instance each, production settings) and the load generator (this process).
//   raw            the limits of this machine measured first, in the same run: the collector alone
//                  (its own topics, nothing consuming: /v1/batch of 100, events/s acked), a kafkajs
//                  producer and a consumer alone (events.raw-sized records), and the store alone on
//                  profile-sized documents (enrichment's own mapping) over as many documents as the
//                  run has profiles: insertMany docs/s, findOne and replaceOne by _id (4 in flight)
//   throughput     a realistic mix (page views, Product Viewed / Added, Order Completed, identify on
//                  login, merges of an anonymous visitor into the profile the same user has from
//                  another device, Email Link Clicked) over P people, interleaved, deterministic,
//                  through the collector's /v1/batch (keep-alive, a few connections), as fast as
//                  accepted or at `--rate`; events/s end to end = events acked ÷ (first send → the
//                  lag sample where every stage's consumer group, activation's last, has consumed
//                  everything; ±1 s); per stage messages consumed/s; the lag of every consumer group
//                  sampled every second (kafkajs admin: committed offsets vs end offsets)
//   latency        the same mix at 70 % of that rate, every 4th event a `Bench Ping` of a person not
//                  pinged before: POST → the `bench-latency` entry on segments.membership (a
//                  consumer of this process), p50/p99
//   memory         each service's resident memory, peak and at the end
// Profiles are created through the pipeline (no seeding). A run ends after `--timeout` seconds
// even if the pipeline has not drained: it then reports what drained so far and exits 1.
// Prints a table, writes JSON to .mosaic/bench/pipeline-<runId>.json; deletes its topics,
// consumer groups and databases on every way out.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { eventSource, sampleProfileDocument } from './bench-enrichment.mjs';
import { benchSetup, cannonSummary, httpClient, numberOption, onInterrupt, pct, prng, rawKafkaLimits, rssMb, runAutocannon, startService, stopChild, timedOps } from './bench-util.mjs';

const log = (m) => console.error(`[bench pipeline] ${m}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** One decimal below 100/s (this pipeline can be that slow), whole above. */
const perSec = (n, seconds) => {
  if (!(seconds > 0)) return null;
  const r = n / seconds;
  return r < 100 ? +r.toFixed(1) : Math.round(r);
};
const ratio = (a, b) => (a && b ? +(a / b).toFixed(4) : null);

const SERVICES = ['collector', 'identity', 'enrichment', 'segmentation', 'activation'];
/**
 * The consumer groups of the pipeline, upstream first: each stage commits only after producing
 * what it derived, so one pass in this order that finds every lag at 0 after the load ended means
 * everything was consumed by its last stage.
 */
const STAGES = [
  { key: 'identity', service: 'identity', topicKey: 'eventsRaw', topic: 'events.raw' },
  { key: 'enrichment', service: 'enrichment', topicKey: 'eventsResolved', topic: 'events.resolved' },
  { key: 'segmentation', service: 'segmentation', topicKey: 'profilesChanges', topic: 'profiles.changes' },
  { key: 'activation.changes', service: 'activation', topicKey: 'profilesChanges', topic: 'profiles.changes' },
  { key: 'activation.membership', service: 'activation', topicKey: 'segmentsMembership', topic: 'segments.membership' },
];
const LATENCY_SEGMENT = 'bench-latency';
const SEGMENTS = [
  { key: LATENCY_SEGMENT, condition: { event: 'Bench Ping', within: { amount: 1, unit: 'days' } } },
  { key: 'bench-high-ltv', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 500 } },
  { key: 'bench-browsers', condition: { event: 'Product Viewed', aggregate: { fn: 'count', op: 'gte', value: 3 }, within: { amount: 7, unit: 'days' } } },
  { key: 'bench-email-clickers', condition: { event: 'Email Link Clicked', within: { amount: 30, unit: 'days' } } },
];
const PING_EVERY = 4;

/**
 * The load: events as a site's tracker sends them, for `persons` people picked at random (so
 * visitors interleave). 30 % of the people first log in on another device (a known profile with
 * their user id); their later login on this device merges the anonymous profile into it. 5 % of
 * the events are email link clicks. The rest is enrichment's bench mix (eventSource).
 */
function loadMix(runId, persons, seed) {
  const ids = Array.from({ length: persons }, (_, i) => `${runId}-${i}`);
  const source = eventSource(runId, ids, seed);
  const rnd = prng(seed + 1);
  const started = new Uint8Array(persons);
  const otherDevice = new Uint8Array(persons);
  const order = []; // people in the order of their first event (the latency phase pings them)
  const counts = { events: 0, people: 0, otherDeviceLogins: 0, merges: 0, emailClicks: 0, pings: 0 };
  let seq = 0;
  const now = () => new Date().toISOString();
  const withUser = (s, e) => (s.userId ? { ...e, userId: s.userId } : e);
  function first(i, s) {
    started[i] = 1;
    order.push(i);
    counts.people += 1;
    if (rnd() >= 0.3) return undefined;
    otherDevice[i] = 1;
    counts.otherDeviceLogins += 1;
    return { type: 'identify', messageId: `d-${runId}-${(seq += 1)}`, anonymousId: `dev-${s.profileId}`, userId: `u-${s.profileId}`, traits: { email: `visitor${i}@example.com`, firstName: 'Visitor' }, context: { userAgent: s.ua }, timestamp: now() };
  }
  function next() {
    counts.events += 1;
    const i = Math.floor(rnd() * persons);
    const s = source.state[i];
    if (!started[i]) {
      const login = first(i, s);
      if (login) return login;
    }
    if (rnd() < 0.05) {
      counts.emailClicks += 1;
      return withUser(s, { type: 'track', event: 'Email Link Clicked', messageId: `ec-${runId}-${(seq += 1)}`, anonymousId: s.anonymousId, properties: { campaign: 'nov-newsletter', email_id: `em-${i}`, url: 'https://shop.example.com/coffee-beans?utm_campaign=nov', machine: false, machine_reason: 'none' }, context: { userAgent: s.ua }, timestamp: now() });
    }
    const hadUser = s.userId !== undefined;
    const { receivedAt, sourceId, ...event } = source.mixed(s).event;
    if (event.type === 'identify' && !hadUser && otherDevice[i]) counts.merges += 1;
    return event;
  }
  let pinged = 0;
  /** A ping of a person who has sent events and not been pinged (a new visitor once all were). */
  function ping(n) {
    counts.events += 1;
    counts.pings += 1;
    const i = pinged < order.length ? order[pinged] : undefined;
    pinged += 1;
    const s = i === undefined ? { anonymousId: `ping-visitor-${runId}-${n}` } : source.state[i];
    return withUser(s, { type: 'track', event: 'Bench Ping', messageId: `ping-${runId}-${n}`, anonymousId: s.anonymousId, properties: { ping: n }, timestamp: now() });
  }
  return { next, ping, counts };
}

export async function runPipelineBench(argv) {
  const opt = (name, def) => numberOption(argv, name, def);
  const PROFILES = Math.max(1, opt('profiles', 10_000));
  const DURATION = opt('duration', 0);
  const EVENTS = opt('events', DURATION > 0 ? 0 : 3000);
  const RATE = opt('rate', 0);
  const TIMEOUT = opt('timeout', 600);
  const CONNECTIONS = Math.max(1, opt('connections', 4));
  const BATCH = Math.max(1, Math.min(500, opt('batch', 100)));
  const RAW_SECONDS = opt('raw-seconds', 5);
  const LATENCY_SECONDS = opt('latency-seconds', 20);
  if (argv.includes('--seed-profiles')) log('--seed-profiles is not implemented: the profiles are created through the pipeline');

  const { root, require, infra, up, brokers, runId, prefix, dbName, mongoBase, token, kafka: benchKafka } = await benchSetup('pipeline');
  const { MongoClient, BSON } = require('mongodb');
  const autocannon = require('autocannon');
  const contracts = require(join(root, 'dist', 'libs', 'contracts', 'src', 'index.js'));
  const domain = require(join(root, 'dist', 'libs', 'enrichment', 'domain', 'src', 'index.js'));
  const documents = require(join(root, 'dist', 'libs', 'enrichment', 'data-access', 'src', 'documents.js'));
  const kafka = benchKafka('bench-pipeline');
  const admin = kafka.admin();
  const tap = kafka.consumer({ groupId: `${prefix}bench-tap`, maxWaitTimeInMs: 50 });
  const mongo = new MongoClient(`${mongoBase}/${dbName}`, { maxPoolSize: 16, socketTimeoutMS: 600_000 });
  const http = httpClient(CONNECTIONS + 2);
  const rawDb = `${dbName}_raw`;
  const logFile = (service) => join(root, '.mosaic', 'logs', `bench-pipeline-${service}-${runId}.log`);
  const serviceEnv = (extra = {}) => ({
    KAFKA_BROKERS: brokers.join(','),
    MONGODB_URI: `${mongoBase}/${dbName}`,
    MOSAIC_TOPIC_PREFIX: prefix,
    MOSAIC_ADMIN_TOKEN: token,
    MOSAIC_HTTP_HOST: '127.0.0.1',
    KAFKA_TOPIC_PARTITIONS: '6',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...extra,
  });
  const services = new Map(); // name -> { child, url, ... }
  const rss = Object.fromEntries(SERVICES.map((s) => [s, { peakMb: 0, endMb: null }]));
  let rssTimer;

  let cleanedUp = false;
  async function cleanUp() {
    if (cleanedUp) return;
    cleanedUp = true;
    clearInterval(rssTimer);
    await Promise.all([...services.values()].map((s) => stopChild(s.child)));
    await tap.disconnect().catch(() => undefined);
    http.close();
    try {
      await admin.connect();
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
      if (groups.length > 0) await admin.deleteGroups(groups);
    } catch (err) {
      log(`could not delete the bench's topics or groups: ${err.message}`);
    }
    await admin.disconnect().catch(() => undefined);
    try {
      await mongo.connect();
      // A write a stopped service had in flight may still land after a first drop (seen on FerretDB).
      for (let pass = 0; pass < 3; pass += 1) {
        await mongo.db(dbName).dropDatabase();
        await mongo.db(rawDb).dropDatabase();
        await sleep(2000);
        const left = [...(await mongo.db(dbName).listCollections().toArray()), ...(await mongo.db(rawDb).listCollections().toArray())];
        if (left.length === 0) break;
      }
    } catch (err) {
      log(`could not drop ${dbName}/${rawDb}: ${err.message}`);
    }
    await mongo.close().catch(() => undefined);
    if (up.started.kafka || up.started.mongo) await infra.down({}).catch(() => undefined);
  }
  const unregister = onInterrupt(cleanUp);

  async function createSource(collectorUrl) {
    const r = await fetch(`${collectorUrl}/v1/sources`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"name":"bench"}' });
    if (r.status !== 201 && r.status !== 200) throw new Error(`creating a source: ${r.status} ${await r.text()}`);
    return `Basic ${Buffer.from(`${(await r.json()).writeKey}:`).toString('base64')}`;
  }

  // ---- raw limits --------------------------------------------------------------------------------
  async function rawCollector() {
    const port = await infra.freePort();
    const svc = await startService({ root, name: 'collector', port, env: serviceEnv({ MOSAIC_TOPIC_PREFIX: `${prefix}raw.`, MONGODB_URI: `${mongoBase}/${rawDb}` }), logFile: logFile('collector-alone') });
    try {
      const authorization = await createSource(svc.url);
      // without messageIds: the collector assigns them, so its de-duplication does not skip Kafka
      const gen = loadMix(`${runId}-raw`, PROFILES, 99);
      const batch = JSON.stringify({
        batch: Array.from({ length: BATCH }, () => {
          const { messageId, ...e } = gen.next();
          return e;
        }),
      });
      const opts = { url: `${svc.url}/v1/batch`, method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: batch, connections: CONNECTIONS };
      await runAutocannon(autocannon, { ...opts, duration: 1 });
      const r = cannonSummary(await runAutocannon(autocannon, { ...opts, duration: RAW_SECONDS }), BATCH);
      return { ...r, batch: BATCH, connections: CONNECTIONS, rssMb: rssMb(svc.child.pid) };
    } finally {
      await stopChild(svc.child);
    }
  }

  async function rawStore() {
    const col = mongo.db(rawDb).collection('raw_profiles');
    await col.createIndex({ idKeys: 1 });
    const template = sampleProfileDocument(domain, documents, 10);
    const docBytes = BSON.calculateObjectSize(template);
    const doc = (i, k) => ({ ...template, _id: `r-${i}`, version: k, writeId: `w-${i}-${k}`, idKeys: [`anonymousId:anon-r-${i}`] });
    const t0 = Date.now();
    for (let i = 0; i < PROFILES; i += 500) await col.insertMany(Array.from({ length: Math.min(500, PROFILES - i) }, (_, j) => doc(i + j, 0)), { ordered: false });
    const insertManyDocsPerSec = perSec(PROFILES, (Date.now() - t0) / 1000);
    const reads = await timedOps(4, RAW_SECONDS, async (k) => {
      await col.findOne({ _id: `r-${(k * 7919) % PROFILES}` });
      return 1;
    });
    const writes = await timedOps(4, RAW_SECONDS, async (k) => {
      const { _id, ...replacement } = doc((k * 7919) % PROFILES, k);
      await col.replaceOne({ _id }, replacement);
      return 1;
    });
    await col.drop().catch(() => undefined);
    return { docBytes, documents: PROFILES, insertManyDocsPerSec, pointReadsPerSec: perSec(reads.ops, reads.seconds), pointWritesPerSec: perSec(writes.ops, writes.seconds), inFlight: 4 };
  }

  async function rawKafka() {
    const gen = loadMix(`${runId}-kafka`, 100, 98);
    const e = gen.next();
    const payload = { ...e, properties: e.properties ?? {}, traits: e.traits ?? {}, context: e.context ?? {}, receivedAt: new Date().toISOString(), sourceId: 'src_bench' };
    const { value } = contracts.encodeMessage(contracts.Schemas.rawEvent, payload, { producer: 'collector', messageId: e.messageId, validate: false });
    const r = await rawKafkaLimits({ kafka, topic: `${prefix}raw.kafka`, value, seconds: RAW_SECONDS, consume: true });
    return { producer: r.producer, consumer: r.consumer };
  }

  // ---- the lag of every stage -------------------------------------------------------------------
  const series = [];
  async function sampleLag() {
    const row = { t: Date.now(), stages: {} };
    for (const st of STAGES) {
      const topic = `${prefix}${st.topic}`;
      const groupId = `${prefix}${st.service}.${st.topicKey}`;
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const at = new Map(committed.partitions.map((p) => [p.partition, Number(p.offset)]));
      let lag = 0;
      let consumed = 0;
      for (const p of ends) {
        const low = Number(p.low);
        const done = Math.max(at.get(p.partition) ?? -1, low);
        lag += Number(p.high) - done;
        consumed += done - low;
      }
      row.stages[st.key] = { lag, consumed };
    }
    return row;
  }
  let sampling = false;
  let samplerDone = Promise.resolve();
  function startSampler(t0) {
    sampling = true;
    samplerDone = (async () => {
      while (sampling) {
        const next = Date.now() + 1000;
        try {
          const row = await sampleLag();
          series.push({ ...row, s: +((row.t - t0) / 1000).toFixed(1) });
        } catch (err) {
          log(`lag sample failed: ${err.message}`);
        }
        await sleep(Math.max(0, next - Date.now()));
      }
    })();
  }
  const drained = (row) => Object.values(row.stages).every((s) => s.lag === 0);

  // ---- load ----------------------------------------------------------------------------------------
  /** Sends batches built by `build(size)` on `connections` keep-alive connections, paced at `rate`/s (0: as fast as acked). */
  async function sendLoad({ url, authorization, build, batch, connections, rate, events, seconds, until, onSent }) {
    const stats = { offered: 0, acked: 0, duplicates: 0, rejected: 0, failedRequests: 0, requests: 0 };
    const t0 = Date.now();
    let k = 0;
    const more = () => (events > 0 ? stats.offered < events : Date.now() - t0 < seconds * 1000) && Date.now() < until;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (more()) {
          const size = events > 0 ? Math.min(batch, events - stats.offered) : batch;
          const due = rate > 0 ? t0 + ((k * batch) / rate) * 1000 : 0;
          k += 1;
          const items = build(size);
          stats.offered += items.length;
          if (due > Date.now()) await sleep(due - Date.now());
          const sentAt = Date.now();
          onSent?.(items, sentAt);
          stats.requests += 1;
          const r = await http.post(`${url}/v1/batch`, JSON.stringify({ batch: items }), { authorization }).catch((err) => ({ status: 0, body: err.message }));
          if (r.status !== 200) {
            stats.failedRequests += 1;
            if (stats.failedRequests <= 3) log(`batch answered ${r.status}: ${r.body.slice(0, 300)}`);
            continue;
          }
          const body = JSON.parse(r.body);
          stats.acked += body.accepted ?? 0;
          stats.duplicates += body.duplicates ?? 0;
          stats.rejected += body.rejected?.length ?? 0;
          if (body.rejected?.length && stats.rejected <= body.rejected.length) log(`rejected: ${JSON.stringify(body.rejected.slice(0, 2))}`);
        }
      }),
    );
    return { ...stats, seconds: (Date.now() - t0) / 1000, startedAt: t0, endedAt: Date.now() };
  }

  const result = {
    benchmark: 'pipeline',
    runId,
    at: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, mongo: up.mongoServer },
    settings: { profiles: PROFILES, events: EVENTS || null, durationSec: DURATION || null, rate: RATE || 'as fast as acked', timeoutSec: TIMEOUT, connections: CONNECTIONS, batch: BATCH, rawSeconds: RAW_SECONDS, latencySeconds: LATENCY_SECONDS, partitions: 6, instances: 1, logLevel: process.env.LOG_LEVEL ?? 'warn', seeding: 'none: profiles are created through the pipeline' },
  };
  let exitCode = 0;
  try {
    log(`machine: ${cpus().length} cores, ${result.machine.memGiB} GiB; store ${up.mongoServer}; run ${runId}`);
    await admin.connect();
    await mongo.connect();
    log(`raw: the store alone (${PROFILES} profile documents: insertMany, then findOne / replaceOne by _id for ${RAW_SECONDS} s each)...`);
    const store = await rawStore();
    log(`raw: Kafka produce and consume alone (${RAW_SECONDS} s)...`);
    const kafkaRaw = await rawKafka();
    log(`raw: the collector alone (/v1/batch of ${BATCH}, ${CONNECTIONS} connections, ${RAW_SECONDS} s)...`);
    const collectorRaw = await rawCollector();
    result.raw = { store, kafka: kafkaRaw, collectorAlone: collectorRaw };

    log('starting the five services...');
    for (const name of SERVICES) {
      const port = await infra.freePort();
      const extra = name === 'activation' ? { ACTIVATION_COLLECTOR_URL: services.get('collector').url } : {};
      services.set(name, await startService({ root, name, port, env: serviceEnv(extra), logFile: logFile(name) }));
    }
    rssTimer = setInterval(() => {
      for (const [name, s] of services) {
        try {
          rss[name].peakMb = Math.max(rss[name].peakMb, rssMb(s.child.pid));
        } catch {
          // exited
        }
      }
    }, 1000);
    for (const segment of SEGMENTS) {
      const r = await fetch(`${services.get('segmentation').url}/v1/segments`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(segment) });
      if (r.status !== 201) throw new Error(`creating segment ${segment.key}: ${r.status} ${await r.text()}`);
    }
    const collectorUrl = services.get('collector').url;
    const authorization = await createSource(collectorUrl);
    const pingsSeen = new Map(); // ping messageId -> ms its entry was consumed
    let latencyEntries = 0;
    await tap.connect();
    await tap.subscribe({ topic: `${prefix}segments.membership`, fromBeginning: true });
    await tap.run({
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        for (const m of batch.messages) {
          const p = JSON.parse(m.value.toString()).payload;
          if (p.segmentKey !== LATENCY_SEGMENT || p.change !== 'entered') continue;
          latencyEntries += 1;
          const id = p.reason?.messageId;
          if (id && !pingsSeen.has(id)) pingsSeen.set(id, now);
        }
      },
    });

    // ---- phase 1: throughput -------------------------------------------------------------------------
    const mix = loadMix(runId, PROFILES, 42);
    const until = Date.now() + TIMEOUT * 1000;
    log(`throughput: ${EVENTS > 0 ? `${EVENTS} events` : `${DURATION} s`} over ${PROFILES} people, ${RATE > 0 ? `${RATE} events/s offered` : 'as fast as acked'}; timeout ${TIMEOUT} s`);
    const t0 = Date.now();
    startSampler(t0);
    const load = await sendLoad({ url: collectorUrl, authorization, build: (n) => Array.from({ length: n }, () => mix.next()), batch: BATCH, connections: CONNECTIONS, rate: RATE, events: EVENTS, seconds: DURATION, until });
    log(`load sent: ${load.acked} events acked in ${load.seconds.toFixed(1)} s (${perSec(load.acked, load.seconds)}/s); waiting for the pipeline to drain...`);
    let drainedRow;
    let lastLog = Date.now();
    while (!drainedRow && Date.now() < until) {
      await sleep(250);
      const last = series.at(-1);
      if (last && last.t > load.endedAt && drained(last)) drainedRow = last;
      for (const [name, s] of services) if (s.child.exitCode !== null || s.child.signalCode !== null) throw new Error(`${name} exited: ${s.stderr()} (log: ${s.logFile})`);
      if (Date.now() - lastLog > 15_000 && last) {
        lastLog = Date.now();
        log(`  t=${last.s}s lag ${STAGES.map((st) => `${st.key} ${last.stages[st.key].lag}`).join(', ')}`);
      }
    }
    const endRow = drainedRow ?? series.at(-1);
    const e2eSeconds = ((drainedRow?.t ?? Date.now()) - t0) / 1000;
    const stages = Object.fromEntries(
      STAGES.map((st) => {
        const consumed = endRow?.stages[st.key].consumed ?? 0;
        const doneAt = series.find((r) => r.stages[st.key].consumed >= consumed && r.t >= load.endedAt)?.t ?? endRow?.t ?? Date.now();
        const seconds = (doneAt - t0) / 1000;
        return [st.key, { group: `${prefix}${st.service}.${st.topicKey}`, topic: `${prefix}${st.topic}`, messagesConsumed: consumed, lagAtEnd: endRow?.stages[st.key].lag ?? null, seconds: +seconds.toFixed(1), messagesPerSec: perSec(consumed, seconds) }];
      }),
    );
    result.throughput = {
      drained: Boolean(drainedRow),
      load: { ...load, ackedPerSec: perSec(load.acked, load.seconds), mix: { ...mix.counts } },
      endToEnd: { events: load.acked, seconds: +e2eSeconds.toFixed(1), eventsPerSec: drainedRow ? perSec(load.acked, e2eSeconds) : null, eventsThroughActivationSoFar: stages.identity.messagesConsumed },
      stages,
    };
    if (!drainedRow) {
      exitCode = 1;
      log(`timeout: not drained after ${TIMEOUT} s; reporting what drained so far`);
    } else {
      log(`drained: ${result.throughput.endToEnd.eventsPerSec} events/s end to end (${load.acked} events in ${e2eSeconds.toFixed(1)} s)`);
    }

    // ---- phase 2: latency -------------------------------------------------------------------------
    const remaining = () => until - Date.now();
    if (drainedRow && remaining() > 10_000) {
      const rate = Math.max(0.5, 0.7 * result.throughput.endToEnd.eventsPerSec);
      const seconds = Math.min(LATENCY_SECONDS, Math.max(1, (remaining() - 5000) / 2000));
      // small batches spaced evenly: a ping waits for no batch to fill
      const batch = Math.max(1, Math.round(rate / 20));
      log(`latency: the mix at ${rate.toFixed(1)} events/s (70 % of the sustained rate) for ${seconds.toFixed(0)} s, every ${PING_EVERY}th a ping...`);
      const sentAt = new Map();
      let n = 0;
      const build = (size) => Array.from({ length: size }, () => ((n += 1) % PING_EVERY === 0 ? mix.ping(n) : mix.next()));
      const onSent = (items, at) => {
        for (const e of items) if (e.event === 'Bench Ping') sentAt.set(e.messageId, at);
      };
      const phase = await sendLoad({ url: collectorUrl, authorization, build, batch, connections: Math.min(CONNECTIONS, 2), rate, events: 0, seconds, until, onSent });
      const waitUntil = Math.min(until, Date.now() + 120_000);
      while ([...sentAt.keys()].some((id) => !pingsSeen.has(id)) && Date.now() < waitUntil) await sleep(100);
      const latencies = [...sentAt].filter(([id]) => pingsSeen.has(id)).map(([id, at]) => pingsSeen.get(id) - at);
      result.latency = { rate: +rate.toFixed(1), seconds: +seconds.toFixed(1), eventsAcked: phase.acked, pings: sentAt.size, received: latencies.length, p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99), maxMs: latencies.length ? Math.max(...latencies) : null, membershipEntriesSeen: latencyEntries };
      if (latencies.length < sentAt.size) {
        exitCode = 1;
        log(`latency: only ${latencies.length}/${sentAt.size} pings reached segments.membership in time`);
      }
    } else {
      result.latency = { skipped: drainedRow ? 'too little time left before --timeout' : 'the throughput phase did not drain' };
    }
    sampling = false;
    await samplerDone;
    for (const [name, s] of services) {
      try {
        rss[name].endMb = rssMb(s.child.pid);
        rss[name].peakMb = Math.max(rss[name].peakMb, rss[name].endMb);
      } catch {
        // exited
      }
    }
    result.memory = rss;
    result.lagSeries = series.map((r) => ({ s: r.s, ...Object.fromEntries(STAGES.map((st) => [st.key, r.stages[st.key].lag])) }));
  } finally {
    sampling = false;
    await samplerDone;
    await cleanUp();
    unregister();
  }

  mkdirSync(join(root, '.mosaic', 'bench'), { recursive: true });
  const file = join(root, '.mosaic', 'bench', `pipeline-${runId}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  printReport(result, file, logFile('<service>'));
  return exitCode;
}

function printReport(r, file, logs) {
  const { store, kafka, collectorAlone } = r.raw;
  const { load, endToEnd, stages, drained: done } = r.throughput;
  const lat = r.latency;
  const rows = [
    ['measure', 'result', 'raw limit (same run)', 'ratio'],
    [`load: events/s acked by the collector (${load.acked} events, ${load.requests} requests)`, load.ackedPerSec, `collector alone ${collectorAlone.eventsPerSec}/s`, ratio(load.ackedPerSec, collectorAlone.eventsPerSec)],
    [
      `end to end: events/s, first send → activation consumed the last change${done ? '' : ' (NOT DRAINED)'}`,
      done ? endToEnd.eventsPerSec : `n/a (${stages['activation.changes'].messagesConsumed} changes consumed by activation in ${endToEnd.seconds} s)`,
      `store replaceOne ${store.pointWritesPerSec}/s; Kafka produce ${kafka.producer.eventsPerSec}/s`,
      `${ratio(endToEnd.eventsPerSec, store.pointWritesPerSec) ?? 'n/a'} / ${ratio(endToEnd.eventsPerSec, kafka.producer.eventsPerSec) ?? 'n/a'}`,
    ],
    ...Object.entries(stages).map(([key, s]) => [`stage ${key}: messages/s consumed (${s.messagesConsumed}, lag at end ${s.lagAtEnd})`, s.messagesPerSec, `Kafka consume ${kafka.consumer.eventsPerSec}/s`, ratio(s.messagesPerSec, kafka.consumer.eventsPerSec)]),
    lat.skipped ? ['latency: POST → segments.membership', `skipped: ${lat.skipped}`, '', ''] : [`latency at ${lat.rate} events/s: POST → segments.membership (${lat.received}/${lat.pings} pings)`, `p50 ${lat.p50Ms} ms, p99 ${lat.p99Ms} ms, max ${lat.maxMs} ms`, `collector alone p50 ${collectorAlone.p50ms} ms (batch of ${collectorAlone.batch})`, ''],
    [`store alone: ${store.docBytes}-byte profile docs, ${store.documents} docs`, `insertMany ${store.insertManyDocsPerSec} docs/s, findOne ${store.pointReadsPerSec}/s, replaceOne ${store.pointWritesPerSec}/s`, '(4 in flight)', ''],
    [`Kafka alone: ${kafka.producer.recordBytes}-byte records`, `produce ${kafka.producer.eventsPerSec}/s, consume ${kafka.consumer.eventsPerSec}/s`, '', ''],
    ['memory RSS peak / end, MB', Object.entries(r.memory ?? {}).map(([name, m]) => `${name} ${m.peakMb}/${m.endMb ?? '-'}`).join(', '), `collector alone ${collectorAlone.rssMb}`, ''],
  ];
  const mix = load.mix;
  const lines = [
    '',
    `pipeline benchmark (${r.machine.cores} cores, ${r.machine.mongo}, 1 instance per service, 6 partitions; ${r.settings.profiles} people, profiles created through the pipeline, no seeding)`,
    `mix: ${mix.events} events, ${mix.people} people seen, ${mix.otherDeviceLogins} logins on another device, ${mix.merges} merging logins, ${mix.emailClicks} email clicks, ${mix.pings} pings; ${load.rejected} rejected, ${load.duplicates} duplicates, ${load.failedRequests} failed requests`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
    'consumer group lag (messages not yet consumed), sampled every second:',
    ...lagTable(r.lagSeries ?? []),
    '',
    `JSON: ${file}`,
    `service logs: ${logs}`,
    '',
  ];
  console.log(lines.join('\n'));
}

/** At most ~20 rows of the lag series (evenly spaced, the last always kept). */
function lagTable(series) {
  if (series.length === 0) return ['(no samples)'];
  const keys = STAGES.map((s) => s.key);
  const step = Math.max(1, Math.ceil(series.length / 20));
  const picked = series.filter((_, i) => i % step === 0 || i === series.length - 1);
  const head = ['t(s)', ...keys].map((k) => k.padStart(k === 't(s)' ? 7 : k.length + 2)).join('');
  return [head, ...picked.map((row) => [String(row.s).padStart(7), ...keys.map((k) => String(row[k]).padStart(k.length + 2))].join(''))];
}
