/**
 * The container image, proven without Docker: the build context is made of exactly the files
 * docker/Dockerfile.dockerignore lets in, every stage of docker/Dockerfile is carried out as
 * written (its COPY lines, `npm ci`, the build command), and every service is then started
 * from the runtime stage's tree with the image's CMD against the test Kafka and MongoDB, as a
 * container would run it. A file the build or the services need but the context leaves out
 * fails here, as it would fail `docker build` or the container.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { topicNames } from '@mosaic/contracts';
import { DEFAULT_PORTS } from '@mosaic/shared-config';
import { freePort, testInfra, testServiceEnv, TEST_ADMIN_TOKEN } from '@mosaic/shared-testing';
import { copyContext, OutputTail, parseDockerfile, runProcess, runStage, type StageRun } from './image-context';

const ROOT = join(__dirname, '..', '..');
/** The five services and the console: everything the image's CMD starts by MOSAIC_SERVICE. */
const SERVICES = Object.keys(DEFAULT_PORTS) as (keyof typeof DEFAULT_PORTS)[];
const PROXIED = SERVICES.filter((s) => s !== 'console');
/** Bound of a service's start (npm-installed tree, 2 busy cores) and of its SIGTERM drain. */
const READY_TIMEOUT_MS = 120_000;
/**
 * The services' own drain bound, and the test's before it kills them. 5 s was too short under two
 * CPU hogs: four of five services hit it (exit 1) while draining their consumers.
 */
const SHUTDOWN_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = SHUTDOWN_TIMEOUT_MS + 10_000;

/**
 * The machine's environment for `npm ci` (PATH, HOME and its npm cache, proxies), without what
 * would steer it away from the stage directory or leak this test run into it.
 */
function buildHostEnv(): Record<string, string> {
  const keepNpm = /^npm_config_(cache|registry|userconfig|globalconfig|proxy|https_proxy|noproxy|cafile|strict_ssl)$/i;
  const drop = (k: string): boolean => /^(NODE_ENV|NODE_OPTIONS|NODE_PATH|MOSAIC_|KAFKA|MONGODB_|JEST_)/.test(k) || (/^npm_/i.test(k) && !keepNpm.test(k));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !drop(k)) env[k] = v;
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  // The npm cache is warm (the repository was installed with the same lock file).
  env.npm_config_prefer_offline = 'true';
  env.npm_config_audit = 'false';
  env.npm_config_fund = 'false';
  return env;
}

interface Proc {
  name: string;
  child: ChildProcess;
  output: OutputTail;
  exited: Promise<number | null>;
}

const started: Proc[] = [];

