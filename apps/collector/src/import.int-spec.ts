// POST /v1/import on the real broker and MongoDB-wire server.
import { gzipSync } from 'node:zlib';
import { TopicTap, TEST_ADMIN_TOKEN, startTestService, testInfra } from '@mosaic/shared-testing';
import type { StartedService } from '@mosaic/shared-service';
import { Schemas, decodeMessage } from '@mosaic/contracts';
import { collectorDefinition } from './collector.definition';

let svc: StartedService;
let tap: TopicTap;
let url: string;
let writeKey: string;
let sourceId: string;

type Payload = {
  messageId: string;
  type: string;
  event?: string;
  userId?: string;
  sourceId: string;
  timestamp: string;
  receivedAt: string;
  properties: Record<string, unknown>;
  traits: Record<string, unknown>;
  context: Record<string, unknown>;
};
type ImportAnswer = {
  success: boolean;
  sourceId: string;
  accepted: number;
  duplicates: number;
  rejected: { line: number; messageId?: string; errors: { path: string; code: string; message: string }[] }[];
  rows: number;
  lines: number;
};

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
const ndjson = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

async function importBody(
  body: string | Buffer,
  opts: { query?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: ImportAnswer & { error?: { code: string; message: string } } }> {
  const res = await fetch(`${url}/v1/import${opts.query ?? ''}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-ndjson', Authorization: basic(writeKey), ...opts.headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as ImportAnswer & { error?: { code: string; message: string } } };
}

/** Every event on the topic whose properties carry this batch tag. */
const tagged = (tag: string): Payload[] => tap.payloads<Payload>((p) => p.properties?.['batch'] === tag || p.traits?.['batch'] === tag);

/** A marker row: once it is on the topic, everything produced before it is there too (one partition key). */
async function barrier(): Promise<void> {
  const tag = `barrier-${Math.random().toString(36).slice(2)}`;
  expect((await importBody(ndjson([{ type: 'track', userId: 'imp-user', event: 'Barrier', properties: { batch: tag } }]))).status).toBe(200);
  await tap.waitFor(() => tagged(tag).length === 1);
}

function orders(tag: string, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    type: 'track',
    userId: 'imp-user',
    event: 'Order Completed',
    timestamp: new Date(Date.UTC(2019, 0, 1 + i)).toISOString(),
    properties: { batch: tag, order_id: `${tag}-${i}`, revenue: 10 + i },
  }));
}

beforeAll(async () => {
  svc = await startTestService(collectorDefinition);
  url = svc.http.url;
  tap = await TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.eventsRaw);
  const created = (await (
    await fetch(`${url}/v1/sources`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      body: '{"name":"pos"}',
    })
  ).json()) as { id: string; writeKey: string };
  writeKey = created.writeKey;
  sourceId = created.id;
}, 120_000);

afterAll(async () => {
  await tap?.stop();
  await svc?.stop();
});

describe('POST /v1/import', () => {
  it('imports a good NDJSON file, keeping historical timestamps', async () => {
    const rows = [...orders('good', 5), { type: 'identify', userId: 'imp-user', traits: { batch: 'good', email: 'pos@example.com' } }];
    const res = await importBody(ndjson(rows));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: true, sourceId, accepted: 6, duplicates: 0, rejected: [], rows: 6, lines: 6 });
    await tap.waitFor(() => tagged('good').length === 6);
    const events = tagged('good');
    const order0 = events.find((e) => e.properties['order_id'] === 'good-0')!;
    expect(order0).toMatchObject({ type: 'track', event: 'Order Completed', userId: 'imp-user', sourceId, timestamp: '2019-01-01T00:00:00.000Z' });
    expect(order0.messageId).toMatch(/^imp-[0-9a-f]{32}$/);
    expect(order0.context['ip']).toBeUndefined();
    expect(Date.parse(order0.receivedAt)).toBeGreaterThan(Date.parse('2025-01-01'));
    expect(events.find((e) => e.type === 'identify')!.traits['email']).toBe('pos@example.com');
    for (const m of tap.messages) expect(() => decodeMessage(Schemas.rawEvent, m.value)).not.toThrow();
  });

  it('reports bad rows with their file line numbers and reasons, and imports the rest', async () => {
    const body = [
      JSON.stringify(orders('bad', 1)[0]),
      '',
      '{"type": "track", "userId": ',
      JSON.stringify({ type: 'track', userId: 'imp-user', properties: { batch: 'bad' } }),
      JSON.stringify({ userId: 'imp-user', event: 'no type', properties: { batch: 'bad' } }),
      JSON.stringify({ type: 'track', userId: 'imp-user', event: 'Late', timestamp: 'last tuesday', properties: { batch: 'bad' } }),
      JSON.stringify(orders('bad', 2)[1]),
    ].join('\r\n');
    const res = await importBody(body, { query: '?lineOffset=1000' });
    expect(res.status).toBe(200);
    expect(res.json.accepted).toBe(2);
    expect(res.json.rows).toBe(6);
    expect(res.json.lines).toBe(7);
    expect(res.json.rejected.map((r) => [r.line, r.errors[0]!.path, r.errors[0]!.code])).toEqual([
      [1003, '', 'malformed_json'],
      [1004, 'event', 'required'],
      [1005, 'type', 'required'],
      [1006, 'timestamp', 'invalid_date'],
    ]);
    await tap.waitFor(() => tagged('bad').length === 2);
  });

  it('refuses, per row, what /v1/track refuses: nested arrays, constructor keys, lone surrogates, pre-1970 times', async () => {
    const row = (over: Record<string, unknown>) =>
      JSON.stringify({ type: 'track', userId: 'imp-user', event: 'Row', properties: { batch: 'strict' }, ...over });
    const body = [
      row({ context: { traits: { email: 'v@x.com', x: [[1]] } } }),
      row({ traits: { constructor: 'Bob' } }),
      '{"type":"track","userId":"imp-user\\ud800","event":"Row"}',
      row({ timestamp: '1900-01-01T00:00:00Z' }),
      row({ event: 'valueOf' }),
    ].join('\n');
    const res = await importBody(body);
    expect(res.status).toBe(200);
    expect(res.json.rejected.map((r) => [r.line, r.errors[0]!.path, r.errors[0]!.code])).toEqual([
      [1, 'context.traits.x[0]', 'nested_array'],
      [2, 'traits.constructor', 'prototype_pollution'],
      [3, 'userId', 'invalid_string'],
      [4, 'timestamp', 'invalid_date'],
    ]);
    expect(res.json.accepted).toBe(1);
    await tap.waitFor(() => tagged('strict').length === 1);
    expect(tagged('strict')[0]!.event).toBe('valueOf');
  });

  it('re-importing the same file changes nothing: zero new events on Kafka', async () => {
    const file = ndjson([
      ...orders('twice', 20),
      { type: 'track', userId: 'imp-user', messageId: 'twice-explicit', event: 'Explicit id', properties: { batch: 'twice' } },
    ]);
    const first = await importBody(file);
    expect(first.json).toMatchObject({ accepted: 21, duplicates: 0 });
    await tap.waitFor(() => tagged('twice').length === 21);
    const ids = tagged('twice')
      .map((e) => e.messageId)
      .sort();
    // the same rows, sent again (also gzip-compressed and with another content type): all duplicates
    const second = await importBody(gzipSync(Buffer.from(file)), { headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'text/plain' } });
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ accepted: 0, duplicates: 21, rejected: [] });
    await barrier();
    expect(
      tagged('twice')
        .map((e) => e.messageId)
        .sort(),
    ).toEqual(ids);
    expect(new Set(ids).size).toBe(21);
  });

  it('accepts gzip bodies', async () => {
    const res = await importBody(gzipSync(Buffer.from(ndjson(orders('gzip', 50)))), { headers: { 'Content-Encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.json.accepted).toBe(50);
    await tap.waitFor(() => tagged('gzip').length === 50);
  });

  it('accepts the admin token with ?source=, and refuses bad authentication', async () => {
    const body = ndjson(orders('admin', 2));
    const ok = await importBody(body, { query: `?source=${sourceId}`, headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ sourceId, accepted: 2 });
    await tap.waitFor(() => tagged('admin').length === 2);
    expect(tagged('admin').every((e) => e.sourceId === sourceId)).toBe(true);

    const cases: [Record<string, string>, string, number, string][] = [
      [{ Authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, '', 400, 'missing_source'],
      [{ Authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, '?source=src_nope', 404, 'unknown_source'],
      [{ Authorization: 'Bearer wrong-token-wrong-token' }, `?source=${sourceId}`, 401, 'unauthorized'],
      [{ Authorization: basic('not-a-key') }, '', 401, 'invalid_write_key'],
      [{ Authorization: '' }, '', 401, 'missing_write_key'],
    ];
    for (const [headers, query, status, code] of cases) {
      const res = await importBody(body, { query, headers });
      expect([res.status, res.json.error?.code]).toEqual([status, code]);
    }
  });

  it('refuses bodies over 500 KB, other media types, bad lineOffset and empty bodies', async () => {
    const big = ndjson(Array.from({ length: 3000 }, (_, i) => ({ type: 'track', userId: 'u', event: 'E', properties: { i, pad: 'x'.repeat(150) } })));
    expect(Buffer.byteLength(big)).toBeGreaterThan(500 * 1024);
    expect((await importBody(big)).status).toBe(413);
    expect((await importBody(gzipSync(Buffer.from(big)), { headers: { 'Content-Encoding': 'gzip' } })).status).toBe(413);
    const csv = await importBody('a,b\n1,2\n', { headers: { 'Content-Type': 'text/csv' } });
    expect([csv.status, csv.json.error?.code]).toEqual([415, 'unsupported_media_type']);
    expect((await importBody(ndjson(orders('x', 1)), { query: '?lineOffset=-5' })).status).toBe(400);
    const empty = await importBody('\n\n');
    expect([empty.status, empty.json.error?.code]).toEqual([400, 'empty_body']);
    // a row over the 32 KB message limit is a rejected row, not a failed request
    const large = await importBody(ndjson([{ type: 'track', userId: 'u', event: 'E', properties: { blob: 'x'.repeat(40 * 1024) } }]));
    expect(large.status).toBe(200);
    expect(large.json.rejected[0]).toMatchObject({ line: 1, errors: [{ code: 'message_too_large' }] });
  });

  it('counts imports in the ingestion metrics and documents the endpoint', async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/mosaic_collector_events_total\{[^}]*route="import"[^}]*outcome="accepted"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/mosaic_collector_events_total\{[^}]*route="import"[^}]*outcome="duplicate"[^}]*\} [1-9]/);
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(doc.paths['/v1/import']).toBeDefined();
  });
});
