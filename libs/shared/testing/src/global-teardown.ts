// Jest global teardown: releases the lease global-setup.ts took and stops what it started
// (nothing it merely reused) - once no other Jest run in this checkout still uses it; the
// last one to finish stops it. MOSAIC_TEST_KEEP_INFRA=1 keeps everything running (warm for
// the next run; `npm run infra -- down` stops it). The last run also sweeps every test topic,
// consumer group and database that a crashed run left behind (test names only: `mt-`, `mt_`).
import { removeTestResources, TEST_DB_PREFIX, TEST_TOPIC_PREFIX } from './cleanup';

// tools/infra is plain CommonJS outside the Nx projects (it runs before anything is compiled).
type Infra = typeof import('../../../../tools/infra/index.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports, @nx/enforce-module-boundaries -- not an Nx project
const infra: Infra = require('../../../../tools/infra/index.js');

export default async function globalTeardown(): Promise<void> {
  const mode = process.env.MOSAIC_TEST_INFRA_MODE;
  if (!mode || mode === 'external') return;
  const started = (process.env.MOSAIC_TEST_INFRA_STARTED ?? '').split(',').filter(Boolean);
  const keepEnv = process.env.MOSAIC_TEST_KEEP_INFRA;
  const keep = keepEnv !== undefined && keepEnv !== '' && keepEnv !== '0' && keepEnv.toLowerCase() !== 'false';
  const log = (line: string) => process.stderr.write(`[infra] ${line}\n`);
  if (keep && started.length) log(`MOSAIC_TEST_KEEP_INFRA is set: leaving ${started.join(' and ')} running (\`npm run infra -- down\` stops it)`);
  await infra.release({ keep, stop: { kafka: started.includes('kafka'), mongo: started.includes('mongo') }, log, whenLast: () => sweepTestResources(log) });
  process.env.MOSAIC_TEST_INFRA_MODE = '';
  process.env.MOSAIC_TEST_INFRA_STARTED = '';
}

async function sweepTestResources(log: (line: string) => void): Promise<void> {
  const brokers = process.env.MOSAIC_TEST_KAFKA_BROKERS;
  const mongoUri = process.env.MOSAIC_TEST_MONGODB_URI;
  if (!brokers || !mongoUri) return;
  const r = await removeTestResources({
    brokers: brokers.split(',').filter(Boolean),
    mongoUri,
    namePrefix: TEST_TOPIC_PREFIX,
    isTestDatabase: (name) => name.startsWith(TEST_DB_PREFIX),
    // a consumer of a killed test process leaves its group when its session times out
    busyGroupWaitMs: 45_000,
  });
  if (r.topics + r.groups + r.databases > 0) log(`swept what test files left: ${r.topics} topics, ${r.groups} consumer groups, ${r.databases} databases`);
  for (const error of r.errors) log(`sweep: ${error}`);
  if (r.busyGroups.length) log(`sweep: consumer groups still in use, not removed: ${r.busyGroups.join(', ')}`);
}
