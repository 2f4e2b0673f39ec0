/**
 * Bulk imports (`POST /v1/import`): a body of NDJSON, one Segment message per line, each
 * with its own `type`, for POS sales, CRM contacts and order history.
 *
 * Rules:
 * - lines are separated by `\n` (`\r\n` accepted); blank lines are skipped but counted, so
 *   line numbers are the file's; `lineOffset` (the number of lines before this body in the
 *   file) is added, so a client sending a big file in chunks gets file line numbers back;
 * - each line is parsed safely (`parseJsonBody` rules) and validated like a `/v1/batch` item
 *   (`validateMessage`: same fields, the 32 KB per-message limit, key escaping); the refused
 *   rows are counted, and the first of them listed (refusals.ts);
 * - historical timestamps are kept: no skew correction unless the row carries its own
 *   `sentAt` (then Segment's rule applies); future times are clamped to the receive time;
 * - `context.ip` / `context.userAgent` are NOT filled from the request: the importing
 *   machine is not where the events happened;
 * - IDEMPOTENCE: a row without `messageId` gets a deterministic one, `imp-` + the first 32
 *   hex digits of SHA-256(sourceId + "\n" + canonical JSON of the row without `sentAt` and
 *   `writeKey`), canonical = keys sorted at every level. Re-importing the same file yields
 *   the same ids, so the collector's de-duplication window drops them at once and every
 *   later stage (idempotent on messageId) would ignore them anyway. Consequence: two
 *   byte-identical rows are one event (the second is reported as a duplicate); give rows
 *   a `messageId` (e.g. the order id) when identical rows are distinct events.
 */
import { createHash } from 'node:crypto';
import { type CollectorErrorCode, type ValidationIssue } from './errors';
import { CollectorInputError } from './errors';
import { findJsonSyntaxError, parseJsonBody } from './json';
import { MESSAGE_TYPES, isMessageType, validateMessage, type NormalizedEvent } from './message';
import { Refusals } from './refusals';
import { isPlainObject } from './sanitize';

export interface ImportOptions {
  sourceId: string;
  receivedAt: Date;
  /** Lines of the file before this body (default 0). */
  lineOffset?: number;
}

export interface ImportRejectedRow {
  /** 1-based line number in the file (body line + lineOffset). */
  line: number;
  messageId?: string;
  errors: ValidationIssue[];
}

export interface ImportParseResult {
  accepted: NormalizedEvent[];
  /** The first refused rows (see refusals.ts). */
  rejected: ImportRejectedRow[];
  /** Every refused row, listed or not. */
  rejectedCount: number;
  /** Non-blank lines seen. */
  rows: number;
  /** Lines in the body, blank ones included. */
  lines: number;
}

/** Largest `lineOffset` accepted. */
export const MAX_IMPORT_LINE_OFFSET = 1e12;

/** JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The deterministic messageId of an imported row that has none (see the file comment). */
export function importMessageId(sourceId: string, row: Record<string, unknown>): string {
  const rest: Record<string, unknown> = {};
  for (const key of Object.keys(row)) if (key !== 'sentAt' && key !== 'writeKey' && key !== 'messageId') rest[key] = row[key];
  return `imp-${createHash('sha256')
    .update(`${sourceId}\n${canonicalJson(rest)}`, 'utf8')
    .digest('hex')
    .slice(0, 32)}`;
}

/**
 * Import media types: NDJSON (`application/x-ndjson`, `application/ndjson`,
 * `application/jsonl`, `application/x-jsonlines`), `application/json` (read as lines),
 * `text/plain`, or none. UTF-8 only.
 */
