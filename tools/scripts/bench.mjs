#!/usr/bin/env node
// `npm run bench -- collector [--duration 10] [--connections 32]`
// `npm run bench -- identity [--events 1000] [--merges 200] [--duration 10] [--rate <events/s>]` (bench-identity.mjs)
// `npm run bench -- enrichment [--profiles 300] [--events 3000] [--duration 10] [--rate <events/s>]` (bench-enrichment.mjs)
// `npm run bench -- activation [--deliveries 2000] [--concurrency 16]` (bench-activation.mjs)
// `npm run bench -- segmentation [--profiles 2000] [--changes 6000] [--rate 20] [--timers 200] [--backfill-profiles 20000]` (bench-segmentation.mjs)
// `npm run bench -- import [--rows 100000]` (tools/scripts/bench-import.mjs)
// `npm run bench -- pipeline [--profiles 10000] [--events N | --duration S] [--rate R] [--timeout 600] [--stored-profiles N]` (bench-pipeline.mjs)
// `npm run bench -- console [--events 10000] [--loads 5]` (bench-console.mjs)
// `npm run bench -- contacts [--profiles 100000] [--repeat 15]` (bench-contacts.mjs)
//
// Measures the collector next to the raw limits of this machine, in the same run:
//   raw.kafka      a kafkajs producer alone (idempotent, acks=all, batches of 100), events/s
//   raw.http       an empty handler on the same framework (Nest + Fastify), requests/s
//   collector      HTTP batches of 1 and of 100 events through the real collector (write key,
//                  validation, Kafka ack before 200), events/s acknowledged and p50/p99 latency
// and the collector's resident memory. Prints a table and writes JSON to .mosaic/bench/.
// The load generator (autocannon) runs in this process; the servers run in child processes.
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  adminApi,
  benchLogFile,
  benchSetup,
  cannonSummary,
  cleanUpOnce,
  createBenchSource,
  deleteBenchTopics,
  dropBenchDatabases,
  machineInfo,
  numberOption,
  rssMb,
  runAutocannon,
  serviceEnv,
  startService,
  stopChild,
  writeResult,
} from './bench-util.mjs';
import { startEmptyServer } from './bench-empty-handler.mjs';
import { rawKafkaLimits } from './bench-raw-kafka.mjs';

const args = process.argv.slice(2);
const target = args.find((a) => !a.startsWith('--')) ?? 'collector';
const opt = (name, def) => numberOption(args, name, def);
const DURATION = opt('duration', 10);
const CONNECTIONS = opt('connections', 32);
const log = (m) => console.error(`[bench] ${m}`);

