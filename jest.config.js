// One Jest run for the whole workspace: unit tests (*.spec.ts) and integration tests
// (*.int-spec.ts) against the real Kafka broker and MongoDB-wire server that the global
// setup brings up once per run (libs/shared/testing).
const fs = require('node:fs');
const path = require('node:path');
const swcrc = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc.json'), 'utf8'));
delete swcrc.$comment;
const { compilerOptions } = JSON.parse(fs.readFileSync(path.join(__dirname, 'tsconfig.base.json'), 'utf8'));
const moduleNameMapper = {};
for (const [alias, [target]] of Object.entries(compilerOptions.paths)) {
  moduleNameMapper[`^${alias.replace(/[/\\^$*+?.()|[\]{}-]/g, '\\$&')}$`] = `<rootDir>/${target}`;
}
// Every test runs in a time zone that is not UTC (Jest's workers inherit it; Node applies it at
// once): code that reads a date in the server's local time fails here, not only on a server
// outside UTC.
process.env.TZ = 'America/New_York';
module.exports = {
  rootDir: __dirname,
  // Node's environment, plus removal of each test file's topics, groups and database when it ends.
  testEnvironment: '<rootDir>/libs/shared/testing/src/test-environment.ts',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/tools', '<rootDir>/examples'],
  testMatch: ['**/*.spec.ts', '**/*.int-spec.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { ...swcrc, swcrc: false, sourceMaps: 'inline' }],
    // The OTLP exporter loads `http` with a dynamic import(), which Jest's VM cannot run
    // without --experimental-vm-modules: compiled to require() here, so the services' real
    // exporter works in tests too (tools/e2e/trace.int-spec.ts).
    '/@opentelemetry/otlp-exporter-base/.+\\.cjs$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' }, swcrc: false },
    ],
    // @fastify/cookie loads its cookie parser (ESM only) with a dynamic import(): the same, and
    // that parser compiled to CommonJS, so the console's session cookie works in tests too.
    '/@fastify/cookie/(index\\.js|node_modules/cookie/dist/index\\.js)$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' }, swcrc: false },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!@opentelemetry/otlp-exporter-base/|@fastify/cookie/|cookie/dist/)'],
  moduleNameMapper,
  globalSetup: '<rootDir>/libs/shared/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/libs/shared/testing/src/global-teardown.ts',
  testTimeout: 60000,
  // The integration tests share one broker and one database server on a 2-core machine.
  maxWorkers: process.env.CI ? 2 : '50%',
};
