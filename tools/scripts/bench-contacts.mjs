// `npm run bench -- contacts [--profiles 100000] [--repeat 15]`
//
// The console's contact list (segmentation `GET /v1/profiles`, docs/segmentation.md "Contact
// list") over many profiles: page 1, page 100 and page 1,000 must cost the same.
//   seed      P profile documents inserted straight into a throwaway database's
//             segmentation_profiles (insertMany, 5,000 a batch), shaped as the service writes them
//             (list fields from the domain's listFieldsOf, a ~1.5 KB state): 30 % known, last seen
//             spread over 90 days, in segments `half` (50 %), `tenth` (10 %) and `rare` (0.1 %)
//   list      for each filter, the cursor of page 1, 100 and 1,000 (50 rows a page; walked from the
//             start, each page once), then each of those pages requested `repeat` times: p50/p99 ms
//             of the HTTP request, the indexed reads and documents it took
//   raw       in the same run, on the same collection: one findOne by _id (the store's floor), one
//             shard's equality read, and what the old member list does for a page deep in a
//             segment (`{segments, _id > after}` sorted by _id, limit 50: FerretDB reads and sorts
//             every member)
// The service runs as a child process (dist/); the database is dropped at the end.
import { join } from 'node:path';
import {
  adminApi,
  benchContext,
  benchLogFile,
  cleanUpOnce,
  deleteBenchTopics,
  dropBenchDatabases,
  machineInfo,
  numberOption,
  pct,
  prng,
  serviceEnv,
  startService,
  stopChild,
  writeResult,
} from './bench-util.mjs';

const log = (m) => console.error(`[bench contacts] ${m}`);
const DAY = 86_400_000;
const PAGE = 50;
const DEPTHS = [1, 100, 1000];

/** A profile document as the service writes it (segment-profiles.repository.ts `write`). */
function profileDocument(domain, i, now, random) {
  const id = `p-${String(i).padStart(7, '0')}`;
  const known = random() < 0.3;
  const segments = [...(i % 2 === 0 ? ['half'] : []), ...(i % 10 === 3 ? ['tenth'] : []), ...(i % 1000 === 7 ? ['rare'] : [])];
  const lastSeen = new Date(now - Math.floor(random() * 90 * DAY)).toISOString();
  const state = {
    ...domain.emptyState(id),
    sourceVersion: 3,
    profile: {
      identifiers: [{ type: 'anonymousId', value: `a-${i}` }, ...(known ? [{ type: 'email', value: `c${i}@example.com` }] : [])],
      traits: { plan: random() < 0.2 ? 'pro' : 'free', ...(known ? { firstName: 'Ada', lastName: `Lovelace ${i}` } : {}) },
      computed: {
        firstSeen: new Date(now - 120 * DAY).toISOString(),
        lastSeen,
        sessionCount: 1 + Math.floor(random() * 20),
        pageViews: Math.floor(random() * 200),
        productViews: Math.floor(random() * 50),
        productsViewed: Array.from({ length: 5 }, (_, k) => ({ key: `SKU-${(i + k) % 700}`, count: 1 + k, lastAt: lastSeen })),
        categoryAffinity: [
          { category: 'coffee machines', score: random() },
          { category: 'grinders', score: random() },
        ],
        orders: { count: 1, revenue: 899, refunds: 0, lifetimeValue: 899, averageOrderValue: 899 },
        device: { type: 'desktop', os: 'Linux', browser: 'Chrome', at: lastSeen },
      },
    },
    memberships: Object.fromEntries(segments.map((k) => [k, { version: 1, since: lastSeen }])),
    qualified: Object.fromEntries(segments.map((k) => [k, true])),
  };
  return {
    _id: id,
    partition: i % 6,
    version: 1,
    writeId: `w-${i}`,
    state: JSON.stringify(state),
    segments,
    timerAt: null,
    timerSlot: null,
    outbox: null,
    updatedAt: new Date(now),
    ...domain.listFieldsOf(state),
  };
}

