// Helpers of manifest-run.int-spec.ts: what a pod or compose container of Mosaic gets (its
// environment, command, ports, probes) read from the rendered k8s objects, an emulator of the
// rendered Ingress on loopback, the build laid out like the image's /app, and child processes
// stopped by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { ROOT, imageRuntime, type K8sObject } from './deploy-files';

// ---------------------------------------------------------------------------------------------
// The build, laid out as the image's WORKDIR (dist/ plus the files the runtime stage copies).

/** Builds into `<work>/dist` with tools/scripts/build.mjs; `work` must be inside the repository so that node_modules resolves. */
export function buildImageTree(work: string): void {
  const built = spawnSync(process.execPath, [join(ROOT, 'tools', 'scripts', 'build.mjs'), '--out', join(work, 'dist')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (built.status !== 0) throw new Error(`build failed: ${built.stderr}${built.stdout}`);
  // As the Dockerfile's build step: non-TypeScript files next to the sources go along, except
  // those of the single-page app (its source index.html would overwrite the built one).
  const skip = (name: string) =>
    name.endsWith('.ts') || name === 'project.json' || /^tsconfig.*\.json$/.test(name) || name.endsWith('.md') || name === 'node_modules';
  const browserApp = join(ROOT, 'apps', 'console-web');
  const copyAssets = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const p = join(dir, entry);
      if (skip(entry) || p === browserApp) continue;
      if (statSync(p).isDirectory()) copyAssets(p);
      else {
        const target = join(work, 'dist', relative(ROOT, p));
        mkdirSync(dirname(target), { recursive: true });
        cpSync(p, target);
      }
    }
  };
  copyAssets(join(ROOT, 'apps'));
  copyAssets(join(ROOT, 'libs'));
  mkdirSync(join(work, 'docker'), { recursive: true });
  cpSync(join(ROOT, 'docker', 'healthcheck.mjs'), join(work, 'docker', 'healthcheck.mjs'));
}

/** A container's argv (Kubernetes: command replaces ENTRYPOINT, args replace CMD; the image has no ENTRYPOINT), with the image's WORKDIR mapped to `work`. */
export function containerArgv(work: string, command?: string[], args?: string[]): string[] {
  const { workdir, cmd } = imageRuntime();
  const argv = command ? [...command, ...(args ?? [])] : (args ?? cmd);
  const prefix = workdir.replace(/\/+$/, '');
  return argv.map((a) => a.split(`${prefix}/`).join(`${work}/`));
}

// ---------------------------------------------------------------------------------------------
// Kubernetes: one container's environment, ports and probes.

export interface Probe {
  kind: 'startupProbe' | 'livenessProbe' | 'readinessProbe';
  path: string;
  /** the container port */
  port: number;
}
export interface ContainerRun {
  /** Deployment or Job name */
  owner: string;
  kind: string;
  podLabels: Record<string, string>;
  env: Record<string, string>;
  /** container port by name and by number (as a string) */
  ports: Map<string, number>;
  probes: Probe[];
  command?: string[];
  args?: string[];
}

const find = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

/**
 * The environment the kubelet gives the pod's first container: envFrom, then env (valueFrom
 * config map and secret keys, the downward API, `$(VAR)` references). `secrets` stands in for
 * the Secrets' contents. A required key or object that is missing is a problem (the pod would
 * not start: CreateContainerConfigError).
 */
