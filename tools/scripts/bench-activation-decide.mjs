// The decide phase of the activation benchmark (bench-activation.mjs): the decision API at a
// fixed request rate (open loop) for visitors of P profiles, while profile and membership changes
// are ingested.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventLoopLateMs, metricValue, scrapeMetrics, workDelta } from './bench-metrics.mjs';
import { startEmptyServer } from './bench-empty-handler.mjs';
import { adminApi, createBenchSource, oneDecimalRate as rate, pct, sleep, stopChild } from './bench-util.mjs';

const SEGMENTS = ['high-ltv', 'premium-coffee-browsers', 'loyal-customers'];

/** Encoders of the decide profiles' changes (`d-<runId>-<i>`, version `v`) and membership changes. */
function decideMessages({ contracts, runId }, sourceId) {
  const changeOf = (i, v) => ({
    profileId: `d-${runId}-${i}`,
    version: v,
    changed: ['traits.firstName'],
    profile: {
      identifiers: [{ type: 'anonymousId', value: `a-${runId}-${i}` }],
      traits: { firstName: `Visitor ${i}` },
      computed: { orders: { count: i % 5, lifetimeValue: (i % 7) * 100 }, sources: [sourceId] },
      membershipVersion: 0,
    },
    trigger: { messageId: `d-${i}-${v}`, kind: 'event' },
    at: new Date().toISOString(),
  });
  const memberOf = (i, v, change) => ({
    profileId: `d-${runId}-${i}`,
    segmentKey: SEGMENTS[i % 3],
    segmentVersion: 1,
    change,
    at: new Date().toISOString(),
    reason: { kind: 'message' },
    identifiers: {},
    profileVersion: v,
  });
  const profile = (i, v) => {
    const c = changeOf(i, v);
    const e = contracts.encodeMessage(contracts.Schemas.profileChange, c, {
      producer: 'bench',
      messageId: `chg:${c.profileId}:${c.version}`,
      correlationId: 'b',
    });
    return { key: c.profileId, value: e.value, headers: e.headers };
  };
  const member = (i, v, change) => {
    const m = memberOf(i, v, change);
    const e = contracts.encodeMessage(contracts.Schemas.segmentMembership, m, {
      producer: 'bench',
      messageId: `mem:${m.profileId}:${m.profileVersion}`,
      correlationId: 'b',
    });
    return { key: `${m.profileId}|${m.segmentKey}`, value: e.value, headers: e.headers };
  };
  return { profile, member };
}

/** One decision request for visitor `i`: its status and whether the profile was known. */
function decider({ http, activation, runId }, writeKey) {
  return async (i) => {
    const r = await http.post(`${activation.url}/v1/decide`, JSON.stringify({ writeKey, anonymousId: `a-${runId}-${i}`, slots: ['home-banner'] }), {
      'content-type': 'text/plain',
    });
    return { status: r.status, known: r.status === 200 && JSON.parse(r.body).profileId !== null };
  };
}

/** Produces the P profiles (every second one in a segment) and waits until every one is stored and cached. */
async function seedProfiles({ producer, prefix, opts }, messages, decideOnce) {
  const { PROFILES } = opts;
  const profileMsgs = [];
  const memberMsgs = [];
  for (let i = 0; i < PROFILES; i += 1) {
    profileMsgs.push(messages.profile(i, 1));
    if (i % 2 === 0) memberMsgs.push(messages.member(i, 1, 'entered'));
  }
  for (let i = 0; i < profileMsgs.length; i += 500)
    await producer.send({ topic: `${prefix}profiles.changes`, acks: -1, messages: profileMsgs.slice(i, i + 500) });
  for (let i = 0; i < memberMsgs.length; i += 500)
    await producer.send({ topic: `${prefix}segments.membership`, acks: -1, messages: memberMsgs.slice(i, i + 500) });
  for (let t = Date.now(); !(await decideOnce(PROFILES - 1)).known;) {
    if (Date.now() - t > 300_000) throw new Error('the profiles did not reach the activation store within 300 s');
    await sleep(500);
  }
  // every profile stored and cached (a visitor not yet stored is remembered as unknown for a while)
  let missing = Array.from({ length: PROFILES }, (_, i) => i);
  for (let t = Date.now(); missing.length > 0;) {
    const known = await Promise.all(missing.map((i) => decideOnce(i).then((r) => r.known)));
    missing = missing.filter((_, k) => !known[k]);
    if (missing.length === 0) break;
    if (Date.now() - t > 300_000) throw new Error(`${missing.length} profiles did not reach the activation store within 300 s`);
    await sleep(11_000);
  }
}

/** Ingests profile changes and membership flips at `INGEST_RATE`/s until `stop()`, which resolves with how many (or rejects with the error). */
function startIngest({ producer, prefix, opts }, messages) {
  const { PROFILES, INGEST_RATE } = opts;
  const version = new Map(Array.from({ length: PROFILES }, (_, i) => [i, 1]));
  let ingesting = true;
  let ingested = 0;
  let error;
  const done = (async () => {
    const started = Date.now();
    while (ingesting) {
      const i = ingested % PROFILES;
      const v = version.get(i) + 1;
      version.set(i, v);
      await producer.send({ topic: `${prefix}profiles.changes`, acks: -1, messages: [messages.profile(i, v)] });
      await producer.send({ topic: `${prefix}segments.membership`, acks: -1, messages: [messages.member(i, v, v % 2 === 0 ? 'exited' : 'entered')] });
      ingested += 1;
      const wait = started + (ingested * 1000) / INGEST_RATE - Date.now();
      if (wait > 0) await sleep(wait);
    }
  })().catch((err) => {
    error = err;
  });
  return async () => {
    ingesting = false;
    await done;
    if (error) throw error;
    return ingested;
  };
}

