// `npm run bench -- activation [--deliveries 2000] [--concurrency 16] [--duration 5]`
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
// The receiver runs in this process (127.0.0.1), the service as a child process (dist/), one
// instance. Prints a table, writes JSON to .mosaic/bench/.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchSetup, numberOption, rssMb, stopChild, timedOps } from './bench-util.mjs';

const log = (m) => console.error(`[bench activation] ${m}`);
const pct = (values, p) => {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const rate = (ops, seconds) => Math.round((ops / seconds) * 10) / 10;

export async function runActivationBench(argv) {
  const N = numberOption(argv, 'deliveries', 2000);
  const CONCURRENCY = numberOption(argv, 'concurrency', 16);
  const DURATION = numberOption(argv, 'duration', 5);
  const { root, require, infra, brokers, runId, prefix, dbName, mongoBase, token } = await benchSetup('activation');
  const { Kafka, logLevel, Partitioners } = require('kafkajs');
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
  log(`raw: HTTP POSTs to the receiver, ${CONCURRENCY} in flight`);
  const sample = JSON.stringify({ type: 'segment.entered', id: 'dlv_x'.padEnd(48, 'x'), timestamp: new Date().toISOString(), data: { profileId: 'p', segmentKey: 'vip', segmentVersion: 1, identifiers: { userId: 'u' }, reason: { kind: 'message' }, profileVersion: 1 } });
  const raw = await timedOps(CONCURRENCY, DURATION, async () => {
    const r = await fetch(`${receiverUrl}/raw`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sample });
    await r.arrayBuffer();
    return 1;
  });
  const rawPerSec = rate(raw.ops, raw.seconds);
  log(`raw: ${rawPerSec} requests/s`);

  // ---- the service ---------------------------------------------------------------------------------
  const port = await infra.freePort();
  const serviceLog = join(root, '.mosaic', 'logs', `bench-activation-${runId}.log`);
  mkdirSync(join(root, '.mosaic', 'logs'), { recursive: true });
  const out = openSync(serviceLog, 'a');
  const child = spawn(process.execPath, [join(root, 'dist', 'apps', 'activation', 'src', 'main.js')], {
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
  const kafka = new Kafka({ clientId: 'bench-activation', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  const results = { machine: { cpus: cpus().length, memGb: Math.round(totalmem() / 2 ** 30) }, raw: { httpRequestsPerSec: rawPerSec, concurrency: CONCURRENCY } };
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
    results.rssPeakMb = rssPeak;
    log(`deliveries: ${results.deliveries.perSec}/s`);
  } finally {
    clearInterval(rssTimer);
    await producer.disconnect().catch(() => undefined);
    await stopChild(child);
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
  console.log(table.map((row) => `| ${row.join(' | ')} |`).join('\n'));
  console.log(`bad signatures ${r.deliveries.badSignatures}; service RSS peak ${r.rssPeakMb} MB`);
  mkdirSync(join(root, '.mosaic', 'bench'), { recursive: true });
  const file = join(root, '.mosaic', 'bench', `activation-${runId}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  log(`results: ${file}`);
}
