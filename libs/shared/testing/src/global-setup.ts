// Jest global setup (jest.config.js): brings Kafka and a MongoDB-wire server up once per
// run through tools/infra (KAFKA_BROKERS + MONGODB_URI, else Docker, else local processes)
// and hands them to the test workers through the environment:
//   MOSAIC_TEST_KAFKA_BROKERS  comma-separated host:port list
//   MOSAIC_TEST_MONGODB_URI    base URI *without* a database name; testInfra() adds a
//                              unique database per test file
//   MOSAIC_TEST_MONGO_SERVER   e.g. "FerretDB v1.24.0" or "MongoDB 7.0.14"
// MOSAIC_TEST_NO_INFRA=1 skips it (unit tests only; testInfra() then throws).
// The run takes a lease on the servers, so that concurrent Jest runs in the same checkout
// share them and the last one to finish stops what was started (global-teardown.ts).

// tools/infra is plain CommonJS outside the Nx projects (it runs before anything is compiled).
type Infra = typeof import('../../../../tools/infra/index.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports, @nx/enforce-module-boundaries -- not an Nx project
const infra: Infra = require('../../../../tools/infra/index.js');

export default async function globalSetup(): Promise<void> {
  if (isSet(process.env.MOSAIC_TEST_NO_INFRA)) return;
  process.stderr.write('\n');
  const r = await infra.up({ lease: true, log: (line) => process.stderr.write(`[infra] ${line}\n`) });
  process.env.MOSAIC_TEST_KAFKA_BROKERS = r.kafkaBrokers.join(',');
  process.env.MOSAIC_TEST_MONGODB_URI = r.mongoUri;
  process.env.MOSAIC_TEST_MONGO_SERVER = r.mongoServer ?? '';
  // Read by global-teardown.ts (same process): stop only what this setup started.
  process.env.MOSAIC_TEST_INFRA_MODE = r.mode;
  process.env.MOSAIC_TEST_INFRA_STARTED = (['kafka', 'mongo'] as const).filter((svc) => r.started[svc]).join(',');
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}
