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
//   raw.empty      the empty handler (Nest on Fastify, bench-empty-server.cjs) at the decide rate from
//                  the same client on the same open-loop schedule, before the services start: the
//                  p50/p99 floor the decide figures stand next to
//   decide         the decision API at a fixed request rate (open loop: latency counted from each
//                  request's scheduled time, so queueing shows) for visitors of P profiles (cached
//                  after a first request), while profile and membership changes are ingested at
//                  `--ingest-rate`/s; p50/p99/max, achieved requests/s, errors; next to raw.http
// The receiver runs in this process (127.0.0.1), the collector (write keys) and the service as
// child processes (dist/), one instance each. Prints a table, writes JSON to .mosaic/bench/.
import { createServer } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { measureDecide, measureEmptyHandler } from './bench-activation-decide.mjs';
import {
  adminApi,
  benchContext,
  benchLogFile,
  cleanUpOnce,
  deleteBenchTopics,
  dropBenchDatabases,
  httpClient,
  numberOption,
  oneDecimalRate as rate,
  pct,
  rssSampler,
  serviceEnv,
  sleep,
  startService,
  stopChild,
  timedOps,
  writeResult,
} from './bench-util.mjs';

const log = (m) => console.error(`[bench activation] ${m}`);

async function activationContext(argv) {
  const opts = {
    N: numberOption(argv, 'deliveries', 2000),
    CONCURRENCY: numberOption(argv, 'concurrency', 16),
    DURATION: numberOption(argv, 'duration', 5),
    DECIDE_RATE: numberOption(argv, 'decide-rate', 2000),
    DECIDE_SECONDS: numberOption(argv, 'decide-seconds', 10),
    PROFILES: numberOption(argv, 'profiles', 1000),
    INGEST_RATE: numberOption(argv, 'ingest-rate', 100),
  };
  const ctx = await benchContext('activation', opts);
  const { root, require, runId } = ctx;
  return {
    ...ctx,
    log,
    mongodb: require('mongodb'),
    domain: require(join(root, 'dist', 'libs', 'activation', 'domain', 'src', 'index.js')),
    http: httpClient(64),
    serviceLog: benchLogFile(root, 'activation', runId),
    // the receiver: the destination's secret, profileId -> ms its webhook arrived
    receiver: { server: undefined, url: undefined, secret: undefined, received: new Map(), badSignatures: 0 },
    services: [],
    activation: undefined,
    collector: undefined,
    rss: undefined,
    api: undefined,
  };
}

// ---- the receiver ------------------------------------------------------------------------------
/** The webhook receiver on 127.0.0.1: verifies each /hook delivery's signature and notes when each profile's arrived. */
async function startReceiver({ receiver, domain }) {
  receiver.server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/hook') {
        const v = domain.verify(req.headers, body, [receiver.secret], Date.now());
        if (!v.ok) receiver.badSignatures += 1;
        const p = JSON.parse(body);
        if (!receiver.received.has(p.data.profileId)) receiver.received.set(p.data.profileId, Date.now());
      }
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise((r) => receiver.server.listen(0, '127.0.0.1', r));
  receiver.url = `http://127.0.0.1:${receiver.server.address().port}`;
}

// ---- raw.http ------------------------------------------------------------------------------------
async function rawHttp({ http, receiver, opts }) {
  log(`raw: HTTP POSTs to the receiver, 64 in flight (as many as the decide load keeps open)`);
  const sample = JSON.stringify({
    type: 'segment.entered',
    id: 'dlv_x'.padEnd(48, 'x'),
    timestamp: new Date().toISOString(),
    data: { profileId: 'p', segmentKey: 'vip', segmentVersion: 1, identifiers: { userId: 'u' }, reason: { kind: 'message' }, profileVersion: 1 },
  });
  const raw = await timedOps(64, opts.DURATION, async () => {
    await http.post(`${receiver.url}/raw`, sample);
    return 1;
  });
  const rawPerSec = rate(raw.ops, raw.seconds);
  log(`raw: ${rawPerSec} requests/s`);
  return rawPerSec;
}

