/**
 * Ingestion from Kafka (`events.ingest`): any producer writes plain Segment-spec JSON, one
 * message or one `batch` body per record, and names its source with the `writeKey` record
 * header. Each record goes through the HTTP path's own code (ingest-body.ts, then the
 * Ingestor's de-duplication and publisher). A record, or the items of a batch, that cannot
 * be accepted become one bad record with the reasons; it never holds up the records after it.
 *
 * Exactly once into `events.raw`: the consumer commits only after both the accepted events and
 * the bad records are acknowledged, and a message without `messageId` gets one derived from
 * the record's topic, partition, offset and position, so a redelivered record yields the same
 * messageIds (the de-duplication window and every later stage drop the repeats).
 */
import { createHash } from 'node:crypto';
import { CollectorInputError, type ValidationIssue } from './errors';
import { parseIngestBody, routeOfBody, validateIngestBody } from './ingest-body';
import type { IngestOutcome, Ingestor } from './ingestor';
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
  reasons: RecordIssue[];
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

interface Checked {
  sourceId?: string;
  events: NormalizedEvent[];
  bad?: BadRecord;
}

/** Deterministic messageIds for the messages of one record that carry none. */
export function recordIdGenerator(record: Pick<IngestRecord, 'topic' | 'partition' | 'offset'>): () => string {
  const base = createHash('sha256').update(`${record.topic}\n${record.partition}\n${record.offset}`, 'utf8').digest('hex').slice(0, 32);
  let n = 0;
  return () => `kafka-${base}-${n++}`;
}

/** Validates one record of a known source (pure: the HTTP path's rules, `receivedAt` = now). */
export function checkRecord(record: IngestRecord, sourceId: string, receivedAt: Date): { events: NormalizedEvent[]; reasons: RecordIssue[] } {
  const opts = { sourceId, receivedAt, idGenerator: recordIdGenerator(record) };
  try {
    const raw = record.value ?? Buffer.alloc(0);
    const body = parseIngestBody(raw, 'batch');
    const route = routeOfBody(body);
    const result = validateIngestBody(body, route, opts);
    const single = route !== 'batch';
    const reasons = result.rejected.flatMap((r) => r.errors.map((e) => (single ? e : { ...e, index: r.index })));
    return { events: result.accepted, reasons };
  } catch (err) {
    if (err instanceof CollectorInputError) return { events: [], reasons: [err.toIssue()] };
    throw err;
  }
}

/** The Kafka ingestion use case over the ports; resolve means everything is stored. */
export class RecordIngestor {
  constructor(
    private readonly sources: SourceResolver,
    private readonly ingestor: Ingestor,
    private readonly bad: BadRecordSink,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async ingest(records: readonly IngestRecord[]): Promise<RecordsOutcome> {
    const checked: Checked[] = [];
    for (const record of records) checked.push(await this.check(record));
    // Order matters only within a partition, and both produces keep the records' order.
    const outcome = await this.ingestor.ingest(checked.flatMap((c) => c.events));
    const bad = checked.flatMap((c) => (c.bad ? [c.bad] : []));
    if (bad.length) await this.bad.publish(bad);
    return { records: tally(checked), events: outcome };
  }

  private async check(record: IngestRecord): Promise<Checked> {
    const writeKey = record.headers[WRITE_KEY_HEADER]?.trim();
    if (!writeKey) return refused(record, [{ path: `header.${WRITE_KEY_HEADER}`, code: 'required', message: `the record has no ${WRITE_KEY_HEADER} header naming its source` }]);
    const source = await this.sources.resolve(writeKey);
    if (!source) return refused(record, [{ path: `header.${WRITE_KEY_HEADER}`, code: 'invalid_value', message: 'unknown or revoked write key' }]);
    const { events, reasons } = checkRecord(record, source.id, this.now());
    if (!reasons.length) return { sourceId: source.id, events };
    return { sourceId: source.id, events, bad: { record, sourceId: source.id, reasons, accepted: events.length } };
  }
}

function refused(record: IngestRecord, reasons: RecordIssue[]): Checked {
  return { events: [], bad: { record, reasons, accepted: 0 } };
}

function tally(checked: Checked[]): RecordTally {
  const out: RecordTally = new Map();
  for (const c of checked) {
    const t = out.get(c.sourceId ?? '') ?? { accepted: 0, refused: 0 };
    if (c.bad) t.refused++;
    else t.accepted++;
    out.set(c.sourceId ?? '', t);
  }
  return out;
}