export function containerRun(
  objects: K8sObject[],
  owner: K8sObject,
  secrets: Record<string, Record<string, string>>,
  podName: string,
): ContainerRun & { problems: string[] } {
  const template = owner['spec']['template'];
  const c = template['spec']['containers'][0];
  const problems: string[] = [];
  const where = `${owner.kind} ${owner.metadata.name}`;
  const source = (kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined => {
    if (kind === 'Secret') return secrets[name];
    const cm = find(objects, 'ConfigMap', name);
    return cm ? Object.fromEntries(Object.entries((cm['data'] ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)])) : undefined;
  };
  const env: Record<string, string> = {};
  for (const from of (c['envFrom'] ?? []) as Record<string, { name: string; optional?: boolean } | string>[]) {
    const ref = (from['configMapRef'] ?? from['secretRef']) as { name: string; optional?: boolean };
    const kind = from['configMapRef'] ? 'ConfigMap' : 'Secret';
    const data = source(kind, ref.name);
    if (!data) {
      if (!ref.optional) problems.push(`${where}: envFrom ${kind} ${ref.name} does not exist`);
      continue;
    }
    for (const [k, v] of Object.entries(data)) env[`${(from['prefix'] as string | undefined) ?? ''}${k}`] = v;
  }
  const expand = (v: string) => v.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => env[n] ?? m);
  for (const e of (c['env'] ?? []) as {
    name: string;
    value?: string;
    valueFrom?: Record<string, { name: string; key: string; optional?: boolean; fieldPath?: string }>;
  }[]) {
    if (e.valueFrom === undefined) {
      env[e.name] = expand(e.value ?? '');
      continue;
    }
    const keyRef = e.valueFrom['configMapKeyRef'] ?? e.valueFrom['secretKeyRef'];
    if (keyRef) {
      const kind = e.valueFrom['configMapKeyRef'] ? 'ConfigMap' : 'Secret';
      const value = source(kind, keyRef.name)?.[keyRef.key];
      if (value !== undefined) env[e.name] = value;
      else if (!keyRef.optional) problems.push(`${where}: ${e.name} needs key ${keyRef.key} of ${kind} ${keyRef.name}, which it does not have`);
      continue;
    }
    const field = e.valueFrom['fieldRef']?.fieldPath;
    const fields: Record<string, string> = {
      'metadata.name': podName,
      'metadata.namespace': owner.metadata.namespace ?? 'default',
      'status.podIP': '127.0.0.1',
      'spec.nodeName': 'node-1',
    };
    if (field && fields[field] !== undefined) env[e.name] = fields[field]!;
    else problems.push(`${where}: ${e.name}: unsupported valueFrom ${JSON.stringify(e.valueFrom)}`);
  }
  const ports = new Map<string, number>();
  for (const p of (c['ports'] ?? []) as { name?: string; containerPort: number }[]) {
    ports.set(String(p.containerPort), p.containerPort);
    if (p.name) ports.set(p.name, p.containerPort);
  }
  const probes: Probe[] = [];
  for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
    const get = c[kind]?.['httpGet'] as { path?: string; port: string | number } | undefined;
    if (!get) continue;
    const port = ports.get(String(get.port)) ?? (typeof get.port === 'number' ? get.port : undefined);
    if (port === undefined) problems.push(`${where}: ${kind} names port ${get.port}, which the container does not declare`);
    else probes.push({ kind, path: get.path ?? '/', port });
  }
  return {
    owner: owner.metadata.name,
    kind: owner.kind,
    podLabels: template['metadata']?.['labels'] ?? {},
    env,
    ports,
    probes,
    command: c['command'],
    args: c['args'],
    problems,
  };
}

// ---------------------------------------------------------------------------------------------
// Services and the Ingress

/** The in-cluster DNS names of a Service. */
export function serviceHostNames(svc: K8sObject): string[] {
  const ns = svc.metadata.namespace ?? 'default';
  const n = svc.metadata.name;
  return [n, `${n}.${ns}`, `${n}.${ns}.svc`, `${n}.${ns}.svc.cluster.local`];
}

/** The container port a Service port leads to, and which workload (by pod labels) serves it. */
export function serviceTarget(
  objects: K8sObject[],
  runs: ContainerRun[],
  serviceName: string,
  port: string | number,
): { run: ContainerRun; containerPort: number } | undefined {
  const svc = find(objects, 'Service', serviceName);
  if (!svc) return undefined;
  const sp = ((svc['spec']['ports'] ?? []) as { name?: string; port: number; targetPort?: string | number }[]).find(
    (p) => p.name === port || p.port === Number(port),
  );
  if (!sp) return undefined;
  const selector = (svc['spec']['selector'] ?? {}) as Record<string, string>;
  const run = runs.find((r) => r.kind === 'Deployment' && Object.entries(selector).every(([k, v]) => r.podLabels[k] === v));
  const containerPort = run?.ports.get(String(sp.targetPort ?? sp.port));
  return run && containerPort !== undefined ? { run, containerPort } : undefined;
}

export interface IngressRule {
  ingress: string;
  host?: string;
  path: string;
  pathType: string;
  service: string;
  port: string | number;
}

export function ingressRules(objects: K8sObject[]): IngressRule[] {
  const out: IngressRule[] = [];
  for (const ing of objects.filter((o) => o.kind === 'Ingress')) {
    for (const rule of (ing['spec']['rules'] ?? []) as {
      host?: string;
      http?: { paths: { path?: string; pathType: string; backend: { service: { name: string; port: { name?: string; number?: number } } } }[] };
    }[]) {
      for (const p of rule.http?.paths ?? []) {
        out.push({
          ingress: ing.metadata.name,
          host: rule.host,
          path: p.path ?? '/',
          pathType: p.pathType,
          service: p.backend.service.name,
          port: p.backend.service.port.name ?? p.backend.service.port.number!,
        });
      }
    }
  }
  return out;
}

