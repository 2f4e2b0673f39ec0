// `npm run bench -- activation [--deliveries 2000] [--concurrency 16] [--duration 5]
//                                [--decide-rate 2000] [--decide-seconds 10] [--profiles 1000] [--ingest-rate 100]`
//
// Measures webhook deliveries of the activation service next to the raw limit measured in the
// same run:
//   raw.http       signed-size JSON POSTs from this process to the local receiver (Node's fetch,
//                  `concurrency` in flight): requests/s — what one process can push through HTTP
//                  on this machine
//   deliveries     N membership changes produced as fast as possible into segments.membership,
//                  one webhook trigger (destination concurrency `concurrency`): deliveries/s =
//                  N ÷ (last webhook received − first change produced), every signature verified
//                  by the receiver; plus p50/p99 of change produced → webhook received
//   decide         the decision API at a fixed request rate (open loop: latency counted from each
//                  request's scheduled time, so queueing shows) for visitors of P profiles (cached
//                  after a first request), while profile and membership changes are ingested at
//                  `--ingest-rate`/s; p50/p99/max, achieved requests/s, errors; next to raw.http
// The receiver runs in this process (127.0.0.1), the collector (write keys) and the service as
// child processes (dist/), one instance each. Prints a table, writes JSON to .mosaic/bench/.
import { createServer } from 'node:http';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchSetup, httpClient, numberOption, pct, rssMb, stopChild, timedOps, spawnOwned } from './bench-util.mjs';

const log = (m) => console.error(`[bench activation] ${m}`);
const rate = (ops, seconds) => Math.round((ops / seconds) * 10) / 10;