export function checkImportContentType(contentType: string | undefined): CollectorInputError | undefined {
  if (contentType === undefined || contentType.trim() === '') return undefined;
  const [rawType = '', ...params] = contentType.split(';');
  const type = rawType.trim().toLowerCase();
  const ok = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines', 'application/json', 'text/plain'].includes(type);
  if (!ok)
    return new CollectorInputError(
      415,
      'unsupported_media_type',
      `Content-Type ${type || '(empty)'} is not supported; send application/x-ndjson (one JSON message per line)`,
    );
  for (const param of params) {
    const [name = '', value = ''] = param.split('=').map((s) =>
      s
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .toLowerCase(),
    );
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8')
      return new CollectorInputError(415, 'unsupported_media_type', `charset ${value} is not supported; send UTF-8`);
  }
  return undefined;
}

/** Parses `?lineOffset=` (absent → 0). */
export function parseLineOffset(raw: unknown): number | CollectorInputError {
  if (raw === undefined || raw === null || raw === '') return 0;
  const text = Array.isArray(raw) ? String(raw[0]) : String(raw);
  if (!/^\d{1,13}$/.test(text) || Number(text) > MAX_IMPORT_LINE_OFFSET) {
    return new CollectorInputError(400, 'invalid_value', 'lineOffset must be a non-negative integer (the number of file lines before this body)', 'lineOffset');
  }
  return Number(text);
}

function rowIssue(code: CollectorErrorCode, message: string, path = ''): ValidationIssue {
  return { path, code, message };
}

/**
 * Parses and validates an import body (see the file comment).
 * @throws CollectorInputError 400 `empty_body` when the body has no non-blank line.
 */
export function parseImportBody(text: string, opts: ImportOptions): ImportParseResult {
  const offset = opts.lineOffset ?? 0;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const accepted: NormalizedEvent[] = [];
  const refusals = new Refusals<ImportRejectedRow>();
  let rows = 0;
  let start = 0;
  let index = 0;
  while (start <= body.length) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    if (end === body.length && start === body.length) break; // trailing newline: no extra line
    index++;
    let line = body.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    start = end + 1;
    if (line.trim() === '') continue;
    rows++;
    const lineNo = offset + index;
    let row: unknown;
    try {
      row = parseJsonBody(line);
    } catch (err) {
      if (!(err instanceof CollectorInputError)) throw err;
      let issue = err.toIssue();
      if (err.code === 'malformed_json') {
        const found = findJsonSyntaxError(line);
        issue = rowIssue('malformed_json', found ? `line is not valid JSON: ${found.reason} at column ${found.position + 1}` : 'line is not valid JSON');
      }
      refusals.add({ line: lineNo, errors: [issue] });
      continue;
    }
    if (!isPlainObject(row)) {
      refusals.add({ line: lineNo, errors: [rowIssue('invalid_body', 'line must be a JSON object (one Segment message)')] });
      continue;
    }
    const type = row['type'];
    if (!isMessageType(type)) {
      const missing = type === undefined || type === null;
      refusals.add({
        line: lineNo,
        ...messageIdOf(row),
        errors: [
          rowIssue(
            missing ? 'required' : 'invalid_value',
            missing ? `type is required (one of ${MESSAGE_TYPES.join(', ')})` : `type must be one of ${MESSAGE_TYPES.join(', ')}`,
            'type',
          ),
        ],
      });
      continue;
    }
    const record = row;
    const validated = validateMessage(record, type, {
      sourceId: opts.sourceId,
      receivedAt: opts.receivedAt,
      idGenerator: () => importMessageId(opts.sourceId, record),
    });
    if (validated.ok) accepted.push(validated.message);
    else refusals.add({ line: lineNo, ...messageIdOf(row), errors: validated.errors });
  }
  if (rows === 0) throw new CollectorInputError(400, 'empty_body', 'import body has no rows; send one JSON message per line');
  return { accepted, rejected: refusals.listed, rejectedCount: refusals.count, rows, lines: index };
}

function messageIdOf(row: Record<string, unknown>): { messageId?: string } {
  const id = row['messageId'];
  if (typeof id === 'string' && id !== '') return { messageId: id };
  if (typeof id === 'number' && Number.isFinite(id)) return { messageId: String(id) };
  return {};
}
