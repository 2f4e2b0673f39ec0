#!/usr/bin/env node
// `npm run mosaic -- <command>`: the Mosaic command line. Plain Node (no build step; the one
// dependency is js-yaml, loaded only for YAML segment files); it talks to the services over
// HTTP only.
//
//   mosaic import <file> --source <name-or-id> [options]
//   mosaic segments apply <dir> [options]
//   mosaic segments list [options]
//
// Exit codes of import: 0 done, every row accepted (duplicates of an earlier import count as
// done); 1 done, but some rows were rejected (listed in the summary); 2 not done: bad usage,
// authentication, unknown source, collector unreachable or failing after retries.
// Exit codes of segments apply: 0 applied (and backfilled); 1 some writes or backfills failed;
// 2 nothing done: bad usage, invalid definitions, authentication, service unreachable.
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip, gzipSync } from 'node:zlib';
import { basename, dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import lib from './import-lib.js';
import segLib from './segments-lib.js';

const { CsvParser, compileHeader, rowToMessage, ChunkBuilder, describeRejection } = lib;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const IMPORT_HELP = `Usage: npm run mosaic -- import <file> --source <name-or-id> [options]

Imports a CSV or NDJSON file (optionally .gz) into a source through the collector's
POST /v1/import, in chunks, with a progress bar and a summary of accepted, duplicate and
rejected rows (with their line numbers). Re-importing a file changes nothing.

Options:
  --source <name|id>      the source the rows belong to (resolved with GET /v1/sources)
  --create-source         create the source when no active source has that name
  --write-key <key>       authenticate with the source's write key instead of the admin token
  --collector <url>       collector base URL (default $MOSAIC_COLLECTOR_URL or http://127.0.0.1:8080)
  --token <token>         admin token (default $MOSAIC_ADMIN_TOKEN, else .mosaic/admin-token)
  --format csv|ndjson     default: from the file name (.csv, .ndjson/.jsonl/.json, with optional .gz)
  --type <type>           message type of rows that have none (default track)
  --event <name>          event of track rows that have none, e.g. "Order Completed"
  --map <column=target>   CSV: map a column to a field, e.g. --map "Total=properties.revenue:number"
                          (repeatable; an empty target or - drops the column)
  --delimiter <char>      CSV field delimiter (default ,; use '\\t' for tab)
  --concurrency <n>       requests in flight (default 4; 1 keeps file order on Kafka)
  --gzip                  compress request bodies
  --chunk-bytes <n>       largest request body (default 409600; the collector takes 512000)
  --show-rejected <n>     rejected rows listed in the summary (default 20)
  --json                  print the summary as JSON on stdout
  --quiet                 no progress output

CSV conventions (README "Imports"): a header row; columns type, userId, anonymousId,
messageId, event, name, category, groupId, previousId, timestamp (ISO-8601 or epoch s/ms),
email and phone (traits on identify/group, context.traits otherwise),
properties.<path>, traits.<path>, context.<path>, context.externalIds.<type>; any other
column becomes a property (a trait on identify/group rows). Numbers and true/false are
typed automatically; force a type with :string, :number, :boolean or :json.

Exit codes: 0 all rows accepted; 1 some rows rejected; 2 the import did not complete.`;

const SEGMENTS_HELP = `Usage: npm run mosaic -- segments apply <dir> [options]
       npm run mosaic -- segments list [options]

apply: makes the segmentation service hold the segment definitions of a directory
("segments as code"). Reads every *.json, *.yaml and *.yml file in <dir> (not recursive, by
name; a file holds one definition or an array of them, YAML also several documents),
validates them all (POST /v1/segments/validate) and stops with every error (file, key, JSON
path, message) before writing anything. Then shows the plan and applies it:
  + key (new)               created
  ~ key (v3 → v4)           updated (with expectedVersion=3), followed by a diff of the JSON
  ~ key (v3 → v4, enable)   enabled (a disabled segment whose file is present)
  = key (unchanged)         nothing written
  - key (disable)           with --prune: on the server but not in <dir>; disabled, never deleted
Segments that others refer to ({ "segment": "<key>" }) are written first; a reference
cycle or an unknown segment stops it before anything is written. After writing, it waits
for the backfills of the segments it wrote (progress on stderr) and prints a summary.
Running it again writes nothing.

list: key, version, status, size and backfill of every segment.

Options:
  --segmentation <url>    segmentation base URL (default $MOSAIC_SEGMENTATION_URL or http://127.0.0.1:8083)
  --token <token>         admin token (default $MOSAIC_ADMIN_TOKEN, else .mosaic/admin-token)
  --dry-run               apply: show the plan, write nothing
  --prune                 apply: disable active segments that are not in <dir> (except the
                          clustering job's cluster.* segments)
  --no-wait               apply: do not wait for the backfills
  --timeout <s>           apply: longest wait for the backfills (default 600)
  --json                  print the summary (apply) or the segments (list) as JSON on stdout
  --quiet                 no progress output

Exit codes: 0 applied (and backfilled); 1 some writes failed (e.g. 409: changed on the server
meanwhile; run it again) or a backfill failed or did not finish within --timeout; 2 nothing
was written (usage, invalid definitions, reference cycles, authentication, service unreachable).`;

const HELP = `Usage: npm run mosaic -- <command> [options]

Commands:
  import <file> --source <name-or-id>   import a CSV or NDJSON file through the collector
  segments apply <dir>                  apply the segment definitions of a directory
  segments list                         list segments with their version, status, size, backfill

${IMPORT_HELP}

${SEGMENTS_HELP}`;

class UsageError extends Error {}
class FatalError extends Error {}

function parseArgs(argv) {
  const opts = { maps: {}, positional: [], given: new Set() };
  const flags = new Set(['create-source', 'gzip', 'json', 'quiet', 'help', 'dry-run', 'prune', 'no-wait']);
  const valued = new Set(['source', 'write-key', 'collector', 'token', 'format', 'type', 'event', 'map', 'delimiter', 'concurrency', 'show-rejected', 'chunk-bytes', 'segmentation', 'timeout']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h') {
      opts.help = true;
      continue;
    }
    if (!a.startsWith('--')) {
      opts.positional.push(a);
      continue;
    }
    let [name, value] = a.slice(2).split(/=(.*)/s, 2);
    opts.given.add(name);
    if (flags.has(name)) {
      opts[name] = true;
      continue;
    }
    if (!valued.has(name)) throw new UsageError(`unknown option --${name}`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
    }
    if (name === 'map') {
      const eq = value.indexOf('=');
      if (eq <= 0) throw new UsageError(`--map takes column=target, got "${value}"`);
      opts.maps[value.slice(0, eq).trim()] = value.slice(eq + 1);
    } else opts[name] = value;
  }
  return opts;
}

