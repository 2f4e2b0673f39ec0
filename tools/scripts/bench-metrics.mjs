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
