import { Schemas, validatePayload } from '@mosaic/contracts';
import { CollectorInputError } from './errors';
import { canonicalJson, checkImportContentType, importMessageId, parseImportBody, parseLineOffset } from './import';
import { MAX_LISTED_REJECTIONS } from './limits';

const opts = { sourceId: 'src_1', receivedAt: new Date('2026-01-01T00:00:00.000Z') };
const lines = (...rows: unknown[]): string => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');

describe('parseImportBody', () => {
  it('lists the first refused rows (with file line numbers) and counts them all', () => {
    // 500 KB of `{}` rows would be ~125,000 refusals in the answer
    const body = `${'{}\n'.repeat(20_000)}${JSON.stringify({ type: 'track', userId: 'u', event: 'E' })}\n`;
    const r = parseImportBody(body, { ...opts, lineOffset: 10 });
    expect(r.accepted).toHaveLength(1);
    expect(r.rejected.map((x) => x.line)).toEqual(Array.from({ length: MAX_LISTED_REJECTIONS }, (_, i) => 11 + i));
    expect([r.rejectedCount, r.rows, r.lines]).toEqual([20_000, 20_001, 20_001]);
  });

  it('accepts good rows, keeps historical timestamps and fills no request data', () => {
    const r = parseImportBody(
      lines(
        { type: 'track', userId: 'u-1', event: 'Order Completed', properties: { revenue: 42 }, timestamp: '2019-03-01T10:00:00Z', messageId: 'order-1' },
        { type: 'identify', userId: 'u-1', traits: { email: 'ada@example.com' } },
      ) + '\n',
      opts,
    );
    expect(r.rejected).toEqual([]);
    expect(r.rows).toBe(2);
    expect(r.lines).toBe(2);
    const [order, identify] = r.accepted;
    expect(order).toMatchObject({
      type: 'track',
      messageId: 'order-1',
      timestamp: '2019-03-01T10:00:00.000Z',
      sourceId: 'src_1',
      receivedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(order!.context).toEqual({});
    expect(identify!.messageId).toMatch(/^imp-[0-9a-f]{32}$/);
    expect(identify!.timestamp).toBe('2026-01-01T00:00:00.000Z');
    for (const e of r.accepted) expect(() => validatePayload(Schemas.rawEvent, e)).not.toThrow();
  });

  it('refuses the rows /v1/track would refuse: nested arrays, object-internal keys and event names, lone surrogates, dates out of range', () => {
    const row = (over: Record<string, unknown>) => ({ type: 'track', userId: 'u', event: 'E', ...over });
    const r = parseImportBody(
      lines(
        row({ context: { traits: { email: 'v@x.com', x: [[1]] } } }),
        row({ properties: { constructor: 'v' } }),
        row({ event: 'constructor' }),
        row({ userId: 'u\ud800' }),
        row({ timestamp: '1969-07-20T20:17:00Z' }),
        row({ event: 'toString', properties: { valueOf: 1 } }),
      ),
      opts,
    );
    expect(r.rejected.map((x) => [x.line, x.errors[0]?.code, x.errors[0]?.path])).toEqual([
      [1, 'nested_array', 'context.traits.x[0]'],
      [2, 'prototype_pollution', 'properties.constructor'],
      [3, 'prototype_pollution', 'event'],
      [4, 'invalid_string', 'userId'],
      [5, 'invalid_date', 'timestamp'],
    ]);
    expect(r.accepted.map((e) => e.event)).toEqual(['toString']);
  });

  it('corrects skew only when the row has sentAt', () => {
    const [e] = parseImportBody(
      lines({ type: 'track', userId: 'u', event: 'E', timestamp: '2025-12-31T23:00:00Z', sentAt: '2025-12-31T23:00:10Z' }),
      opts,
    ).accepted;
    expect(e!.timestamp).toBe('2025-12-31T23:59:50.000Z');
  });

  it('reports bad rows with file line numbers (lineOffset, blank lines, CRLF) and reasons', () => {
    const body = [
      JSON.stringify({ type: 'track', userId: 'u', event: 'ok' }),
      '',
      '{"type":"track","userId":"u",', // malformed
      JSON.stringify({ type: 'track', userId: 'u' }), // no event
      JSON.stringify({ userId: 'u', event: 'x', messageId: 'm-5' }), // no type
      JSON.stringify({ type: 'purchase', userId: 'u' }),
      '[1,2]',
      JSON.stringify({ type: 'track', event: 'no identity' }),
      '{"type":"track","userId":"u","event":"E","properties":{"__proto__":{"x":1}}}',
      JSON.stringify({ type: 'track', userId: 'u', event: 'big', properties: { blob: 'x'.repeat(33 * 1024) } }),
      JSON.stringify({ type: 'track', userId: 'u', event: 'ok too' }),
    ].join('\r\n');
    const r = parseImportBody(body, { ...opts, lineOffset: 100 });
    expect(r.accepted.map((e) => e.event)).toEqual(['ok', 'ok too']);
    expect(r.rows).toBe(10);
    expect(r.lines).toBe(11);
    const byLine = Object.fromEntries(r.rejected.map((x) => [x.line, x]));
    expect(Object.keys(byLine).map(Number)).toEqual([103, 104, 105, 106, 107, 108, 109, 110]);
    expect(byLine[103]!.errors[0]).toMatchObject({ code: 'malformed_json', message: expect.stringMatching(/column/) });
    expect(byLine[104]!.errors[0]).toMatchObject({ path: 'event' });
    expect(byLine[105]).toMatchObject({ messageId: 'm-5', errors: [{ path: 'type', code: 'required' }] });
    expect(byLine[106]!.errors[0]).toMatchObject({ path: 'type', code: 'invalid_value' });
    expect(byLine[107]!.errors[0]).toMatchObject({ code: 'invalid_body' });
    expect(byLine[108]!.errors[0]!.message).toMatch(/anonymousId|userId/);
    expect(byLine[109]!.errors[0]).toMatchObject({ code: 'prototype_pollution' });
    expect(byLine[110]!.errors[0]).toMatchObject({ code: 'message_too_large' });
  });

  it('gives the same ids to the same rows on every import, different ones to different rows or sources', () => {
    const body = lines(
      { type: 'track', userId: 'u', event: 'E', properties: { a: 1, b: 2 } },
      { type: 'track', userId: 'u', event: 'E', properties: { a: 1, b: 3 } },
    );
    const first = parseImportBody(body, opts).accepted.map((e) => e.messageId);
    const again = parseImportBody(body, { ...opts, receivedAt: new Date('2026-02-01T00:00:00Z') }).accepted.map((e) => e.messageId);
    expect(again).toEqual(first);
    expect(first[0]).not.toBe(first[1]);
    // key order and whitespace do not matter; sentAt and writeKey do not either
    const reordered = parseImportBody(
      '{ "properties": {"b": 2, "a": 1}, "event": "E", "userId": "u", "type": "track", "sentAt": "2026-01-01T00:00:00Z", "writeKey": "k" }',
      opts,
    );
    expect(reordered.accepted[0]!.messageId).toBe(first[0]);
    expect(parseImportBody(body, { ...opts, sourceId: 'src_2' }).accepted[0]!.messageId).not.toBe(first[0]);
  });

  it('refuses a body without rows', () => {
    expect(() => parseImportBody('\n \r\n', opts)).toThrow(CollectorInputError);
    expect(() => parseImportBody('', opts)).toThrow(/no rows/);
  });

  it('ignores a byte-order mark', () => {
    expect(parseImportBody(`\uFEFF${JSON.stringify({ type: 'track', userId: 'u', event: 'E' })}`, opts).accepted).toHaveLength(1);
  });
});

describe('importMessageId and canonicalJson', () => {
  it('is deterministic and independent of key order', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x', u: undefined })).toBe('{"a":"x","b":[2,{"c":null,"d":1}]}');
    expect(importMessageId('s', { x: 1, y: 2 })).toBe(importMessageId('s', { y: 2, x: 1 }));
    expect(importMessageId('s', { x: 1 })).not.toBe(importMessageId('s', { x: 2 }));
    expect(importMessageId('s', { x: 1 })).toMatch(/^imp-[0-9a-f]{32}$/);
  });
});

describe('checkImportContentType and parseLineOffset', () => {
  it('accepts NDJSON, JSON and text; refuses others and non-UTF-8', () => {
    for (const ct of [undefined, '', 'application/x-ndjson', 'application/json; charset=utf-8', 'text/plain', 'application/jsonl', 'application/ndjson'])
      expect(checkImportContentType(ct)).toBeUndefined();
    expect(checkImportContentType('text/csv')?.status).toBe(415);
    expect(checkImportContentType('application/x-ndjson; charset=latin1')?.status).toBe(415);
  });

  it('parses lineOffset', () => {
    expect(parseLineOffset(undefined)).toBe(0);
    expect(parseLineOffset('250')).toBe(250);
    for (const bad of ['-1', '1.5', 'x', '99999999999999']) expect(parseLineOffset(bad)).toBeInstanceOf(CollectorInputError);
  });
});
