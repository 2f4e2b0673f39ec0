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
import { createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  benchLogFile,
  benchSetup,
  cleanUpOnce,
  deleteBenchTopics,
  dropBenchDatabases,
  machineInfo,
  numberOption,
  rssMb,
  serviceEnv,
  spawnOwned,
  startService,
  stopChild,
  writeResult,
} from './bench-util.mjs';

const log = (m) => console.error(`[bench import] ${m}`);

function runCli(root, args) {
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

/** The two files to import, `rows` order rows each (CSV with a header line, NDJSON). */
async function generateFiles(dir, rows) {
  log(`generating ${rows.toLocaleString('en')} rows (CSV and NDJSON)...`);
  mkdirSync(dir, { recursive: true });
  const csvPath = join(dir, `import-${rows}.csv`);
  const ndPath = join(dir, `import-${rows}.ndjson`);
  const day = (i) => new Date(Date.UTC(2020, 0, 1) + (i % 1460) * 86_400_000 + (i % 86_400) * 1000).toISOString();
  await writeLines(csvPath, rows + 1, (i) =>
    i === 0
      ? 'userId,email,timestamp,order_id,properties.revenue,properties.currency,properties.sku,properties.quantity,context.externalIds.pos_id,store\n'
      : `cust-${i % 20_000},c${i % 20_000}@example.com,${day(i)},ord-${i},${(i % 900) + 9.9},EUR,${SKUS[i % SKUS.length]},${(i % 3) + 1},P-${i % 20_000},"Store ${i % 40}, Berlin"\n`,
  );
  await writeLines(
    ndPath,
    rows,
    (i) =>
      `${JSON.stringify({ type: 'track', userId: `cust-${i % 20_000}`, event: 'Order Completed', timestamp: day(i), properties: { order_id: `nd-${i}`, revenue: (i % 900) + 9.9, currency: 'EUR', sku: SKUS[i % SKUS.length], quantity: (i % 3) + 1, store: `Store ${i % 40}, Berlin` }, context: { traits: { email: `c${i % 20_000}@example.com` } } })}\n`,
  );
  return { csvPath, ndPath };
}

/** The three CLI runs (csv, ndjson, re-import of the csv) against the collector at `url`, one after the other. */
async function importRuns({ root, url, token, concurrency, files, collectorPid }) {
  const { csvPath, ndPath } = files;
  const common = ['--collector', url, '--token', token, '--json', '--quiet', '--concurrency', String(concurrency)];
  const runs = {};
  for (const [name, args] of [
    ['csv', ['import', csvPath, '--source', 'bench-csv', '--create-source', '--event', 'Order Completed', ...common]],
    ['ndjson', ['import', ndPath, '--source', 'bench-ndjson', '--create-source', ...common]],
    ['reimport', ['import', csvPath, '--source', 'bench-csv', '--event', 'Order Completed', ...common]],
  ]) {
    log(`${name}...`);
    const { seconds, summary } = await runCli(root, args);
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
      collectorRssMb: rssMb(collectorPid),
    };
  }
  return runs;
}

function printReport(result, file) {
  const { rows, concurrency } = result.settings;
  const row = (name, v) => `${name.padEnd(52)} ${String(v).padStart(14)}`;
  const { csv, ndjson, reimport } = result.runs;
  console.log(
    [
      '',
      `import benchmark (${result.machine.cores} cores, ${rows.toLocaleString('en')} rows, CLI → collector → Kafka acks=all, concurrency ${concurrency})`,
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
}

export async function runImportBench(argv = process.argv.slice(2)) {
  const opt = (name, def) => numberOption(argv, name, def);
  const ROWS = opt('rows', 100_000);
  const CONCURRENCY = opt('concurrency', 4);
  const setup = await benchSetup('import');
  const { root, infra, up, runId, prefix, token } = setup;
  const files = await generateFiles(join(root, '.mosaic', 'bench'), ROWS);
  const kafka = setup.kafka('bench-import');
  const admin = kafka.admin();
  let collector;
  let result;
  // The collector's topics and database and the generated files go, also when a run fails or is interrupted.
  const cleanUp = cleanUpOnce(async () => {
    await admin.disconnect().catch(() => undefined);
    if (collector) await stopChild(collector.child);
    await deleteBenchTopics(kafka.admin(), prefix, log);
    await dropBenchDatabases(setup.require('mongodb'), setup.mongoBase, [setup.dbName], log);
    if (up.started.kafka || up.started.mongo) await infra.down({});
    rmSync(files.csvPath, { force: true });
    rmSync(files.ndPath, { force: true });
  });
  try {
    const port = await infra.freePort();
    collector = await startService({
      root,
      name: 'collector',
      port,
      env: serviceEnv(setup, { NODE_ENV: 'development' }),
      logFile: benchLogFile(root, 'import-collector', runId),
    });
    await admin.connect();
    const runs = await importRuns({ root, url: collector.url, token, concurrency: CONCURRENCY, files, collectorPid: collector.child.pid });
    const onTopic = (await admin.fetchTopicOffsets(`${prefix}events.raw`)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    result = {
      benchmark: 'import',
      at: new Date().toISOString(),
      machine: machineInfo(up),
      settings: {
        rows: ROWS,
        concurrency: CONCURRENCY,
        chunkBytes: 400 * 1024,
        csvBytes: statSync(files.csvPath).size,
        ndjsonBytes: statSync(files.ndPath).size,
      },
      runs,
      recordsOnTopic: onTopic,
      expectedOnTopic: 2 * ROWS,
    };
  } finally {
    await cleanUp();
  }
  printReport(result, writeResult(root, 'import', runId, result));
  const { csv, ndjson, reimport } = result.runs;
  if (result.recordsOnTopic !== result.expectedOnTopic || csv.accepted !== ROWS || ndjson.accepted !== ROWS || reimport.accepted !== 0) {
    console.error('[bench import] MISMATCH: not every row was stored exactly once');
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exit(await runImportBench());
}
