#!/usr/bin/env node
// `npm test`: every test, infrastructure included. Installs dependencies when missing,
// type-checks, lints (module boundaries are errors), then runs Jest once: unit tests and
// integration tests against the real Kafka broker and MongoDB-wire server that Jest's global
// setup starts (or reuses). Extra arguments go to Jest (e.g. `npm test -- libs/contracts`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDeps } from './ensure-deps.mjs';
import { root } from './paths.mjs';

ensureDeps();
const jestArgs = process.argv.slice(2);
const bin = (name) => join(root, 'node_modules', '.bin', name);
const step = (title, cmd, args) => {
  const started = Date.now();
  console.error(`\n[mosaic test] ${title}...`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' } });
  console.error(`[mosaic test] ${title}: ${r.status === 0 ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return r.status === 0;
};

let ok = true;
if (jestArgs.length === 0) {
  ok = step('type check (tsc --noEmit)', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']) && ok;
  ok = step('type check of the console web app (tsc --noEmit)', bin('tsc'), ['-p', join('apps', 'console-web', 'tsconfig.json')]) && ok;
  // The module-boundaries rule reads Nx's project graph; without a computed graph (a fresh
  // clone) it would silently skip, so compute it first.
  ok = step('Nx project graph', bin('nx'), ['show', 'projects']) && ok;
  ok = step('lint (eslint, module boundaries as errors)', bin('eslint'), ['--max-warnings=0', '.']) && ok;
  ok = step('format (prettier --check)', bin('prettier'), ['--check', '--log-level', 'warn', '.']) && ok;
}
// The browser tests drive Debian's Chromium: install it when missing (root), else fail loudly.
ok = step('Chromium for the browser tests', process.execPath, [join(root, 'tools', 'scripts', 'ensure-chromium.mjs')]) && ok;
// The examples' tests drive kcat, Kafka's console producer and Python's confluent-kafka: same rule.
ok = step('Kafka clients for the examples', process.execPath, [join(root, 'tools', 'scripts', 'ensure-kafka-clients.mjs')]) && ok;
// The deployment tests render k8s/ with a pinned kustomize (go install from the Go module proxy): same rule.
ok = step('kustomize for the deployment tests', process.execPath, [join(root, 'tools', 'scripts', 'ensure-kustomize.mjs')]) && ok;
mkdirSync(join(root, '.mosaic'), { recursive: true });
const report = join(root, '.mosaic', 'jest-report.json');
const jestOk = step('jest (unit + integration on real Kafka and MongoDB-wire server)', bin('jest'), ['--ci', '--json', `--outputFile=${report}`, ...jestArgs]);
ok = jestOk && ok;
let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
  skipped = r.numPendingTests + r.numTodoTests;
  if (r.numTotalTests === 0) ok = false;
} else ok = false;
if (!ok && failed === 0) failed = 1;
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok ? 0 : 1);
