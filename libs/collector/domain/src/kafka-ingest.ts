/**
 * Ingestion from Kafka (`events.ingest`): any producer writes plain Segment-spec JSON, one
 * message or one `batch` body per record, and names its source with the `writeKey` record
 * header. Each record goes through the HTTP path's own code (ingest-body.ts, then the
 * Ingestor's de-duplication and publisher; the application's IngestRecords runs them). A
 * record, or the items of a batch, that cannot be accepted become one bad record with the
 * reasons; it never holds up the records after it.
 *
 * Exactly once into `events.raw`: the consumer commits only after both the accepted events and
 * the bad records are acknowledged, and a message without `messageId` gets one derived from
 * the record's topic, partition, offset and position, so a redelivered record yields the same
 * messageIds (the de-duplication window and every later stage drop the repeats).
 */
import { createHash } from 'node:crypto';
import { CollectorInputError, type ValidationIssue } from './errors';
import { parseIngestBody, routeOfBody, validateIngestBody } from './ingest-body';
import type { IngestOutcome } from './ingestor';
import { MAX_BAD_REASONS_BYTES, MAX_BAD_VALUE_BYTES, MAX_REASON_TEXT_LENGTH, jsonByteLength } from './limits';
import type { NormalizedEvent } from './message';

/** The record header that carries the source's write key. */
export const WRITE_KEY_HEADER = 'writeKey';

/** One record of `events.ingest`, headers decoded to strings. */
export interface IngestRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** A refusal reason: the HTTP API's issue, with the batch position for a batch item. */
export interface RecordIssue extends ValidationIssue {
  index?: number;
}

export interface BadRecord {
  record: IngestRecord;
  sourceId?: string;
  /** The first reasons (those of the first refused items, see refusals.ts). */
  reasons: RecordIssue[];
  /** Every reason, when `reasons` holds only the first. */
  reasonCount?: number;
  /** Items of the same batch that were accepted. */
  accepted: number;
}

/** Port: resolves an active source by write key (null when unknown or revoked). */
export interface SourceResolver {
  resolve(writeKey: string): Promise<{ id: string } | null>;
}

/** Port: stores bad records durably (the bad-events topic) or rejects. */
export interface BadRecordSink {
  publish(records: readonly BadRecord[]): Promise<void>;
}

/** Records accepted and refused per source id (`''` = no usable write key). */
export type RecordTally = Map<string, { accepted: number; refused: number }>;

export interface RecordsOutcome {
  /** A record is refused when any of its messages is (it then has a bad record). */
  records: RecordTally;
  /** Accepted events produced, and those dropped as duplicates. */
  events: IngestOutcome;
}

/** Deterministic messageIds for the messages of one record that carry none. */
export function recordIdGenerator(record: Pick<IngestRecord, 'topic' | 'partition' | 'offset'>): () => string {
  const base = createHash('sha256').update(`${record.topic}\n${record.partition}\n${record.offset}`, 'utf8').digest('hex').slice(0, 32);
  let n = 0;
  return () => `kafka-${base}-${n++}`;
}

/** Validates one record of a known source (pure: the HTTP path's rules, `receivedAt` = now). */
export function checkRecord(
  record: IngestRecord,
  sourceId: string,
  receivedAt: Date,
): { events: NormalizedEvent[]; reasons: RecordIssue[]; reasonCount?: number } {
  const opts = { sourceId, receivedAt, idGenerator: recordIdGenerator(record) };
  try {
    const raw = record.value ?? Buffer.alloc(0);
    const body = parseIngestBody(raw, 'batch');
    const route = routeOfBody(body);
    const result = validateIngestBody(body, route, opts);
    const single = route !== 'batch';
    const reasons = result.rejected.flatMap((r) => r.errors.map((e) => (single ? e : { ...e, index: r.index })));
    return { events: result.accepted, reasons, ...(result.issueCount > reasons.length ? { reasonCount: result.issueCount } : {}) };
  } catch (err) {
    if (err instanceof CollectorInputError) return { events: [], reasons: [err.toIssue()] };
    throw err;
  }
}

/** What of a bad record goes into its bad event: bounded so that it fits one Kafka record (see MAX_BAD_VALUE_BYTES). */
export interface BoundedBadRecord {
  reasons: RecordIssue[];
  /** Every reason, when `reasons` holds only the first. */
  reasonCount?: number;
  /** The record's value, or its first MAX_BAD_VALUE_BYTES. */
  value: Buffer;
  /** The value's size, when `value` is only its first MAX_BAD_VALUE_BYTES. */
  valueTruncatedFrom?: number;
}

export function boundBadRecord(bad: BadRecord): BoundedBadRecord {
  const value = bad.record.value ?? Buffer.alloc(0);
  const reasons: RecordIssue[] = [];
  let bytes = 0;
  for (const reason of bad.reasons) {
    const cut = { ...reason, path: cutText(reason.path), message: cutText(reason.message) };
    bytes += jsonByteLength(cut) + 1;
    // The first reason always goes in (cut, it is at most a few KB).
    if (reasons.length > 0 && bytes > MAX_BAD_REASONS_BYTES) break;
    reasons.push(cut);
  }
  const total = Math.max(bad.reasonCount ?? 0, bad.reasons.length);
  const out: BoundedBadRecord = { reasons, value: value.length > MAX_BAD_VALUE_BYTES ? value.subarray(0, MAX_BAD_VALUE_BYTES) : value };
  if (total > reasons.length) out.reasonCount = total;
  if (value.length > MAX_BAD_VALUE_BYTES) out.valueTruncatedFrom = value.length;
  return out;
}

/** `text`, or its first MAX_REASON_TEXT_LENGTH characters and `…` (never half of a surrogate pair). */
function cutText(text: string): string {
  if (text.length <= MAX_REASON_TEXT_LENGTH) return text;
  let end = MAX_REASON_TEXT_LENGTH;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