function startProcess(name: string, argv: string[], cwd: string, env: Record<string, string>): Proc {
  const child = spawn(argv[0] as string, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = new OutputTail();
  child.stdout?.on('data', (d: Buffer) => output.add(d));
  child.stderr?.on('data', (d: Buffer) => output.add(d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const p = { name, child, output, exited };
  started.push(p);
  return p;
}

function hasExited(p: Proc): boolean {
  return p.child.exitCode !== null || p.child.signalCode !== null;
}

/** SIGTERM by PID, then SIGKILL after the grace period; the exit code (-1 when killed). */
async function stop(p: Proc): Promise<number | null> {
  if (!hasExited(p) && p.child.pid) process.kill(p.child.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_GRACE_MS)));
  const first = await Promise.race([p.exited, late]);
  clearTimeout(timer);
  if (first !== 'late') return first;
  if (!hasExited(p) && p.child.pid) process.kill(p.child.pid, 'SIGKILL');
  await p.exited;
  return -1;
}

async function status(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Until /health and /ready answer 200; fails at once when the process exits, with its output. */
/** The port a service started with port 0 listens on, from its `<service> listening` log line. */
async function listeningPort(p: Proc): Promise<number> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const pattern = new RegExp(`"port":(\\d+)[^\\n]*"msg":"${p.name} listening"`);
  for (;;) {
    const found = pattern.exec(p.output.text());
    if (found) return Number(found[1]);
    if (hasExited(p)) throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before it listened:\n${p.output.text()}`);
    if (Date.now() > deadline) throw new Error(`${p.name} did not say where it listens within ${READY_TIMEOUT_MS} ms:\n${p.output.text()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitReady(p: Proc, baseUrl: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited(p)) throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before it was ready:\n${p.output.text()}`);
    if ((await status(`${baseUrl}/health`)) === 200 && (await status(`${baseUrl}/ready`)) === 200) return;
    if (Date.now() > deadline) throw new Error(`${p.name} not ready at ${baseUrl} within ${READY_TIMEOUT_MS} ms:\n${p.output.text()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** An exec-form instruction's argv (CMD, HEALTHCHECK ... CMD). */
function execForm(runtime: StageRun, op: 'CMD' | 'HEALTHCHECK'): string[] {
  const ins = runtime.stage.instructions.filter((i) => i.op === op).pop();
  const json = ins?.args.slice(ins.args.indexOf('['));
  if (!json) throw new Error(`the runtime stage has no exec-form ${op}`);
  return JSON.parse(json) as string[];
}

describe('the image of docker/Dockerfile, built and run without Docker', () => {
  const infra = testInfra();
  const log: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'mosaic-image-'));
  const contextDir = join(tmp, 'context');
  let contextList: string[] = [];
  let runtime: StageRun;
  let app: string;
  const emailKeys = `k1:${randomBytes(32).toString('hex')}`;
  const ports = new Map<string, number>();
  const services = new Map<string, Proc>();

  /** A clean environment, as a container gets it: the image's ENV, then the deployment's. */
  function containerEnv(service: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      ...runtime.env,
      ...testServiceEnv(infra, {
        NODE_ENV: 'production',
        // Loopback only in tests; the image's 0.0.0.0 is what a container needs.
        MOSAIC_HTTP_HOST: '127.0.0.1',
        // The image's default level: log lines are written, as in production (tests elsewhere run silent).
        LOG_LEVEL: 'info',
        MOSAIC_SERVICE: service,
        KAFKA_PROVISION_TOPICS: 'false',
        MOSAIC_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        COLLECTOR_EMAIL_SIGNING_KEYS: emailKeys,
        ACTIVATION_COLLECTOR_URL: `http://127.0.0.1:${ports.get('collector')}`,
        // The console's proxy: the services as started here.
        ...Object.fromEntries(PROXIED.map((p) => [`CONSOLE_${p.toUpperCase()}_URL`, `http://127.0.0.1:${ports.get(p)}`])),
        ...extra,
      }),
    };
  }

  /** The HEALTHCHECK command; its absolute paths are the image's, so they point into the runtime stage's tree here. */
  function healthcheckArgv(): string[] {
    return execForm(runtime, 'HEALTHCHECK').map((a) => (a.startsWith('/') && existsSync(join(runtime.rootfs, a)) ? join(runtime.rootfs, a) : a));
  }

  beforeAll(async () => {
    const t0 = Date.now();
    contextList = copyContext(ROOT, readFileSync(join(ROOT, 'docker', 'Dockerfile.dockerignore'), 'utf8'), contextDir);
    const stages = parseDockerfile(readFileSync(join(ROOT, 'docker', 'Dockerfile'), 'utf8'));
    const built = new Map<string, StageRun>();
    const hostEnv = buildHostEnv();
    for (const stage of stages) {
      const run = await runStage(stage, { context: contextDir, rootfs: join(tmp, `stage-${stage.name}`), built, hostEnv, log: (l) => log.push(l) });
      built.set(stage.name, run);
    }
    runtime = built.get((stages[stages.length - 1] as { name: string }).name) as StageRun;
    app = runtime.hostPath('.');
    ports.set('demo-shop', await freePort());
    log.push(`context ${contextList.length} files; stages built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 15 * 60_000);

  afterAll(async () => {
    if (log.length) process.stderr.write(`[image-context] ${log.join('\n[image-context] ')}\n`);
    await Promise.all(started.map(stop));
    rmSync(tmp, { recursive: true, force: true });
  }, 2 * 60_000);

  it('has a context with the build inputs only: no tests, no installed or built trees', () => {
    expect(contextList.filter((f) => /\.(int-)?spec\.ts$|(^|\/)(node_modules|dist|\.git|\.mosaic|\.nx)\//.test(f))).toEqual([]);
    expect(contextList.filter((f) => f.includes('/') && !/^(apps|libs|tools\/scripts|docker)\//.test(f))).toEqual([]);
    expect(contextList).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tools/scripts/build.mjs', 'docker/healthcheck.mjs']));
    // The console's single-page app is built in the image: its page, entry and Vite config are in.
    expect(contextList).toEqual(expect.arrayContaining(['apps/console-web/index.html', 'apps/console-web/src/main.tsx', 'apps/console-web/vite.config.mjs']));
  });

  it('gives the runtime stage the compiled services and the files they read next to their code, without sources or dev dependencies', () => {
    const need = [
      ...SERVICES.map((s) => `dist/apps/${s}/src/main.js`),
      'dist/apps/collector/src/provision.js',
      'dist/libs/tracker/mosaic.js',
      'dist/apps/demo-shop/src/main.js',
      'dist/apps/demo-shop/public/shop.js',
      'dist/apps/console-web/index.html',
      'docker/healthcheck.mjs',
    ];
    expect(need.filter((f) => !existsSync(join(app, f)))).toEqual([]);
    // The built page (it loads the bundle under /assets), not the source one (which loads /src/main.tsx), and no sources beside it.
    const page = readFileSync(join(app, 'dist/apps/console-web/index.html'), 'utf8');
    expect({ built: /src="\/assets\/[^"]+\.js"/.test(page), source: page.includes('/src/main.tsx') }).toEqual({ built: true, source: false });
    expect(existsSync(join(app, 'dist/apps/console-web/src'))).toBe(false);
    expect(runtime.env.NODE_ENV).toBe('production');
    // Resolution walks up from /app: nothing above the stage may lend it packages.
    expect(['typescript', '@swc/core', 'jest'].filter((m) => existsSync(join(app, 'node_modules', m)))).toEqual([]);
    for (let d = dirname(app); d !== dirname(d); d = dirname(d))
      expect({ dir: d, node_modules: existsSync(join(d, 'node_modules')) }).toEqual({ dir: d, node_modules: false });
    expect(['apps', 'libs', 'tools'].filter((d) => existsSync(join(app, d)))).toEqual([]);
  });

  it('provisions every topic with the provisioning entry, then exits 0', async () => {
    const p = startProcess('provision', ['node', 'dist/apps/collector/src/provision.js'], app, containerEnv('collector', { KAFKA_PROVISION_TOPICS: 'true' }));
    const code = await p.exited;
    expect({ code, output: code === 0 ? '' : p.output.text() }).toEqual({ code: 0, output: '' });
    const admin = new Kafka({ clientId: 'image-context-test', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(infra.topicPrefix));
      expect(topics.sort()).toEqual(Object.values(topicNames(infra.topicPrefix)).sort());
    } finally {
      await admin.disconnect();
    }
  }, 120_000);

  it(
    "starts each of the five services and the console with the image's CMD until /health and /ready answer 200",
    async () => {
      const cmd = execForm(runtime, 'CMD');
      // Port 0: each service listens where the kernel lets it and says so in its log. A port
      // picked in advance can be taken by another test's process before the service binds it
      // (seen beside CPU hogs: EADDRINUSE, and the other process answered the readiness probe).
      // Activation needs the collector's address, the console every service's: started after them.
      const independent = SERVICES.filter((s) => s !== 'activation' && s !== 'console');
      for (const group of [independent, ['activation'], ['console']]) {
        for (const s of group) services.set(s, startProcess(s, cmd, app, containerEnv(s, { [`${s.toUpperCase()}_PORT`]: '0' })));
        for (const s of group) ports.set(s, await listeningPort(services.get(s) as Proc));
      }
      await Promise.all(SERVICES.map((s) => waitReady(services.get(s) as Proc, `http://127.0.0.1:${ports.get(s)}`)));
      const tracker = await fetch(`http://127.0.0.1:${ports.get('collector')}/mosaic.js`);
      expect({ status: tracker.status, type: tracker.headers.get('content-type') }).toEqual({ status: 200, type: expect.stringContaining('javascript') });
      expect((await tracker.text()).length).toBeGreaterThan(1000);
      // The console serves the single-page app built into the image: a client-side route gets its page, which loads its bundle.
      const page = await fetch(`http://127.0.0.1:${ports.get('console')}/contacts`);
      const html = await page.text();
      expect({ status: page.status, type: page.headers.get('content-type') }).toEqual({ status: 200, type: expect.stringContaining('text/html') });
      const bundle = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(bundle).toBeDefined();
      expect(await status(`http://127.0.0.1:${ports.get('console')}${bundle}`)).toBe(200);
    },
    4 * 60_000,
  );

  it("runs the image's HEALTHCHECK: 0 against a running service, 1 when nothing answers", async () => {
    const argv = healthcheckArgv();
    const env = (s: string, port: number): Record<string, string> => containerEnv(s, { [`${s.toUpperCase()}_PORT`]: String(port) });
    const up = await runProcess(argv, { cwd: app, env: env('identity', ports.get('identity') as number) });
    expect(up).toEqual({ code: 0, output: '' });
    const down = await runProcess(argv, { cwd: app, env: env('identity', await freePort()) });
    expect(down.code).toBe(1);
  }, 60_000);

  it(
    'serves the demo shop from the same image, with its assets, creating its source through the collector',
    async () => {
      const shopPort = ports.get('demo-shop') as number;
      const shopEnv = {
        PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
        ...runtime.env,
        MOSAIC_SERVICE: 'demo-shop',
        MOSAIC_HTTP_HOST: '127.0.0.1',
        DEMO_SHOP_PORT: String(shopPort),
        DEMO_SHOP_COLLECTOR_URL: `http://127.0.0.1:${ports.get('collector')}`,
        DEMO_SHOP_ACTIVATION_URL: `http://127.0.0.1:${ports.get('activation')}`,
        DEMO_SHOP_WRITE_KEY_FILE: join(tmp, 'demo-shop-write-key'),
        MOSAIC_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      };
      const shop = startProcess('demo-shop', execForm(runtime, 'CMD'), app, shopEnv);
      await waitReady(shop, `http://127.0.0.1:${shopPort}`);
      expect(await status(`http://127.0.0.1:${shopPort}/assets/shop.js`)).toBe(200);
      expect(await status(`http://127.0.0.1:${shopPort}/`)).toBe(200);
      expect(await runProcess(healthcheckArgv(), { cwd: app, env: shopEnv })).toEqual({ code: 0, output: '' });
      expect(await stop(shop)).toBe(0);
    },
    4 * 60_000,
  );

  it(
    'stops every service on SIGTERM (Node is exec-ed by the CMD) with exit code 0',
    async () => {
      expect(services.size).toBe(SERVICES.length);
      // a service that did not exit 0 is shown with the end of its output (why it did not)
      const outcome = async (s: (typeof SERVICES)[number]) => {
        const p = services.get(s) as Proc;
        const code = await stop(p);
        return [s, code === 0 ? 0 : `exit ${String(code)}: ${p.output.text().slice(-600)}`] as const;
      };
      expect(Object.fromEntries(await Promise.all(SERVICES.map(outcome)))).toEqual(Object.fromEntries(SERVICES.map((s) => [s, 0])));
    },
    2 * 60_000,
  );
});
