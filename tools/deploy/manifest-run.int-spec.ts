/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are inspected as loose JSON */
/**
 * The deployment files, run: k8s/ rendered with the pinned kustomize and docker/compose.yml,
 * each Mosaic workload started as a process of the built tree (laid out as the image's /app)
 * with exactly the environment, command, ports and probes those files give it. Then the real
 * flows, from outside as a user would: the tracker script and the public APIs through an
 * emulator of the rendered Ingress, the admin APIs at the Services' addresses, and the console
 * (sign-in, a read through its proxy) through its own Ingress host.
 *
 * The only substitutions (everything else comes from the files):
 * - Kafka bootstrap and MongoDB (outside the manifests) → this Jest run's broker and server,
 *   with the test file's own topic prefix and database (removed by the shared cleanup);
 * - in-cluster Service names and compose service names → the loopback port the process behind
 *   them was started on; the Ingress's public hosts → the Ingress emulator's loopback port;
 * - every container port is remapped to a free loopback port (all pods would otherwise share
 *   127.0.0.1, and 8080–8084 may be in use), through the `<SERVICE>_PORT` variable, after
 *   checking that the process would listen on the port the manifest declares;
 *   MOSAIC_HTTP_HOST 0.0.0.0 → 127.0.0.1 (loopback only);
 * - KAFKA_REPLICATION_FACTOR → 1 (the test broker is a single node);
 * - Secret values: test values for the keys the documented Secret has (admin token, email
 *   signing keys, MongoDB URI, the console's first admin password); the key set itself is
 *   checked against the Deployments;
 * - activation reaches the test's SMTP server on loopback (ACTIVATION_OUTBOUND_ALLOW) and is
 *   given the email source id the operator sets once the source exists (ACTIVATION_EMAIL_SOURCE_ID).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { SMTPServer } from 'smtp-server';
import { topicNames } from '@mosaic/contracts';
import { DEFAULT_PORTS } from '@mosaic/shared-config';
import { PIPELINE_WAIT_MS, TEST_ADMIN_TOKEN, TEST_DB_PREFIX, TopicTap, freePort, testInfra, waitFor, withDatabase } from '@mosaic/shared-testing';
import { ROOT, composeEnv, interpolate, kustomizeBuild, K8S, loadCompose, parsePort, type K8sObject } from './deploy-files';
import {
  buildImageTree,
  containerArgv,
  containerRun,
  ingressRules,
  mailText,
  mapUrls,
  matchIngress,
  serviceHostNames,
  serviceTarget,
  startIngress,
  startProcess,
  type ContainerRun,
  type IngressEmulator,
  type IngressRule,
  type Proc,
} from './manifest-run';

jest.setTimeout(480_000);

/** The five services and the console: each a Deployment and a compose service. */
type Service = keyof typeof DEFAULT_PORTS;
const SERVICES = Object.keys(DEFAULT_PORTS) as Service[];
const SECRET = 'mosaic-secrets';
/** The console's first admin (CONSOLE_INITIAL_ADMIN_PASSWORD in the Secret, and in compose's shell). */
const CONSOLE_PASSWORD = `mr-${randomBytes(12).toString('hex')}`;
const work = join(ROOT, '.mosaic', `manifest-run-${process.pid}-${randomBytes(3).toString('hex')}`);
const procs: Proc[] = [];
const ingresses: IngressEmulator[] = [];
const taps: TopicTap[] = [];
let smtp: SMTPServer | undefined;
const mails: string[] = [];

// ---------------------------------------------------------------------------------------------
// Public routes, from the controllers: every route without the admin guard is public.

interface Route {
  service: Service;
  method: string;
  path: string;
  admin: boolean;
}