// ---- the collector (write keys) and the service ------------------------------------------------
async function startServices(ctx) {
  const { root, runId, setup, infra } = ctx;
  const [collectorPort, port] = [await infra.freePort(), await infra.freePort()];
  const activationEnv = serviceEnv(setup, {
    ACTIVATION_DISPATCH_INTERVAL_MS: '100',
    ACTIVATION_COLLECTOR_URL: `http://127.0.0.1:${collectorPort}`,
    // the bench's webhook receiver is on loopback
    ACTIVATION_OUTBOUND_ALLOW: '127.0.0.1/32',
    // the decide load comes from one client address: the per-address limit would refuse it
    ACTIVATION_DECIDE_RATE_PER_IP: '1000000',
    ACTIVATION_DECIDE_RATE_PER_KEY: '1000000',
  });
  const started = [
    startService({ root, name: 'collector', port: collectorPort, env: serviceEnv(setup), logFile: benchLogFile(root, 'activation-collector', runId) }),
    startService({ root, name: 'activation', port, env: activationEnv, logFile: ctx.serviceLog }),
  ].map((p) => p.then((svc) => (ctx.services.push(svc), svc)));
  [ctx.collector, ctx.activation] = await Promise.all(started);
  ctx.rss = rssSampler(ctx.activation.child);
  ctx.api = adminApi(ctx.activation.url, ctx.token);
}

function checkRunning({ activation }) {
  if (activation.child.exitCode !== null) throw new Error(`activation exited: ${activation.stderr()}`);
}

// ---- deliveries ----------------------------------------------------------------------------------
/** A webhook destination for the receiver and a trigger on entering bench-vip. */
async function createTrigger({ api, receiver, opts }) {
  const dest = await api('POST', '/v1/destinations', { kind: 'webhook', name: 'bench', url: `${receiver.url}/hook`, concurrency: opts.CONCURRENCY });
  if (dest.status !== 201) throw new Error(`creating the destination: ${dest.status} ${JSON.stringify(dest.json)}`);
  receiver.secret = dest.json.secret;
  const trig = await api('POST', '/v1/triggers', { segmentKey: 'bench-vip', on: 'entered', destinationId: dest.json.id });
  if (trig.status !== 201) throw new Error(`creating the trigger: ${trig.status}`);
}