async function seed(ctx, n) {
  const col = ctx.mongo.db(ctx.dbName).collection('segmentation_profiles');
  const random = prng(17);
  const now = Date.now();
  const started = Date.now();
  for (let i = 0; i < n; i += 5000) {
    await col.insertMany(Array.from({ length: Math.min(5000, n - i) }, (_, k) => profileDocument(ctx.domain, i + k, now, random)));
    if ((i / 5000) % 4 === 3) log(`seeded ${i + 5000} profiles`);
  }
  return Math.round((Date.now() - started) / 1000);
}

async function timed(times, call) {
  const ms = [];
  let last;
  for (let i = 0; i < times; i += 1) {
    const t = performance.now();
    last = await call();
    ms.push(performance.now() - t);
  }
  return { p50: Math.round(pct(ms, 50) * 10) / 10, p99: Math.round(pct(ms, 99) * 10) / 10, last };
}

/** The cursors of pages 1, 100, 1000 (as far as the list goes), walking every page once. */
async function cursorsAt(ctx, query) {
  const found = new Map([[1, undefined]]);
  let cursor;
  let rows = 0;
  for (let page = 1; page < DEPTHS[DEPTHS.length - 1]; page += 1) {
    const r = await ctx.api('GET', `/v1/profiles?${query}&limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`);
    if (r.status !== 200) throw new Error(`GET /v1/profiles?${query}: ${r.status} ${JSON.stringify(r.json)}`);
    rows += r.json.profiles.length;
    cursor = r.json.next;
    if (!cursor) break;
    if (DEPTHS.includes(page + 1)) found.set(page + 1, cursor);
  }
  return { found, rowsWalked: rows };
}

async function measureFilter(ctx, name, query) {
  log(`${name}: walking to page ${DEPTHS[DEPTHS.length - 1]}...`);
  const { found, rowsWalked } = await cursorsAt(ctx, query);
  const pages = [];
  for (const [depth, cursor] of found) {
    const t = await timed(ctx.repeat, () => ctx.api('GET', `/v1/profiles?${query}&limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`));
    const body = t.last.json;
    pages.push({
      page: depth,
      p50: t.p50,
      p99: t.p99,
      rows: body.profiles.length,
      partial: body.partial,
      queries: body.scanned.queries,
      documents: body.scanned.documents,
    });
  }
  log(`${name}: ${pages.map((p) => `page ${p.page} p50 ${p.p50} ms (${p.rows} rows, ${p.queries} reads, ${p.documents} docs)`).join('; ')}`);
  return { name, query, rowsWalked, pages };
}

async function rawLimits(ctx, n) {
  const col = ctx.mongo.db(ctx.dbName).collection('segmentation_profiles');
  const findOne = await timed(ctx.repeat * 4, () => col.findOne({ _id: `p-${String(Math.floor(n / 2)).padStart(7, '0')}` }));
  const shard = await timed(ctx.repeat * 2, () =>
    col.find({ listShard: 1234 }, { projection: { _id: 1, listShard: 1, known: 1, lastSeenAt: 1, email: 1, userId: 1, segments: 1 } }).toArray(),
  );
  const shardDocs = shard.last.length;
  const after = `p-${String(Math.floor(n / 2)).padStart(7, '0')}`;
  const oldMembers = await timed(3, () =>
    col
      .find({ segments: 'tenth', _id: { $gt: after } }, { projection: { _id: 1 } })
      .sort({ _id: 1 })
      .limit(PAGE)
      .toArray(),
  );
  log(`raw: findOne p50 ${findOne.p50} ms; one shard (${shardDocs} docs) p50 ${shard.p50} ms; old member page (tenth, sorted by id) p50 ${oldMembers.p50} ms`);
  return {
    findOneMs: { p50: findOne.p50, p99: findOne.p99 },
    shardReadMs: { p50: shard.p50, p99: shard.p99, docs: shardDocs },
    oldMemberPageMs: { p50: oldMembers.p50, p99: oldMembers.p99 },
  };
}