function controllerRoutes(): Route[] {
  const routes: Route[] = [];
  for (const service of SERVICES) {
    const dir = join(ROOT, 'apps', service, 'src');
    for (const file of readdirSync(dir).filter((f) => /\.controllers?\.ts$/.test(f))) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- every controller module of the app, loaded to read its route metadata
      const mod = require(join(dir, file)) as Record<string, unknown>;
      for (const cls of Object.values(mod)) {
        if (typeof cls !== 'function' || Reflect.getMetadata(PATH_METADATA, cls) === undefined) continue;
        const base = String(Reflect.getMetadata(PATH_METADATA, cls));
        const classGuards: unknown[] = Reflect.getMetadata(GUARDS_METADATA, cls) ?? [];
        for (const key of Object.getOwnPropertyNames(cls.prototype)) {
          const handler: unknown = Object.getOwnPropertyDescriptor(cls.prototype, key)?.value;
          if (typeof handler !== 'function' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
          const guards = [...classGuards, ...(Reflect.getMetadata(GUARDS_METADATA, handler) ?? [])] as { name?: string }[];
          const sub = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
          const path = `/${[base, sub].filter((s) => s && s !== '/').join('/')}`.replace(/\/+/g, '/');
          routes.push({
            service,
            method: RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number]!,
            path,
            admin: guards.some((g) => g.name === 'AdminAuthGuard'),
          });
        }
      }
    }
  }
  return routes;
}

/** A concrete path of a route pattern. */
const samplePath = (pattern: string) => pattern.replace(/:[^/]+/g, 'x').replace(/\*/g, 'x.gif');

/**
 * What the console's catch-all route (its single-page app) serves, as browsers ask for it: the
 * app's pages (`<Route path="/...">` in App.tsx) and a built file under /assets.
 */
