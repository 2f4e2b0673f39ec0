#!/usr/bin/env node
// `npm run bench -- import [--rows 100000] [--concurrency 4]`
// (or `node tools/scripts/bench-import.mjs [--rows N]`)
//
// Measures bulk imports end to end: `mosaic import` (the CLI, a child process) → the
// collector's POST /v1/import (a child process, built from dist/) → Kafka, acknowledged by
// all in-sync replicas before each request is answered. Generates the files, then runs:
//   csv        N order rows from a CSV file (parse, map, chunk ≤ 400 KB, validate, produce)
//   ndjson     N rows from an NDJSON file into another source
//   re-import  the CSV file again: every row a duplicate, nothing produced
// and checks on the broker that exactly 2·N records reached events.raw (high watermarks).
// Prints a table and writes JSON to .mosaic/bench/import-<run>.json.
import { createRequire } from 'node:module';
import { createWriteStream, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureDeps } from './ensure-deps.mjs';
import { build, root } from './build.mjs';
import { benchKafkaFactory, numberOption, rssMb, spawnOwned } from './bench-util.mjs';

const log = (m) => console.error(`[bench import] ${m}`);

function startCollector(env) {
  return new Promise((resolve, reject) => {
    const child = spawnOwned(process.execPath, [join(root, 'dist', 'apps', 'collector', 'src', 'main.js')], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d) => {
      out = (out + d.toString()).slice(-20_000);
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) resolve({ child, url: m[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      const problems = out.split('\n').filter((l) => /"level":"(fatal|error)"/.test(l));
      reject(new Error(`collector exited ${code}: ${(problems.length ? problems.join('\n') : out).slice(-2000)}`));
    });
  });
}

function runCli(args) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawnOwned(process.execPath, [join(root, 'tools', 'cli', 'mosaic.mjs'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`mosaic import exited ${code}: ${stderr.slice(-2000)}${stdout.slice(-2000)}`));
      resolve({ seconds, summary: JSON.parse(stdout) });
    });
  });
}

