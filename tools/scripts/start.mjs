#!/usr/bin/env node
// `npm start`: installs dependencies when missing, builds, brings up the infrastructure
// (KAFKA_BROKERS/MONGODB_URI if set, else Docker if an engine answers, else local Kafka and
// a MongoDB-wire server), then runs every service in the foreground, with a local SMTP sink
// (127.0.0.1:2525, mail saved under .mosaic/mail/) for email destinations. Ctrl-C stops what it started.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ensureDeps } from './ensure-deps.mjs';
import { build, root } from './build.mjs';

const SERVICES = [
  { name: 'collector', port: 8080 },
  { name: 'identity', port: 8081 },
  { name: 'enrichment', port: 8082 },
  { name: 'segmentation', port: 8083 },
  { name: 'activation', port: 8084 },
  // The web console (its single-page app is built into dist/apps/console-web by the build).
  { name: 'console', port: Number(process.env.CONSOLE_PORT || 8090), console: true },
  // A website carrying the tracker; it creates its "demo-shop" source with the admin token on
  // the first run and keeps the write key in .mosaic/demo-shop-write-key.
  { name: 'demo-shop', port: Number(process.env.DEMO_SHOP_PORT || 8091), site: true },
];

const log = (msg) => console.error(`[mosaic] ${msg}`);

/** The value of `variable`, else the one kept in .mosaic/<file>, else a new random one kept there. */
function persistentSecret(variable, file) {
  if (process.env[variable]) return process.env[variable];
  const path = join(root, '.mosaic', file);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const secret = randomBytes(24).toString('base64url');
  mkdirSync(join(root, '.mosaic'), { recursive: true });
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return secret;
}

const adminToken = () => persistentSecret('MOSAIC_ADMIN_TOKEN', 'admin-token');
// The console creates user `admin` with it while it has no user at all (the first run).
const consoleAdminPassword = () => persistentSecret('CONSOLE_INITIAL_ADMIN_PASSWORD', 'console-admin-password');

async function main() {
  ensureDeps();
  await build();
  const infra = createRequire(import.meta.url)(join(root, 'tools', 'infra', 'index.js'));
  const up = await infra.up({});
  log(`infrastructure (${up.mode}): Kafka ${up.kafkaBrokers.join(',')}, MongoDB ${up.mongoUri}`);
  const token = adminToken();
  const consolePassword = consoleAdminPassword();
  const logDir = join(root, '.mosaic', 'logs');
  mkdirSync(logDir, { recursive: true });
  const sink = await startMailSink();
  const run = { children: new Map(), stopping: false };
  const shutdown = async (code) => {
    if (run.stopping) return;
    run.stopping = true;
    log('stopping services...');
    await Promise.all([...run.children.values()].map(stopChild));
    await sink?.close();
    if (up.started?.kafka || up.started?.mongo) {
      log('stopping the infrastructure this command started...');
      await infra.down({});
    }
    process.exit(code);
  };
  startServices(run, serviceEnv(up, token, consolePassword), logDir, shutdown);
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  await waitUntilReady(run);
  if (run.stopping) return;
  const demo = run.children.has('segmentation') && run.children.has('activation') ? await applyDemo(token) : undefined;
  console.error(welcomeLines({ children: run.children, up, token, consolePassword, sink, demo }).join('\n'));
}

/** The local SMTP sink, or undefined (said why) when its port is taken. */
async function startMailSink() {
  // Imported here, not at the top: smtp-server is only there once ensureDeps() has run.
  const { startSmtpSink, SMTP_SINK_PORT } = await import('./smtp-sink.mjs');
  return startSmtpSink({ log: (m) => log(`mail: ${m}`) }).catch((err) => {
    log(`SMTP sink not started (${err.code ?? err.message}): is 127.0.0.1:${SMTP_SINK_PORT} in use?`);
    return undefined;
  });
}

function serviceEnv(up, token, consolePassword) {
  return {
    ...process.env,
    NODE_ENV: process.env.NODE_ENV ?? 'development',
    KAFKA_BROKERS: up.kafkaBrokers.join(','),
    MONGODB_URI: process.env.MONGODB_URI ?? `${up.mongoUri.replace(/\/$/, '')}/mosaic`,
    MOSAIC_ADMIN_TOKEN: token,
    CONSOLE_INITIAL_ADMIN_PASSWORD: consolePassword,
    MOSAIC_HTTP_HOST: process.env.MOSAIC_HTTP_HOST ?? '127.0.0.1',
    // The local SMTP sink and test receivers are on loopback, which activation refuses by default.
    ACTIVATION_OUTBOUND_ALLOW: process.env.ACTIVATION_OUTBOUND_ALLOW ?? '127.0.0.1/32,::1,localhost',
  };
}