function consoleAppPaths(): string[] {
  const app = readFileSync(join(ROOT, 'apps', 'console-web', 'src', 'app', 'App.tsx'), 'utf8');
  const pages = [...app.matchAll(/\bpath=\{?["'](\/[^"']*)["']/g)].map((m) => samplePath(m[1]!));
  return [...new Set([...pages, '/assets/index-x.js'])];
}

// ---------------------------------------------------------------------------------------------
// Environment mapping

const infra = () => testInfra();
const fileId = () => infra().topicPrefix.slice(3, -1);
const SIGNING_KEYS = `k1:${randomBytes(32).toString('hex')}`;

/** The Secret as the docs create it (`kubectl create secret generic mosaic-secrets --from-literal=KEY=...`), else k8s/ has it. */
function documentedSecretKeys(rendered: K8sObject[]): { keys: string[]; where: string } {
  const docs = readFileSync(join(ROOT, 'docs', 'deployment.md'), 'utf8').replace(/\\\r?\n/g, ' ');
  const commands = docs.split('\n').filter((l) => l.includes('create secret generic') && l.includes(SECRET));
  if (commands.length) {
    const keys = new Set(commands.flatMap((c) => [...c.matchAll(/--from-(?:literal|file)=([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!)));
    return { keys: [...keys], where: 'docs/deployment.md (kubectl create secret)' };
  }
  const secret = rendered.find((o) => o.kind === 'Secret' && o.metadata.name === SECRET);
  return { keys: Object.keys({ ...(secret?.['data'] ?? {}), ...(secret?.['stringData'] ?? {}) }), where: 'k8s/secret.yaml' };
}

/** Test values of the Secret's keys. */
function secretValue(key: string, mongoUri: string): string {
  const values: Record<string, string> = {
    MOSAIC_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    COLLECTOR_EMAIL_SIGNING_KEYS: SIGNING_KEYS,
    MONGODB_URI: mongoUri,
    CONSOLE_INITIAL_ADMIN_PASSWORD: CONSOLE_PASSWORD,
  };
  return values[key] ?? `test-value-of-${key}`;
}

/** The substitutions of the header comment that do not depend on other processes. */
function substituteInfra(env: Record<string, string>, topicPrefix: string, mongoUri: string): Record<string, string> {
  return {
    ...env,
    KAFKA_BROKERS: infra().kafkaBrokers.join(','),
    MONGODB_URI: mongoUri,
    MOSAIC_TOPIC_PREFIX: topicPrefix,
    ...(env['KAFKA_REPLICATION_FACTOR'] ? { KAFKA_REPLICATION_FACTOR: '1' } : {}),
    ...(env['MOSAIC_HTTP_HOST'] ? { MOSAIC_HTTP_HOST: '127.0.0.1' } : {}),
  };
}

/** The port the service process listens on, from its environment (as libs/shared/config reads it). */
const listenPort = (service: Service, env: Record<string, string>) => Number(env[`${service.toUpperCase()}_PORT`] || DEFAULT_PORTS[service]);

/** Polls until `url` answers 200; fails at once when the process exits. */
async function waitHttp(url: string, proc: Proc, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null)
      throw new Error(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before ${what} answered 200:\n${proc.tail()}`);
    const r = await fetch(url).catch((err: Error) => err);
    if (!(r instanceof Error) && r.status === 200) return;
    last = r instanceof Error ? r.message : `HTTP ${r.status}`;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`${what} (${url}) did not answer 200 within ${timeoutMs} ms (last: ${last}):\n${proc.tail()}`);
}

async function runToCompletion(proc: Proc, timeoutMs = 60_000): Promise<void> {
  const r = await Promise.race([proc.exited, new Promise<undefined>((res) => setTimeout(() => res(undefined), timeoutMs).unref())]);
  if (!r) throw new Error(`${proc.name} did not finish within ${timeoutMs} ms:\n${proc.tail()}`);
  if (r.code !== 0) throw new Error(`${proc.name} exited with ${r.code ?? r.signal}:\n${proc.tail()}`);
}

/** HTTP with an explicit Host header (fetch cannot set it): as a pod calls another Service by name. */
function call(
  url: string,
  opts: { method?: string; host?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: opts.method ?? 'GET',
        headers: { ...(opts.host ? { host: opts.host } : {}), ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * An admin call as an operator's script makes it: the processes run with production settings, so
 * on a busy machine Kafka may not acknowledge an announced change within 5 s; that 503 is retried.
 */
async function admin(base: string, method: string, path: string, body?: unknown) {
  for (let attempt = 1; ; attempt += 1) {
    const r = await call(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (r.status !== 503 || attempt >= 6) return { status: r.status, json: (r.text ? JSON.parse(r.text) : {}) as Record<string, any>, text: r.text };
    await new Promise((resolve) => setTimeout(resolve, 2_000 * attempt));
  }
}

const basic = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

/**
 * Events sent as a client should: a 503 (Kafka did not acknowledge in time, e.g. on a busy
 * machine) is retried with the same messageIds, so a retry never counts an event twice.
 */
async function sendEvents(url: string, writeKey: string, batch: Record<string, unknown>[]): Promise<{ status: number; text: string }> {
  const body = JSON.stringify({ batch: batch.map((e) => ({ messageId: `mr-${randomBytes(8).toString('hex')}`, ...e })) });
  for (let attempt = 1; ; attempt += 1) {
    const r = await call(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: basic(writeKey) }, body });
    if (r.status !== 503 || attempt >= 6) return r;
    await new Promise((resolve) => setTimeout(resolve, 2_000 * attempt));
  }
}

/**
 * As the console's app does it: sign in (the session cookie comes back), then one read through
 * the proxy with that cookie (segmentation's segments, with the admin token the console adds),
 * and the same read without it.
 */
async function consoleRead(origin: string, username: string, password: string, host: string) {
  const signIn = await call(`${origin}/api/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expectStatus(signIn, 200, `POST https://${host}/api/session as ${username}`);
  const setCookie = [signIn.headers['set-cookie'] ?? []].flat();
  const session = setCookie.find((c) => c.startsWith('mosaic_console='));
  if (!session) throw new Error(`no session cookie from POST https://${host}/api/session: ${JSON.stringify(setCookie)}`);
  const path = '/api/svc/segmentation/v1/segments';
  const segments = await call(`${origin}${path}`, { headers: { Cookie: session.split(';')[0]! } });
  if (segments.status === 200) expect(JSON.parse(segments.text)).toBeDefined();
  else throw new Error(`GET https://${host}${path} (signed in): ${segments.status} ${segments.text.slice(0, 500)}`);
  const signedOut = await call(`${origin}${path}`);
  return { cookieSecure: /;\s*Secure\b/i.test(session), segments: segments.status, signedOut: signedOut.status };
}

function expectStatus(r: { status: number; text: string }, status: number, what: string): void {
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status}: ${r.text.slice(0, 500)}`);
}

async function stopAll(): Promise<void> {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
}

afterAll(async () => {
  await stopAll();
  for (const t of taps.splice(0)) await t.stop().catch(() => undefined);
  for (const i of ingresses.splice(0)) await i.close();
  await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
  rmSync(work, { recursive: true, force: true });
});

beforeAll(() => {
  buildImageTree(work);
}, 200_000);

// ---------------------------------------------------------------------------------------------

describe('k8s/ (kustomize build), every workload as a process', () => {
  let objects: K8sObject[];
  let runs: ContainerRun[];
  let problems: string[];
  let rules: IngressRule[];
  const deployments = new Map<Service, ContainerRun>();
  const loopback = new Map<string, number>(); // `${owner}:${containerPort}` → loopback port
  const publicOrigin = new Map<string, IngressEmulator>(); // public host → emulator

  beforeAll(async () => {
    objects = kustomizeBuild(K8S);
    const mongoUri = infra().mongoUri;
    // The documented Secret's keys and those k8s/secret.yaml ships (the test above reports either lacking one).
    const shipped = objects.find((o) => o.kind === 'Secret' && o.metadata.name === SECRET);
    const keys = [...new Set([...documentedSecretKeys(objects).keys, ...Object.keys({ ...(shipped?.['data'] ?? {}), ...(shipped?.['stringData'] ?? {}) })])];
    const secrets = { [SECRET]: Object.fromEntries(keys.map((k) => [k, secretValue(k, mongoUri)])) };
    const owners = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
    const resolved = owners.map((o) => containerRun(objects, o, secrets, `${o.metadata.name}-${randomBytes(3).toString('hex')}`));
    problems = resolved.flatMap((r) => r.problems);
    runs = resolved;
    for (const r of runs.filter((x) => x.kind === 'Deployment')) {
      const service = r.env['MOSAIC_SERVICE'] as Service;
      if (SERVICES.includes(service)) deployments.set(service, r);
    }
    rules = ingressRules(objects);
    for (const host of new Set(rules.map((r) => r.host).filter((h): h is string => !!h))) {
      const emulator = await startIngress(rules, host, (rule) => {
        const t = serviceTarget(objects, runs, rule.service, rule.port);
        return t ? loopback.get(`${t.run.owner}:${t.containerPort}`) : undefined;
      });
      ingresses.push(emulator);
      publicOrigin.set(host, emulator);
    }
    for (const r of deployments.values()) for (const port of new Set(r.ports.values())) loopback.set(`${r.owner}:${port}`, await freePort());
  });

  /** The environment a process gets: the pod's, with the substitutions of the header comment. */
  function processEnv(r: ContainerRun): Record<string, string> {
    const env = substituteInfra(r.env, infra().topicPrefix, infra().mongoUri);
    const byHost = (host: string, port: number | undefined): string | undefined => {
      const em = publicOrigin.get(host);
      if (em) return em.origin;
      const svc = objects.find((o) => o.kind === 'Service' && serviceHostNames(o).includes(host));
      if (!svc) return undefined;
      const t = serviceTarget(objects, runs, svc.metadata.name, port ?? 80);
      const lp = t && loopback.get(`${t.run.owner}:${t.containerPort}`);
      return lp ? `http://127.0.0.1:${lp}` : undefined;
    };
    for (const [k, v] of Object.entries(env)) env[k] = mapUrls(v, byHost);
    const service = env['MOSAIC_SERVICE'] as Service | undefined;
    if (r.kind === 'Deployment' && service) {
      const declared = r.ports.get('http') ?? [...r.ports.values()][0]!;
      env[`${service.toUpperCase()}_PORT`] = String(loopback.get(`${r.owner}:${declared}`));
    }
    return env;
  }

  const urlOf = (service: Service, path = '') => {
    const r = deployments.get(service)!;
    return `http://127.0.0.1:${loopback.get(`${r.owner}:${r.ports.get('http') ?? [...r.ports.values()][0]}`)}${path}`;
  };

  it('every Secret and ConfigMap key the workloads require exists (in k8s/ and in the documented Secret)', () => {
    const shipped = kustomizeBuild(K8S).find((o) => o.kind === 'Secret' && o.metadata.name === SECRET);
    const shippedKeys = Object.keys({ ...(shipped?.['data'] ?? {}), ...(shipped?.['stringData'] ?? {}) });
    const doc = documentedSecretKeys(objects);
    const requiredProblems = [...problems];
    // The same workloads against the Secret as k8s/secret.yaml ships it.
    for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
      requiredProblems.push(
        ...containerRun(objects, o, { [SECRET]: Object.fromEntries(shippedKeys.map((k) => [k, 'x'])) }, 'p').problems.map((p) => `${p} (k8s/secret.yaml)`),
      );
    }
    if (requiredProblems.length) throw new Error(`pods would not start (the Secret used: ${doc.where}):\n  ${[...new Set(requiredProblems)].join('\n  ')}`);
  });

  it('each Deployment runs one Mosaic service, listening on the port its probes and Service use', () => {
    expect([...deployments.keys()].sort()).toEqual([...SERVICES].sort());
    for (const [service, r] of deployments) {
      const declared = r.ports.get('http') ?? [...r.ports.values()][0];
      expect({ service, listens: listenPort(service, r.env) }).toEqual({ service, listens: declared });
      expect(r.probes.map((p) => p.kind).sort()).toEqual(['livenessProbe', 'readinessProbe', 'startupProbe']);
      for (const p of r.probes) expect({ service, probe: p.kind, port: p.port }).toEqual({ service, probe: p.kind, port: declared });
    }
  });

  /** The workload (MOSAIC_SERVICE) a request to https://<host><path> reaches through the rendered Ingress rules; undefined when not routed. */
  const servedAt = (host: string, path: string): string | undefined => {
    const rule = matchIngress(rules, host, path);
    if (!rule) return undefined;
    return serviceTarget(objects, runs, rule.service, rule.port)?.run.env['MOSAIC_SERVICE'] ?? `${rule.service}:${rule.port} (no pod)`;
  };
  /** The hosts that send the console's sign-in to the console; the others serve the public APIs. */
  const consoleHosts = () => new Set([...publicOrigin.keys()].filter((h) => servedAt(h, '/api/session') === 'console'));

  it("the Ingress routes every public route the controllers declare to the service that serves it, and no admin route; the console's on a host of its own", () => {
    const routes = controllerRoutes();
    const hosts = [...publicOrigin.keys()];
    const onConsole = consoleHosts();
    expect(onConsole.size).toBeGreaterThan(0);
    expect(hosts.length).toBeGreaterThan(onConsole.size);
    // The console's catch-all route (its single-page app) stands for the app's pages and built files.
    const requests = routes.flatMap((route) =>
      route.service === 'console' && route.path === '/*' ? consoleAppPaths().map((path) => ({ route, path })) : [{ route, path: samplePath(route.path) }],
    );
    const wrong: string[] = [];
    for (const { route, path } of requests) {
      for (const host of hosts) {
        // Public routes of the services on the public host, the console's on its host, nothing else anywhere.
        const want = !route.admin && (route.service === 'console') === onConsole.has(host) ? route.service : undefined;
        const served = servedAt(host, path);
        if (served !== want)
          wrong.push(
            `${route.method} ${route.path} (${route.service}${route.admin ? ', admin' : ''}): https://${host}${path} → ${served ?? 'not routed'}, expected ${want ?? 'not routed'}`,
          );
      }
    }
    for (const internal of ['/metrics', '/ready', '/health', '/openapi.json', '/docs'])
      for (const host of hosts) if (matchIngress(rules, host, internal)) wrong.push(`${internal} is routed publicly on ${host}`);
    if (wrong.length) throw new Error(`Ingress routing:\n  ${wrong.join('\n  ')}`);
  });

  it('the topics Job completes, then every Deployment starts and answers its probes', async () => {
    for (const job of runs.filter((r) => r.kind === 'Job')) {
      const proc = startProcess(`job/${job.owner}`, containerArgv(work, job.command, job.args), work, processEnv(job));
      procs.push(proc);
      await runToCompletion(proc);
    }
    const started = [...deployments.entries()].map(([service, r]) => {
      const proc = startProcess(service, containerArgv(work, r.command, r.args), work, processEnv(r));
      procs.push(proc);
      return { r, proc };
    });
    await Promise.all(
      started.map(async ({ r, proc }) => {
        for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
          for (const p of r.probes.filter((x) => x.kind === kind))
            await waitHttp(`http://127.0.0.1:${loopback.get(`${r.owner}:${p.port}`)}${p.path}`, proc, `${r.owner} ${kind}`);
        }
      }),
    );
  });

  it('drives the flows: tracker script, events in, profile, segment change on the topic, decision API, email link', async () => {
    const [host, ingress] = [...publicOrigin.entries()].find(([h]) => !consoleHosts().has(h))!;
    const pub = (path: string) => `${ingress.origin}${path}`;
    const collector = urlOf('collector');

    // The tracker script, through the Ingress.
    const script = await call(pub('/mosaic.js'));
    expectStatus(script, 200, `GET https://${host}/mosaic.js`);
    expect(String(script.headers['content-type'])).toMatch(/javascript/);

    // A source (admin API, inside the cluster), a segment, an SMTP destination and a trigger.
    const source = await admin(collector, 'POST', '/v1/sources', { name: 'manifest-run' });
    expectStatus(source, 201, 'POST /v1/sources');
    const { id: sourceId, writeKey } = source.json as { id: string; writeKey: string };
    const segmentKey = 'manifest-run-buyers';
    expectStatus(
      await admin(urlOf('segmentation'), 'POST', '/v1/segments', {
        key: segmentKey,
        name: 'Buyers',
        condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 10 },
      }),
      201,
      'POST /v1/segments',
    );
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push(Buffer.concat(chunks).toString('utf8'));
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp!.listen(0, '127.0.0.1', r));
    const smtpPort = (smtp.server.address() as AddressInfo).port;

    // The operator's step once the email source exists: activation restarted with its id.
    const activation = deployments.get('activation')!;
    const old = procs.find((p) => p.name === 'activation')!;
    await old.stop();
    procs.splice(procs.indexOf(old), 1);
    const restarted = startProcess('activation', containerArgv(work, activation.command, activation.args), work, {
      ...processEnv(activation),
      ACTIVATION_EMAIL_SOURCE_ID: sourceId,
      ACTIVATION_OUTBOUND_ALLOW: '127.0.0.1/32',
    });
    procs.push(restarted);
    const readiness = activation.probes.find((p) => p.kind === 'readinessProbe')!;
    await waitHttp(urlOf('activation', readiness.path), restarted, 'activation readiness after restart');
    const destination = await admin(urlOf('activation'), 'POST', '/v1/destinations', {
      kind: 'email',
      name: 'manifest-run',
      smtp: { host: '127.0.0.1', port: smtpPort },
      from: 'Shop <news@shop.example.com>',
      subject: 'Hello',
      html: '<html><body><p>Hi {{ profile.traits.firstName }}</p><a href="https://shop.example.com/sale">Sale</a></body></html>',
    });
    expectStatus(destination, 201, 'POST /v1/destinations');
    expectStatus(
      await admin(urlOf('activation'), 'POST', '/v1/triggers', { segmentKey, on: 'entered', destinationId: destination.json['id'] }),
      201,
      'POST /v1/triggers',
    );

    const membership = await TopicTap.start(infra().kafkaBrokers, topicNames(infra().topicPrefix).segmentsMembership);
    taps.push(membership);

    // identify + track through the public batch endpoint.
    const anonymousId = `anon-${randomBytes(4).toString('hex')}`;
    const userId = `ada-${randomBytes(4).toString('hex')}`;
    const batch = await sendEvents(pub('/v1/batch'), writeKey, [
      { type: 'identify', anonymousId, userId, traits: { email: 'ada@example.com', firstName: 'Ada' } },
      { type: 'track', anonymousId, userId, event: 'Order Completed', properties: { order_id: 'o-1', total: 42, currency: 'EUR' } },
    ]);
    expectStatus(batch, 200, `POST https://${host}/v1/batch`);

    // The profile (enrichment's API).
    const profile = await waitFor(
      async () => {
        const r = await admin(urlOf('enrichment'), 'GET', `/v1/profiles/by/userId/${encodeURIComponent(userId)}`);
        return r.status === 200 && r.json['profile']?.computed?.orders?.count === 1 ? r.json : null;
      },
      { timeoutMs: PIPELINE_WAIT_MS, intervalMs: 300, message: 'the profile in enrichment' },
    );
    const profileId = profile['profileId'] as string;

    // The membership change on segments.membership.
    await membership.waitFor(
      () => membership.payloads<any>((p) => p.profileId === profileId && p.segmentKey === segmentKey && p.change === 'entered').length > 0,
      PIPELINE_WAIT_MS,
    );

    // The public decision API with the write key, through the Ingress.
    const decided = await waitFor(
      async () => {
        const r = await call(pub('/v1/decide'), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: basic(writeKey) },
          body: JSON.stringify({ anonymousId, slots: ['banner'] }),
        });
        expectStatus(r, 200, `POST https://${host}/v1/decide`);
        const json = JSON.parse(r.text) as { segments: string[] };
        return json.segments.includes(segmentKey) ? json : null;
      },
      { timeoutMs: PIPELINE_WAIT_MS, intervalMs: 300, message: 'the decision API answering with the segment' },
    );
    expect(decided.segments).toContain(segmentKey);

    // The email activation sent: its tracked link is public (the Ingress's host) and redirects.
    const mail = await waitFor(() => mails.map(mailText).find((m) => m.includes('/v1/e/')) ?? null, {
      timeoutMs: PIPELINE_WAIT_MS,
      intervalMs: 300,
      message: `an email with tracked links; activation's output:\n${restarted.tail()}`,
    });
    const link = /href="([^"]*\/v1\/e\/c\/[^"]+)"/.exec(mail)?.[1]?.replace(/&amp;/g, '&');
    if (!link) throw new Error(`no tracked link in the email:\n${mail.slice(0, 2000)}`);
    if (!link.startsWith(`${ingress.origin}/`))
      throw new Error(`the email's tracked link ${link} does not point at the public host ${host} (COLLECTOR_PUBLIC_URL): recipients could not open it`);
    const click = await call(link);
    expectStatus(click, 302, `GET ${link}`);
    expect(click.headers['location']).toBe('https://shop.example.com/sale');
    const pixel = /src="([^"]*\/v1\/e\/o\/[^"]+)"/.exec(mail)?.[1];
    if (pixel) expectStatus(await call(pixel.replace(/&amp;/g, '&')), 200, `GET ${pixel}`);
  });

  it("the console, through its Ingress host: the app's page, sign-in as the first admin from the Secret, a read through its proxy", async () => {
    const [host, ingress] = [...publicOrigin.entries()].find(([h]) => consoleHosts().has(h))!;
    const r = deployments.get('console')!;
    await waitHttp(
      urlOf('console', r.probes.find((p) => p.kind === 'readinessProbe')!.path),
      procs.find((p) => p.name === 'console')!,
      'console readiness',
    );
    const page = await call(`${ingress.origin}/contacts`);
    expectStatus(page, 200, `GET https://${host}/contacts`);
    expect(page.text).toMatch(/src="\/assets\/[^"]+\.js"/);
    expect(await consoleRead(ingress.origin, 'admin', CONSOLE_PASSWORD, host)).toEqual({ cookieSecure: true, segments: 200, signedOut: 401 });
  });

  afterAll(async () => {
    await stopAll();
  });
});

