#!/usr/bin/env node
// `npm run mosaic -- <command>`: the Mosaic command line. Plain Node (no build step, no
// dependencies); it talks to the services over HTTP only.
//
//   mosaic import <file> --source <name-or-id> [options]
//
// Exit codes: 0 done, every row accepted (duplicates of an earlier import count as done);
// 1 done, but some rows were rejected (listed in the summary); 2 not done: bad usage,
// authentication, unknown source, collector unreachable or failing after retries.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip, gzipSync } from 'node:zlib';
import { basename, dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import lib from './import-lib.js';

const { CsvParser, compileHeader, rowToMessage, ChunkBuilder, describeRejection } = lib;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const HELP = `Usage: npm run mosaic -- import <file> --source <name-or-id> [options]

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

class UsageError extends Error {}
class FatalError extends Error {}

function parseArgs(argv) {
  const opts = { maps: {}, positional: [] };
  const flags = new Set(['create-source', 'gzip', 'json', 'quiet', 'help']);
  const valued = new Set(['source', 'write-key', 'collector', 'token', 'format', 'type', 'event', 'map', 'delimiter', 'concurrency', 'show-rejected', 'chunk-bytes']);
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

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`mosaic: ${err.message}\n\n${HELP}\n`);
    return 2;
  }
  const command = opts.positional[0];
  if (opts.help || !command || command === 'help') {
    process.stdout.write(`${HELP}\n`);
    return command || opts.help ? 0 : 2;
  }
  try {
    if (command === 'import') return await importCommand(opts);
    throw new UsageError(`unknown command "${command}" (available: import)`);
  } catch (err) {
    if (err instanceof UsageError) process.stderr.write(`mosaic: ${err.message}\n`);
    else if (err instanceof FatalError) process.stderr.write(`mosaic: import failed: ${err.message}\n`);
    else process.stderr.write(`mosaic: ${err.stack ?? err}\n`);
    return 2;
  }
}

process.exitCode = await main();
