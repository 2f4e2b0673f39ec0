import { Schemas, type BadEvent } from '@mosaic/contracts';
import type { BadRecord, BadRecordSink } from '@mosaic/collector-domain';
import { produceMessages, type MessageSender, type ProduceMeta } from '@mosaic/shared-kafka';

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
