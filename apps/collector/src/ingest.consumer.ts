import { Schemas, type BadEvent } from '@mosaic/contracts';
import { RecordIngestor, type BadRecord, type BadRecordSink, type Ingestor, type RecordsOutcome, type SourceResolver } from '@mosaic/collector-domain';
import { produceMessages, type InboundMessage, type MessageSender, type ProduceMeta } from '@mosaic/shared-kafka';
import { Counter, getOrCreate, type Registry } from '@mosaic/shared-logging';
import type { Platform } from '@mosaic/shared-service';

/** Largest original value copied into a bad event (base64 grows it by 4/3; the broker takes 1 MB). */
const MAX_COPIED_BYTES = 512 * 1024;

/** Adapter: writes refused records of `events.ingest` to `events.bad`, keyed like the original. */
export class KafkaBadRecordPublisher implements BadRecordSink {
  constructor(
    private readonly producer: MessageSender,
    private readonly topic: string,
  ) {}

  async publish(records: readonly BadRecord[]): Promise<void> {
    await produceMessages(this.producer, this.topic, Schemas.badEvent, records.map(toBadEvent));
  }
}

function toBadEvent(bad: BadRecord): { payload: BadEvent; meta: ProduceMeta } {
  const { record } = bad;
  const value = record.value ?? Buffer.alloc(0);
  const truncated = value.length > MAX_COPIED_BYTES;
  const payload: BadEvent = {
    sourceTopic: record.topic,
    partition: record.partition,
    offset: record.offset,
    valueBase64: (truncated ? value.subarray(0, MAX_COPIED_BYTES) : value).toString('base64'),
    reasons: bad.reasons,
    accepted: bad.accepted,
    refusedAt: new Date().toISOString(),
  };
  if (record.key !== null) payload.key = record.key;
  if (bad.sourceId !== undefined) payload.sourceId = bad.sourceId;
  // One id per record: a redelivered record's bad event is recognisably the same one.
  const messageId = `bad:${record.topic}:${record.partition}:${record.offset}`;
  const headers: Record<string, string> = truncated ? { valueTruncatedFrom: String(value.length) } : {};
  return { payload, meta: { key: record.key, producer: 'collector', messageId, headers } };
}

/** Records per source and outcome, and events through the shared ingestion counter (route="kafka"). */
function ingestMetrics(registry: Registry): (outcome: RecordsOutcome) => void {
  const records = new Counter({
    name: 'mosaic_collector_ingest_records_total',
    help: 'Records of events.ingest by source (sourceId, or "unknown" without a usable write key) and outcome (accepted, refused)',
    labelNames: ['source', 'outcome'],
    registers: [registry],
  });
  const events = getOrCreate(
    registry,
    'mosaic_collector_events_total',
    () => new Counter({ name: 'mosaic_collector_events_total', help: 'Events by route and outcome (accepted, duplicate, rejected)', labelNames: ['route', 'outcome'], registers: [registry] }),
  );
  return ({ records: bySource, events: outcome }) => {
    for (const [sourceId, t] of bySource) {
      const source = sourceId || 'unknown';
      if (t.accepted) records.inc({ source, outcome: 'accepted' }, t.accepted);
      if (t.refused) records.inc({ source, outcome: 'refused' }, t.refused);
    }
    if (outcome.published) events.inc({ route: 'kafka', outcome: 'accepted' }, outcome.published);
    if (outcome.duplicates) events.inc({ route: 'kafka', outcome: 'duplicate' }, outcome.duplicates);
  };
}

/**
 * `events.ingest` → the HTTP path's validation and Ingestor → `events.raw`, refusals →
 * `events.bad`. The consumer host commits a batch only after this resolves.
 */
export function registerIngestConsumer(platform: Platform, ingestor: Ingestor, sources: SourceResolver): void {
  const bad = new KafkaBadRecordPublisher(platform.producer, platform.topics.eventsBad);
  const recordIngestor = new RecordIngestor(sources, ingestor, bad);
  const count = ingestMetrics(platform.runtime.metrics);
  platform.consumers().register({
    topic: 'eventsIngest',
    handler: async (messages: InboundMessage[]) => count(await recordIngestor.ingest(messages)),
  });
}