async function writeLines(path, n, line) {
  const out = createWriteStream(path);
  for (let i = 0; i < n; i++) {
    if (!out.write(line(i))) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
}

const SKUS = ['CM-900', 'CM-450', 'GR-20', 'BN-ESP-1KG', 'BN-FLT-500'];

export async function runImportBench(argv = process.argv.slice(2)) {
  const opt = (name, def) => numberOption(argv, name, def);
  const ROWS = opt('rows', 100_000);
  const CONCURRENCY = opt('concurrency', 4);
  ensureDeps();
  await build({ quiet: true });
  const require = createRequire(import.meta.url);
  const infra = require(join(root, 'tools', 'infra', 'index.js'));
  const up = await infra.up({});
  const runId = Date.now().toString(36);
  const prefix = `bench-${runId}.`;
  const token = 'bench-admin-token-0123456789';
  const dir = join(root, '.mosaic', 'bench');
  mkdirSync(dir, { recursive: true });

  log(`generating ${ROWS.toLocaleString('en')} rows (CSV and NDJSON)...`);
  const csvPath = join(dir, `import-${ROWS}.csv`);
  const ndPath = join(dir, `import-${ROWS}.ndjson`);
  const day = (i) => new Date(Date.UTC(2020, 0, 1) + (i % 1460) * 86_400_000 + (i % 86_400) * 1000).toISOString();
  await writeLines(csvPath, ROWS + 1, (i) =>
    i === 0
      ? 'userId,email,timestamp,order_id,properties.revenue,properties.currency,properties.sku,properties.quantity,context.externalIds.pos_id,store\n'
      : `cust-${i % 20_000},c${i % 20_000}@example.com,${day(i)},ord-${i},${(i % 900) + 9.9},EUR,${SKUS[i % SKUS.length]},${(i % 3) + 1},P-${i % 20_000},"Store ${i % 40}, Berlin"\n`,
  );
  await writeLines(ndPath, ROWS, (i) =>
    `${JSON.stringify({ type: 'track', userId: `cust-${i % 20_000}`, event: 'Order Completed', timestamp: day(i), properties: { order_id: `nd-${i}`, revenue: (i % 900) + 9.9, currency: 'EUR', sku: SKUS[i % SKUS.length], quantity: (i % 3) + 1, store: `Store ${i % 40}, Berlin` }, context: { traits: { email: `c${i % 20_000}@example.com` } } })}\n`,
  );

  const env = {
    NODE_ENV: 'development',
    KAFKA_BROKERS: up.kafkaBrokers.join(','),
    MONGODB_URI: `${up.mongoUri.replace(/\/$/, '')}/bench_${runId}`,
    MOSAIC_TOPIC_PREFIX: prefix,
    MOSAIC_ADMIN_TOKEN: token,
    MOSAIC_HTTP_HOST: '127.0.0.1',
    COLLECTOR_PORT: '0',
    KAFKA_TOPIC_PARTITIONS: '6',
    LOG_LEVEL: 'warn',
  };
  // The collector logs its URL at info level: start it with info, the run itself is quiet enough.
  let started;
  try {
    started = await startCollector({ ...env, LOG_LEVEL: 'info' });
  } catch (err) {
    rmSync(csvPath, { force: true });
    rmSync(ndPath, { force: true });
    if (up.started.kafka || up.started.mongo) await infra.down({});
    throw err;
  }
  const { child, url } = started;
  const kafka = benchKafkaFactory(require, join(root, 'dist'), up.kafkaBrokers)('bench-import');
  const admin = kafka.admin();
  await admin.connect();
  const topic = `${prefix}events.raw`;
  const records = async () => (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  let result;
  try {
    const common = ['--collector', url, '--token', token, '--json', '--quiet', '--concurrency', String(CONCURRENCY)];
    const runs = {};
    for (const [name, args] of [
      ['csv', ['import', csvPath, '--source', 'bench-csv', '--create-source', '--event', 'Order Completed', ...common]],
      ['ndjson', ['import', ndPath, '--source', 'bench-ndjson', '--create-source', ...common]],
      ['reimport', ['import', csvPath, '--source', 'bench-csv', '--event', 'Order Completed', ...common]],
    ]) {
      log(`${name}...`);
      const { seconds, summary } = await runCli(args);
      const file = name === 'ndjson' ? ndPath : csvPath;
      runs[name] = {
        rows: summary.rows,
        accepted: summary.accepted,
        duplicates: summary.duplicates,
        rejected: summary.rejected,
        requests: summary.requests,
        seconds: Number(seconds.toFixed(2)),
        rowsPerSec: Math.round(summary.rows / seconds),
        fileMBPerSec: Number((statSync(file).size / 2 ** 20 / seconds).toFixed(1)),
        collectorRssMb: rssMb(child.pid),
      };
    }
    const onTopic = await records();
    result = {
      benchmark: 'import',
      at: new Date().toISOString(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, kafka: '4.1.1', mongo: up.mongoServer },
      settings: { rows: ROWS, concurrency: CONCURRENCY, chunkBytes: 400 * 1024, csvBytes: statSync(csvPath).size, ndjsonBytes: statSync(ndPath).size },
      runs,
      recordsOnTopic: onTopic,
      expectedOnTopic: 2 * ROWS,
    };
  } finally {
    await admin.disconnect().catch(() => undefined);
    child.kill('SIGTERM');
    if (up.started.kafka || up.started.mongo) await infra.down({});
    rmSync(csvPath, { force: true });
    rmSync(ndPath, { force: true });
  }
  const file = join(dir, `import-${runId}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  const row = (name, v) => `${name.padEnd(52)} ${String(v).padStart(14)}`;
  const { csv, ndjson, reimport } = result.runs;
  console.log(
    [
      '',
      `import benchmark (${result.machine.cores} cores, ${ROWS.toLocaleString('en')} rows, CLI → collector → Kafka acks=all, concurrency ${CONCURRENCY})`,
      row('CSV: rows/s end to end', csv.rowsPerSec.toLocaleString('en')),
      row('CSV: seconds / requests / MB/s of file', `${csv.seconds} / ${csv.requests} / ${csv.fileMBPerSec}`),
      row('NDJSON: rows/s end to end', ndjson.rowsPerSec.toLocaleString('en')),
      row('NDJSON: seconds / requests / MB/s of file', `${ndjson.seconds} / ${ndjson.requests} / ${ndjson.fileMBPerSec}`),
      row('re-import of the CSV (all duplicates): rows/s', reimport.rowsPerSec.toLocaleString('en')),
      row('re-import: accepted / duplicates', `${reimport.accepted} / ${reimport.duplicates}`),
      row('records on events.raw (expected)', `${result.recordsOnTopic} (${result.expectedOnTopic})`),
      row('collector RSS after the runs, MB', reimport.collectorRssMb),
      `JSON: ${file}`,
      '',
    ].join('\n'),
  );
  if (result.recordsOnTopic !== result.expectedOnTopic || csv.accepted !== ROWS || ndjson.accepted !== ROWS || reimport.accepted !== 0) {
    console.error('[bench import] MISMATCH: not every row was stored exactly once');
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exit(await runImportBench());
}