export async function runActivationBench(argv) {
  const N = numberOption(argv, 'deliveries', 2000);
  const CONCURRENCY = numberOption(argv, 'concurrency', 16);
  const DURATION = numberOption(argv, 'duration', 5);
  const DECIDE_RATE = numberOption(argv, 'decide-rate', 2000);
  const DECIDE_SECONDS = numberOption(argv, 'decide-seconds', 10);
  const PROFILES = numberOption(argv, 'profiles', 1000);
  const INGEST_RATE = numberOption(argv, 'ingest-rate', 100);
  const { root, require, infra, brokers, runId, prefix, dbName, mongoBase, token, kafka: benchKafka } = await benchSetup('activation');
  const { Partitioners } = require('kafkajs');
  const { MongoClient } = require('mongodb');
  const contracts = require(join(root, 'dist', 'libs', 'contracts', 'src', 'index.js'));
  const domain = require(join(root, 'dist', 'libs', 'activation', 'domain', 'src', 'index.js'));

  // ---- the receiver ------------------------------------------------------------------------------
  let secret;
  const received = new Map(); // profileId -> ms
  let badSignatures = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/hook') {
        const v = domain.verify(req.headers, body, [secret], Date.now());
        if (!v.ok) badSignatures += 1;
        const p = JSON.parse(body);
        if (!received.has(p.data.profileId)) received.set(p.data.profileId, Date.now());
      }
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const receiverUrl = `http://127.0.0.1:${server.address().port}`;

  // ---- raw.http ------------------------------------------------------------------------------------
  log(`raw: HTTP POSTs to the receiver, 64 in flight (as many as the decide load keeps open)`);
  const sample = JSON.stringify({ type: 'segment.entered', id: 'dlv_x'.padEnd(48, 'x'), timestamp: new Date().toISOString(), data: { profileId: 'p', segmentKey: 'vip', segmentVersion: 1, identifiers: { userId: 'u' }, reason: { kind: 'message' }, profileVersion: 1 } });
  const http = httpClient(64);
  const raw = await timedOps(64, DURATION, async () => {
    await http.post(`${receiverUrl}/raw`, sample);
    return 1;
  });
  const rawPerSec = rate(raw.ops, raw.seconds);
  log(`raw: ${rawPerSec} requests/s`);

  // ---- the collector (write keys) and the service ------------------------------------------------
  const commonEnv = { ...process.env, KAFKA_BROKERS: brokers.join(','), MONGODB_URI: `${mongoBase}/${dbName}`, MOSAIC_TOPIC_PREFIX: prefix, MOSAIC_ADMIN_TOKEN: token, MOSAIC_HTTP_HOST: '127.0.0.1', KAFKA_TOPIC_PARTITIONS: '6', LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' };
  const collectorPort = await infra.freePort();
  const collectorLog = openSync(join(root, '.mosaic', 'logs', `bench-activation-collector-${runId}.log`), 'a');
  const collector = spawnOwned(process.execPath, [join(root, 'dist', 'apps', 'collector', 'src', 'main.js')], { cwd: root, env: { ...commonEnv, COLLECTOR_PORT: String(collectorPort) }, stdio: ['ignore', collectorLog, collectorLog] });
  closeSync(collectorLog);
  const collectorUrl = `http://127.0.0.1:${collectorPort}`;
  const port = await infra.freePort();
  const serviceLog = join(root, '.mosaic', 'logs', `bench-activation-${runId}.log`);
  mkdirSync(join(root, '.mosaic', 'logs'), { recursive: true });
  const out = openSync(serviceLog, 'a');
  const child = spawnOwned(process.execPath, [join(root, 'dist', 'apps', 'activation', 'src', 'main.js')], {
    cwd: root,
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      MONGODB_URI: `${mongoBase}/${dbName}`,
      MOSAIC_TOPIC_PREFIX: prefix,
      MOSAIC_ADMIN_TOKEN: token,
      MOSAIC_HTTP_HOST: '127.0.0.1',
      ACTIVATION_PORT: String(port),
      KAFKA_TOPIC_PARTITIONS: '6',
      ACTIVATION_DISPATCH_INTERVAL_MS: '100',
      ACTIVATION_COLLECTOR_URL: collectorUrl,
      // the bench's webhook receiver is on loopback
      ACTIVATION_OUTBOUND_ALLOW: '127.0.0.1/32',
      // the decide load comes from one client address: the per-address limit would refuse it
      ACTIVATION_DECIDE_RATE_PER_IP: '1000000',
      ACTIVATION_DECIDE_RATE_PER_KEY: '1000000',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    },
    stdio: ['ignore', out, 'pipe'],
  });
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
  const url = `http://127.0.0.1:${port}`;
  const api = async (method, path, body) => {
    const r = await fetch(`${url}${path}`, { method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, json: await r.json().catch(() => ({})) };
  };
  const kafka = benchKafka('bench-activation');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  const results = { machine: { cpus: cpus().length, memGb: Math.round(totalmem() / 2 ** 30) }, raw: { httpRequestsPerSec: rawPerSec, concurrency: 64 } };
  try {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const body = await fetch(`${url}/ready`).then((r) => (r.status === 200 ? r.json() : null), () => null);
      const topics = body?.checks?.find((c) => c.name === 'kafka-consumers')?.detail?.topics ?? [];
      if (topics.length > 0 && topics.every((t) => t.assignedPartitions.length > 0)) break;
      if (child.exitCode !== null) throw new Error(`activation exited: ${childErr}`);
      if (Date.now() > deadline) throw new Error(`activation not ready within 90 s (log: ${serviceLog})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const dest = await api('POST', '/v1/destinations', { kind: 'webhook', name: 'bench', url: `${receiverUrl}/hook`, concurrency: CONCURRENCY });
    if (dest.status !== 201) throw new Error(`creating the destination: ${dest.status} ${JSON.stringify(dest.json)}`);
    secret = dest.json.secret;
    const trig = await api('POST', '/v1/triggers', { segmentKey: 'bench-vip', on: 'entered', destinationId: dest.json.id });
    if (trig.status !== 201) throw new Error(`creating the trigger: ${trig.status}`);
    await producer.connect();
    log(`deliveries: ${N} membership changes`);
    const sentAt = new Map();
    const messages = Array.from({ length: N }, (_, i) => {
      const change = { profileId: `p-${runId}-${i}`, segmentKey: 'bench-vip', segmentVersion: 1, change: 'entered', at: new Date().toISOString(), reason: { kind: 'message', messageId: `m-${i}` }, identifiers: { userId: `u-${i}` }, profileVersion: 1 };
      const enc = contracts.encodeMessage(contracts.Schemas.segmentMembership, change, { producer: 'bench', messageId: `mem:${change.profileId}:1`, correlationId: `m-${i}` });
      return { key: `${change.profileId}|bench-vip`, value: enc.value, headers: enc.headers, profileId: change.profileId };
    });
    const t0 = Date.now();
    for (let i = 0; i < messages.length; i += 500) {
      const chunk = messages.slice(i, i + 500);
      const t = Date.now();
      for (const m of chunk) sentAt.set(m.profileId, t);
      await producer.send({ topic: `${prefix}segments.membership`, acks: -1, messages: chunk.map(({ key, value, headers }) => ({ key, value, headers })) });
    }
    let last = -1;
    let lastAt = Date.now();
    while (received.size < N) {
      if (received.size !== last) [last, lastAt] = [received.size, Date.now()];
      if (Date.now() - lastAt > 120_000) throw new Error(`stuck at ${received.size}/${N} deliveries (log: ${serviceLog})`);
      if (child.exitCode !== null) throw new Error(`activation exited: ${childErr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const end = Math.max(...received.values());
    const latencies = [...received].map(([id, t]) => t - sentAt.get(id));
    results.deliveries = { deliveries: N, seconds: (end - t0) / 1000, perSec: rate(N, (end - t0) / 1000), p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99), badSignatures };
    log(`deliveries: ${results.deliveries.perSec}/s`);

    // ---- decide -------------------------------------------------------------------------------------
    for (let t = Date.now(); ; ) {
      if ((await fetch(`${collectorUrl}/ready`).then((r) => r.status, () => 0)) === 200) break;
      if (Date.now() - t > 90_000) throw new Error('the collector is not ready within 90 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const source = await fetch(`${collectorUrl}/v1/sources`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) }).then((r) => r.json());
    const writeKey = source.writeKey;
    const experience = JSON.parse(readFileSync(join(root, 'demo', 'experiences', 'home-banner.json'), 'utf8'));
    if ((await api('POST', '/v1/experiences', experience)).status !== 201) throw new Error('creating the experience failed');
    log(`decide: ${PROFILES} profiles`);
    const segs = ['high-ltv', 'premium-coffee-browsers', 'loyal-customers'];
    const profileMsgs = [];
    const memberMsgs = [];
    const version = new Map();
    const changeOf = (i, v) => ({ profileId: `d-${runId}-${i}`, version: v, changed: ['traits.firstName'], profile: { identifiers: [{ type: 'anonymousId', value: `a-${runId}-${i}` }], traits: { firstName: `Visitor ${i}` }, computed: { orders: { count: i % 5, lifetimeValue: (i % 7) * 100 }, sources: [source.id] }, membershipVersion: 0 }, trigger: { messageId: `d-${i}-${v}`, kind: 'event' }, at: new Date().toISOString() });
    const memberOf = (i, v, change) => ({ profileId: `d-${runId}-${i}`, segmentKey: segs[i % 3], segmentVersion: 1, change, at: new Date().toISOString(), reason: { kind: 'message' }, identifiers: {}, profileVersion: v });
    const encProfile = (c) => {
      const e = contracts.encodeMessage(contracts.Schemas.profileChange, c, { producer: 'bench', messageId: `chg:${c.profileId}:${c.version}`, correlationId: 'b' });
      return { key: c.profileId, value: e.value, headers: e.headers };
    };
    const encMember = (m) => {
      const e = contracts.encodeMessage(contracts.Schemas.segmentMembership, m, { producer: 'bench', messageId: `mem:${m.profileId}:${m.profileVersion}`, correlationId: 'b' });
      return { key: `${m.profileId}|${m.segmentKey}`, value: e.value, headers: e.headers };
    };
    for (let i = 0; i < PROFILES; i += 1) {
      version.set(i, 1);
      profileMsgs.push(encProfile(changeOf(i, 1)));
      if (i % 2 === 0) memberMsgs.push(encMember(memberOf(i, 1, 'entered')));
    }
    for (let i = 0; i < profileMsgs.length; i += 500) await producer.send({ topic: `${prefix}profiles.changes`, acks: -1, messages: profileMsgs.slice(i, i + 500) });
    for (let i = 0; i < memberMsgs.length; i += 500) await producer.send({ topic: `${prefix}segments.membership`, acks: -1, messages: memberMsgs.slice(i, i + 500) });
    const decideOnce = async (i) => {
      const r = await http.post(`${url}/v1/decide`, JSON.stringify({ writeKey, anonymousId: `a-${runId}-${i}`, slots: ['home-banner'] }), { 'content-type': 'text/plain' });
      return { status: r.status, known: r.status === 200 && JSON.parse(r.body).profileId !== null };
    };
    for (let t = Date.now(); !(await decideOnce(PROFILES - 1)).known; ) {
      if (Date.now() - t > 300_000) throw new Error('the profiles did not reach the activation store within 300 s');
      await new Promise((r) => setTimeout(r, 500));
    }
    // every profile stored and cached (a visitor not yet stored is remembered as unknown for a while)
    let missing = Array.from({ length: PROFILES }, (_, i) => i);
    for (let t = Date.now(); missing.length > 0; ) {
      const known = await Promise.all(missing.map((i) => decideOnce(i).then((r) => r.known)));
      missing = missing.filter((_, k) => !known[k]);
      if (missing.length === 0) break;
      if (Date.now() - t > 300_000) throw new Error(`${missing.length} profiles did not reach the activation store within 300 s`);
      await new Promise((r) => setTimeout(r, 11_000));
    }
    // ingest while measuring: profile changes and membership flips
    let ingesting = true;
    let ingested = 0;
    let ingestError;
    const ingest = (async () => {
      const started = Date.now();
      while (ingesting) {
        const i = ingested % PROFILES;
        const v = version.get(i) + 1;
        version.set(i, v);
        await producer.send({ topic: `${prefix}profiles.changes`, acks: -1, messages: [encProfile(changeOf(i, v))] });
        await producer.send({ topic: `${prefix}segments.membership`, acks: -1, messages: [encMember(memberOf(i, v, v % 2 === 0 ? 'exited' : 'entered'))] });
        ingested += 1;
        const wait = started + (ingested * 1000) / INGEST_RATE - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })().catch((err) => {
      ingestError = err;
    });
    const load = async (offered) => {
      log(`decide: ${offered} requests/s for ${DECIDE_SECONDS} s while ingesting ${INGEST_RATE} changes/s`);
      const decideLatencies = [];
      let errors = 0;
      const total = offered * DECIDE_SECONDS;
      const d0 = performance.now();
      const inflight = new Set();
      for (let n = 0; n < total; n += 1) {
        const due = d0 + (n * 1000) / offered;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const p = decideOnce((n * 7919) % PROFILES)
          .then((r) => {
            if (r.status !== 200) errors += 1;
          }, () => {
            errors += 1;
          })
          .finally(() => {
            decideLatencies.push(performance.now() - due);
            inflight.delete(p);
          });
        inflight.add(p);
      }
      await Promise.all([...inflight]);
      const elapsed = (performance.now() - d0) / 1000;
      return { rate: offered, seconds: DECIDE_SECONDS, requests: total, achievedPerSec: rate(total, elapsed), p50Ms: Math.round(pct(decideLatencies, 50) * 10) / 10, p99Ms: Math.round(pct(decideLatencies, 99) * 10) / 10, maxMs: Math.round(Math.max(...decideLatencies)), errors };
    };
    const offered = await load(DECIDE_RATE);
    const sustainable = await load(Math.max(10, Math.floor(offered.achievedPerSec / 2)));
    ingesting = false;
    await ingest;
    if (ingestError) throw ingestError;
    const metricsText = await (await fetch(`${url}/metrics`)).text();
    const cache = (result) => Number(new RegExp(`mosaic_activation_decision_cache_lookups_total\\{result="${result}"[^}]*\\} (\\d+)`).exec(metricsText)?.[1] ?? 0);
    results.decide = { ...offered, ingestedChanges: ingested, cacheHits: cache('hit'), cacheMisses: cache('miss') };
    results.decideSustainable = sustainable;
    log(`decide at ${sustainable.rate}/s: p50 ${sustainable.p50Ms} ms, p99 ${sustainable.p99Ms} ms at ${sustainable.achievedPerSec}/s`);
    log(`decide: p50 ${results.decide.p50Ms} ms, p99 ${results.decide.p99Ms} ms at ${results.decide.achievedPerSec}/s (${results.decide.errors} errors)`);
    results.rssPeakMb = rssPeak;
  } finally {
    clearInterval(rssTimer);
    await producer.disconnect().catch(() => undefined);
    await stopChild(child);
    await stopChild(collector);
    http.close();
    await new Promise((r) => server.close(r));
    const mongo = new MongoClient(`${mongoBase}/${dbName}`);
    await mongo.connect().then(() => mongo.db(dbName).dropDatabase()).catch(() => undefined);
    await mongo.close();
  }
  const r = results;
  const table = [
    ['measure', 'result', 'raw limit (same run)', 'ratio'],
    [`webhook deliveries/s (${r.deliveries.deliveries}, ${CONCURRENCY} in flight)`, `${r.deliveries.perSec} (produce → received p50 ${r.deliveries.p50Ms} ms, p99 ${r.deliveries.p99Ms} ms)`, `HTTP POSTs ${r.raw.httpRequestsPerSec}/s`, (r.deliveries.perSec / r.raw.httpRequestsPerSec).toFixed(2)],
  ];
  table.push([`decide at ${r.decideSustainable.rate}/s (half the capacity) for ${r.decideSustainable.seconds} s, ${INGEST_RATE} changes/s ingested`, `p50 ${r.decideSustainable.p50Ms} ms, p99 ${r.decideSustainable.p99Ms} ms, max ${r.decideSustainable.maxMs} ms; ${r.decideSustainable.errors} errors`, '', '']);
  table.push([`decide at ${r.decide.rate}/s for ${r.decide.seconds} s, ${INGEST_RATE} changes/s ingested`, `p50 ${r.decide.p50Ms} ms, p99 ${r.decide.p99Ms} ms, max ${r.decide.maxMs} ms; ${r.decide.achievedPerSec}/s achieved, ${r.decide.errors} errors`, `HTTP POSTs ${r.raw.httpRequestsPerSec}/s`, (r.decide.achievedPerSec / r.raw.httpRequestsPerSec).toFixed(2)]);
  console.log(table.map((row) => `| ${row.join(' | ')} |`).join('\n'));
  console.log(`decision cache: ${r.decide.cacheHits} hits, ${r.decide.cacheMisses} misses`);
  console.log(`bad signatures ${r.deliveries.badSignatures}; service RSS peak ${r.rssPeakMb} MB`);
  mkdirSync(join(root, '.mosaic', 'bench'), { recursive: true });
  const file = join(root, '.mosaic', 'bench', `activation-${runId}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  log(`results: ${file}`);
}
