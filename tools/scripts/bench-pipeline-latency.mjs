// The latency phase of the pipeline benchmark (bench-pipeline.mjs): the mix at a steady 70 % of
// the sustained rate (or --latency-rate), with pings whose way to segments.membership is timed, and what the stages and
// the store did meanwhile (at a steady rate batches are small, so per-batch costs show here).
import { cpuBetween, cpuSnapshot } from './bench-cpu.mjs';
import { scrapeServices, workByService } from './bench-metrics.mjs';
import { hopTimes } from './bench-pipeline-hops.mjs';
import { sendLoad } from './bench-pipeline-load.mjs';
import { readStoreCounters, storeCountersBetween } from './bench-store-tables.mjs';
import { pct, sleep } from './bench-util.mjs';

const log = (m) => console.error(`[bench pipeline] ${m}`);

/** Every PING_EVERYth event of the latency phase is a ping. */
const PING_EVERY = 4;

/** The mix at 70 % of the sustained rate (or `--latency-rate`), every PING_EVERYth event a ping: POST → its entry on segments.membership. */
export async function latencyPhase(ctx, authorization, sustainedPerSec, stageServices) {
  const { opts, mix, pings, until } = ctx;
  const remaining = () => until - Date.now();
  const rate = opts.LATENCY_RATE > 0 ? opts.LATENCY_RATE : Math.max(0.5, 0.7 * sustainedPerSec);
  const seconds = Math.min(opts.LATENCY_SECONDS, Math.max(1, (remaining() - 5000) / 2000));
  // small batches spaced evenly: a ping waits for no batch to fill
  const batch = Math.max(1, Math.round(rate / 20));
  log(
    `latency: the mix at ${rate.toFixed(1)} events/s (${opts.LATENCY_RATE > 0 ? '--latency-rate' : '70 % of the sustained rate'}) for ${seconds.toFixed(0)} s, every ${PING_EVERY}th a ping...`,
  );
  const sentAt = new Map();
  let n = 0;
  const build = (size) => Array.from({ length: size }, () => ((n += 1) % PING_EVERY === 0 ? mix.ping(n) : mix.next()));
  const onSent = (items, at) => {
    for (const e of items) if (e.event === 'Bench Ping') sentAt.set(e.messageId, at);
  };
  const url = ctx.services.get('collector').url;
  // what the stages do at a steady rate (smaller batches than the throughput phase's backlog)
  const metricsBefore = await scrapeServices(ctx.services, stageServices);
  const cpuBefore = cpuSnapshot(ctx.services);
  const storeBefore = await readStoreCounters(ctx.infra, ctx.dbName);
  const phase = await sendLoad(ctx.http, {
    url,
    authorization,
    build,
    batch,
    connections: Math.min(opts.CONNECTIONS, 2),
    rate,
    events: 0,
    seconds,
    until,
    onSent,
  });
  const waitUntil = Math.min(until, Date.now() + 120_000);
  while ([...sentAt.keys()].some((id) => !pings.seen.has(id)) && Date.now() < waitUntil) await sleep(100);
  const cpu = cpuBetween(cpuBefore, cpuSnapshot(ctx.services), phase.acked);
  const { statements } = storeCountersBetween(storeBefore, await readStoreCounters(ctx.infra, ctx.dbName));
  const work = workByService(stageServices, metricsBefore, await scrapeServices(ctx.services, stageServices));
  const latencies = [...sentAt].filter(([id]) => pings.seen.has(id)).map(([id, at]) => pings.seen.get(id) - at);
  if (latencies.length < sentAt.size) log(`latency: only ${latencies.length}/${sentAt.size} pings reached segments.membership in time`);
  return {
    rate: +rate.toFixed(1),
    seconds: +seconds.toFixed(1),
    eventsAcked: phase.acked,
    pings: sentAt.size,
    received: latencies.length,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
    maxMs: latencies.length ? Math.max(...latencies) : null,
    membershipEntriesSeen: pings.latencyEntries,
    hops: await hopTimes(ctx, sentAt, latencies.length),
    work,
    cpu,
    statements,
  };
}

/** The phases against the running pipeline; the exit code (1: not drained, or pings missing). */
