import { checkRecord, recordIdGenerator, type IngestRecord } from './kafka-ingest';

const at = new Date('2026-01-01T00:00:00.000Z');
const record = (value: unknown, headers: Record<string, string> = { writeKey: 'wk' }, offset = '7'): IngestRecord => ({
  topic: 'mosaic.events.ingest',
  partition: 0,
  offset,
  key: 'a-1',
  value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers,
});

describe('checkRecord', () => {
  it('takes one message with its own type, through the HTTP rules', () => {
    const r = checkRecord(record({ type: 'track', anonymousId: 'a-1', event: 'Viewed', writeKey: 'x' }), 'src', at);
    expect(r.reasons).toEqual([]);
    expect(r.events).toEqual([expect.objectContaining({ type: 'track', event: 'Viewed', sourceId: 'src', receivedAt: at.toISOString() })]);
    expect(r.events[0]).not.toHaveProperty('writeKey');
  });

  it('refuses a record without type, with an unknown type, not JSON, empty or not an object', () => {
    const codes = [{ anonymousId: 'a', event: 'x' }, { type: 'nope', anonymousId: 'a' }, '{"type":', null, '[1]'].map(
      (v) => checkRecord(record(v), 'src', at).reasons,
    );
    expect(codes.map((r) => [r[0]?.path, r[0]?.code])).toEqual([
      ['type', 'required'],
      ['type', 'invalid_value'],
      ['', 'malformed_json'],
      ['', 'empty_body'],
      ['', 'invalid_body'],
    ]);
  });

  it('takes a batch item by item, naming the refused items', () => {
    const r = checkRecord(
      record({
        batch: [
          { type: 'page', anonymousId: 'a' },
          { type: 'track', anonymousId: 'a' },
        ],
      }),
      'src',
      at,
    );
    expect(r.events.map((e) => e.type)).toEqual(['page']);
    expect(r.reasons).toEqual([{ index: 1, path: 'event', code: 'required', message: 'event must be a non-empty string' }]);
  });

  it('gives messages without messageId ids derived from the record position (a redelivery repeats them)', () => {
    const body = {
      batch: [
        { type: 'page', anonymousId: 'a' },
        { type: 'page', anonymousId: 'b' },
      ],
    };
    const ids = (offset: string) => checkRecord(record(body, undefined, offset), 'src', at).events.map((e) => e.messageId);
    expect(ids('7')).toEqual(ids('7'));
    expect(ids('7')[0]).not.toBe(ids('7')[1]);
    expect(ids('8')[0]).not.toBe(ids('7')[0]);
    expect(recordIdGenerator({ topic: 't', partition: 0, offset: '1' })()).toMatch(/^kafka-[0-9a-f]{32}-0$/);
  });
});
