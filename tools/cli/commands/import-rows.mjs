// Reading the file of `mosaic import`: its format, its rows as JSON lines (CSV rows mapped to
// messages by ../import-lib.js), and the progress shown while it is read.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { StringDecoder } from 'node:string_decoder';
import lib from '../import-lib.js';
import { UsageError } from './shared.mjs';

const { CsvParser, compileHeader, rowToMessage } = lib;

/** Progress on stderr: a redrawn bar on a terminal, plain lines (every 10 % or 5 s) otherwise. */
export class Progress {
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
      process.stderr.write(
        `\r\x1b[K${this.label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(pct).padStart(3)}%  ${stats}${final ? '\n' : ''}`,
      );
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

export function detectFormat(file, format) {
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
export async function* readRows(file, format, opts, onBytes) {
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
