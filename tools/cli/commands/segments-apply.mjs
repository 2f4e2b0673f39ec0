// `mosaic segments apply <dir>`: makes the segmentation service hold the definitions of a
// directory, then waits for the backfills (help.mjs has the whole story).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import segLib from '../segments-lib.js';
import { FatalError, UsageError, errorText, pool, root, sleep } from './shared.mjs';
import { listSegments, segPath, segmentationClient } from './segmentation-client.mjs';

/** Reads the definition files of a directory (js-yaml only when there are YAML files). */
async function readDefinitionDir(dir) {
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((d) => (d.isFile() || d.isSymbolicLink()) && segLib.isDefinitionFile(d.name))
    .map((d) => d.name)
    .filter((name) => statSync(join(dir, name)).isFile());
  const files = names.map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
  let loadYamlAll;
  if (names.some((n) => /\.ya?ml$/i.test(n))) {
    let jsYaml;
    try {
      jsYaml = (await import('js-yaml')).default;
    } catch (err) {
      throw new FatalError(`reading YAML needs the js-yaml package (npm install): ${err.message}`);
    }
    loadYamlAll = segLib.yamlLoader(jsYaml);
  }
  return { names, ...segLib.collectDefinitions(files, loadYamlAll) };
}

/** Backfill progress on stderr: one redrawn bar on a terminal, plain lines otherwise. */
class BackfillProgress {
  constructor(quiet) {
    this.quiet = quiet;
    this.tty = Boolean(process.stderr.isTTY);
    this.lastDraw = 0;
    this.plain = new Map(); // key → {step, at}
  }