// ---------------------------------------------------------------------------------------------

describe('docker/compose.yml, every Mosaic service as a process', () => {
  const compose = loadCompose();
  // What the compose file's header tells the user to export.
  const shell: Record<string, string> = {
    MOSAIC_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    COLLECTOR_EMAIL_SIGNING_KEYS: SIGNING_KEYS,
    CONSOLE_INITIAL_ADMIN_PASSWORD: CONSOLE_PASSWORD,
  };
  const loopback = new Map<string, number>(); // compose service → loopback port
  // What a plain `docker compose up` starts: services behind a profile (the demo shop) are opt-in.
  const mosaic = Object.entries(compose.services).filter(([, s]) => composeEnv(s, shell)['MOSAIC_SERVICE'] && !s['profiles']);
  const oneShots = mosaic.filter(([, s]) => s.command);
  const long = mosaic.filter(([, s]) => !s.command);
  const topicPrefix = () => `${infra().topicPrefix}compose.`;
  const mongoUri = () => withDatabase(infra().baseMongoUri, `${TEST_DB_PREFIX}compose_${fileId()}`);

  function processEnv(name: string): Record<string, string> {
    const svc = compose.services[name]!;
    const env = substituteInfra(composeEnv(svc, shell), topicPrefix(), mongoUri());
    const published = new Map<number, string>();
    for (const [n, s] of long) for (const p of s.ports ?? []) published.set(parsePort(p, shell).published ?? -1, n);
    for (const [k, v] of Object.entries(env)) {
      env[k] = mapUrls(v, (host, port) => {
        // Another service by its compose name, or the host's published port of it.
        const target = compose.services[host] ? host : (host === '127.0.0.1' || host === 'localhost') && port !== undefined ? published.get(port) : undefined;
        return target && loopback.has(target) ? `http://127.0.0.1:${loopback.get(target)}` : undefined;
      });
    }
    const service = env['MOSAIC_SERVICE'] as Service;
    if (loopback.has(name)) env[`${service.toUpperCase()}_PORT`] = String(loopback.get(name));
    return env;
  }

  beforeAll(async () => {
    for (const [name] of long) loopback.set(name, await freePort());
  });

  it('each service listens on the container port it publishes', () => {
    expect(long.map(([, s]) => composeEnv(s, shell)['MOSAIC_SERVICE']).sort()).toEqual([...SERVICES].sort());
    for (const [name, s] of long) {
      const env = composeEnv(s, shell);
      expect({ name, listens: listenPort(env['MOSAIC_SERVICE'] as Service, env) }).toEqual({ name, listens: parsePort((s.ports ?? [])[0]!, shell).container });
    }
  });

  it('the one-shot services complete, every service and the console pass their health check, an event goes through, the console signs in and reads', async () => {
    for (const [name, s] of oneShots) {
      const argv = containerArgv(work, typeof s.command === 'string' ? ['/bin/sh', '-c', s.command] : s.command);
      const proc = startProcess(`compose/${name}`, argv, work, processEnv(name));
      procs.push(proc);
      await runToCompletion(proc);
    }
    const started = long.map(([name]) => {
      const proc = startProcess(`compose/${name}`, containerArgv(work), work, processEnv(name));
      procs.push(proc);
      return { name, proc };
    });
    // The compose health check, run as Compose runs it (in the container, with its environment).
    await Promise.all(
      started.map(async ({ name, proc }) => {
        const test = compose.services[name]!.healthcheck?.test;
        if (!Array.isArray(test) || test[0] !== 'CMD') throw new Error(`compose service ${name}: expected a CMD health check, got ${JSON.stringify(test)}`);
        await waitFor(
          async () => {
            if (proc.child.exitCode !== null) throw new Error(`${name} exited with ${proc.child.exitCode}:\n${proc.tail()}`);
            const check = startProcess(
              `${name}-healthcheck`,
              containerArgv(
                work,
                test.slice(1).map((a) => interpolate(a, shell)),
              ),
              work,
              processEnv(name),
            );
            return (await check.exited).code === 0 || null;
          },
          { timeoutMs: 90_000, intervalMs: 500, message: `compose service ${name}'s health check; its output:\n${proc.tail()}` },
        );
      }),
    );
    const url = (service: Service, path: string) =>
      `http://127.0.0.1:${loopback.get(long.find(([, s]) => composeEnv(s, shell)['MOSAIC_SERVICE'] === service)![0])}${path}`;
    const source = await admin(url('collector', ''), 'POST', '/v1/sources', { name: 'compose-run' });
    expectStatus(source, 201, 'POST /v1/sources (compose)');
    const userId = `grace-${randomBytes(4).toString('hex')}`;
    const sent = await sendEvents(url('collector', '/v1/batch'), source.json['writeKey'], [
      { type: 'track', userId, event: 'Order Completed', properties: { order_id: 'o-1', total: 5 } },
    ]);
    expectStatus(sent, 200, 'POST /v1/batch (compose)');
    await waitFor(async () => (await admin(url('enrichment', ''), 'GET', `/v1/profiles/by/userId/${userId}`)).status === 200 || null, {
      timeoutMs: PIPELINE_WAIT_MS,
      intervalMs: 300,
      message: 'the profile (compose)',
    });
    await waitFor(
      async () => {
        const r = await call(url('activation', '/v1/decide'), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: basic(source.json['writeKey']) },
          body: JSON.stringify({ anonymousId: 'a-1', slots: [] }),
        });
        expectStatus(r, 200, 'POST /v1/decide (compose)');
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 300, message: 'the decision API (compose) answering 200' },
    );
    // The console: the first admin from the shell's CONSOLE_INITIAL_ADMIN_PASSWORD, a read through its proxy (plain HTTP: no Secure cookie).
    expect(await consoleRead(url('console', ''), 'admin', CONSOLE_PASSWORD, '127.0.0.1:8090')).toEqual({ cookieSecure: false, segments: 200, signedOut: 401 });
  });
});