const segments = (path: string) => path.split('/').filter(Boolean);

/** Kubernetes' Ingress matching: the longest matching path wins, Exact before Prefix; Prefix matches whole path elements. */
export function matchIngress(rules: IngressRule[], host: string, path: string): IngressRule | undefined {
  const hostMatches = (h?: string) =>
    h === undefined || h === host || (h.startsWith('*.') && host.endsWith(h.slice(1)) && !host.slice(0, -h.length + 1).includes('.'));
  const reqPath = path.split('?')[0]!;
  const candidates = rules
    .filter((r) => hostMatches(r.host))
    .filter((r) => {
      if (r.pathType === 'Exact') return r.path === reqPath;
      const want = segments(r.path);
      const got = segments(reqPath);
      return want.length <= got.length && want.every((s, i) => s === got[i]);
    });
  candidates.sort((a, b) => b.path.length - a.path.length || (a.pathType === 'Exact' ? -1 : 1) - (b.pathType === 'Exact' ? -1 : 1));
  return candidates[0];
}

export interface IngressEmulator {
  /** loopback origin standing in for https://<host> */
  origin: string;
  host: string;
  close(): Promise<void>;
}

/**
 * One loopback listener standing in for the ingress controller on one public host: routes by
 * the rendered rules to the loopback port of the Service's pods. Plain HTTP (TLS terminates at
 * the controller); adds X-Forwarded-For/-Proto as ingress-nginx does.
 */
export async function startIngress(rules: IngressRule[], host: string, backend: (rule: IngressRule) => number | undefined): Promise<IngressEmulator> {
  const server: Server = createServer((req, res) => {
    const rule = matchIngress(rules, host, req.url ?? '/');
    const port = rule ? backend(rule) : undefined;
    if (!rule || port === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`ingress emulator: no rule of ${host} routes ${req.url}`);
      return;
    }
    const headers = {
      ...req.headers,
      host,
      'x-forwarded-for': req.socket.remoteAddress ?? '127.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': host,
    };
    const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (err) => res.writeHead(502).end(`ingress emulator: ${err.message}`));
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, host, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * Replaces, in one environment value, every http(s) URL whose host is in `hosts` (in-cluster
 * or public names) with the loopback origin standing in for it.
 */
export function mapUrls(value: string, hosts: (host: string, port: number | undefined, scheme: string) => string | undefined): string {
  return value.replace(
    /\b(https?):\/\/([A-Za-z0-9.-]+)(?::(\d+))?/g,
    (m, scheme: string, host: string, port?: string) => hosts(host.toLowerCase(), port ? Number(port) : undefined, scheme) ?? m,
  );
}

// ---------------------------------------------------------------------------------------------
// Child processes

export interface Proc {
  name: string;
  child: ChildProcess;
  /** the last lines of stdout and stderr */
  tail(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** Spawns argv with exactly `env` (plus PATH and HOME), keeping the last 200 lines of output. */
export function startProcess(name: string, argv: string[], cwd: string, env: Record<string, string>): Proc {
  // Only what a container's runtime adds (PATH, HOME) comes from this process's environment.
  // eslint-disable-next-line no-restricted-properties -- a test helper starting a child, not service configuration
  const base = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' };
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (d: Buffer) => {
    lines.push(...d.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    name,
    child,
    tail: () =>
      lines
        .slice(-40)
        .map((l) => `  [${name}] ${l.slice(0, 400)}`)
        .join('\n'),
    exited,
    stop: () => stopProcess(child, exited),
  };
}

/** SIGTERM, then SIGKILL after 10 s: by PID, only this child. */
async function stopProcess(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  process.kill(child.pid, 'SIGTERM');
  const killed = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 10_000).unref())]);
  if (killed && child.exitCode === null && child.signalCode === null) {
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }
}

/** Reads a raw email's body (quoted-printable or base64 single part) as text. */
export function mailText(raw: string): string {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).toLowerCase();
  const body = raw.slice(split + 4);
  if (head.includes('content-transfer-encoding: base64')) return Buffer.from(body, 'base64').toString('utf8');
  if (head.includes('quoted-printable'))
    return Buffer.from(
      body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  return body;
}