/** `send(n)` at `offered` requests/s for `seconds`, open loop: each latency counted from the request's scheduled time. */
async function openLoop(send, offered, seconds) {
  const latencies = [];
  let errors = 0;
  const total = offered * seconds;
  const d0 = performance.now();
  const inflight = new Set();
  for (let n = 0; n < total; n += 1) {
    const due = d0 + (n * 1000) / offered;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const p = send(n)
      .then(
        (r) => {
          if (r.status !== 200) errors += 1;
        },
        () => {
          errors += 1;
        },
      )
      .finally(() => {
        latencies.push(performance.now() - due);
        inflight.delete(p);
      });
    inflight.add(p);
  }
  await Promise.all([...inflight]);
  const elapsed = (performance.now() - d0) / 1000;
  return {
    rate: offered,
    seconds,
    requests: total,
    achievedPerSec: rate(total, elapsed),
    p50Ms: Math.round(pct(latencies, 50) * 10) / 10,
    p99Ms: Math.round(pct(latencies, 99) * 10) / 10,
    maxMs: Math.round(Math.max(...latencies)),
    errors,
  };
}

/** `offered` decisions/s for DECIDE_SECONDS. */
async function decideLoad({ log, opts }, decideOnce, offered) {
  const { DECIDE_SECONDS, INGEST_RATE, PROFILES } = opts;
  log(`decide: ${offered} requests/s for ${DECIDE_SECONDS} s while ingesting ${INGEST_RATE} changes/s`);
  return openLoop((n) => decideOnce((n * 7919) % PROFILES), offered, DECIDE_SECONDS);
}

/**
 * The floor under the decide figures: the empty handler (Nest on Fastify, as the service) at
 * DECIDE_RATE for DECIDE_SECONDS, from the same client on the same open-loop schedule, with a
 * body of the decide requests' size, before the services start (after one second of warm-up).
 */
export async function measureEmptyHandler({ log, root, http, opts }) {
  const { child, url } = await startEmptyServer(root);
  try {
    const body = JSON.stringify({ writeKey: 'wk_0123456789abcdef0123456789abcdef', anonymousId: 'a-bench-0000000', slots: ['home-banner'] });
    const send = () => http.post(`${url}/v1/track`, body, { 'content-type': 'text/plain' });
    await openLoop(send, opts.DECIDE_RATE, 1);
    const floor = await openLoop(send, opts.DECIDE_RATE, opts.DECIDE_SECONDS);
    log(`raw: the empty handler at ${floor.rate}/s: p50 ${floor.p50Ms} ms, p99 ${floor.p99Ms} ms at ${floor.achievedPerSec}/s (${floor.errors} errors)`);
    return floor;
  } finally {
    await stopChild(child);
  }
}

/**
 * The service's event-loop delay since the last scrape (p99 and max, ms, beyond the monitor's own
 * timer interval): how long requests wait behind other work in its process.
 */
async function eventLoopDelayMs(url) {
  const text = await scrapeMetrics(url);
  const ms = (name) => eventLoopLateMs(metricValue(text, name));
  return { p99: ms('mosaic_nodejs_eventloop_lag_p99_seconds'), max: ms('mosaic_nodejs_eventloop_lag_max_seconds') };
}

/** The decide phase: a source and the demo experience, the profiles seeded, then the load at `DECIDE_RATE` and at half what it achieved. */
export async function measureDecide(ctx) {
  const { log, opts, root, api, token } = ctx;
  const source = await createBenchSource(adminApi(ctx.collector.url, token));
  const experience = JSON.parse(readFileSync(join(root, 'demo', 'experiences', 'home-banner.json'), 'utf8'));
  if ((await api('POST', '/v1/experiences', experience)).status !== 201) throw new Error('creating the experience failed');
  log(`decide: ${opts.PROFILES} profiles`);
  const messages = decideMessages(ctx, source.id);
  const decideOnce = decider(ctx, source.writeKey);
  await seedProfiles(ctx, messages, decideOnce);
  const stopIngest = startIngest(ctx, messages);
  let ingested;
  try {
    const before = await scrapeMetrics(ctx.activation.url);
    const offered = await decideLoad(ctx, decideOnce, opts.DECIDE_RATE);
    await scrapeMetrics(ctx.activation.url); // prom-client's event-loop delay restarts at every scrape
    const sustainable = await decideLoad(ctx, decideOnce, Math.max(10, Math.floor(offered.achievedPerSec / 2)));
    sustainable.serviceEventLoopDelayMs = await eventLoopDelayMs(ctx.activation.url);
    ingested = await stopIngest();
    const metricsText = await scrapeMetrics(ctx.activation.url);
    const cache = (result) =>
      Number(new RegExp(`mosaic_activation_decision_cache_lookups_total\\{result="${result}"[^}]*\\} (\\d+)`).exec(metricsText)?.[1] ?? 0);
    const decide = { ...offered, ingestedChanges: ingested, cacheHits: cache('hit'), cacheMisses: cache('miss'), work: workDelta(before, metricsText) };
    log(`decide at ${sustainable.rate}/s: p50 ${sustainable.p50Ms} ms, p99 ${sustainable.p99Ms} ms at ${sustainable.achievedPerSec}/s`);
    log(`decide: p50 ${decide.p50Ms} ms, p99 ${decide.p99Ms} ms at ${decide.achievedPerSec}/s (${decide.errors} errors)`);
    return { decide, decideSustainable: sustainable };
  } finally {
    if (ingested === undefined) await stopIngest().catch(() => undefined);
  }
}