  line(text) {
    if (this.quiet) return;
    process.stderr.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  update(waits, final = false) {
    if (this.quiet) return;
    const now = Date.now();
    const n = (v) => Number(v ?? 0).toLocaleString('en');
    if (this.tty) {
      if (!final && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      let processed = 0;
      let total = 0;
      let rate = 0;
      let finished = 0;
      for (const w of waits) {
        const b = w.backfill;
        const t = Math.max(b?.total ?? 0, b?.processed ?? 0);
        total += t;
        processed += w.finished ? t : (b?.processed ?? 0);
        if (w.finished) finished++;
        else rate += b?.ratePerSecond ?? 0;
      }
      const frac = total > 0 ? processed / total : finished === waits.length ? 1 : 0;
      const pct = Math.min(100, Math.floor(frac * 100));
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      const running = waits.filter((w) => !w.finished).map((w) => w.key);
      const current = running.length ? `  ${running.slice(0, 3).join(', ')}${running.length > 3 ? ', …' : ''}` : '';
      process.stderr.write(
        `\r\x1b[Kbackfill [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(pct).padStart(3)}%  ${finished}/${waits.length} segments  ${n(processed)}/${n(total)} profiles  ${n(Math.round(rate))} profiles/s${current}${final ? '\n' : ''}`,
      );
      return;
    }
    for (const w of waits) {
      if (w.finished) continue;
      const b = w.backfill;
      if (!b) continue;
      const pct = Math.min(100, Math.floor((b.fraction ?? 0) * 100));
      const step = Math.floor(pct / 10) * 10;
      const last = this.plain.get(w.key);
      if (!last || step > last.step || now - last.at >= 5000) {
        this.plain.set(w.key, { step: Math.max(step, last?.step ?? -1), at: now });
        process.stderr.write(`backfill ${w.key} v${b.version}: ${pct}%  ${n(b.processed)}/${n(b.total)} profiles  ${n(b.ratePerSecond)} profiles/s\n`);
      }
    }
  }
}

/** Polls GET /v1/segments/{key} every 500 ms until each backfill (at its version or later) is done or failed. */
async function waitForBackfills(api, waits, timeoutSeconds, progress) {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const n = (v) => Number(v ?? 0).toLocaleString('en');
  for (;;) {
    const open = waits.filter((w) => !w.finished);
    if (open.length === 0) break;
    let listed;
    await pool(open, 4, async (w) => {
      let seg;
      try {
        const r = await api.call('GET', segPath(w.key), undefined, `reading segment ${w.key}`);
        if (r.status === 200) seg = r.json;
        else if (r.status === 404) {
          // Some valid keys (with ":") are not reachable by this route: read the list instead.
          listed ??= listSegments(api).catch(() => []);
          seg = (await listed).find((s) => s.key === w.key);
          if (!seg) {
            w.finished = true;
            w.backfill = { ...(w.backfill ?? { version: w.version, total: 0, processed: 0 }), status: 'failed', error: 'the segment is gone from the server' };
          }
        }
      } catch (err) {
        if (!(err instanceof FatalError) || /refused the admin token/.test(err.message)) throw err;
        // unreachable for a moment: the next round retries until the deadline
      }
      if (!seg || w.finished) return;
      w.notEvaluated = seg.notEvaluated;
      const b = seg.backfill;
      if (b && b.version >= w.version) {
        w.backfill = b;
        if (b.status === 'done' || b.status === 'failed') {
          w.finished = true;
          const secs = b.startedAt && b.finishedAt ? ` in ${((Date.parse(b.finishedAt) - Date.parse(b.startedAt)) / 1000).toFixed(1)} s` : '';
          progress.line(
            b.status === 'done'
              ? `backfill ${w.key} v${b.version}: done  ${n(b.processed)} profiles, ${n(b.changed)} changed${secs}; ${n(seg.size)} members`
              : `backfill ${w.key} v${b.version}: FAILED  ${b.error ?? 'no reason given'}`,
          );
        }
      }
    });
    progress.update(waits);
    if (waits.every((w) => w.finished)) break;
    if (Date.now() >= deadline) break;
    await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
  }
  progress.update(waits, true);
  for (const w of waits) if (!w.finished) progress.line(`backfill ${w.key}: not finished after ${timeoutSeconds} s (${segLib.describeBackfill(w.backfill)})`);
}

/** One segment's writes (create | update [+ enable] | enable | disable); the server's segment after them. */
async function writeSegment(api, a) {
  const fail = (r, step) => {
    const err = new Error(
      `${step} failed (${r.status}): ${errorText(r)}${r.status === 409 && a.action !== 'create' ? ' — run apply again to see the new state' : ''}`,
    );
    err.status = r.status;
    throw err;
  };
  let seg;
  if (a.action === 'create') {
    const r = await api.call('POST', '/v1/segments', a.definition, `creating ${a.key}`);
    if (r.status !== 201 && r.status !== 200) fail(r, 'create');
    return r.json;
  }
  if (a.action === 'disable') {
    const r = await api.call('POST', `${segPath(a.key)}/disable`, undefined, `disabling ${a.key}`);
    if (r.status !== 200) fail(r, 'disable');
    return r.json;
  }
  if (a.changesDefinition) {
    const r = await api.call('PUT', `${segPath(a.key)}?expectedVersion=${a.version}`, a.definition, `updating ${a.key}`);
    if (r.status !== 200) fail(r, `update (expectedVersion=${a.version})`);
    seg = r.json;
  }
  if (a.enables) {
    const r = await api.call('POST', `${segPath(a.key)}/enable`, undefined, `enabling ${a.key}`);
    if (r.status !== 200) fail(r, 'enable');
    seg = r.json;
  }
  return seg;
}

/**
 * The segmentation domain's reference graph, compiled (dist/ is built first when missing: the
 * build takes about a second). The CLI orders and checks references exactly as the service does.
 */
async function loadReferenceGraph() {
  const file = join(root, 'dist', 'libs', 'segmentation', 'domain', 'src', 'reference-graph.js');
  if (!existsSync(file)) await (await import('../../scripts/build.mjs')).build({ quiet: true });
  segLib.useReferenceGraph(createRequire(import.meta.url)(file));
}

export async function segmentsApply(opts) {
  await loadReferenceGraph();
  const run = applySettings(opts);
  const { names, entries, errors: readErrors } = await readDefinitionDir(run.dir);
  if (names.length === 0 && run.prune)
    throw new UsageError(`${run.dir} holds no *.json, *.yaml or *.yml files: refusing to --prune (it would disable every segment)`);
  const server = await listSegments(run.api);
  const problems = [...readErrors, ...(await serverValidationProblems(run.api, entries))];
  const plan = segLib.computePlan(entries, server, { prune: run.prune });
  problems.push(...plan.errors);
  if (problems.length) return refuse(run, problems);
  showPlan(run, plan);
  const results = plannedResults(plan, run.dryRun);
  const waits = run.dryRun ? [] : await writePlan(run, plan, results);
  const counts = segLib.summarize(results.map((r) => (r.backfill === undefined ? r : { ...r, backfill: r.backfill ?? { status: 'running' } })));
  printSummary(run, plan, results, waits, counts);
  return segLib.exitCodeOf(counts);
}

/** The command's options, checked, and its output channels (nothing but JSON on stdout with --json). */
function applySettings(opts) {
  const dir = opts.positional[2];
  if (!dir) throw new UsageError('segments apply needs a directory: npm run mosaic -- segments apply <dir>');
  if (opts.positional.length > 3) throw new UsageError(`segments apply takes one directory (got also "${opts.positional[3]}")`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`no such directory: ${dir}`);
  const timeoutSeconds = opts.timeout === undefined ? 600 : Number(opts.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError('--timeout must be a positive number of seconds');
  const json = Boolean(opts.json);
  return {
    opts,
    dir,
    timeoutSeconds,
    prune: Boolean(opts.prune),
    dryRun: Boolean(opts['dry-run']),
    json,
    api: segmentationClient(opts),
    started: Date.now(),
    out: (lines) => {
      if (!json && lines.length) process.stdout.write(`${lines.join('\n')}\n`);
    },
    note: (text) => {
      if (!json) process.stderr.write(`${text}\n`);
    },
  };
}

/**
 * Every definition validated by the server (shape, operators, limits); references are checked
 * by the plan, against the set being written rather than the server's current one.
 */
async function serverValidationProblems(api, entries) {
  const problems = [];
  const verdicts = await pool(entries, 4, (e) => api.call('POST', '/v1/segments/validate', e.definition, `validating ${e.where}`));
  verdicts.forEach((r, i) => {
    const e = entries[i];
    if (r.status !== 200 || typeof r.json?.ok !== 'boolean') throw new FatalError(`validating ${e.where} (POST /v1/segments/validate) failed: ${errorText(r)}`);
    if (r.json.ok) return;
    const list = Array.isArray(r.json.errors) && r.json.errors.length ? r.json.errors : [{ path: '$', message: 'invalid (the server named no error)' }];
    for (const p of list) if (!segLib.isReferenceProblem(p)) problems.push({ file: e.where, key: e.key, path: p.path, message: p.message });
  });
  return problems;
}

/** Nothing is written when any definition has a problem: exit 2 naming them all. */
function refuse(run, problems) {
  process.stderr.write(
    `mosaic: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${run.dir}; nothing was written:\n${problems.map((p) => `  ${segLib.formatProblem(p)}`).join('\n')}\n`,
  );
  if (run.json) process.stdout.write(`${JSON.stringify({ dir: run.dir, segmentation: run.api.base, ok: false, written: 0, problems })}\n`);
  return 2;
}

function showPlan(run, plan) {
  run.out(plan.actions.length ? segLib.formatPlan(plan) : [`No segment definitions in ${run.dir}.`]);
  for (const w of plan.warnings) run.note(`warning: ${segLib.formatProblem(w)}`);
  if (plan.extra.length && !run.json)
    run.out([
      `(${plan.extra.length} active segment${plan.extra.length === 1 ? '' : 's'} on the server not in ${run.dir}, left alone; --prune disables them: ${plan.extra.join(', ')})`,
    ]);
}

function plannedResults(plan, dryRun) {
  return plan.actions.map((a) => ({
    key: a.key,
    file: a.file,
    action: a.action,
    enables: a.enables,
    fromVersion: a.action === 'create' ? null : a.version,
    version: a.action === 'create' ? 1 : a.newVersion,
    outcome: a.action === 'unchanged' ? 'ok' : dryRun ? 'planned' : undefined,
  }));
}

/**
 * Writes the plan in reference order; a segment referring to one whose write failed is skipped.
 * Waits for the backfills the writes started (unless --no-wait). The writes' backfills, to report.
 */
async function writePlan(run, plan, results) {
  const failedKeys = new Set();
  const waits = [];
  for (const [i, a] of plan.actions.entries()) {
    if (a.action === 'unchanged') continue;
    const res = results[i];
    await writeOne(run.api, a, res, failedKeys, waits);
    if (res.outcome !== 'ok' && !run.opts.quiet) run.note(`mosaic: ${a.key}: ${res.error}`);
  }
  if (waits.length && !run.opts['no-wait']) {
    await waitForBackfills(run.api, waits, run.timeoutSeconds, new BackfillProgress(Boolean(run.opts.quiet) || run.json));
    for (const w of waits) {
      w.result.backfill = w.backfill;
      if (w.notEvaluated) w.result.notEvaluated = w.notEvaluated;
    }
  } else {
    for (const w of waits) delete w.result.backfill; // not waited for: the summary does not judge them
  }
  return waits;
}

async function writeOne(api, a, res, failedKeys, waits) {
  const blockedBy = a.action === 'disable' ? undefined : segLib.segmentReferences(a.definition).find((r) => failedKeys.has(r.segment));
  if (blockedBy) {
    res.outcome = 'skipped';
    res.error = `not written: it refers to ${blockedBy.segment}, whose write failed`;
    failedKeys.add(a.key);
    return;
  }
  try {
    const seg = await writeSegment(api, a);
    res.outcome = 'ok';
    res.version = seg?.version ?? res.version;
    if (seg?.backfill !== undefined) res.backfill = seg.backfill;
    waits.push({ key: a.key, version: res.version, backfill: seg?.backfill?.version >= res.version ? seg.backfill : null, finished: false, result: res });
  } catch (err) {
    res.outcome = 'failed';
    res.error = err instanceof FatalError || err.status ? err.message : String(err.stack ?? err);
    failedKeys.add(a.key);
  }
}

function printSummary(run, plan, results, waits, counts) {
  const seconds = (Date.now() - run.started) / 1000;
  if (run.json) {
    const segments = results.map((r, i) => {
      const a = plan.actions[i];
      const diff = a.changesDefinition && a.action !== 'create' ? segLib.definitionDiff(a.current, a.definition) : undefined;
      return { ...r, ...(diff ? { diff } : {}) };
    });
    const summary = {
      dir: run.dir,
      segmentation: run.api.base,
      dryRun: run.dryRun,
      prune: run.prune,
      ...counts,
      seconds: Number(seconds.toFixed(3)),
      segments,
      warnings: plan.warnings,
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const what = `${counts.created} created, ${counts.updated} updated, ${counts.enabled} enabled, ${counts.disabled} disabled, ${counts.unchanged} unchanged, ${counts.failed} failed`;
  const lines = [run.dryRun ? `Dry run (nothing written): would be ${what}` : `Applied ${run.dir} to ${run.api.base} in ${seconds.toFixed(1)} s: ${what}`];
  const b = counts.backfills;
  if (b.done + b.failed + b.unfinished > 0) lines.push(`Backfills: ${b.done} done, ${b.failed} failed${b.unfinished ? `, ${b.unfinished} not finished` : ''}`);
  else if (!run.dryRun && waits.length && run.opts['no-wait'])
    lines.push(`Backfills: ${waits.length} started (not waited for; see npm run mosaic -- segments list)`);
  for (const r of results) {
    if (r.outcome === 'failed' || r.outcome === 'skipped') lines.push(`  ${r.key}: ${r.error}`);
    else if (r.backfill?.status === 'failed') lines.push(`  ${r.key}: backfill failed: ${r.backfill.error ?? 'no reason given'}`);
    if (r.notEvaluated) lines.push(`  ${r.key}: not evaluated: ${r.notEvaluated}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