/** The other benchmarks, each in its own file; a run resolves with its exit code (none: 0). */
const BENCHES = {
  import: async (a) => (await import('./bench-import.mjs')).runImportBench(a),
  identity: async (a) => (await import('./bench-identity.mjs')).runIdentityBench(a),
  enrichment: async (a) => (await import('./bench-enrichment.mjs')).runEnrichmentBench(a),
  segmentation: async (a) => (await import('./bench-segmentation.mjs')).runSegmentationBench(a),
  activation: async (a) => (await import('./bench-activation.mjs')).runActivationBench(a),
  pipeline: async (a) => (await import('./bench-pipeline.mjs')).runPipelineBench(a),
  console: async (a) => (await import('./bench-console.mjs')).runConsoleBench(a),
  contacts: async (a) => (await import('./bench-contacts.mjs')).runContactsBench(a),
};
if (BENCHES[target]) process.exit((await BENCHES[target](args)) ?? 0);
if (target !== 'collector') {
  console.error(`unknown benchmark "${target}"; available: collector, ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}

const setup = await benchSetup('collector');
const { root, require, infra, up, runId, prefix, token, kafka: benchKafka } = setup;
const autocannon = require('autocannon');

function sampleEvent(i) {
  return {
    type: 'track',
    anonymousId: `anon-${i % 5000}`,
    event: 'Product Viewed',
    properties: { sku: `SKU-${i % 700}`, name: 'Barista Pro 900', category: 'coffee machines', price: 899, currency: 'EUR' },
    context: {
      page: { url: 'https://shop.example.com/p/barista-pro-900', referrer: 'https://www.google.com/' },
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120',
    },
  };
}
const eventBytes = Buffer.byteLength(JSON.stringify(sampleEvent(1)));

async function rawKafka() {
  const kafka = benchKafka('bench-raw');
  // An envelope of the same size as the collector produces.
  const value = Buffer.from(
    JSON.stringify({
      schema: 'events.raw',
      schemaVersion: 1,
      messageId: 'x'.repeat(36),
      correlationId: 'x'.repeat(36),
      producedAt: new Date().toISOString(),
      producer: 'collector',
      payload: {
        ...sampleEvent(1),
        messageId: 'x'.repeat(36),
        traits: {},
        timestamp: new Date().toISOString(),
        receivedAt: new Date().toISOString(),
        sourceId: 'src_x',
      },
    }),
  );
  return (await rawKafkaLimits({ kafka, topic: `${prefix}raw`, value, seconds: DURATION })).producer;
}

const cannon = (opts) => runAutocannon(autocannon, { duration: DURATION, connections: CONNECTIONS, ...opts });
const summary = cannonSummary;

async function rawHttp() {
  const { child, url } = await startEmptyServer(root);
  try {
    await cannon({
      url: `${url}/v1/track`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sampleEvent(1)),
      duration: 2,
    });
    const r = await cannon({ url: `${url}/v1/track`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sampleEvent(1)) });
    return summary(r, 1);
  } finally {
    await stopChild(child);
  }
}

async function collector() {
  const port = await infra.freePort();
  const { child, url } = await startService({ root, name: 'collector', port, env: serviceEnv(setup), logFile: benchLogFile(root, 'collector', runId) });
  try {
    const { authorization } = await createBenchSource(adminApi(url, token));
    const headers = { 'content-type': 'application/json', authorization };
    const single = JSON.stringify(sampleEvent(1));
    const batch = JSON.stringify({ batch: Array.from({ length: 100 }, (_, i) => sampleEvent(i)) });
    await cannon({ url: `${url}/v1/track`, method: 'POST', headers, body: single, duration: 2 });
    const r1 = await cannon({ url: `${url}/v1/track`, method: 'POST', headers, body: single });
    const rss1 = rssMb(child.pid);
    const r100 = await cannon({ url: `${url}/v1/batch`, method: 'POST', headers, body: batch, connections: Math.max(4, CONNECTIONS / 4) });
    const rss100 = rssMb(child.pid);
    return { batch1: summary(r1, 1), batch100: summary(r100, 100), rssMb: Math.max(rss1, rss100) };
  } finally {
    await stopChild(child);
  }
}

/** The three measurements; the collector's topics and database go afterwards, also when one fails or the run is interrupted. */
async function measure() {
  const cleanUp = cleanUpOnce(async () => {
    await deleteBenchTopics(benchKafka('bench-cleanup').admin(), prefix, log);
    await dropBenchDatabases(require('mongodb'), setup.mongoBase, [setup.dbName], log);
    if (up.started.kafka || up.started.mongo) await infra.down({});
  });
  try {
    log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GiB; ${DURATION}s per run, ${CONNECTIONS} connections`);
    log('raw limit: kafkajs producer alone...');
    const kafkaRaw = await rawKafka();
    log('raw limit: empty Nest+Fastify handler...');
    const httpRaw = await rawHttp();
    log('collector: batches of 1 and of 100...');
    return { kafkaRaw, httpRaw, col: await collector() };
  } finally {
    await cleanUp();
  }
}

const { kafkaRaw, httpRaw, col } = await measure();
const result = {
  benchmark: 'collector',
  at: new Date().toISOString(),
  machine: machineInfo(up),
  settings: { durationSec: DURATION, connections: CONNECTIONS, eventBytes },
  raw: { kafkaProducer: kafkaRaw, emptyHttpHandler: httpRaw },
  collector: col,
  ratios: {
    batch100EventsVsRawKafka: +(col.batch100.eventsPerSec / kafkaRaw.eventsPerSec).toFixed(3),
    batch1RequestsVsEmptyHandler: +(col.batch1.requestsPerSec / httpRaw.requestsPerSec).toFixed(3),
  },
};
const file = writeResult(root, 'collector', runId, result);
const row = (name, v) => `${name.padEnd(44)} ${String(v).padStart(12)}`;
console.log(
  [
    '',
    `collector benchmark (${result.machine.cores} cores, ${DURATION}s per run, ${CONNECTIONS} connections, ${eventBytes}-byte events)`,
    row('raw: kafkajs producer alone, events/s', kafkaRaw.eventsPerSec),
    row('raw: empty Nest+Fastify handler, req/s', httpRaw.requestsPerSec),
    row('raw: empty handler p50 / p99 ms', `${httpRaw.p50ms} / ${httpRaw.p99ms}`),
    row('collector, batches of 1: events/s acked', col.batch1.eventsPerSec),
    row('collector, batches of 1: p50 / p99 ms', `${col.batch1.p50ms} / ${col.batch1.p99ms}`),
    row('collector, batches of 100: events/s acked', col.batch100.eventsPerSec),
    row('collector, batches of 100: p50 / p99 ms', `${col.batch100.p50ms} / ${col.batch100.p99ms}`),
    row('collector non-2xx (batch 1 / batch 100)', `${col.batch1.non2xx} / ${col.batch100.non2xx}`),
    row('collector RSS, MB', col.rssMb),
    row('ratio: batch-100 events/s ÷ raw Kafka', result.ratios.batch100EventsVsRawKafka),
    row('ratio: batch-1 req/s ÷ empty handler', result.ratios.batch1RequestsVsEmptyHandler),
    `JSON: ${file}`,
    '',
  ].join('\n'),
);
process.exit(0);