async function cleanUp(ctx) {
  if (ctx.service) await stopChild(ctx.service.child);
  await ctx.mongo.close().catch(() => undefined);
  await deleteBenchTopics(ctx.admin, ctx.prefix, log);
  await dropBenchDatabases(ctx.require('mongodb'), ctx.mongoBase, [ctx.dbName], log);
  if (ctx.up.started.kafka || ctx.up.started.mongo) await ctx.infra.down({}).catch(() => undefined);
}

export async function runContactsBench(argv) {
  const PROFILES = numberOption(argv, 'profiles', 100_000);
  const base = await benchContext('contacts', { PROFILES });
  const { MongoClient } = base.require('mongodb');
  const ctx = {
    ...base,
    repeat: Math.max(3, numberOption(argv, 'repeat', 15)),
    domain: base.require(join(base.root, 'dist', 'libs', 'segmentation', 'domain', 'src', 'index.js')),
    mongo: new MongoClient(`${base.mongoBase}/${base.dbName}`, { maxPoolSize: 8, socketTimeoutMS: 600_000 }),
  };
  const cleanUpRun = cleanUpOnce(() => cleanUp(ctx));
  const result = { benchmark: 'contacts', runId: ctx.runId, at: new Date().toISOString(), machine: machineInfo(ctx.up), profiles: PROFILES, pageSize: PAGE };
  try {
    await ctx.mongo.connect();
    const port = await ctx.infra.freePort();
    const env = serviceEnv(ctx.setup, { SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0' });
    // started on the empty database: its indexes exist before the seed, and its one-time filing finds nothing to do
    ctx.service = await startService({ root: ctx.root, name: 'segmentation', port, env, logFile: benchLogFile(ctx.root, 'segmentation', ctx.runId) });
    ctx.api = adminApi(ctx.service.url, ctx.token);
    for (const key of ['half', 'tenth', 'rare']) {
      const r = await ctx.api('POST', '/v1/segments', { key, condition: { trait: `bench-${key}`, op: 'equals', value: true } });
      if (r.status !== 201) throw new Error(`creating ${key}: ${r.status} ${JSON.stringify(r.json)}`);
    }
    log(`seeding ${PROFILES} profiles...`);
    result.seedSeconds = await seed(ctx, PROFILES);
    result.raw = await rawLimits(ctx, PROFILES);
    const since = (days) => new Date(Date.now() - days * DAY).toISOString();
    result.filters = [];
    for (const [name, query] of [
      ['all contacts', ''],
      ['known', 'known=true'],
      ['segment half (50 %)', 'segment=half'],
      ['segment tenth (10 %), known', 'segment=tenth&known=true'],
      ['segment rare (0.1 %)', 'segment=rare'],
      ['seen within 1 day (1 %)', `seenAfter=${since(1)}`],
      ['seen within 7 days (8 %)', `seenAfter=${since(7)}`],
      ['seen 20 to 40 days ago (22 %; not read by day)', `seenAfter=${since(40)}&seenBefore=${since(20)}`],
    ])
      result.filters.push(await measureFilter(ctx, name, query));
  } finally {
    await cleanUpRun();
  }
  printReport(result);
  log(`results: ${writeResult(ctx.root, 'contacts', ctx.runId, result)}`);
}

function printReport(r) {
  console.log(
    `\ncontacts benchmark (${r.machine?.cores ?? '?'} cores, ${r.machine?.mongo ?? ''}); ${r.profiles} profiles seeded in ${r.seedSeconds} s; pages of ${r.pageSize}`,
  );
  console.log('| filter | page | p50 ms | p99 ms | rows | partial | reads | documents |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const f of r.filters)
    for (const p of f.pages) console.log(`| ${f.name} | ${p.page} | ${p.p50} | ${p.p99} | ${p.rows} | ${p.partial} | ${p.queries} | ${p.documents} |`);
  const raw = r.raw;
  console.log(
    `raw (same run): findOne by _id p50 ${raw.findOneMs.p50} ms (p99 ${raw.findOneMs.p99}); one shard's equality read (${raw.shardReadMs.docs} docs) p50 ${raw.shardReadMs.p50} ms; ` +
      `the old member list's page in the middle of segment tenth (sorted by id) p50 ${raw.oldMemberPageMs.p50} ms`,
  );
}
