// `mosaic import <file> --source <name-or-id>`: sends the rows of a CSV or NDJSON file to the
// collector's POST /v1/import in chunks (several in flight) and prints a summary.
import { existsSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { basename } from 'node:path';
import lib from '../import-lib.js';
import { FatalError, UsageError, adminToken, errorText, positiveInt, request, sleep } from './shared.mjs';
import { Progress, detectFormat, readRows } from './import-rows.mjs';

const { ChunkBuilder, describeRejection } = lib;

async function resolveSource(collector, token, wanted, create) {
  const auth = { Authorization: `Bearer ${token}` };
  if (/^src_[A-Za-z0-9]+$/.test(wanted)) {
    const r = await request(`${collector}/v1/sources/${encodeURIComponent(wanted)}`, { headers: auth }, 'looking up the source');
    if (r.status === 401) throw new FatalError('the collector refused the admin token (401); pass --token or set MOSAIC_ADMIN_TOKEN');
    if (r.status === 200) {
      if (r.json.revokedAt) throw new FatalError(`source ${wanted} (${r.json.name}) is revoked`);
      return r.json;
    }
  }
  const list = await request(`${collector}/v1/sources`, { headers: auth }, 'listing sources');
  if (list.status === 401) throw new FatalError('the collector refused the admin token (401); pass --token or set MOSAIC_ADMIN_TOKEN');
  if (list.status !== 200) throw new FatalError(`listing sources failed: ${errorText(list)}`);
  const matches = list.json.sources.filter((s) => s.name === wanted && !s.revokedAt);
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) throw new FatalError(`${matches.length} active sources are named "${wanted}" (${matches.map((s) => s.id).join(', ')}); pass the id`);
  if (!create) {
    const names = [...new Set(list.json.sources.filter((s) => !s.revokedAt).map((s) => s.name))];
    throw new FatalError(`no active source named "${wanted}"${names.length ? ` (there are: ${names.join(', ')})` : ''}; add --create-source to create it`);
  }
  const created = await request(
    `${collector}/v1/sources`,
    { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: wanted }) },
    'creating the source',
  );
  if (created.status !== 201) throw new FatalError(`creating source "${wanted}" failed: ${errorText(created)}`);
  return created.json;
}

async function postChunk(ctx, chunk) {
  const params = new URLSearchParams({ lineOffset: String(chunk.lineOffset) });
  if (ctx.sourceParam) params.set('source', ctx.sourceParam);
  const url = `${ctx.collector}/v1/import?${params}`;
  const raw = Buffer.from(chunk.body, 'utf8');
  const headers = { 'Content-Type': 'application/x-ndjson', Authorization: ctx.auth };
  let body = raw;
  if (ctx.gzip) {
    body = gzipSync(raw);
    headers['Content-Encoding'] = 'gzip';
  }
  for (let attempt = 1; ; attempt++) {
    let r;
    try {
      r = await request(url, { method: 'POST', headers, body }, `lines ${chunk.firstLine}-${chunk.lastLine}`);
    } catch (err) {
      if (attempt >= 6) throw err;
      await sleep(backoff(attempt));
      continue;
    }
    if (r.status === 200) return r.json;
    const retriable = r.status === 429 || r.status === 502 || r.status === 503 || r.status === 504;
    if (!retriable || attempt >= 6) throw new FatalError(`lines ${chunk.firstLine}-${chunk.lastLine}: the collector answered ${r.status}: ${errorText(r)}`);
    const retryAfter = Number(r.headers.get('retry-after'));
    await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 30_000) : backoff(attempt));
  }
}

const backoff = (attempt) => Math.min(10_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);

