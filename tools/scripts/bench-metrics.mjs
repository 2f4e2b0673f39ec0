// Reading the services' Prometheus metrics in the benchmarks.

/** The text of `<url>/metrics`. */
export async function scrapeMetrics(url) {
  return (await fetch(`${url}/metrics`)).text();
}

function parseLabels(s) {
  return Object.fromEntries([...(s ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
}
/** The sum of the samples of `name` whose labels include `labels`. */
export function metricValue(text, name, labels = {}) {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)`, 'gm'))) {
    const l = parseLabels(m[1]);
    if (Object.entries(labels).every(([k, v]) => l[k] === v)) sum += Number(m[2]);
  }
  return sum;
}
/**
 * The interval of the timer prom-client's event-loop monitor runs (`eventLoopMonitoringPrecision`,
 * 10 ms unless configured; the services keep the default). Node's `monitorEventLoopDelay` records
 * the whole interval between two of its timer's runs, so an idle loop shows p99 ≈ 10 ms.
 */
const EVENT_LOOP_MONITOR_INTERVAL_MS = 10;

/** How long the loop was late beyond the monitor's interval (ms, one decimal), from a `mosaic_nodejs_eventloop_lag_*_seconds` reading. */
export function eventLoopLateMs(seconds) {
  return Math.max(0, Math.round((seconds * 1000 - EVENT_LOOP_MONITOR_INTERVAL_MS) * 10) / 10);
}

/** The buckets (upper bound → count, summed over label sets), sum and count of the histogram `name`. */
export function histogram(text, name) {
  const buckets = new Map();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)`, 'gm'))) {
    const le = parseLabels(m[1]).le;
    const key = le === '+Inf' ? Infinity : Number(le);
    buckets.set(key, (buckets.get(key) ?? 0) + Number(m[2]));
  }
  return { buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]), sum: metricValue(text, `${name}_sum`), count: metricValue(text, `${name}_count`) };
}
/** Quantile upper bounds (ms) of the observations between two scrapes of one histogram. */
export function histogramDelta(before, after) {
  const prev = new Map(before.buckets);
  const buckets = after.buckets.map(([le, c]) => [le, c - (prev.get(le) ?? 0)]);
  const count = after.count - before.count;
  const largest = buckets.filter(([le]) => le !== Infinity).at(-1)?.[0] ?? 0;
  const q = (p) => {
    if (count === 0) return null;
    const le = buckets.find(([, c]) => c >= count * p)?.[0];
    return le === undefined ? null : le === Infinity ? `>${largest * 1000}` : +(le * 1000).toFixed(1);
  };
  return { count, meanMs: count > 0 ? +(((after.sum - before.sum) / count) * 1000).toFixed(1) : null, p50UpperBoundMs: q(0.5), p99UpperBoundMs: q(0.99) };
}

/** `mosaic_mongo_commands_total` by `<command>:<collection>`. */
function commandsByTarget(text) {
  const by = {};
  for (const m of text.matchAll(/^mosaic_mongo_commands_total\{([^}]*)\} (\S+)/gm)) {
    const l = parseLabels(m[1]);
    const key = `${l.command}:${l.collection}`;
    by[key] = (by[key] ?? 0) + Number(m[2]);
  }
  return by;
}

/** The Kafka and store counters of one service, from its metrics text (see `workDelta`). */
function workCounters(text) {
  return {
    consumed: metricValue(text, 'mosaic_kafka_consumed_messages_total'),
    batches: metricValue(text, 'mosaic_kafka_batch_processing_seconds_count'),
    storeCommands: metricValue(text, 'mosaic_mongo_commands_total'),
    produced: metricValue(text, 'mosaic_kafka_produced_messages_total'),
    produceBatches: metricValue(text, 'mosaic_kafka_produce_batches_total'),
  };
}

/**
 * What a service did between two scrapes: messages consumed, Kafka batches handled, store
 * commands sent (all of them, periodic tasks included) and produce calls, with the per-batch and
 * per-message ratios that show whether a cost is paid per batch or per event.
 */
export function workDelta(before, after) {
  const a = workCounters(after);
  const b = workCounters(before);
  const d = Object.fromEntries(Object.keys(a).map((k) => [k, Math.round(a[k] - b[k])]));
  const per = (x, y) => (y > 0 ? +(x / y).toFixed(2) : null);
  const byBefore = commandsByTarget(before);
  const storeCommandsBy = Object.fromEntries(
    Object.entries(commandsByTarget(after))
      .map(([k, v]) => [k, Math.round(v - (byBefore[k] ?? 0))])
      .filter(([, v]) => v > 0)
      .sort((x, y) => y[1] - x[1]),
  );
  return {
    ...d,
    storeCommandsBy,
    messagesPerBatch: per(d.consumed, d.batches),
    storeCommandsPerMessage: per(d.storeCommands, d.consumed),
    storeCommandsPerBatch: per(d.storeCommands, d.batches),
    producedPerProduceBatch: per(d.produced, d.produceBatches),
  };
}

/** The metrics text of each of `names` (services by name, each with its `url`), in that order. */
export function scrapeServices(services, names) {
  return Promise.all(names.map((name) => scrapeMetrics(services.get(name).url)));
}

/** `workDelta` of each of `names` between two `scrapeServices` of them, by name. */
export function workByService(names, before, after) {
  return Object.fromEntries(names.map((name, i) => [name, workDelta(before[i], after[i])]));
}
