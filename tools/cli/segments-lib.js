'use strict';
// Pure helpers of `mosaic segments` (tools/cli/mosaic.mjs): reading definition files (JSON,
// YAML), canonical comparison, references (order and cycles), the apply plan, a line diff
// and the text shown for them. Plain CommonJS without dependencies (the YAML parser is passed
// in: see yamlLoader), so the CLI runs without a build step and Jest can test it
// (segments-lib.spec.ts); types in segments-lib.d.ts.

const DEFINITION_FILE = /\.(json|ya?ml)$/i;

/** Whether a file name is read by `segments apply` (`*.json`, `*.yaml`, `*.yml`). */
function isDefinitionFile(name) {
  return DEFINITION_FILE.test(name);
}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

function describeValue(v) {
  if (v === null || v === undefined) return 'empty';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * The YAML `loadAll` of js-yaml with the core schema (YAML 1.2: no timestamps, so a date
 * stays the string it is in JSON) and the file name in error messages.
 */
function yamlLoader(jsYaml) {
  return (text, file) => jsYaml.loadAll(text, undefined, { schema: jsYaml.CORE_SCHEMA, filename: file });
}

/**
 * The definitions of one file: a JSON file holds a definition or an array of them; a YAML
 * file the same, in one or more documents (empty documents are skipped). Each entry is named
 * by `where`: `a.json`, `a.json[2]`, `a.yaml (document 2)`, `a.yaml (document 2)[0]`.
 * The definition is what JSON makes of it (what the server is sent and stores).
 */
function parseDefinitionFile(file, text, loadYamlAll) {
  const entries = [];
  const errors = [];
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let docs;
  if (/\.json$/i.test(file)) {
    try {
      docs = [JSON.parse(body)];
    } catch (err) {
      errors.push({ file, message: `not valid JSON: ${err.message}` });
      return { entries, errors };
    }
  } else if (/\.ya?ml$/i.test(file)) {
    if (!loadYamlAll) throw new Error('parseDefinitionFile: a YAML loader is needed for YAML files');
    try {
      docs = loadYamlAll(body, file);
    } catch (err) {
      errors.push({ file, message: `not valid YAML: ${err.message}` });
      return { entries, errors };
    }
  } else {
    errors.push({ file, message: 'not a definition file (.json, .yaml or .yml)' });
    return { entries, errors };
  }
  const nonEmpty = docs.map((value, i) => ({ value, doc: i + 1 })).filter((d) => d.value !== null && d.value !== undefined);
  if (nonEmpty.length === 0) {
    errors.push({ file, message: 'holds no segment definition' });
    return { entries, errors };
  }
  for (const { value, doc } of nonEmpty) {
    const base = docs.length > 1 ? `${file} (document ${doc})` : file;
    const items = Array.isArray(value) ? value.map((v, i) => ({ v, where: `${base}[${i}]` })) : [{ v: value, where: base }];
    for (const { v, where } of items) {
      if (!isObject(v)) {
        errors.push({ file: where, path: '$', message: `a segment definition must be an object, not ${describeValue(v)}` });
        continue;
      }
      if (typeof v.key !== 'string' || v.key === '') {
        errors.push({ file: where, path: 'key', message: v.key === undefined ? 'is required' : `must be a non-empty string, not ${describeValue(v.key)}` });
        continue;
      }
      entries.push({ key: v.key, file, where, definition: JSON.parse(JSON.stringify(v)) });
    }
  }
  return { entries, errors };
}

/**
 * Every definition of a directory's files (`[{name, text}]`, read in name order). A key
 * defined twice is an error naming both places (the first one is kept).
 */
function collectDefinitions(files, loadYamlAll) {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const entries = [];
  const errors = [];
  const seen = new Map();
  for (const f of sorted) {
    const parsed = parseDefinitionFile(f.name, f.text, loadYamlAll);
    errors.push(...parsed.errors);
    for (const e of parsed.entries) {
      const first = seen.get(e.key);
      if (first) {
        errors.push({ file: e.where, key: e.key, path: 'key', message: `duplicate key ${e.key}: defined in ${first.where} and in ${e.where}` });
        continue;
      }
      seen.set(e.key, e);
      entries.push(e);
    }
  }
  return { entries, errors };
}

/** JSON with object keys sorted at every level: equal for equal definitions whatever the key order. */
function canonicalJson(value) {
  const sort = (v) => {
    if (Array.isArray(v)) return v.map(sort);
    if (isObject(v)) {
      const out = {};
      for (const k of Object.keys(v).sort()) if (v[k] !== undefined) out[k] = sort(v[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(sort(value === undefined ? null : JSON.parse(JSON.stringify(value))));
}

function sameDefinition(a, b) {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * The `{ "segment": "<key>" }` references anywhere under `condition`, with their JSON paths
 * (`condition.all[1].segment`), in document order.
 */
function segmentReferences(definition) {
  const out = [];
  const walk = (v, path) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${path}[${i}]`));
      return;
    }
    if (!isObject(v)) return;
    if (typeof v.segment === 'string') out.push({ segment: v.segment, path: `${path}.segment` });
    for (const [k, x] of Object.entries(v)) if (k !== 'segment') walk(x, `${path}.${k}`);
  };
  if (definition && typeof definition === 'object') walk(definition.condition, 'condition');
  return out;
}

/**
 * Depth-first over `graph` (key → references): `order` puts every key after the keys it
 * refers to (references outside the graph are ignored); `cycles` names each cycle once
 * (`a → b → a`), with the key and path of the reference that closes it.
 */
function analyze(graph) {
  const order = [];
  const cycles = [];
  const state = new Map();
  const stack = [];
  const seenCycles = new Set();
  const visit = (key) => {
    state.set(key, 'visiting');
    stack.push(key);
    for (const r of graph.get(key) ?? []) {
      if (!graph.has(r.segment)) continue;
      const s = state.get(r.segment);
      if (s === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(r.segment)), r.segment];
        const id = [...new Set(cycle)].sort().join('\u0000');
        if (!seenCycles.has(id)) {
          seenCycles.add(id);
          cycles.push({ key, path: r.path, cycle, message: `reference cycle: ${cycle.join(' → ')}` });
        }
      } else if (s === undefined) visit(r.segment);
    }
    stack.pop();
    state.set(key, 'done');
    order.push(key);
  };
  for (const key of [...graph.keys()].sort()) if (!state.has(key)) visit(key);
  return { order, cycles };
}

/**
 * The order in which to write `definitions` (`[{key, definition}]`): referenced segments
 * first (ties by key). Throws naming the cycle if they refer to each other in a circle.
 */
function referenceOrder(definitions) {
  const graph = new Map(definitions.map((d) => [d.key, segmentReferences(d.definition)]));
  const { order, cycles } = analyze(graph);
  if (cycles.length) throw new Error(cycles.map((c) => `${c.key}: ${c.path}: ${c.message}`).join('; '));
  return order;
}

/**
 * Whether a server segment is kept by the service itself rather than by people: the clustering
 * job's `cluster.<job>.<i>` segments (condition `{ "cluster": job, "index": i }`, written by
 * `clustering:<job>`). `--prune` leaves them alone.
 */
function isManagedSegment(s) {
  return (typeof s.updatedBy === 'string' && s.updatedBy.startsWith('clustering:')) || (isObject(s.definition) && isObject(s.definition.condition) && typeof s.definition.condition.cluster === 'string');
}

/**
 * What `segments apply` does to reach the directory's state from the server's:
 * - a key not on the server → `create`;
 * - on the server, active, deep-equal definition → `unchanged`;
 * - definition differs → `update` (with `expectedVersion` = the version read; `enables` when
 *   the segment is disabled too);
 * - disabled with an equal definition → `enable`;
 * - with `prune`, an active server segment that is not in the directory → `disable` (never
 *   delete), except the clustering job's segments (isManagedSegment).
 * Writes come in reference order (referenced segments first), disables last. `errors` holds
 * references to segments that exist neither in the directory nor on the server, and cycles
 * of the resulting set (checked before anything is written); `warnings` references to
 * segments that are or will be disabled (the referring segment is then not evaluated).
 */
function computePlan(entries, server, options = {}) {
  const prune = Boolean(options.prune);
  const local = new Map();
  for (const e of entries) if (!local.has(e.key)) local.set(e.key, e);
  const remote = new Map(server.map((s) => [s.key, s]));
  const errors = [];
  const warnings = [];

  // The set as it will be: the directory's definitions plus the server's other segments.
  const finalGraph = new Map();
  for (const s of server) if (!local.has(s.key)) finalGraph.set(s.key, segmentReferences(s.definition));
  for (const [key, e] of local) finalGraph.set(key, segmentReferences(e.definition));
  const willBeDisabled = (key) => !local.has(key) && remote.has(key) && (remote.get(key).status === 'disabled' || prune);
  for (const [key, e] of local) {
    for (const r of finalGraph.get(key)) {
      if (!finalGraph.has(r.segment)) errors.push({ file: e.where, key, path: r.path, message: `unknown segment ${r.segment} (neither in the directory nor on the server)` });
      else if (willBeDisabled(r.segment)) warnings.push({ file: e.where, key, path: r.path, message: `refers to ${r.segment}, which ${remote.get(r.segment).status === 'disabled' ? 'is disabled' : '--prune disables'}: ${key} is not evaluated while it is` });
    }
  }
  for (const c of analyze(finalGraph).cycles) {
    const e = local.get(c.key);
    errors.push({ file: e ? e.where : `(server segment ${c.key})`, key: c.key, path: c.path, message: c.message });
  }

  const localGraph = new Map([...local].map(([key, e]) => [key, segmentReferences(e.definition)]));
  const order = analyze(localGraph).order;
  const actions = [];
  for (const key of order) {
    const e = local.get(key);
    const s = remote.get(key);
    if (!s) {
      actions.push({ key, action: 'create', file: e.where, definition: e.definition, changesDefinition: true, enables: false, newVersion: null });
      continue;
    }
    const changesDefinition = !sameDefinition(e.definition, s.definition);
    const enables = s.status !== 'active';
    const action = changesDefinition ? 'update' : enables ? 'enable' : 'unchanged';
    const writes = (changesDefinition ? 1 : 0) + (enables ? 1 : 0);
    actions.push({
      key,
      action,
      file: e.where,
      definition: e.definition,
      current: s.definition,
      version: s.version,
      status: s.status,
      changesDefinition,
      enables,
      newVersion: writes ? s.version + writes : s.version,
    });
  }
  const extra = [];
  for (const s of [...server].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    if (local.has(s.key) || isManagedSegment(s)) continue;
    if (prune && s.status === 'active') actions.push({ key: s.key, action: 'disable', file: null, current: s.definition, version: s.version, status: s.status, changesDefinition: false, enables: false, newVersion: s.version + 1 });
    else if (!prune && s.status === 'active') extra.push(s.key);
  }
  return { actions, errors, warnings, extra };
}

/** Key order of `value` made to follow `template` where both have the key (for a readable diff). */
function alignKeys(value, template) {
  if (Array.isArray(value)) return value.map((v, i) => alignKeys(v, Array.isArray(template) ? template[i] : undefined));
  if (!isObject(value)) return value;
  const out = {};
  const t = isObject(template) ? template : {};
  for (const k of Object.keys(t)) if (k in value) out[k] = alignKeys(value[k], t[k]);
  for (const k of Object.keys(value)) if (!(k in out)) out[k] = alignKeys(value[k], undefined);
  return out;
}

/**
 * A line diff (longest common subsequence) of two texts in unified style: hunks headed
 * `@@ -a,n +b,m @@`, lines prefixed ` `, `-` or `+`, `context` unchanged lines around each
 * change. No lines for equal texts.
 */
function lineDiff(before, after, context = 3) {
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  // lcs[i][j]: the LCS length of am[i..] and bm[j..].
  const n = am.length;
  const m = bm.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = am[i] === bm[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops = [];
  for (let i = 0; i < pre; i++) ops.push({ op: ' ', text: a[i] });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && am[i] === bm[j]) {
      ops.push({ op: ' ', text: am[i] });
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i][j + 1] > lcs[i + 1][j])) {
      ops.push({ op: '+', text: bm[j++] });
    } else {
      ops.push({ op: '-', text: am[i++] });
    }
  }
  for (let k = a.length - suf; k < a.length; k++) ops.push({ op: ' ', text: a[k] });
  if (!ops.some((o) => o.op !== ' ')) return [];

  // Line numbers of each op in a and b; then hunks of changes with their context.
  let la = 0;
  let lb = 0;
  const numbered = ops.map((o) => {
    const at = { ...o, a: la, b: lb };
    if (o.op !== '+') la++;
    if (o.op !== '-') lb++;
    return at;
  });
  const changed = numbered.map((o, k) => (o.op !== ' ' ? k : -1)).filter((k) => k >= 0);
  const hunks = [];
  for (const k of changed) {
    const from = Math.max(0, k - context);
    const to = Math.min(numbered.length - 1, k + context);
    const last = hunks[hunks.length - 1];
    if (last && from <= last.to + 1) last.to = Math.max(last.to, to);
    else hunks.push({ from, to });
  }
  const out = [];
  for (const h of hunks) {
    const slice = numbered.slice(h.from, h.to + 1);
    const aCount = slice.filter((o) => o.op !== '+').length;
    const bCount = slice.filter((o) => o.op !== '-').length;
    const aStart = aCount ? slice.find((o) => o.op !== '+').a + 1 : slice[0].a;
    const bStart = bCount ? slice.find((o) => o.op !== '-').b + 1 : slice[0].b;
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const o of slice) out.push(`${o.op}${o.text}`);
  }
  return out;
}

/** The diff of two definitions, pretty-printed (the server's with the file's key order). */
function definitionDiff(current, next, context = 3) {
  return lineDiff(JSON.stringify(alignKeys(current, next), null, 2), JSON.stringify(next, null, 2), context);
}

/**
 * The plan as text: `+ key (new)`, `~ key (v3 → v4)` and the diff of the definitions,
 * `~ key (v3 → v4, enable)`, `= key (unchanged)`, `- key (disable)`.
 */
function formatPlan(plan, options = {}) {
  const indent = options.indent ?? '    ';
  const lines = [];
  for (const a of plan.actions) {
    if (a.action === 'create') lines.push(`+ ${a.key} (new)`);
    else if (a.action === 'unchanged') lines.push(`= ${a.key} (unchanged)`);
    else if (a.action === 'disable') lines.push(`- ${a.key} (disable)`);
    else {
      lines.push(`~ ${a.key} (v${a.version} → v${a.newVersion}${a.enables ? ', enable' : ''})`);
      if (a.changesDefinition) for (const l of definitionDiff(a.current, a.definition, options.context)) lines.push(`${indent}${l}`);
    }
  }
  return lines;
}

/** `a.yaml[1]: vip: condition.all[0].op: unknown operator` */
function formatProblem(p) {
  return [p.file, p.key, p.path, p.message].filter((x) => x !== undefined && x !== null && x !== '').join(': ');
}

/**
 * Whether a problem reported by the server's validate endpoint is about references (unknown
 * segment, cycle, another segment's reference): the server checks them against what it
 * holds now, while `apply` checks them against the set it is about to write (computePlan).
 */
function isReferenceProblem(p) {
  return /^unknown segment /.test(p.message ?? '') || /^reference cycle/.test(p.message ?? '') || /^\(segment /.test(p.path ?? '');
}

/** Counts of the results of an apply (`{action, enables, outcome, backfill?}` per segment). */
function summarize(results) {
  const s = { created: 0, updated: 0, enabled: 0, disabled: 0, unchanged: 0, failed: 0, backfills: { done: 0, failed: 0, unfinished: 0 } };
  for (const r of results) {
    if (r.action === 'unchanged') {
      s.unchanged++;
      continue;
    }
    if (r.outcome === 'failed' || r.outcome === 'skipped') {
      s.failed++;
      continue;
    }
    if (r.action === 'create') s.created++;
    if (r.action === 'update') s.updated++;
    if (r.action === 'enable' || (r.action === 'update' && r.enables)) s.enabled++;
    if (r.action === 'disable') s.disabled++;
    if (r.backfill) {
      if (r.backfill.status === 'done') s.backfills.done++;
      else if (r.backfill.status === 'failed') s.backfills.failed++;
      else s.backfills.unfinished++;
    }
  }
  return s;
}

/** 0: everything applied (and backfilled, when waited for); 1: a write or a backfill failed or did not finish. */
function exitCodeOf(summary) {
  return summary.failed > 0 || summary.backfills.failed > 0 || summary.backfills.unfinished > 0 ? 1 : 0;
}

const n = (v) => Number(v ?? 0).toLocaleString('en');

/** `done`, `running 45% (450/1,000)`, `failed: <error>`, or `-` without a backfill. */
function describeBackfill(b) {
  if (!b) return '-';
  if (b.status === 'done') return 'done';
  if (b.status === 'failed') return `failed${b.error ? `: ${b.error}` : ''}`;
  return `${b.status} ${Math.floor((b.fraction ?? 0) * 100)}% (${n(b.processed)}/${n(b.total)})`;
}

/** The `segments list` table: key, version, status, size, backfill. */
function formatSegmentTable(segments) {
  const header = ['KEY', 'VERSION', 'STATUS', 'SIZE', 'BACKFILL'];
  const rows = segments.map((s) => [s.key, String(s.version), s.status + (s.notEvaluated ? ' (not evaluated)' : ''), n(s.size), describeBackfill(s.backfill)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const right = [false, true, false, true, false];
  const line = (r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

module.exports = {
  isDefinitionFile,
  yamlLoader,
  parseDefinitionFile,
  collectDefinitions,
  canonicalJson,
  sameDefinition,
  segmentReferences,
  referenceOrder,
  computePlan,
  isManagedSegment,
  alignKeys,
  lineDiff,
  definitionDiff,
  formatPlan,
  formatProblem,
  isReferenceProblem,
  summarize,
  exitCodeOf,
  describeBackfill,
  formatSegmentTable,
};