function positiveInt(value, name, def) {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

function adminToken(opts) {
  if (opts.token) return opts.token;
  if (process.env.MOSAIC_ADMIN_TOKEN) return process.env.MOSAIC_ADMIN_TOKEN;
  const file = join(root, '.mosaic', 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  return undefined;
}

async function request(url, init, what) {
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new FatalError(`${what}: cannot reach ${new URL(url).origin} (${err.cause?.code ?? err.message})`);
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

const errorText = (r) => r.json?.error?.message ?? (r.text || `HTTP ${r.status}`).slice(0, 300);

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
  const created = await request(`${collector}/v1/sources`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: wanted }) }, 'creating the source');
  if (created.status !== 201) throw new FatalError(`creating source "${wanted}" failed: ${errorText(created)}`);
  return created.json;
}

/** Progress on stderr: a redrawn bar on a terminal, plain lines (every 10 % or 5 s) otherwise. */
class Progress {
  constructor(label, totalBytes, quiet) {
    this.label = label;
    this.total = totalBytes;
    this.quiet = quiet;
    this.tty = Boolean(process.stderr.isTTY);
    this.started = Date.now();
    this.lastDraw = 0;
    this.lastPlainPct = -1;
    this.lastPlainAt = Date.now();
  }

  update(s, final = false) {
    if (this.quiet) return;
    const now = Date.now();
    const pct = this.total > 0 ? Math.min(100, Math.floor((s.bytesRead / this.total) * 100)) : 0;
    const secs = Math.max(0.001, (now - this.started) / 1000);
    const rate = Math.round(s.sent / secs);
    const stats = `${s.rows.toLocaleString('en')} rows  ${s.accepted.toLocaleString('en')} accepted  ${s.duplicates.toLocaleString('en')} duplicates  ${s.rejected.toLocaleString('en')} rejected  ${rate.toLocaleString('en')} rows/s`;
    if (this.tty) {
      if (!final && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      process.stderr.write(`\r\x1b[K${this.label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(pct).padStart(3)}%  ${stats}${final ? '\n' : ''}`);
      return;
    }
    const step = Math.floor(pct / 10) * 10;
    if (final || step > this.lastPlainPct || now - this.lastPlainAt >= 5000) {
      this.lastPlainPct = Math.max(this.lastPlainPct, step);
      this.lastPlainAt = now;
      process.stderr.write(`${this.label}: ${pct}%  ${stats}\n`);
    }
  }
}

function detectFormat(file, format) {
  if (format) {
    if (format !== 'csv' && format !== 'ndjson') throw new UsageError('--format must be csv or ndjson');
    return format;
  }
  const name = file.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.csv') || name.endsWith('.tsv')) return 'csv';
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl') || name.endsWith('.json')) return 'ndjson';
  throw new UsageError(`cannot tell the format of ${file}; pass --format csv or --format ndjson`);
}

/** Yields `{json, line}` rows (or `{error, line}` for rows rejected here) from the file. */
async function* readRows(file, format, opts, onBytes) {
  const raw = createReadStream(file);
  raw.on('data', (b) => onBytes(b.length));
  const stream = file.toLowerCase().endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (err) => stream.destroy(err));
  const defaults = { type: opts.type, event: opts.event };
  if (format === 'ndjson') {
    const fill = opts.type !== undefined || opts.event !== undefined;
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    let line = 0;
    for await (const text of rl) {
      line++;
      if (text.trim() === '') continue;
      if (!fill) {
        yield { json: text, line };
        continue;
      }
      let row;
      try {
        row = JSON.parse(text);
      } catch {
        yield { json: text, line }; // the collector names the syntax error
        continue;
      }
      if (row && typeof row === 'object' && !Array.isArray(row)) {
        if (row.type === undefined && opts.type) row.type = opts.type;
        if (row.event === undefined && (row.type ?? 'track') === 'track' && opts.event) row.event = opts.event;
      }
      yield { json: JSON.stringify(row), line };
    }
    return;
  }
  let delimiter = opts.delimiter ?? (file.toLowerCase().replace(/\.gz$/, '').endsWith('.tsv') ? '\t' : ',');
  if (delimiter === '\\t' || delimiter === 'tab') delimiter = '\t';
  const parser = new CsvParser({ delimiter });
  const decoder = new StringDecoder('utf8');
  let columns;
  const handle = function* (records) {
    for (const rec of records) {
      if (!columns) {
        const compiled = compileHeader(rec.fields, opts.maps);
        if (compiled.problems.length) throw new UsageError(`the header row of ${file}: ${compiled.problems.join('; ')}`);
        if (rec.error) throw new UsageError(`the header row of ${file}: ${rec.error}`);
        const unknownMaps = Object.keys(opts.maps).filter((m) => !rec.fields.map((f) => f.trim()).includes(m));
        if (unknownMaps.length) throw new UsageError(`--map names columns the file does not have: ${unknownMaps.join(', ')}`);
        columns = { list: compiled.columns, count: rec.fields.length };
        continue;
      }
      if (rec.error) {
        yield { error: rec.error, line: rec.line };
        continue;
      }
      if (rec.fields.length !== columns.count) {
        yield { error: `expected ${columns.count} fields (as in the header), found ${rec.fields.length}`, line: rec.line };
        continue;
      }
      const mapped = rowToMessage(columns.list, rec.fields, defaults);
      if (mapped.errors) yield { error: mapped.errors.join('; '), line: rec.line };
      else yield { json: JSON.stringify(mapped.message), line: rec.line };
    }
  };
  for await (const chunk of stream) yield* handle(parser.push(decoder.write(chunk)));
  yield* handle(parser.push(decoder.end()));
  yield* handle(parser.end());
  if (!columns) throw new UsageError(`${file} has no header row`);
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const backoff = (attempt) => Math.min(10_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);

async function importCommand(opts) {
  const file = opts.positional[1];
  if (!file) throw new UsageError('import needs a file: npm run mosaic -- import <file> --source <name>');
  if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const format = detectFormat(file, opts.format);
  if (opts.type !== undefined && !['track', 'page', 'screen', 'identify', 'group', 'alias'].includes(opts.type)) throw new UsageError('--type must be one of track, page, screen, identify, group, alias');
  if (format === 'ndjson' && Object.keys(opts.maps).length) throw new UsageError('--map applies to CSV files only');
  const collector = (opts.collector ?? process.env.MOSAIC_COLLECTOR_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const concurrency = positiveInt(opts.concurrency, 'concurrency', 4);
  const showRejected = opts['show-rejected'] === undefined ? 20 : Number(opts['show-rejected']);
  const chunkBytes = positiveInt(opts['chunk-bytes'], 'chunk-bytes', 400 * 1024);
  if (chunkBytes > 500 * 1024) throw new UsageError('--chunk-bytes must be at most 512000 (the collector limit)');

  let source;
  let auth;
  let sourceParam;
  if (opts['write-key']) {
    auth = `Basic ${Buffer.from(`${opts['write-key']}:`).toString('base64')}`;
    source = { id: '(write key)', name: opts.source ?? '(write key)' };
  } else {
    if (!opts.source) throw new UsageError('--source <name-or-id> is required (or --write-key)');
    const token = adminToken(opts);
    if (!token) throw new UsageError('no admin token: pass --token, set MOSAIC_ADMIN_TOKEN, or run `npm start` (which writes .mosaic/admin-token)');
    source = await resolveSource(collector, token, opts.source, Boolean(opts['create-source']));
    auth = `Bearer ${token}`;
    sourceParam = source.id;
  }

  const ctx = { collector, auth, sourceParam, gzip: Boolean(opts.gzip) };
  const totals = { rows: 0, sent: 0, accepted: 0, duplicates: 0, rejected: 0, bytesRead: 0, chunks: 0 };
  const rejected = [];
  const progress = new Progress(`import ${basename(file)}`, statSync(file).size, Boolean(opts.quiet) || Boolean(opts.json));
  const started = Date.now();
  const builder = new ChunkBuilder(chunkBytes);
  const inFlight = new Set();
  let failure;

  const send = async (chunk) => {
    const p = postChunk(ctx, chunk).then(
      (res) => {
        totals.accepted += res.accepted;
        totals.duplicates += res.duplicates;
        totals.rejected += res.rejected.length;
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
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
  };

  for await (const row of readRows(file, format, opts, (n) => (totals.bytesRead += n))) {
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

  rejected.sort((a, b) => a.line - b.line);
  const seconds = (Date.now() - started) / 1000;
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
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    const n = (v) => v.toLocaleString('en');
    const lines = [
      `Imported ${basename(file)} (${format}) into source "${source.name}" (${source.id}) in ${seconds.toFixed(1)} s: ${n(totals.rows)} rows, ${n(summary.rowsPerSecond)} rows/s`,
      `  accepted    ${n(totals.accepted)}`,
      `  duplicates  ${n(totals.duplicates)}  (already imported: not stored again)`,
      `  rejected    ${n(totals.rejected)}`,
    ];
    if (rejected.length) {
      const shown = rejected.slice(0, Math.max(0, showRejected));
      lines.push(`Rejected rows${shown.length < rejected.length ? ` (first ${shown.length} of ${n(rejected.length)})` : ''}:`);
      for (const r of shown) lines.push(`  ${describeRejection(r)}`);
      if (shown.length < rejected.length) lines.push(`  ... and ${n(rejected.length - shown.length)} more (--show-rejected N lists more)`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return totals.rejected > 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// segments apply | list

const COMMAND_OPTIONS = {
  import: ['source', 'create-source', 'write-key', 'collector', 'token', 'format', 'type', 'event', 'map', 'delimiter', 'concurrency', 'gzip', 'chunk-bytes', 'show-rejected', 'json', 'quiet', 'help'],
  segments: ['segmentation', 'token', 'dry-run', 'prune', 'no-wait', 'timeout', 'json', 'quiet', 'help'],
};

/** The segmentation admin API (Bearer admin token); `what` names the step in errors. */
function segmentationClient(opts) {
  const base = (opts.segmentation ?? process.env.MOSAIC_SEGMENTATION_URL ?? 'http://127.0.0.1:8083').replace(/\/+$/, '');
  try {
    new URL(base);
  } catch {
    throw new UsageError(`--segmentation must be a URL, got "${base}"`);
  }
  const token = adminToken(opts);
  if (!token) throw new UsageError('no admin token: pass --token, set MOSAIC_ADMIN_TOKEN, or run `npm start` (which writes .mosaic/admin-token)');
  const call = async (method, path, body, what) => {
    const init = { method, headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const r = await request(`${base}${path}`, init, what);
    if (r.status === 401 || r.status === 403) throw new FatalError(`the segmentation service refused the admin token (${r.status}); pass --token or set MOSAIC_ADMIN_TOKEN`);
    return r;
  };
  return { base, call };
}

const segPath = (key) => `/v1/segments/${encodeURIComponent(key)}`;

async function listSegments(api) {
  const r = await api.call('GET', '/v1/segments', undefined, 'listing segments');
  if (r.status !== 200 || !Array.isArray(r.json?.segments)) throw new FatalError(`listing segments (GET /v1/segments) failed: ${errorText(r)}`);
  return r.json.segments;
}

/** Runs `fn` over `items` with at most `limit` in flight; results in item order. */
async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function segmentsList(opts) {
  if (opts.positional.length > 2) throw new UsageError(`segments list takes no arguments (got "${opts.positional[2]}")`);
  const api = segmentationClient(opts);
  const segments = await listSegments(api);
  if (opts.json) process.stdout.write(`${JSON.stringify({ segments })}\n`);
  else if (segments.length === 0) process.stdout.write(`No segments on ${api.base}.\n`);
  else process.stdout.write(`${segLib.formatSegmentTable(segments).join('\n')}\n`);
  return 0;
}

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
      process.stderr.write(`\r\x1b[Kbackfill [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(pct).padStart(3)}%  ${finished}/${waits.length} segments  ${n(processed)}/${n(total)} profiles  ${n(Math.round(rate))} profiles/s${current}${final ? '\n' : ''}`);
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
          progress.line(b.status === 'done' ? `backfill ${w.key} v${b.version}: done  ${n(b.processed)} profiles, ${n(b.changed)} changed${secs}; ${n(seg.size)} members` : `backfill ${w.key} v${b.version}: FAILED  ${b.error ?? 'no reason given'}`);
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
    const err = new Error(`${step} failed (${r.status}): ${errorText(r)}${r.status === 409 && a.action !== 'create' ? ' — run apply again to see the new state' : ''}`);
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

async function segmentsApply(opts) {
  const dir = opts.positional[2];
  if (!dir) throw new UsageError('segments apply needs a directory: npm run mosaic -- segments apply <dir>');
  if (opts.positional.length > 3) throw new UsageError(`segments apply takes one directory (got also "${opts.positional[3]}")`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`no such directory: ${dir}`);
  const timeoutSeconds = opts.timeout === undefined ? 600 : Number(opts.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError('--timeout must be a positive number of seconds');
  const prune = Boolean(opts.prune);
  const dryRun = Boolean(opts['dry-run']);
  const json = Boolean(opts.json);
  const api = segmentationClient(opts);
  const started = Date.now();
  const out = (lines) => {
    if (!json && lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  };
  const note = (text) => {
    if (!json) process.stderr.write(`${text}\n`);
  };

  const { names, entries, errors: readErrors } = await readDefinitionDir(dir);
  if (names.length === 0 && prune) throw new UsageError(`${dir} holds no *.json, *.yaml or *.yml files: refusing to --prune (it would disable every segment)`);

  const server = await listSegments(api);

  // Validation: every definition by the server (shape, operators, limits); references by the
  // plan below, against the set being written rather than the server's current one.
  const problems = [...readErrors];
  const verdicts = await pool(entries, 4, (e) => api.call('POST', '/v1/segments/validate', e.definition, `validating ${e.where}`));
  verdicts.forEach((r, i) => {
    const e = entries[i];
    if (r.status !== 200 || typeof r.json?.ok !== 'boolean') throw new FatalError(`validating ${e.where} (POST /v1/segments/validate) failed: ${errorText(r)}`);
    if (r.json.ok) return;
    const list = Array.isArray(r.json.errors) && r.json.errors.length ? r.json.errors : [{ path: '$', message: 'invalid (the server named no error)' }];
    for (const p of list) if (!segLib.isReferenceProblem(p)) problems.push({ file: e.where, key: e.key, path: p.path, message: p.message });
  });
  const plan = segLib.computePlan(entries, server, { prune });
  problems.push(...plan.errors);
  if (problems.length) {
    process.stderr.write(`mosaic: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${dir}; nothing was written:\n${problems.map((p) => `  ${segLib.formatProblem(p)}`).join('\n')}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ dir, segmentation: api.base, ok: false, written: 0, problems })}\n`);
    return 2;
  }

  out(plan.actions.length ? segLib.formatPlan(plan) : [`No segment definitions in ${dir}.`]);
  for (const w of plan.warnings) note(`warning: ${segLib.formatProblem(w)}`);
  if (plan.extra.length && !json) out([`(${plan.extra.length} active segment${plan.extra.length === 1 ? '' : 's'} on the server not in ${dir}, left alone; --prune disables them: ${plan.extra.join(', ')})`]);

  const results = plan.actions.map((a) => ({ key: a.key, file: a.file, action: a.action, enables: a.enables, fromVersion: a.action === 'create' ? null : a.version, version: a.action === 'create' ? 1 : a.newVersion, outcome: a.action === 'unchanged' ? 'ok' : dryRun ? 'planned' : undefined }));
  const failedKeys = new Set();
  const waits = [];
  if (!dryRun) {
    for (const [i, a] of plan.actions.entries()) {
      const res = results[i];
      if (a.action === 'unchanged') continue;
      const blockedBy = a.action === 'disable' ? undefined : segLib.segmentReferences(a.definition).find((r) => failedKeys.has(r.segment));
      if (blockedBy) {
        res.outcome = 'skipped';
        res.error = `not written: it refers to ${blockedBy.segment}, whose write failed`;
        failedKeys.add(a.key);
        continue;
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
      if (res.outcome !== 'ok' && !opts.quiet) note(`mosaic: ${a.key}: ${res.error}`);
    }
    if (waits.length && !opts['no-wait']) {
      await waitForBackfills(api, waits, timeoutSeconds, new BackfillProgress(Boolean(opts.quiet) || json));
      for (const w of waits) {
        w.result.backfill = w.backfill;
        if (w.notEvaluated) w.result.notEvaluated = w.notEvaluated;
      }
    } else {
      for (const w of waits) delete w.result.backfill; // not waited for: the summary does not judge them
    }
  }

  const counts = segLib.summarize(results.map((r) => (r.backfill === undefined ? r : { ...r, backfill: r.backfill ?? { status: 'running' } })));
  const seconds = (Date.now() - started) / 1000;
  const summary = {
    dir,
    segmentation: api.base,
    dryRun,
    prune,
    ...counts,
    seconds: Number(seconds.toFixed(3)),
    segments: results.map((r, i) => {
      const a = plan.actions[i];
      const diff = a.changesDefinition && a.action !== 'create' ? segLib.definitionDiff(a.current, a.definition) : undefined;
      return { ...r, ...(diff ? { diff } : {}) };
    }),
    warnings: plan.warnings,
  };
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    const what = `${counts.created} created, ${counts.updated} updated, ${counts.enabled} enabled, ${counts.disabled} disabled, ${counts.unchanged} unchanged, ${counts.failed} failed`;
    const lines = [dryRun ? `Dry run (nothing written): would be ${what}` : `Applied ${dir} to ${api.base} in ${seconds.toFixed(1)} s: ${what}`];
    const b = counts.backfills;
    if (b.done + b.failed + b.unfinished > 0) lines.push(`Backfills: ${b.done} done, ${b.failed} failed${b.unfinished ? `, ${b.unfinished} not finished` : ''}`);
    else if (!dryRun && waits.length && opts['no-wait']) lines.push(`Backfills: ${waits.length} started (not waited for; see npm run mosaic -- segments list)`);
    for (const r of results) {
      if (r.outcome === 'failed' || r.outcome === 'skipped') lines.push(`  ${r.key}: ${r.error}`);
      else if (r.backfill?.status === 'failed') lines.push(`  ${r.key}: backfill failed: ${r.backfill.error ?? 'no reason given'}`);
      if (r.notEvaluated) lines.push(`  ${r.key}: not evaluated: ${r.notEvaluated}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return segLib.exitCodeOf(counts);
}

async function segmentsCommand(opts) {
  const sub = opts.positional[1];
  if (sub === 'apply') return segmentsApply(opts);
  if (sub === 'list') return segmentsList(opts);
  throw new UsageError(sub ? `unknown segments command "${sub}" (available: apply, list)` : 'segments needs a command: apply <dir> or list');
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`mosaic: ${err.message}\n\n${HELP}\n`);
    return 2;
  }
  const command = opts.positional[0];
  const helpOf = { import: IMPORT_HELP, segments: SEGMENTS_HELP };
  if (opts.help || !command || command === 'help') {
    const topic = command === 'help' ? opts.positional[1] : command;
    process.stdout.write(`${helpOf[topic] ?? HELP}\n`);
    return command || opts.help ? 0 : 2;
  }
  try {
    if (!Object.hasOwn(COMMAND_OPTIONS, command)) throw new UsageError(`unknown command "${command}" (available: import, segments)`);
    const foreign = [...opts.given].filter((name) => !COMMAND_OPTIONS[command].includes(name));
    if (foreign.length) throw new UsageError(`${foreign.map((f) => `--${f}`).join(', ')}: not an option of ${command} (npm run mosaic -- ${command} --help)`);
    if (command === 'import') return await importCommand(opts);
    return await segmentsCommand(opts);
  } catch (err) {
    const what = command === 'segments' ? `segments ${opts.positional[1] ?? ''}`.trim() : command;
    if (err instanceof UsageError) process.stderr.write(`mosaic: ${err.message}\n`);
    else if (err instanceof FatalError) process.stderr.write(`mosaic: ${what} failed: ${err.message}\n`);
    else process.stderr.write(`mosaic: ${err.stack ?? err}\n`);
    return 2;
  }
}

process.exitCode = await main();
