// The Grafana dashboard and the Prometheus alert rules (k8s/optional/monitoring) may name only
// metrics the code defines: the names are read from the code's metric definitions here (and
// from prom-client's default metrics as the services register them), never from a list kept
// by hand, so renaming a metric fails this test until the dashboard and rules follow.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { load } from 'js-yaml';
import { createMetricsRegistry } from '@mosaic/shared-logging';

const ROOT = join(__dirname, '..', '..');
const DIR = join(ROOT, 'k8s', 'optional', 'monitoring');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (entry === 'node_modules' || entry === 'tracker') continue;
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.ts$/.test(entry) && !/\.(int-)?spec\.ts$/.test(entry)) out.push(p);
  }
  return out;
}

/** Metric names defined in apps/ and libs/: string literals in files that define Prometheus metrics. */
function definedMetrics(): { names: Set<string>; histograms: Set<string> } {
  const names = new Set<string>();
  const histograms = new Set<string>();
  for (const file of [...sourceFiles(join(ROOT, 'apps')), ...sourceFiles(join(ROOT, 'libs'))]) {
    const text = readFileSync(file, 'utf8');
    if (!/\bnew (Counter|Gauge|Histogram|Summary)\b/.test(text)) continue;
    for (const m of text.matchAll(/'(mosaic_[a-z0-9_]+)'/g)) names.add(m[1] as string);
    for (const m of text.matchAll(/(?:new Histogram\(\{\s*name:\s*|histogram\(\s*)'(mosaic_[a-z0-9_]+)'/g)) histograms.add(m[1] as string);
  }
  // prom-client's process and Node.js metrics, with the prefix the services give them.
  for (const m of createMetricsRegistry({ service: 'x' }).getMetricsAsArray()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') histograms.add(m.name);
  }
  return { names, histograms };
}

interface Panel {
  id: number;
  title: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}
interface Rule {
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana-dashboard.json'), 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: { query?: string | { query: string } }[] };
};
const rulesMap = load(readFileSync(join(DIR, 'prometheus-rules.yaml'), 'utf8')) as { kind: string; data: Record<string, string> };
const rules = (load(rulesMap.data['mosaic-alerts.yml'] as string) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const dashboardExprs = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `dashboard panel "${p.title}"`, expr: t.expr }))),
  ...dashboard.templating.list.flatMap((v) =>
    v.query === undefined ? [] : [{ where: 'dashboard variable', expr: typeof v.query === 'string' ? v.query : v.query.query }],
  ),
];
const ruleExprs = rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }));

/** The metric names an expression references that the code does not define. */
function unknownMetrics(expr: string, defined: ReturnType<typeof definedMetrics>): string[] {
  const used = [...expr.matchAll(/\b(mosaic_[a-z0-9_]+)\b/g)].map((m) => m[1] as string);
  return used.filter((name) => {
    if (defined.names.has(name)) return false;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return !(base !== name && defined.histograms.has(base));
  });
}

describe('monitoring: dashboard and alert rules', () => {
  const defined = definedMetrics();

  it('finds the metric definitions in the code', () => {
    expect(defined.names).toContain('mosaic_kafka_consumer_lag');
    expect(defined.histograms).toContain('mosaic_http_request_duration_seconds');
    expect(defined.histograms).toContain('mosaic_segmentation_batch_seconds'); // defined through a helper
    expect(defined.names.size).toBeGreaterThan(50);
  });

  it('names only metrics the code defines (histogram series: _bucket, _sum, _count)', () => {
    const problems = [...dashboardExprs, ...ruleExprs].flatMap(({ where, expr }) => unknownMetrics(expr, defined).map((n) => `${where}: ${n}`));
    expect(problems).toEqual([]);
    expect(dashboardExprs.length).toBeGreaterThan(20);
  });

  it('would catch a renamed metric', () => {
    expect(unknownMetrics('rate(mosaic_kafka_dead_letters_total[5m])', defined)).toEqual(['mosaic_kafka_dead_letters_total']);
    expect(unknownMetrics('rate(mosaic_kafka_consumed_messages_total_bucket[5m])', defined)).toEqual(['mosaic_kafka_consumed_messages_total_bucket']); // a counter has no buckets
  });

  it('covers consumer lag, dead letters, p99 latencies, the decision cache hit rate and delivery failures', () => {
    const all = (exprs: { expr: string }[]) => exprs.map((e) => e.expr).join('\n');
    for (const text of [all(dashboardExprs), all(ruleExprs)]) {
      expect(text).toContain('mosaic_kafka_consumer_lag');
      expect(text).toContain('mosaic_kafka_dead_lettered_total');
      expect(text).toMatch(/histogram_quantile\(0\.99, [^\n]*mosaic_http_request_duration_seconds_bucket/);
      expect(text).toMatch(/mosaic_activation_decision_cache_lookups_total\{[^}]*result="hit"/);
      expect(text).toContain('mosaic_activation_delivery_attempts_total');
    }
  });

  it('gives every alert a name, a severity and a summary, and every panel a unique id', () => {
    expect(rulesMap.kind).toBe('ConfigMap');
    for (const r of rules) {
      expect(r.alert).toMatch(/^Mosaic[A-Z]\w+$/);
      expect(['critical', 'warning', 'info']).toContain(r.labels?.['severity']);
      expect(r.annotations?.['summary']).toBeTruthy();
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    expect(relative(ROOT, DIR)).toBe(join('k8s', 'optional', 'monitoring'));
  });
});