async function deliveriesPhase(ctx) {
  const { contracts, producer, prefix, runId, receiver, opts } = ctx;
  const { N } = opts;
  log(`deliveries: ${N} membership changes`);
  const sentAt = new Map();
  const messages = Array.from({ length: N }, (_, i) => {
    const change = {
      profileId: `p-${runId}-${i}`,
      segmentKey: 'bench-vip',
      segmentVersion: 1,
      change: 'entered',
      at: new Date().toISOString(),
      reason: { kind: 'message', messageId: `m-${i}` },
      identifiers: { userId: `u-${i}` },
      profileVersion: 1,
    };
    const enc = contracts.encodeMessage(contracts.Schemas.segmentMembership, change, {
      producer: 'bench',
      messageId: `mem:${change.profileId}:1`,
      correlationId: `m-${i}`,
    });
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
  while (receiver.received.size < N) {
    if (receiver.received.size !== last) [last, lastAt] = [receiver.received.size, Date.now()];
    if (Date.now() - lastAt > 120_000) throw new Error(`stuck at ${receiver.received.size}/${N} deliveries (log: ${ctx.serviceLog})`);
    checkRunning(ctx);
    await sleep(50);
  }
  const end = Math.max(...receiver.received.values());
  const latencies = [...receiver.received].map(([id, t]) => t - sentAt.get(id));
  const deliveries = {
    deliveries: N,
    seconds: (end - t0) / 1000,
    perSec: rate(N, (end - t0) / 1000),
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
    badSignatures: receiver.badSignatures,
  };
  log(`deliveries: ${deliveries.perSec}/s`);
  return deliveries;
}

async function cleanUp({ rss, producer, services, http, receiver, admin, prefix, mongodb, mongoBase, dbName, up, infra }) {
  rss?.stop();
  await producer.disconnect().catch(() => undefined);
  for (const svc of services) await stopChild(svc.child);
  http.close();
  if (receiver.server) await new Promise((r) => receiver.server.close(r));
  await deleteBenchTopics(admin, prefix, log);
  await dropBenchDatabases(mongodb, mongoBase, [dbName], log);
  // the infrastructure this run started (not one that was already running)
  if (up.started.kafka || up.started.mongo) await infra.down({}).catch(() => undefined);
}

export async function runActivationBench(argv) {
  const ctx = await activationContext(argv);
  const results = { machine: { cpus: cpus().length, memGb: Math.round(totalmem() / 2 ** 30) } };
  const cleanUpRun = cleanUpOnce(() => cleanUp(ctx));
  try {
    await startReceiver(ctx);
    results.raw = { httpRequestsPerSec: await rawHttp(ctx), concurrency: 64, emptyHandler: await measureEmptyHandler(ctx) };
    await startServices(ctx);
    await createTrigger(ctx);
    await ctx.producer.connect();
    results.deliveries = await deliveriesPhase(ctx);
    Object.assign(results, await measureDecide(ctx));
    results.rssPeakMb = ctx.rss.peakMb;
  } finally {
    await cleanUpRun();
  }
  printReport(results, ctx.opts);
  log(`results: ${writeResult(ctx.root, 'activation', ctx.runId, results)}`);
}

function printReport(r, { CONCURRENCY, INGEST_RATE }) {
  const table = [
    ['measure', 'result', 'raw limit (same run)', 'ratio'],
    [
      `webhook deliveries/s (${r.deliveries.deliveries}, ${CONCURRENCY} in flight)`,
      `${r.deliveries.perSec} (produce → received p50 ${r.deliveries.p50Ms} ms, p99 ${r.deliveries.p99Ms} ms)`,
      `HTTP POSTs ${r.raw.httpRequestsPerSec}/s`,
      (r.deliveries.perSec / r.raw.httpRequestsPerSec).toFixed(2),
    ],
  ];
  table.push([
    `decide at ${r.decideSustainable.rate}/s (half the capacity) for ${r.decideSustainable.seconds} s, ${INGEST_RATE} changes/s ingested`,
    `p50 ${r.decideSustainable.p50Ms} ms, p99 ${r.decideSustainable.p99Ms} ms, max ${r.decideSustainable.maxMs} ms; ${r.decideSustainable.errors} errors; the service's event-loop delay p99 ${r.decideSustainable.serviceEventLoopDelayMs.p99} ms, max ${r.decideSustainable.serviceEventLoopDelayMs.max} ms`,
    '',
    '',
  ]);
  table.push([
    `decide at ${r.decide.rate}/s for ${r.decide.seconds} s, ${INGEST_RATE} changes/s ingested`,
    `p50 ${r.decide.p50Ms} ms, p99 ${r.decide.p99Ms} ms, max ${r.decide.maxMs} ms; ${r.decide.achievedPerSec}/s achieved, ${r.decide.errors} errors`,
    `HTTP POSTs ${r.raw.httpRequestsPerSec}/s; the empty handler at ${r.raw.emptyHandler.rate}/s: p50 ${r.raw.emptyHandler.p50Ms} ms, p99 ${r.raw.emptyHandler.p99Ms} ms, max ${r.raw.emptyHandler.maxMs} ms`,
    (r.decide.achievedPerSec / r.raw.httpRequestsPerSec).toFixed(2),
  ]);
  console.log(table.map((row) => `| ${row.join(' | ')} |`).join('\n'));
  console.log(`decision cache: ${r.decide.cacheHits} hits, ${r.decide.cacheMisses} misses`);
  const w = r.decide.work;
  const top = Object.entries(w.storeCommandsBy)
    .slice(0, 4)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(
    `the service's work during both decide phases: ${w.consumed} Kafka messages in ${w.batches} batches, ${w.storeCommands} store commands (${w.storeCommandsPerBatch} per batch; ${top})`,
  );
  console.log(`bad signatures ${r.deliveries.badSignatures}; service RSS peak ${r.rssPeakMb} MB`);
}
