import {
  WRITE_KEY_HEADER,
  checkRecord,
  type BadRecord,
  type BadRecordSink,
  type IngestRecord,
  type Ingestor,
  type NormalizedEvent,
  type RecordIssue,
  type RecordTally,
  type RecordsOutcome,
  type SourceResolver,
} from '@mosaic/collector-domain';
import type { Counter } from '@mosaic/shared-logging';

/** The counters of the service's metrics this use case feeds. */
export interface IngestRecordsMetrics {
  /** Records by source (sourceId, or "unknown" without a usable write key) and outcome. */
  records: Counter<'source' | 'outcome'>;
  /** Events by route (here "kafka") and outcome, shared with the HTTP routes. */
  events: Counter<'route' | 'outcome'>;
}

interface Checked {
  sourceId?: string;
  events: NormalizedEvent[];
  bad?: BadRecord;
}

/**
 * `events.ingest` → `events.raw` and `events.bad`: validates each record of a batch with the
 * HTTP path's rules (see the domain's kafka-ingest.ts), produces the accepted events through the
 * Ingestor and the refused records through the bad-record sink. Resolving means both are
 * stored, so the consumer may commit the batch.
 */
export class IngestRecords {
  constructor(
    private readonly sources: SourceResolver,
    private readonly ingestor: Ingestor,
    private readonly bad: BadRecordSink,
    private readonly metrics?: IngestRecordsMetrics,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async execute(records: readonly IngestRecord[]): Promise<RecordsOutcome> {
    const checked: Checked[] = [];
    for (const record of records) checked.push(await this.check(record));
    // Order matters only within a partition, and both produces keep the records' order.
    const outcome = await this.ingestor.ingest(checked.flatMap((c) => c.events));
    const bad = checked.flatMap((c) => (c.bad ? [c.bad] : []));
    if (bad.length) await this.bad.publish(bad);
    const result = { records: tally(checked), events: outcome };
    if (this.metrics) count(this.metrics, result);
    return result;
  }

  private async check(record: IngestRecord): Promise<Checked> {
    const writeKey = record.headers[WRITE_KEY_HEADER]?.trim();
    if (!writeKey)
      return refused(record, [
        { path: `header.${WRITE_KEY_HEADER}`, code: 'required', message: `the record has no ${WRITE_KEY_HEADER} header naming its source` },
      ]);
    const source = await this.sources.resolve(writeKey);
    if (!source) return refused(record, [{ path: `header.${WRITE_KEY_HEADER}`, code: 'invalid_value', message: 'unknown or revoked write key' }]);
    const { events, reasons, reasonCount } = checkRecord(record, source.id, this.now());
    if (!reasons.length) return { sourceId: source.id, events };
    const bad: BadRecord = { record, sourceId: source.id, reasons, accepted: events.length };
    if (reasonCount !== undefined) bad.reasonCount = reasonCount;
    return { sourceId: source.id, events, bad };
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

function count(metrics: IngestRecordsMetrics, { records: bySource, events: outcome }: RecordsOutcome): void {
  for (const [sourceId, t] of bySource) {
    const source = sourceId || 'unknown';
    if (t.accepted) metrics.records.inc({ source, outcome: 'accepted' }, t.accepted);
    if (t.refused) metrics.records.inc({ source, outcome: 'refused' }, t.refused);
  }
  if (outcome.published) metrics.events.inc({ route: 'kafka', outcome: 'accepted' }, outcome.published);
  if (outcome.duplicates) metrics.events.inc({ route: 'kafka', outcome: 'duplicate' }, outcome.duplicates);
}
