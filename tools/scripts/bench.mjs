#!/usr/bin/env node
// `npm run bench -- collector [--duration 10] [--connections 32]`
// `npm run bench -- identity [--events 1000] [--merges 200] [--duration 10] [--rate <events/s>]` (bench-identity.mjs)
// `npm run bench -- enrichment [--profiles 300] [--events 3000] [--duration 10] [--rate <events/s>]` (bench-enrichment.mjs)
// `npm run bench -- activation [--deliveries 2000] [--concurrency 16]` (bench-activation.mjs)
// `npm run bench -- segmentation [--profiles 2000] [--changes 6000] [--rate 20] [--timers 200] [--backfill-profiles 20000]` (bench-segmentation.mjs)
// `npm run bench -- import [--rows 100000]` (tools/scripts/bench-import.mjs)
// `npm run bench -- pipeline [--profiles 10000] [--events N | --duration S] [--rate R] [--timeout 600]` (bench-pipeline.mjs)
//
// Measures the collector next to the raw limits of this machine, in the same run:
//   raw.kafka      a kafkajs producer alone (idempotent, acks=all, batches of 100), events/s
//   raw.http       an empty handler on the same framework (Nest + Fastify), requests/s
//   collector      HTTP batches of 1 and of 100 events through the real collector (write key,
//                  validation, Kafka ack before 200), events/s acknowledged and p50/p99 latency
// and the collector's resident memory. Prints a table and writes JSON to .mosaic/bench/.
// The load generator (autocannon) runs in this process; the servers run in child processes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchSetup, cannonSummary, numberOption, rawKafkaLimits, rssMb, runAutocannon, stopChild, spawnOwned } from './bench-util.mjs';

const args = process.argv.slice(2);
const target = args.find((a) => !a.startsWith('--')) ?? 'collector';
const opt = (name, def) => numberOption(args, name, def);
const DURATION = opt('duration', 10);
const CONNECTIONS = opt('connections', 32);
const log = (m) => console.error(`[bench] ${m}`);

if (target === 'import') {
  const { runImportBench } = await import('./bench-import.mjs');
  process.exit(await runImportBench(args));
}
if (target === 'identity') {
  const { runIdentityBench } = await import('./bench-identity.mjs');
  await runIdentityBench(args);
  process.exit(0);
}
if (target === 'enrichment') {
  const { runEnrichmentBench } = await import('./bench-enrichment.mjs');
  await runEnrichmentBench(args);
  process.exit(0);
}
if (target === 'segmentation') {
  const { runSegmentationBench } = await import('./bench-segmentation.mjs');
  await runSegmentationBench(args);
  process.exit(0);
}
if (target === 'activation') {
  const { runActivationBench } = await import('./bench-activation.mjs');
  await runActivationBench(args);
  process.exit(0);
}
if (target === 'pipeline') {
  const { runPipelineBench } = await import('./bench-pipeline.mjs');
  process.exit(await runPipelineBench(args));
}
if (target !== 'collector') {
  console.error(`unknown benchmark "${target}"; available: collector, import, identity, enrichment, segmentation, activation, pipeline`);
  process.exit(2);
}

const { root, require, infra, up, brokers, runId, prefix, token, kafka: benchKafka } = await benchSetup('collector');
const autocannon = require('autocannon');

function sampleEvent(i) {
  return {
    type: 'track',
    anonymousId: `anon-${i % 5000}`,
    event: 'Product Viewed',
    properties: { sku: `SKU-${i % 700}`, name: 'Barista Pro 900', category: 'coffee machines', price: 899, currency: 'EUR' },
    context: { page: { url: 'https://shop.example.com/p/barista-pro-900', referrer: 'https://www.google.com/' }, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120' },
  };
}
const eventBytes = Buffer.byteLength(JSON.stringify(sampleEvent(1)));

async function rawKafka() {
  const kafka = benchKafka('bench-raw');
  // An envelope of the same size as the collector produces.
  const value = Buffer.from(JSON.stringify({ schema: 'events.raw', schemaVersion: 1, messageId: 'x'.repeat(36), correlationId: 'x'.repeat(36), producedAt: new Date().toISOString(), producer: 'collector', payload: { ...sampleEvent(1), messageId: 'x'.repeat(36), traits: {}, timestamp: new Date().toISOString(), receivedAt: new Date().toISOString(), sourceId: 'src_x' } }));
  return (await rawKafkaLimits({ kafka, topic: `${prefix}raw`, value, seconds: DURATION })).producer;
}

function startChild(script, env) {
  return new Promise((resolve, reject) => {
    const child = spawnOwned(process.execPath, [script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out) ?? /LISTENING (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${script} exited ${code}: ${out.slice(-2000)}`)));
  });
}

const cannon = (opts) => runAutocannon(autocannon, { duration: DURATION, connections: CONNECTIONS, ...opts });
const summary = cannonSummary;

async function rawHttp() {
  const { child, url } = await startChild(join(root, 'tools', 'scripts', 'bench-empty-server.cjs'), {});
  try {
    await cannon({ url: `${url}/v1/track`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sampleEvent(1)), duration: 2 });
    const r = await cannon({ url: `${url}/v1/track`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sampleEvent(1)) });
    return summary(r, 1);
  } finally {
    await stopChild(child);
  }
}

async function collector() {
  const env = {
    KAFKA_BROKERS: brokers.join(','),
    MONGODB_URI: `${up.mongoUri.replace(/\/$/, '')}/bench_${runId}`,
    MOSAIC_TOPIC_PREFIX: prefix,
    MOSAIC_ADMIN_TOKEN: token,
    MOSAIC_HTTP_HOST: '127.0.0.1',
    COLLECTOR_PORT: '0',
    KAFKA_TOPIC_PARTITIONS: '6',
    LOG_LEVEL: 'info',
  };
  const { child, url } = await startChild(join(root, 'dist', 'apps', 'collector', 'src', 'main.js'), env);
  try {
    const created = await (await fetch(`${url}/v1/sources`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"name":"bench"}' })).json();
    const auth = `Basic ${Buffer.from(`${created.writeKey}:`).toString('base64')}`;
    const headers = { 'content-type': 'application/json', authorization: auth };
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

log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GiB; ${DURATION}s per run, ${CONNECTIONS} connections`);
log('raw limit: kafkajs producer alone...');
const kafkaRaw = await rawKafka();
log('raw limit: empty Nest+Fastify handler...');
const httpRaw = await rawHttp();
log('collector: batches of 1 and of 100...');
const col = await collector();
if (up.started.kafka || up.started.mongo) await infra.down({});

const result = {
  benchmark: 'collector',
  at: new Date().toISOString(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, kafka: '4.1.1', mongo: up.mongoServer },
  settings: { durationSec: DURATION, connections: CONNECTIONS, eventBytes },
  raw: { kafkaProducer: kafkaRaw, emptyHttpHandler: httpRaw },
  collector: col,
  ratios: {
    batch100EventsVsRawKafka: +(col.batch100.eventsPerSec / kafkaRaw.eventsPerSec).toFixed(3),
    batch1RequestsVsEmptyHandler: +(col.batch1.requestsPerSec / httpRaw.requestsPerSec).toFixed(3),
  },
};
mkdirSync(join(root, '.mosaic', 'bench'), { recursive: true });
const file = join(root, '.mosaic', 'bench', `collector-${runId}.json`);
writeFileSync(file, JSON.stringify(result, null, 2));
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
