'use strict';
// Pure helpers of `mosaic import` (tools/cli/mosaic.mjs): a streaming RFC 4180 CSV parser,
// the CSV column → Segment message mapping, and request chunking that keeps file line
// numbers. Plain CommonJS without dependencies, so the CLI runs without a build step and
// Jest can test it (import-lib.spec.ts); types in import-lib.d.ts.

/**
 * Streaming CSV parser (RFC 4180): fields separated by `delimiter`, optionally enclosed in
 * double quotes; inside quotes `""` is a quote and delimiters and line breaks are data.
 * Records end at CRLF, LF or a lone CR (chunk boundaries anywhere, even inside CRLF).
 * A leading UTF-8 byte-order mark is dropped. Blank lines are skipped.
 * Lenient where RFC 4180 is silent: a quote inside an unquoted field is kept literally.
 * Errors are reported per record (the record is still returned, with `error`):
 * - text after a closing quote (`"ab"c`): "unexpected character after a closing quote";
 * - a quoted field still open at the end of the input: "unterminated quoted field".
 * Each record carries `line`, the 1-based line of the file where it starts.
 */
class CsvParser {
  constructor(options = {}) {
    this.delimiter = options.delimiter ?? ',';
    if (typeof this.delimiter !== 'string' || this.delimiter.length !== 1 || '"\r\n'.includes(this.delimiter)) {
      throw new Error('the CSV delimiter must be one character other than a quote or a line break');
    }
    this.state = 'start'; // start | unquoted | quoted | quoteInQuoted
    this.field = '';
    this.fields = [];
    this.started = false;
    this.error = undefined;
    this.line = 1;
    this.recordLine = 1;
    this.prevCR = false;
    this.first = true;
  }

  _emit(out) {
    this.fields.push(this.field);
    const record = { fields: this.fields, line: this.recordLine };
    if (this.error) record.error = this.error;
    out.push(record);
    this.fields = [];
    this.field = '';
    this.started = false;
    this.error = undefined;
    this.state = 'start';
  }

  /** Feeds text; returns the records completed by it. */
  push(text) {
    const out = [];
    let s = text;
    if (this.first && s.length > 0) {
      this.first = false;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    const d = this.delimiter;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      const lfAfterCR = c === '\n' && this.prevCR;
      this.prevCR = c === '\r';
      if (lfAfterCR && this.state !== 'quoted') continue; // the CR already ended the line
      const newline = c === '\n' || c === '\r';
      if (newline && !lfAfterCR) this.line++;
      switch (this.state) {
        case 'start':
          if (!this.started && this.fields.length === 0) {
            if (newline) continue; // blank line
            this.recordLine = this.line;
          }
          this.started = true;
          if (c === '"') this.state = 'quoted';
          else if (c === d) this.fields.push('');
          else if (newline) {
            this.field = '';
            this._emit(out);
          } else {
            this.field = c;
            this.state = 'unquoted';
          }
          break;
        case 'unquoted':
          if (c === d) {
            this.fields.push(this.field);
            this.field = '';
            this.state = 'start';
          } else if (newline) this._emit(out);
          else this.field += c;
          break;
        case 'quoted':
          if (c === '"') this.state = 'quoteInQuoted';
          else this.field += c;
          break;
        case 'quoteInQuoted':
          if (c === '"') {
            this.field += '"';
            this.state = 'quoted';
          } else if (c === d) {
            this.fields.push(this.field);
            this.field = '';
            this.state = 'start';
          } else if (newline) this._emit(out);
          else {
            this.error ??= 'unexpected character after a closing quote';
            this.field += c;
            this.state = 'unquoted';
          }
          break;
      }
    }
    return out;
  }

  /** Ends the input; returns the last record, if any. */
  end() {
    const out = [];
    if (this.state === 'quoted') {
      this.error ??= 'unterminated quoted field (a quote opened here is never closed)';
      this._emit(out);
    } else if (this.started || this.fields.length > 0 || this.field !== '') this._emit(out);
    return out;
  }
}

/** Parses a whole CSV text (convenience for small inputs and tests). */
function parseCsv(text, options) {
  const p = new CsvParser(options);
  return [...p.push(text), ...p.end()];
}

const TOP_LEVEL = ['type', 'userId', 'anonymousId', 'messageId', 'event', 'name', 'category', 'groupId', 'previousId', 'timestamp'];
const CONTAINERS = ['properties', 'traits', 'context', 'integrations'];
const VALUE_TYPES = ['auto', 'string', 'number', 'boolean', 'json'];
const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'];
const MESSAGE_TYPES = ['track', 'page', 'screen', 'identify', 'group', 'alias'];

