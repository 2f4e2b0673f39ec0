import { Schemas, type BadEvent } from '@mosaic/contracts';
import { boundBadRecord, type BadRecord, type BadRecordSink } from '@mosaic/collector-domain';
import { produceMessages, type MessageSender, type ProduceMeta } from '@mosaic/shared-kafka';

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

/** The bad event of a record, bounded to fit one Kafka record and the contract (boundBadRecord). */
export function toBadEvent(bad: BadRecord): { payload: BadEvent; meta: ProduceMeta } {
  const { record } = bad;
  const { reasons, reasonCount, value, valueTruncatedFrom } = boundBadRecord(bad);
  const payload: BadEvent = {
    sourceTopic: record.topic,
    partition: record.partition,
    offset: record.offset,
    valueBase64: value.toString('base64'),
    reasons,
    accepted: bad.accepted,
    refusedAt: new Date().toISOString(),
  };
  if (record.key !== null) payload.key = record.key;
  if (bad.sourceId !== undefined) payload.sourceId = bad.sourceId;
  if (reasonCount !== undefined) payload.reasonCount = reasonCount;
  if (valueTruncatedFrom !== undefined) payload.valueTruncatedFrom = valueTruncatedFrom;
  // One id per record: a redelivered record's bad event is recognisably the same one.
  const messageId = `bad:${record.topic}:${record.partition}:${record.offset}`;
  const headers: Record<string, string> = valueTruncatedFrom === undefined ? {} : { valueTruncatedFrom: String(valueTruncatedFrom) };
  return { payload, meta: { key: record.key, producer: 'collector', messageId, headers } };
}
