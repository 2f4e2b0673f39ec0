import { DedupWindow, Ingestor, type BadRecord, type EventPublisher, type IngestRecord, type NormalizedEvent } from '@mosaic/collector-domain';
import { IngestRecords } from './ingest-records.use-case';

const at = new Date('2026-01-01T00:00:00.000Z');
const record = (value: unknown, headers: Record<string, string> = { writeKey: 'wk' }, offset = '7'): IngestRecord => ({
  topic: 'mosaic.events.ingest',
  partition: 0,
  offset,
  key: 'a-1',
  value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers,
});

describe('IngestRecords', () => {
  function setup() {
    const published: NormalizedEvent[] = [];
    const bad: BadRecord[] = [];
    const publisher: EventPublisher = { publish: async (e) => void published.push(...e) };
    const ingestor = new Ingestor(publisher, new DedupWindow({ windowMs: 60_000, maxEntries: 100, clock: () => 0 }));
    const sources = { resolve: async (k: string) => (k === 'wk' ? { id: 'src' } : null) };
    const records = new IngestRecords(sources, ingestor, { publish: async (b) => void bad.push(...b) }, undefined, () => at);
    return { published, bad, records };
  }

  it('publishes accepted events, refuses missing and unknown write keys, and counts per source', async () => {
    const { published, bad, records } = setup();
    const good = { type: 'identify', anonymousId: 'a-1', userId: 'u-1', messageId: 'm-1' };
    const outcome = await records.execute([record(good), record(good, {}), record(good, { writeKey: 'revoked' }), record(good, undefined, '9')]);
    expect(published.map((e) => e.messageId)).toEqual(['m-1']);
    expect(outcome.events).toEqual({ published: 1, duplicates: 1 });
    expect(bad.map((b) => [b.sourceId, b.reasons[0]?.path, b.reasons[0]?.code])).toEqual([
      [undefined, 'header.writeKey', 'required'],
      [undefined, 'header.writeKey', 'invalid_value'],
    ]);
    expect([...outcome.records]).toEqual([
      ['src', { accepted: 2, refused: 0 }],
      ['', { accepted: 0, refused: 2 }],
    ]);
  });

  it('does not remember events whose produce failed, so a redelivered record is produced', async () => {
    const bad: BadRecord[] = [];
    let fail = true;
    const published: string[] = [];
    const publisher: EventPublisher = {
      publish: async (e) => {
        if (fail) throw new Error('broker down');
        published.push(...e.map((x) => x.messageId));
      },
    };
    const records = new IngestRecords(
      { resolve: async () => ({ id: 'src' }) },
      new Ingestor(publisher, new DedupWindow({ windowMs: 60_000, maxEntries: 100, clock: () => 0 })),
      { publish: async (b) => void bad.push(...b) },
    );
    const r = record({ type: 'page', anonymousId: 'a' });
    await expect(records.execute([r])).rejects.toThrow('broker down');
    fail = false;
    await records.execute([r]);
    await records.execute([r]);
    expect(published).toHaveLength(1);
  });
});
