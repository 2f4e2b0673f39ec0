// `npm run bench -- console [--events 10000] [--loads 5] [--cpu-profile]`
//
// The console's contact page with a long timeline, measured in the browser (issue 17: "the
// contact page with 10,000 events in its timeline renders in under 1 s"):
//   seed        one visitor's events through the collector (/v1/batch of 100: page views, the
//               last one an identify with an email), through identity and enrichment, until the
//               profile counts them all
//   raw         the data alone, read by Node from enrichment directly and through the console's
//               proxy: the activity digest the page draws from (GET /v1/profiles/{id}/activity,
//               one request), and the whole timeline in pages of 1,000 (what the page read before
//               the digest); plus the stored profile document's sizes (body, digest)
//   page        headless Chromium (Debian's, playwright-core) signed in to the console: each load
//               opens /contacts/<id> afresh and takes the time from navigation start to the second
//               animation frame after every timeline row and the chart's canvas are in the page
//               (the chart and the table appear once the activity digest is loaded), ms
// The services and the console run as child processes (dist/), the SPA as `npm run build` built it.
//   --cpu-profile  one more load (not counted) profiled: main-thread JavaScript by package/file and function (bench-cpu-profile.mjs)
// Prints a table and writes JSON to .mosaic/bench/.
import { join } from 'node:path';
import {
  adminApi,
  benchLogFile,
  benchSetup,
  cleanUpOnce,
  createBenchSource,
  deleteBenchTopics,
  dropBenchDatabases,
  machineInfo,
  numberOption,
  pct,
  serviceEnv,
  sleep,
  startService,
  stopChild,
  writeResult,
} from './bench-util.mjs';
import { startCpuProfile, stopCpuProfile } from './bench-cpu-profile.mjs';

const log = (m) => console.error(`[bench console] ${m}`);
const SERVICES = ['collector', 'identity', 'enrichment', 'segmentation'];
const USER = { username: 'bench.editor', password: 'bench-editor-password', role: 'editor' };
const TIMELINE_PAGE = 1000;