/** Starts every built service; its output goes to the terminal and .mosaic/logs/<name>.log; one exiting stops everything. */
function startServices(run, env, logDir, shutdown) {
  for (const svc of SERVICES) {
    const main = join(root, 'dist', 'apps', svc.name, 'src', 'main.js');
    if (!existsSync(main)) continue;
    const file = createWriteStream(join(logDir, `${svc.name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--enable-source-maps', main], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => {
      file.write(d);
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      file.write(d);
      process.stderr.write(d);
    });
    child.on('exit', (code, signal) => {
      run.children.delete(svc.name);
      if (!run.stopping) {
        log(`${svc.name} exited (${signal ?? code}); stopping everything — see .mosaic/logs/${svc.name}.log`);
        void shutdown(1);
      }
    });
    run.children.set(svc.name, child);
  }
}

/** SIGTERM (the service drains), SIGKILL after 30 s. */
function stopChild(child) {
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Waits (at most 120 s in all) for each started service's /ready; says which one is not. */
async function waitUntilReady(run) {
  const deadline = Date.now() + 120_000;
  for (const svc of SERVICES.filter((s) => run.children.has(s.name))) {
    for (;;) {
      if (run.stopping) return;
      const ok = await fetch(`http://127.0.0.1:${svc.port}/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) {
        log(`${svc.name} is not ready after 120 s; see .mosaic/logs/${svc.name}.log`);
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** What is running where, and the first commands to try. */
function welcomeLines({ children, up, token, consolePassword, sink, demo }) {
  return [
    '',
    'Mosaic is running. Ctrl-C stops everything this command started.',
    ...SERVICES.filter((s) => children.has(s.name) && !s.site && !s.console).map(
      (s) => `  ${s.name.padEnd(13)} http://127.0.0.1:${s.port}  (OpenAPI: /openapi.json)`,
    ),
    ...(children.has('demo-shop')
      ? [
          '',
          `  demo shop     http://127.0.0.1:${SERVICES.find((s) => s.name === 'demo-shop').port}  <- open it and click around: its events reach mosaic.events.raw`,
          `  tracker       http://127.0.0.1:8080/mosaic.js  (snippet: README "Tracking websites"; demo shop write key in .mosaic/demo-shop-write-key)`,
        ]
      : []),
    ...(demo ? [`  personalised  the demo shop's home banner follows the segments and experience in demo/ (${demo})`] : []),
    `  Kafka         ${up.kafkaBrokers.join(',')}`,
    `  MongoDB       ${up.mongoUri}`,
    `  logs          .mosaic/logs/`,
    ...(sink ? [`  mail (SMTP)   ${sink.host}:${sink.port}  (a sink: every mail is saved in .mosaic/mail/*.eml, nothing is delivered)`] : []),
    '',
    `  admin token   ${token}   (MOSAIC_ADMIN_TOKEN; saved in .mosaic/admin-token)`,
    ...(children.has('console')
      ? [
          `  console: http://127.0.0.1:${SERVICES.find((s) => s.console).port} (user admin, password ${consolePassword}; saved in .mosaic/console-admin-password)`,
          '    more users: npm run mosaic -- console-users add <username> --role viewer|editor|admin',
        ]
      : []),
    '',
    '  Create a source and send an event:',
    `    curl -s -X POST http://127.0.0.1:8080/v1/sources -H "Authorization: Bearer ${token}" -H 'Content-Type: application/json' -d '{"name":"website","allowedOrigins":["https://www.example.com"]}'`,
    `    curl -s -X POST http://127.0.0.1:8080/v1/track -u <writeKey>: -H 'Content-Type: application/json' -d '{"anonymousId":"a1","event":"Product Viewed","properties":{"sku":"X1"}}'`,
    "  and read the visitor's profile and timeline:",
    `    curl -s http://127.0.0.1:8082/v1/profiles/by/anonymousId/a1 -H "Authorization: Bearer ${token}"`,
    `    curl -s http://127.0.0.1:8082/v1/profiles/<profileId>/timeline -H "Authorization: Bearer ${token}"`,
    '',
    ...(sink
      ? [
          '  Try email: an email destination sending to the local SMTP sink (read the mail in .mosaic/mail/):',
          `    curl -s -X POST http://127.0.0.1:8084/v1/destinations -H "Authorization: Bearer ${token}" -H 'Content-Type: application/json' -d '{"kind":"email","name":"welcome","smtp":{"host":"${sink.host}","port":${sink.port}},"from":"shop@example.com","subject":"Hi {{ profile.traits.firstName }}","html":"<p>Hello {{ profile.traits.firstName }}</p>"}'`,
          '    then a trigger on a segment: POST /v1/triggers {"segmentKey":"…","on":"entered","destinationId":"<id>"}  (docs/activation.md "Email")',
          '',
        ]
      : []),
  ];
}

/**
 * The demo configuration (demo/README.md): its segments through `segments apply` (idempotent),
 * its home-banner experience created or replaced. Says what happened; never stops the start.
 */
async function applyDemo(token) {
  const applied = spawnSync(
    process.execPath,
    [join(root, 'tools', 'cli', 'mosaic.mjs'), 'segments', 'apply', join(root, 'demo', 'segments'), '--token', token, '--no-wait', '--quiet', '--json'],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (applied.status !== 0) return `demo segments not applied: ${(applied.stderr || applied.stdout).trim().split('\n').pop()}`;
  const experience = JSON.parse(readFileSync(join(root, 'demo', 'experiences', 'home-banner.json'), 'utf8'));
  const call = (method, path) =>
    fetch(`http://127.0.0.1:8084${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(experience),
    });
  let r = await call('POST', '/v1/experiences');
  if (r.status === 409) r = await call('PUT', `/v1/experiences/${experience.id}`);
  return r.ok ? 'segments applied, experience demo-home-banner set' : `demo experience not set: HTTP ${r.status}`;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
