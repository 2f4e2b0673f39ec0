import { boundBadRecord, checkRecord, recordIdGenerator, type IngestRecord } from './kafka-ingest';
import { MAX_BAD_REASONS_BYTES, MAX_BAD_VALUE_BYTES, MAX_LISTED_ISSUES, MAX_REASON_TEXT_LENGTH, jsonByteLength } from './limits';

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

describe('bad records fit one Kafka record and the events.bad contract', () => {
  // each item: no id, no event, 64 external ids without id and type: 130 reasons
  const noisy = { type: 'track', context: { externalIds: Array.from({ length: 64 }, () => ({})) } };

  it('lists the reasons of the first refused items and counts them all', () => {
    const r = checkRecord(record({ batch: Array.from({ length: 1_500 }, () => noisy) }), 'src', at);
    expect(r.reasons.length).toBeLessThanOrEqual(MAX_LISTED_ISSUES);
    expect(r.reasons[0]).toMatchObject({ index: 0 });
    expect(r.reasonCount).toBe(1_500 * 130);
    const bounded = boundBadRecord({ record: record('x'), reasons: r.reasons, reasonCount: r.reasonCount, accepted: 0 });
    expect(bounded.reasonCount).toBe(1_500 * 130);
  });

  it('cuts long paths and messages, keeps at most MAX_BAD_REASONS_BYTES of reasons, and counts what it left out', () => {
    const long = 'k'.repeat(30_000);
    const reasons = Array.from({ length: 200 }, (_, index) => ({
      path: `properties.${long}`,
      code: 'nested_array' as const,
      message: `${long} is bad`,
      index,
    }));
    const bounded = boundBadRecord({ record: record('x'), reasons, accepted: 3 });
    expect(bounded.reasons[0]?.path).toHaveLength(MAX_REASON_TEXT_LENGTH + 1);
    expect(bounded.reasons[0]?.path.endsWith('…')).toBe(true);
    expect(bounded.reasons[0]).toMatchObject({ code: 'nested_array', index: 0 });
    expect(jsonByteLength(bounded.reasons)).toBeLessThanOrEqual(MAX_BAD_REASONS_BYTES);
    expect(bounded.reasons.length).toBeLessThan(200);
    expect(bounded.reasonCount).toBe(200);
  });

  it('never cuts a surrogate pair in half', () => {
    const text = `${'a'.repeat(MAX_REASON_TEXT_LENGTH - 1)}😀tail`;
    const [reason] = boundBadRecord({ record: record('x'), reasons: [{ path: text, code: 'invalid_value', message: 'm' }], accepted: 0 }).reasons;
    expect(reason?.path).toBe(`${'a'.repeat(MAX_REASON_TEXT_LENGTH - 1)}…`);
  });

  it('copies at most MAX_BAD_VALUE_BYTES of the value, naming the original size', () => {
    const big = record('v'.repeat(MAX_BAD_VALUE_BYTES + 10));
    expect(boundBadRecord({ record: big, reasons: [], accepted: 0 })).toMatchObject({ valueTruncatedFrom: MAX_BAD_VALUE_BYTES + 10 });
    expect(boundBadRecord({ record: big, reasons: [], accepted: 0 }).value).toHaveLength(MAX_BAD_VALUE_BYTES);
    const small = boundBadRecord({ record: record('v'.repeat(MAX_BAD_VALUE_BYTES)), reasons: [], accepted: 0 });
    expect(small.value).toHaveLength(MAX_BAD_VALUE_BYTES);
    expect(small).not.toHaveProperty('valueTruncatedFrom');
    expect(small).not.toHaveProperty('reasonCount');
  });
});