async function startAll(ctx) {
  const env = (extra) => serviceEnv(ctx, { SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0', ...extra });
  for (const name of SERVICES) {
    const port = await ctx.infra.freePort();
    ctx.services.set(name, await startService({ root: ctx.root, name, port, env: env({}), logFile: benchLogFile(ctx.root, name, ctx.runId) }));
  }
  const url = (name) => ctx.services.get(name).url;
  const consoleEnv = env({
    CONSOLE_WEB_DIR: join(ctx.root, 'dist', 'apps', 'console-web'),
    CONSOLE_COLLECTOR_URL: url('collector'),
    CONSOLE_IDENTITY_URL: url('identity'),
    CONSOLE_ENRICHMENT_URL: url('enrichment'),
    CONSOLE_SEGMENTATION_URL: url('segmentation'),
    CONSOLE_ACTIVATION_URL: 'http://127.0.0.1:9',
  });
  const port = await ctx.infra.freePort();
  ctx.services.set(
    'console',
    await startService({ root: ctx.root, name: 'console', port, env: consoleEnv, logFile: benchLogFile(ctx.root, 'console', ctx.runId) }),
  );
}

/** `events` events of one visitor through the collector; the profile id once enrichment counted them all. */
async function seed(ctx, events) {
  const source = await createBenchSource(adminApi(ctx.services.get('collector').url, ctx.token));
  const anonymousId = `bench-console-${ctx.runId}`;
  const start = Date.now() - events * 1000;
  const message = (i) =>
    i === events - 1
      ? { type: 'identify', anonymousId, userId: `u-${ctx.runId}`, traits: { email: `bench-${ctx.runId}@example.com` }, messageId: `${ctx.runId}-${i}` }
      : {
          type: 'page',
          anonymousId,
          name: `Page ${i % 40}`,
          properties: { path: `/p/${i % 40}` },
          messageId: `${ctx.runId}-${i}`,
          timestamp: new Date(start + i * 1000).toISOString(),
        };
  for (let i = 0; i < events; i += 100) {
    const batch = Array.from({ length: Math.min(100, events - i) }, (_, k) => message(i + k));
    const r = await fetch(`${ctx.services.get('collector').url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: source.authorization },
      body: JSON.stringify({ batch }),
    });
    if (r.status !== 200) throw new Error(`sending events: ${r.status} ${await r.text()}`);
  }
  const enrichment = adminApi(ctx.services.get('enrichment').url, ctx.token);
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    const r = await enrichment('GET', `/v1/profiles/by/anonymousId/${encodeURIComponent(anonymousId)}`);
    const views = r.json?.profile?.computed?.pageViews ?? 0;
    if (r.status === 200 && views >= events - 1 && r.json.profile.known) return r.json.profileId;
    await sleep(1000);
  }
  throw new Error('the profile did not count every event within 600 s');
}

/** Reads the whole timeline as the page does (pages of 1,000, newest first); ms. */
async function readTimeline(base, headers, profileId) {
  const started = performance.now();
  let cursor;
  let events = 0;
  do {
    const q = `limit=${TIMELINE_PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await fetch(`${base}/v1/profiles/${encodeURIComponent(profileId)}/timeline?${q}`, { headers });
    if (r.status !== 200) throw new Error(`timeline: ${r.status} ${await r.text()}`);
    const body = await r.json();
    events += body.events.length;
    cursor = body.next;
  } while (cursor);
  return { ms: Math.round(performance.now() - started), events };
}

/** Reads the activity digest as the page does (one request); ms, entries and response bytes (median of `times` reads). */
async function readActivity(base, headers, profileId, times = 5) {
  const runs = [];
  for (let i = 0; i < times; i += 1) {
    const started = performance.now();
    const r = await fetch(`${base}/v1/profiles/${encodeURIComponent(profileId)}/activity`, { headers });
    if (r.status !== 200) throw new Error(`activity: ${r.status} ${await r.text()}`);
    const text = await r.text();
    runs.push({ ms: Math.round(performance.now() - started), entries: JSON.parse(text).entries.length, bytes: text.length });
  }
  runs.sort((a, b) => a.ms - b.ms);
  return runs[Math.floor(runs.length / 2)];
}

async function rawReads(ctx, profileId) {
  const admin = { authorization: `Bearer ${ctx.token}` };
  const consoleUrl = ctx.services.get('console').url;
  const cookie = await signInCookie(consoleUrl);
  const activity = {
    direct: await readActivity(ctx.services.get('enrichment').url, admin, profileId),
    proxied: await readActivity(`${consoleUrl}/api/svc/enrichment`, { cookie }, profileId),
  };
  const direct = await readTimeline(ctx.services.get('enrichment').url, admin, profileId);
  const proxied = await readTimeline(`${consoleUrl}/api/svc/enrichment`, { cookie }, profileId);
  return { activity, direct, proxied, stored: await storedSizes(ctx, profileId) };
}

/** Bytes of the stored profile document's state (`body`) and activity digest: what each write of this profile carries. */
async function storedSizes(ctx, profileId) {
  const { MongoClient } = ctx.require('mongodb');
  const client = await MongoClient.connect(`${ctx.mongoBase}/${ctx.dbName}`);
  try {
    const doc = await client.db(ctx.dbName).collection('enrichment_profiles').findOne({ _id: profileId });
    return { bodyBytes: doc?.body?.length ?? 0, activityBytes: doc?.activity?.length ?? 0 };
  } finally {
    await client.close();
  }
}

async function signInCookie(consoleUrl) {
  const r = await fetch(`${consoleUrl}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(USER) });
  if (r.status !== 200) throw new Error(`signing in: ${r.status} ${await r.text()}`);
  return (r.headers.get('set-cookie') ?? '').split(';')[0];
}

/** Each load: a fresh page, navigation start → the second frame after all rows and the chart are in. */
async function pageLoads(ctx, profileId, loads, cpuProfile) {
  const { chromium } = ctx.require('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.MOSAIC_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const consoleUrl = ctx.services.get('console').url;
    const [name, value] = (await signInCookie(consoleUrl)).split('=');
    await context.addCookies([{ name, value, url: consoleUrl }]);
    const times = [];
    const steps = [];
    let profile;
    // load 0 warms the caches of every layer; with a CPU profile, one more load after the counted ones
    for (let i = 0; i < loads + 1 + (cpuProfile ? 1 : 0); i += 1) {
      const page = await context.newPage();
      const profiling = i === loads + 1 ? await startCpuProfile(context, page) : undefined;
      await page.goto(`${consoleUrl}/contacts/${encodeURIComponent(profileId)}`, { waitUntil: 'commit' });
      await page.waitForFunction(
        "document.querySelectorAll('[data-testid=timeline-row]').length > 0 && document.querySelector('[data-testid=timeline-chart] canvas') !== null",
        undefined,
        { timeout: 60_000, polling: 'raf' },
      );
      const ms = await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))');
      if (i > 0 && !profiling) {
        times.push(Math.round(ms));
        steps.push(await requestSteps(page));
      }
      if (profiling) {
        const saveTo = join(ctx.root, '.mosaic', 'bench', `console-${ctx.runId}.cpuprofile`);
        profile = await stopCpuProfile(profiling, { require: ctx.require, assetsDir: join(ctx.root, 'dist', 'apps', 'console-web', 'assets'), saveTo });
      }
      await page.close();
    }
    const stepP50 = Object.fromEntries(
      Object.keys(steps[0] ?? {}).map((k) => [
        k,
        pct(
          steps.map((x) => x[k]),
          50,
        ),
      ]),
    );
    return {
      loads: times.length,
      p50Ms: pct(times, 50),
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
      ms: times,
      steps: stepP50,
      ...(profile ? { cpuProfile: profile } : {}),
    };
  } finally {
    await browser.close();
  }
}

/** When (ms after navigation start) the page had the answers it draws from: the identity profile, then the activity digest. */
async function requestSteps(page) {
  const entries = await page.evaluate(
    "performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/svc/')).map((e) => ({ name: e.name, start: e.startTime, end: e.responseEnd }))",
  );
  const ended = (re) => Math.round(entries.find((e) => re.test(e.name))?.end ?? NaN);
  const started = (re) => Math.round(entries.find((e) => re.test(e.name))?.start ?? NaN);
  const all = await page.evaluate("performance.getEntriesByType('resource').map((e) => ({ name: e.name, end: e.responseEnd }))");
  const allEnded = (re) => Math.round(all.find((e) => re.test(e.name))?.end ?? NaN);
  return {
    scriptEndMs: allEnded(/\/assets\/index-[^/]+\.js$/),
    sessionEndMs: allEnded(/\/api\/session$/),
    identityEndMs: ended(/\/svc\/identity\/v1\/profiles\/[^/?]+$/),
    activityStartMs: started(/\/activity$/),
    activityEndMs: ended(/\/activity$/),
  };
}

async function cleanUp(ctx) {
  for (const s of ctx.services.values()) await stopChild(s.child);
  const admin = ctx.kafka('bench-console-cleanup').admin();
  await deleteBenchTopics(admin, ctx.prefix, log);
  await dropBenchDatabases(ctx.require('mongodb'), ctx.mongoBase, [ctx.dbName], log);
  if (ctx.up.started.kafka || ctx.up.started.mongo) await ctx.infra.down({}).catch(() => undefined);
}

export async function runConsoleBench(argv) {
  const EVENTS = Math.max(2, numberOption(argv, 'events', 10_000));
  const LOADS = Math.max(1, numberOption(argv, 'loads', 5));
  const ctx = { ...(await benchSetup('console')), services: new Map() };
  const cleanUpRun = cleanUpOnce(() => cleanUp(ctx));
  const result = { benchmark: 'console', runId: ctx.runId, at: new Date().toISOString(), machine: machineInfo(ctx.up), events: EVENTS };
  try {
    await startAll(ctx);
    const created = await adminApi(ctx.services.get('console').url, ctx.token)('POST', '/api/users', USER);
    if (created.status !== 201) throw new Error(`creating the console user: ${created.status} ${JSON.stringify(created.json)}`);
    log(`seeding ${EVENTS} events of one visitor through the collector...`);
    const seedStarted = Date.now();
    const profileId = await seed(ctx, EVENTS);
    result.seedSeconds = Math.round((Date.now() - seedStarted) / 1000);
    log(`reading the activity digest and the timeline alone (pages of ${TIMELINE_PAGE})...`);
    result.raw = await rawReads(ctx, profileId);
    log(`loading the contact page ${LOADS} times in Chromium...`);
    result.page = await pageLoads(ctx, profileId, LOADS, argv.includes('--cpu-profile'));
  } finally {
    await cleanUpRun();
  }
  printReport(result);
  log(`results: ${writeResult(ctx.root, 'console', ctx.runId, result)}`);
}

function printReport(r) {
  const rows = [
    ['measure', 'result', 'raw limit (same run)'],
    [
      `contact page with ${r.raw.direct.events} timeline events: navigation → rows and chart drawn (${r.page.loads} loads)`,
      `p50 ${r.page.p50Ms} ms (min ${r.page.minMs}, max ${r.page.maxMs}); p50 app script loaded at ${r.page.steps.scriptEndMs} ms, session answered at ${r.page.steps.sessionEndMs} ms, identity answered at ${r.page.steps.identityEndMs} ms, activity asked at ${r.page.steps.activityStartMs} ms and answered at ${r.page.steps.activityEndMs} ms`,
      `the activity digest alone (${r.raw.activity.direct.entries} entries, ${r.raw.activity.direct.bytes} bytes): ${r.raw.activity.direct.ms} ms from enrichment, ${r.raw.activity.proxied.ms} ms through the console; ` +
        `the whole timeline (pages of ${TIMELINE_PAGE}): ${r.raw.direct.ms} ms from enrichment, ${r.raw.proxied.ms} ms through the console`,
    ],
    [
      'stored profile document (what each write of this profile carries)',
      `body ${r.raw.stored.bodyBytes} bytes, activity digest ${r.raw.stored.activityBytes} bytes`,
      '',
    ],
  ];
  console.log(`\nconsole benchmark (${r.machine.cores} cores, ${r.machine.mongo}); ${r.events} events seeded through the pipeline in ${r.seedSeconds} s`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  const p = r.page.cpuProfile;
  if (p) {
    console.log(`\nprofiled load's main-thread JavaScript (${p.totalMs} ms profiled), self ms by package or file:`);
    for (const [k, v] of p.byGroup) console.log(`  ${String(v).padStart(6)}  ${k}`);
    console.log('by function:');
    for (const [k, v] of p.byFunction) console.log(`  ${String(v).padStart(6)}  ${k}`);
    console.log(`the hottest function's callers:\n  ${p.hottestStack.join('\n  ')}`);
  }
}