/**
 * Compiles the header row into column rules. Conventions (docs/collector.md, "Imports"):
 * - `type, userId, anonymousId, messageId, event, name, category, groupId, previousId,
 *   timestamp`: top-level fields of the message (always strings; `timestamp` may also be
 *   epoch seconds or milliseconds);
 * - `email`, `phone`: `traits.<x>` on identify and group rows, `context.traits.<x>` on the
 *   others (where identity resolution reads identifiers);
 * - `properties.<path>`, `traits.<path>`, `context.<path>`, `integrations.<path>`: set that
 *   (nested) field; `context.externalIds.<type>` adds `{id, type, collection: "users",
 *   encoding: "none"}` to `context.externalIds`;
 * - any other column: `properties.<column>` (track, page, screen, alias) or
 *   `traits.<column>` (identify, group);
 * - `maps` renames columns first (`--map "Order Total=properties.revenue"`); an empty
 *   target or `-` drops the column;
 * - a `:string`, `:number`, `:boolean` or `:json` suffix forces a value type; otherwise
 *   values are auto-typed: integers and decimals become numbers (not with leading zeros,
 *   not beyond 2^53), `true`/`false` (any case) booleans, anything else stays a string.
 *   Empty cells are left out.
 * @returns {{columns, problems}} problems name the offending column.
 */
function compileHeader(names, maps = {}) {
  const columns = [];
  const problems = [];
  const seen = new Map();
  names.forEach((rawName, index) => {
    const name = rawName.trim();
    let spec = Object.prototype.hasOwnProperty.call(maps, name) ? maps[name].trim() : name;
    if (spec === '' || spec === '-') return;
    let valueType = 'auto';
    const typed = /^(.*):([a-z]+)$/.exec(spec);
    if (typed && VALUE_TYPES.includes(typed[2])) {
      spec = typed[1];
      valueType = typed[2];
    }
    if (spec === '') {
      problems.push(`column ${index + 1} ("${name}") has no name`);
      return;
    }
    const path = spec.split('.');
    if (path.some((p) => p === '' || FORBIDDEN_KEYS.includes(p))) {
      problems.push(`column ${index + 1} ("${name}"): "${spec}" is not a usable field path`);
      return;
    }
    let target;
    if (path.length === 1 && TOP_LEVEL.includes(spec)) target = { kind: 'top', field: spec };
    else if (path.length === 1 && (spec === 'email' || spec === 'phone')) target = { kind: 'identifier', field: spec };
    else if (CONTAINERS.includes(path[0]) && path.length >= 2) {
      if (path[0] === 'context' && path[1] === 'externalIds') {
        if (path.length !== 3) {
          problems.push(`column ${index + 1} ("${name}"): use context.externalIds.<type>, e.g. context.externalIds.crm_id`);
          return;
        }
        target = { kind: 'externalId', idType: path[2] };
      } else target = { kind: 'path', path };
    } else target = { kind: 'auto', path };
    const key =
      target.kind === 'externalId'
        ? `externalId:${target.idType}`
        : target.kind === 'top' || target.kind === 'identifier'
          ? target.field
          : target.path.join('.');
    if (seen.has(key)) {
      problems.push(`columns ${seen.get(key) + 1} and ${index + 1} both set "${key}"`);
      return;
    }
    seen.set(key, index);
    columns.push({ index, name, valueType, target });
  });
  return { columns, problems };
}

const INTEGER_OR_DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?$/;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** Converts a cell per its column type; throws Error with a reason. */
function coerce(raw, valueType) {
  const text = raw.trim();
  switch (valueType) {
    case 'string':
      return raw;
    case 'number': {
      if (!NUMBER.test(text)) throw new Error(`"${raw}" is not a number`);
      return Number(text);
    }
    case 'boolean': {
      const t = text.toLowerCase();
      if (['true', '1', 'yes'].includes(t)) return true;
      if (['false', '0', 'no'].includes(t)) return false;
      throw new Error(`"${raw}" is not a boolean (true/false, 1/0, yes/no)`);
    }
    case 'json':
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`"${raw.slice(0, 40)}" is not valid JSON`);
      }
    default: {
      if (INTEGER_OR_DECIMAL.test(text)) {
        const n = Number(text);
        if (text.includes('.') ? Number.isFinite(n) : Number.isSafeInteger(n)) return n;
        return raw;
      }
      if (/^(true|false)$/i.test(text)) return text.toLowerCase() === 'true';
      return raw;
    }
  }
}

/** `timestamp` cells: ISO-8601 as written; 10 digits = epoch seconds, 13 = epoch ms. */
function timestampOf(raw) {
  const t = raw.trim();
  if (/^\d{10}$/.test(t)) return new Date(Number(t) * 1000).toISOString();
  if (/^\d{13}$/.test(t)) return new Date(Number(t)).toISOString();
  return t;
}

function setPath(obj, path, value) {
  let node = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i];
    if (typeof node[k] !== 'object' || node[k] === null || Array.isArray(node[k])) node[k] = {};
    node = node[k];
  }
  node[path[path.length - 1]] = value;
}

