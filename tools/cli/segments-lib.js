'use strict';
// Pure helpers of `mosaic segments` (tools/cli/commands/segments*.mjs): reading definition
// files (JSON, YAML: segments-definitions.js), canonical comparison and a line diff
// (segments-json.js), references (order and cycles) and the apply plan (segments-plan.js),
// and here the text shown for them and the summary of an apply. Plain CommonJS without
// dependencies (the YAML parser is passed in: see yamlLoader), so the CLI runs without a build
// step and Jest can test it (segments-lib.spec.ts); types in segments-lib.d.ts.

const { isDefinitionFile, yamlLoader, parseDefinitionFile, collectDefinitions } = require('./segments-definitions.js');
const { canonicalJson, sameDefinition, alignKeys, lineDiff, definitionDiff } = require('./segments-json.js');
const { useReferenceGraph, segmentReferences, referenceOrder, isManagedSegment, computePlan } = require('./segments-plan.js');

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

/** `12s`, `4m10s`, `1h05m`. */
function duration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `done`, `running 45% (450/1,000) ~4m10s left`, `failed: <error>`, or `-` without a backfill. */
function describeBackfill(b) {
  if (!b) return '-';
  if (b.status === 'done') return 'done';
  if (b.status === 'failed') return `failed${b.error ? `: ${b.error}` : ''}`;
  const eta = typeof b.etaSeconds === 'number' ? ` ~${duration(b.etaSeconds)} left` : '';
  return `${b.status} ${Math.floor((b.fraction ?? 0) * 100)}% (${n(b.processed)}/${n(b.total)})${eta}`;
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
  useReferenceGraph,
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