/** The command's settings from its options, checked (a UsageError names the first problem). */
function importSettings(opts) {
  const file = opts.positional[1];
  if (!file) throw new UsageError('import needs a file: npm run mosaic -- import <file> --source <name>');
  if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const format = detectFormat(file, opts.format);
  if (opts.type !== undefined && !['track', 'page', 'screen', 'identify', 'group', 'alias'].includes(opts.type))
    throw new UsageError('--type must be one of track, page, screen, identify, group, alias');
  if (format === 'ndjson' && Object.keys(opts.maps).length) throw new UsageError('--map applies to CSV files only');
  const collector = (opts.collector ?? process.env.MOSAIC_COLLECTOR_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const concurrency = positiveInt(opts.concurrency, 'concurrency', 4);
  const showRejected = opts['show-rejected'] === undefined ? 20 : Number(opts['show-rejected']);
  const chunkBytes = positiveInt(opts['chunk-bytes'], 'chunk-bytes', 400 * 1024);
  if (chunkBytes > 500 * 1024) throw new UsageError('--chunk-bytes must be at most 512000 (the collector limit)');
  return { file, format, collector, concurrency, showRejected, chunkBytes };
}

/** The source and the Authorization header: the write key's, or the admin token's with the source resolved by name or id. */
async function importAuth(opts, collector) {
  if (opts['write-key']) {
    const auth = `Basic ${Buffer.from(`${opts['write-key']}:`).toString('base64')}`;
    return { auth, source: { id: '(write key)', name: opts.source ?? '(write key)' }, sourceParam: undefined };
  }
  if (!opts.source) throw new UsageError('--source <name-or-id> is required (or --write-key)');
  const token = adminToken(opts);
  if (!token) throw new UsageError('no admin token: pass --token, set MOSAIC_ADMIN_TOKEN, or run `npm start` (which writes .mosaic/admin-token)');
  const source = await resolveSource(collector, token, opts.source, Boolean(opts['create-source']));
  return { auth: `Bearer ${token}`, source, sourceParam: source.id };
}

/**
 * Reads the file and posts its rows in chunks, at most `concurrency` requests in flight; counts
 * into `run.totals` and collects the rejected rows (of the file and of the collector) into
 * `run.rejected`. Stops reading at the first failed request and throws it.
 */
async function sendRows(run, settings, opts) {
  const { ctx, totals, rejected, progress } = run;
  const builder = new ChunkBuilder(settings.chunkBytes);
  const inFlight = new Set();
  let failure;

  const send = async (chunk) => {
    const p = postChunk(ctx, chunk).then(
      (res) => {
        totals.accepted += res.accepted;
        totals.duplicates += res.duplicates;
        // The collector lists the first refused rows of a request and counts them all (rejectedCount).
        totals.rejected += res.rejectedCount ?? res.rejected.length;
        totals.sent += chunk.rows;
        totals.chunks++;
        for (const r of res.rejected) rejected.push(r);
        progress.update(totals);
      },
      (err) => {
        failure ??= err;
      },
    );
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
    while (inFlight.size >= settings.concurrency) await Promise.race(inFlight);
  };

  for await (const row of readRows(settings.file, settings.format, opts, (n) => (totals.bytesRead += n))) {
    if (failure) break;
    totals.rows++;
    if (row.error !== undefined) {
      totals.rejected++;
      rejected.push({ line: row.line, errors: [row.error] });
      continue;
    }
    let done;
    try {
      done = builder.add(row.json, row.line);
    } catch (err) {
      totals.rejected++;
      rejected.push({ line: row.line, errors: [err.message] });
      continue;
    }
    if (done) await send(done);
    progress.update(totals);
  }
  const last = builder.flush();
  if (last && !failure) await send(last);
  await Promise.all(inFlight);
  progress.update(totals, true);
  if (failure) throw failure;
}

/** The summary on stdout: JSON with --json, else a few lines and the first rejected rows. */
function printImportSummary(run, settings, source, opts) {
  const { totals, rejected } = run;
  const { file, format, showRejected } = settings;
  rejected.sort((a, b) => a.line - b.line);
  const seconds = (Date.now() - run.started) / 1000;
  const summary = {
    file,
    format,
    source: { id: source.id, name: source.name },
    rows: totals.rows,
    accepted: totals.accepted,
    duplicates: totals.duplicates,
    rejected: totals.rejected,
    requests: totals.chunks,
    seconds: Number(seconds.toFixed(3)),
    rowsPerSecond: Math.round(totals.rows / Math.max(seconds, 0.001)),
    rejectedRows: rejected.slice(0, Math.max(0, showRejected)).map((r) => ({ line: r.line, reason: describeRejection(r).replace(/^line \d+: /, '') })),
  };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const n = (v) => v.toLocaleString('en');
  const lines = [
    `Imported ${basename(file)} (${format}) into source "${source.name}" (${source.id}) in ${seconds.toFixed(1)} s: ${n(totals.rows)} rows, ${n(summary.rowsPerSecond)} rows/s`,
    `  accepted    ${n(totals.accepted)}`,
    `  duplicates  ${n(totals.duplicates)}  (already imported: not stored again)`,
    `  rejected    ${n(totals.rejected)}`,
  ];
  if (rejected.length) {
    const shown = rejected.slice(0, Math.max(0, showRejected));
    lines.push(`Rejected rows${shown.length < totals.rejected ? ` (first ${shown.length} of ${n(totals.rejected)})` : ''}:`);
    for (const r of shown) lines.push(`  ${describeRejection(r)}`);
    if (shown.length < rejected.length) lines.push(`  ... and ${n(totals.rejected - shown.length)} more (--show-rejected N lists more)`);
    else if (shown.length < totals.rejected)
      lines.push(`  ... and ${n(totals.rejected - shown.length)} more (the collector lists the first 100 of each request)`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Exit code: 0 every row accepted, 1 some rejected (a FatalError or UsageError: 2, in main). */
export async function importCommand(opts) {
  const settings = importSettings(opts);
  const { auth, source, sourceParam } = await importAuth(opts, settings.collector);
  const run = {
    ctx: { collector: settings.collector, auth, sourceParam, gzip: Boolean(opts.gzip) },
    totals: { rows: 0, sent: 0, accepted: 0, duplicates: 0, rejected: 0, bytesRead: 0, chunks: 0 },
    rejected: [],
    progress: new Progress(`import ${basename(settings.file)}`, statSync(settings.file).size, Boolean(opts.quiet) || Boolean(opts.json)),
    started: Date.now(),
  };
  await sendRows(run, settings, opts);
  printImportSummary(run, settings, source, opts);
  return run.totals.rejected > 0 ? 1 : 0;
}