/**
 * One CSV record → one Segment message, per the compiled columns.
 * @param defaults `{type?, event?}` for rows without those columns (type defaults to track).
 * @returns `{message}` or `{errors: [string]}`.
 */
function rowToMessage(columns, fields, defaults = {}) {
  const errors = [];
  const message = {};
  const typeColumn = columns.find((c) => c.target.kind === 'top' && c.target.field === 'type');
  const typeCell = typeColumn ? (fields[typeColumn.index] ?? '').trim() : '';
  const type = typeCell || defaults.type || 'track';
  if (!MESSAGE_TYPES.includes(type)) errors.push(`type "${type}" is not one of ${MESSAGE_TYPES.join(', ')}`);
  const traitsLike = type === 'identify' || type === 'group';
  message.type = type;
  for (const col of columns) {
    const raw = fields[col.index];
    if (raw === undefined || raw.trim() === '') continue;
    const t = col.target;
    try {
      if (t.kind === 'top') {
        if (t.field === 'type') continue;
        message[t.field] = t.field === 'timestamp' ? timestampOf(raw) : col.valueType === 'auto' ? raw.trim() : coerce(raw, col.valueType);
      } else if (t.kind === 'identifier') {
        const value = raw.trim();
        if (traitsLike) setPath(message, ['traits', t.field], value);
        else setPath(message, ['context', 'traits', t.field], value);
      } else if (t.kind === 'externalId') {
        message.context ??= {};
        message.context.externalIds ??= [];
        message.context.externalIds.push({ id: raw.trim(), type: t.idType, collection: 'users', encoding: 'none' });
      } else if (t.kind === 'path') {
        setPath(message, t.path, coerce(raw, col.valueType));
      } else {
        setPath(message, [traitsLike ? 'traits' : 'properties', ...t.path], coerce(raw, col.valueType));
      }
    } catch (err) {
      errors.push(`column "${col.name}": ${err.message}`);
    }
  }
  if (message.event === undefined && type === 'track' && defaults.event) message.event = defaults.event;
  return errors.length ? { errors } : { message };
}

/**
 * Builds request bodies of at most `maxBytes` whose body line N stands for file line
 * `lineOffset + N`: rows are NDJSON lines, and file lines that send nothing (blank lines,
 * continuation lines of multi-line CSV records, rows rejected locally) become blank lines,
 * so the collector's line numbers (with `?lineOffset=`) are the file's. A gap of more than
 * `maxGap` lines starts a new chunk instead of padding.
 */
class ChunkBuilder {
  constructor(maxBytes, maxGap = 1000) {
    this.maxBytes = maxBytes;
    this.maxGap = maxGap;
    this._reset();
  }

  _reset() {
    this.parts = [];
    this.bytes = 0;
    this.rows = 0;
    this.firstLine = 0;
    this.nextLine = 0;
  }

  /**
   * Adds the JSON text of the row that starts at file line `line` (lines strictly increase).
   * Returns the chunk completed to make room for it, or null. A row larger than maxBytes
   * throws RangeError (the caller reports it).
   */
  add(json, line) {
    const size = Buffer.byteLength(json, 'utf8') + 1;
    if (size > this.maxBytes) throw new RangeError(`row is ${size} bytes; a request carries at most ${this.maxBytes}`);
    let done = null;
    if (this.rows > 0) {
      const gap = line - this.nextLine;
      if (gap > this.maxGap || this.bytes + gap + size > this.maxBytes) done = this.flush();
    }
    if (this.rows === 0) {
      this.firstLine = line;
      this.nextLine = line;
    }
    const gap = line - this.nextLine;
    if (gap > 0) {
      this.parts.push('\n'.repeat(gap));
      this.bytes += gap;
    }
    this.parts.push(json, '\n');
    this.bytes += size;
    this.rows++;
    this.nextLine = line + 1;
    return done;
  }

  /** The pending chunk (`{body, lineOffset, rows, firstLine, lastLine, bytes}`) or null. */
  flush() {
    if (this.rows === 0) return null;
    const chunk = {
      body: this.parts.join(''),
      lineOffset: this.firstLine - 1,
      rows: this.rows,
      firstLine: this.firstLine,
      lastLine: this.nextLine - 1,
      bytes: this.bytes,
    };
    this._reset();
    return chunk;
  }
}

/** `line 12: event must be a non-empty string; ...` */
function describeRejection(r) {
  const reasons = (r.errors ?? []).map((e) => {
    if (typeof e === 'string') return e;
    const msg = e.message ?? e.code ?? 'rejected';
    return e.path && !msg.includes(e.path) ? `${e.path}: ${msg}` : msg;
  });
  return `line ${r.line}: ${reasons.join('; ') || 'rejected'}`;
}

module.exports = { CsvParser, parseCsv, compileHeader, rowToMessage, coerce, ChunkBuilder, describeRejection };
