// The collector against the real broker and MongoDB-wire server: events in over HTTP, out
// of Kafka with the right key and envelope; write keys; bad input of every kind.
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

const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: basic(writeKey), ...headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {}, headers: res.headers };
}

type Payload = Record<string, unknown> & { messageId: string; context: Record<string, unknown>; properties: Record<string, unknown> };
const byId = (id: string) => (p: Payload) => p.messageId === id;

beforeAll(async () => {
  svc = await startTestService(collectorDefinition, { env: { COLLECTOR_ACK_TIMEOUT_MS: '5000' } });
  url = svc.http.url;
  tap = await TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.eventsRaw);
  const created = await fetch(`${url}/v1/sources`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'website' }) });
  expect(created.status).toBe(201);
  const body = (await created.json()) as { id: string; writeKey: string; name: string };
  expect(body.name).toBe('website');
  writeKey = body.writeKey;
  sourceId = body.id;
}, 120_000);

afterAll(async () => {
  await tap?.stop();
  await svc?.stop();
});

describe('sources (admin API)', () => {
  it('requires the admin token', async () => {
    const none = await fetch(`${url}/v1/sources`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":"x"}' });
    expect(none.status).toBe(401);
    const wrong = await fetch(`${url}/v1/sources`, { headers: { Authorization: 'Bearer nope-nope-nope-nope' } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('lists sources without their keys and validates names', async () => {
    const list = (await (await fetch(`${url}/v1/sources`, { headers: admin })).json()) as { sources: Record<string, unknown>[] };
    const mine = list.sources.find((s) => s['id'] === sourceId)!;
    expect(mine['name']).toBe('website');
    expect(mine['writeKey']).toBeUndefined();
    expect(mine['writeKeyPrefix']).toBe(writeKey.slice(0, 6));
    const bad = await fetch(`${url}/v1/sources`, { method: 'POST', headers: admin, body: '{"name": 42}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/name/);
  });

  it('revoked keys answer 401', async () => {
    const created = (await (await fetch(`${url}/v1/sources`, { method: 'POST', headers: admin, body: '{"name":"temp"}' })).json()) as {
      id: string;
      writeKey: string;
    };
    expect((await post('/v1/track', { anonymousId: 'r1', event: 'E' }, { Authorization: basic(created.writeKey) })).status).toBe(200);
    const revoked = await fetch(`${url}/v1/sources/${created.id}`, { method: 'DELETE', headers: admin });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revokedAt: string | null }).revokedAt).not.toBeNull();
    const after = await post('/v1/track', { anonymousId: 'r1', event: 'E' }, { Authorization: basic(created.writeKey) });
    expect(after.status).toBe(401);
    expect((after.json['error'] as { code: string }).code).toBe('invalid_write_key');
    const verify = (key: unknown) => fetch(`${url}/v1/sources/verify`, { method: 'POST', headers: admin, body: JSON.stringify({ writeKey: key }) });
    expect((await verify(created.writeKey)).status).toBe(404);
  });

  it('verifies a write key for other services (admin): its active source, 404 otherwise', async () => {
    const verify = (body: string, headers: Record<string, string> = admin) => fetch(`${url}/v1/sources/verify`, { method: 'POST', headers, body });
    const ok = await verify(JSON.stringify({ writeKey }));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id: sourceId, name: 'website', revokedAt: null });
    expect((await verify(JSON.stringify({ writeKey: 'not-a-key' }))).status).toBe(404);
    const bad = await verify('{"writeKey": 7}');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/^writeKey: /);
    expect((await verify(JSON.stringify({ writeKey }), { 'Content-Type': 'application/json' })).status).toBe(401);
  });
});

describe('ingestion', () => {
  it('puts a track event on events.raw keyed by anonymousId, in the envelope', async () => {
    const res = await post(
      '/v1/track',
      { anonymousId: 'anon-1', userId: 'user-1', messageId: 'it-track-1', event: 'Product Viewed', properties: { sku: 'CM-900', price: 899 } },
      { 'User-Agent': 'it-test/1.0' },
    );
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: true, accepted: 1, duplicates: 0 });
    const [msg] = (await tap.waitFor((m) => m.some((x) => x.headers['messageId'] === 'it-track-1'))).filter((x) => x.headers['messageId'] === 'it-track-1');
    expect(msg!.key).toBe('anon-1');
    expect(msg!.headers['schema']).toBe('events.raw@1');
    expect(msg!.headers['correlationId']).toBe('it-track-1');
    const env = msg!.json as { schema: string; schemaVersion: number; producer: string; payload: Payload };
    expect(env.schema).toBe('events.raw');
    expect(env.schemaVersion).toBe(1);
    expect(env.producer).toBe('collector');
    expect(env.payload).toMatchObject({
      type: 'track',
      event: 'Product Viewed',
      anonymousId: 'anon-1',
      userId: 'user-1',
      sourceId,
      properties: { sku: 'CM-900', price: 899 },
    });
    expect(env.payload.context['userAgent']).toBe('it-test/1.0');
    expect(env.payload.context['ip']).toBe('127.0.0.1');
    expect(typeof env.payload['receivedAt']).toBe('string');
  });

  it('keys by userId when there is no anonymousId, and accepts the write key in the body', async () => {
    const res = await post(
      '/v1/identify',
      { writeKey, userId: 'user-2', messageId: 'it-identify-1', traits: { email: 'ada@example.com' } },
      { Authorization: '' },
    );
    expect(res.status).toBe(200);
    await tap.waitFor((m) => m.some((x) => x.headers['messageId'] === 'it-identify-1'));
    const msg = tap.messages.find((x) => x.headers['messageId'] === 'it-identify-1')!;
    expect(msg.key).toBe('user-2');
    expect((msg.json as { payload: Payload }).payload['type']).toBe('identify');
  });

  it('fills messageId, corrects clock skew from sentAt, and de-duplicates by messageId', async () => {
    const now = Date.now();
    const skewed = {
      anonymousId: 'skew-1',
      event: 'Skewed',
      timestamp: new Date(now + 3_600_000 - 1_000).toISOString(),
      sentAt: new Date(now + 3_600_000).toISOString(),
    };
    const res = await post('/v1/track', skewed);
    expect(res.status).toBe(200);
    const payload = (await tap.waitFor((m) => m.some((x) => x.key === 'skew-1')), tap.payloads<Payload>((p) => p['anonymousId'] === 'skew-1')[0]!);
    expect(payload.messageId).toMatch(/^[0-9a-f-]{36}$/);
    const corrected = Date.parse(payload['timestamp'] as string);
    const received = Date.parse(payload['receivedAt'] as string);
    expect(received - corrected).toBe(1_000);
    expect(payload['originalTimestamp']).toBe(skewed.timestamp);

    const first = await post('/v1/track', { anonymousId: 'dup-1', messageId: 'it-dup-1', event: 'Once' });
    const second = await post('/v1/batch', { batch: [{ type: 'track', anonymousId: 'dup-1', messageId: 'it-dup-1', event: 'Once' }] });
    expect(first.json).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(second.json).toMatchObject({ accepted: 0, duplicates: 1 });
    await post('/v1/track', { anonymousId: 'dup-1', messageId: 'it-dup-2', event: 'Marker' });
    await tap.waitFor((m) => m.some((x) => x.headers['messageId'] === 'it-dup-2'));
    expect(tap.messages.filter((x) => x.headers['messageId'] === 'it-dup-1')).toHaveLength(1);
  });

  it('accepts text/plain bodies (sendBeacon) and gzip bodies', async () => {
    const plain = await post('/v1/page', JSON.stringify({ anonymousId: 'beacon-1', messageId: 'it-plain-1', name: 'Home' }), {
      'Content-Type': 'text/plain;charset=UTF-8',
    });
    expect(plain.status).toBe(200);
    const gz = gzipSync(
      Buffer.from(
        JSON.stringify({
          batch: [
            { type: 'screen', userId: 'gz-1', messageId: 'it-gz-1', name: 'Cart' },
            { type: 'group', userId: 'gz-1', groupId: 'acme', messageId: 'it-gz-2' },
            { type: 'alias', userId: 'gz-1', previousId: 'beacon-1', messageId: 'it-gz-3' },
          ],
        }),
      ),
    );
    const zipped = await post('/v1/batch', gz, { 'Content-Encoding': 'gzip' });
    expect(zipped.status).toBe(200);
    expect(zipped.json).toMatchObject({ accepted: 3 });
    await tap.waitFor((m) => ['it-plain-1', 'it-gz-1', 'it-gz-2', 'it-gz-3'].every((id) => m.some((x) => x.headers['messageId'] === id)));
    const types = ['it-plain-1', 'it-gz-1', 'it-gz-2', 'it-gz-3'].map((id) => tap.payloads<Payload>(byId(id))[0]!['type']);
    expect(types).toEqual(['page', 'screen', 'group', 'alias']);
  });

  it('accepts the good messages of a batch and names the rejected ones', async () => {
    const res = await post('/v1/batch', {
      batch: [
        { type: 'track', anonymousId: 'b-1', messageId: 'it-b-1', event: 'Good' },
        { type: 'track', anonymousId: 'b-1', messageId: 'it-b-2' },
        { type: 'nonsense', anonymousId: 'b-1', messageId: 'it-b-3' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json['accepted']).toBe(1);
    const rejected = res.json['rejected'] as { index: number; errors: { path: string; message: string }[] }[];
    expect(rejected.map((r) => r.index)).toEqual([1, 2]);
    expect(rejected[0]!.errors[0]!.path).toBe('event');
    const all = await post('/v1/batch', { batch: [{ type: 'track', event: 'no identity' }] });
    expect(all.status).toBe(400);
    expect(JSON.stringify(all.json)).toMatch(/anonymousId/);
  });

  it('escapes operator-like keys so nothing reaches MongoDB as an operator', async () => {
    const res = await post('/v1/track', {
      anonymousId: 'op-1',
      messageId: 'it-op-1',
      event: 'E',
      properties: { $where: 'sleep(1000)', 'a.b': 1, nested: { $gt: 1 } },
    });
    expect(res.status).toBe(200);
    await tap.waitFor((m) => m.some((x) => x.headers['messageId'] === 'it-op-1'));
    const p = tap.payloads<Payload>(byId('it-op-1'))[0]!;
    expect(p.properties).toEqual({ '\uFF04where': 'sleep(1000)', 'a\uFF0Eb': 1, nested: { '\uFF04gt': 1 } });
  });
});

describe('bad input gets a 4xx naming the problem, and the service keeps serving', () => {
  const cases: [string, () => Promise<{ status: number; json: Record<string, unknown> }>, number, RegExp][] = [
    ['malformed JSON', () => post('/v1/track', '{"anonymousId": "x", '), 400, /malformed|JSON/i],
    ['empty body', () => post('/v1/track', ''), 400, /empty/i],
    ['wrong types', () => post('/v1/track', { anonymousId: 'x', event: 'E', properties: 'nope' }), 400, /properties/],
    ['no identity', () => post('/v1/track', { event: 'E' }), 400, /anonymousId|userId/],
    ['track without event', () => post('/v1/track', { anonymousId: 'x' }), 400, /event/],
    ['bad timestamp', () => post('/v1/track', { anonymousId: 'x', event: 'E', timestamp: 'yesterday' }), 400, /timestamp/],
    ['oversized message', () => post('/v1/track', { anonymousId: 'x', event: 'E', properties: { blob: 'x'.repeat(33 * 1024) } }), 413, /32/],
    [
      'oversized batch',
      () =>
        post('/v1/batch', {
          batch: Array.from({ length: 20 }, () => ({ type: 'track', anonymousId: 'x', event: 'E', properties: { blob: 'y'.repeat(30 * 1024) } })),
        }),
      413,
      /500|large/i,
    ],
    ['prototype pollution', () => post('/v1/track', '{"anonymousId":"x","event":"E","properties":{"__proto__":{"polluted":true}}}'), 400, /__proto__/],
    [
      'constructor pollution',
      () => post('/v1/track', '{"anonymousId":"x","event":"E","traits":{"constructor":{"prototype":{"polluted":true}}}}'),
      400,
      /constructor|prototype/,
    ],
    ['unsupported content type', () => post('/v1/track', '<xml/>', { 'Content-Type': 'application/xml' }), 415, /Content-Type|content type/i],
    ['broken gzip', () => post('/v1/track', Buffer.from('not gzip at all'), { 'Content-Encoding': 'gzip' }), 400, /Content-Encoding|compressed/i],
    ['unknown encoding', () => post('/v1/track', '{}', { 'Content-Encoding': 'br' }), 415, /Content-Encoding/],
    ['batch not an array', () => post('/v1/batch', { batch: {} }), 400, /batch/],
    ['missing write key', () => post('/v1/track', { anonymousId: 'x', event: 'E' }, { Authorization: '' }), 401, /write key/],
    ['wrong write key', () => post('/v1/track', { anonymousId: 'x', event: 'E' }, { Authorization: basic('not-a-key') }), 401, /write key/],
  ];

  it.each(cases)('%s', async (_name, send, status, message) => {
    const res = await send();
    expect(res.status).toBe(status);
    const error = res.json['error'] as { status: number; code: string; message: string };
    expect(error.status).toBe(status);
    expect(typeof error.code).toBe('string');
    expect(error.message).toMatch(message);
  });

  it('every message the collector produced passes the contract validation on decode', async () => {
    expect(tap.messages.length).toBeGreaterThan(10);
    for (const m of tap.messages) expect(() => decodeMessage(Schemas.rawEvent, m.value)).not.toThrow();
  });

  it('nothing was polluted and the service still serves', async () => {
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    expect((await post('/v1/track', { anonymousId: 'after-1', event: 'Still here' })).status).toBe(200);
  });
});

describe('what the collector answers 200 for, every stage and store can process (issue 13)', () => {
  type ErrorJson = { error: { status: number; code: string; message: string; details?: { path?: string } } };
  const refused: [string, string, number, string, string][] = [
    [
      'nested arrays (FerretDB refuses them)',
      '{"anonymousId":"a","event":"X","context":{"traits":{"email":"v@x.com","x":[[1]]}}}',
      400,
      'nested_array',
      'context.traits.x[0]',
    ],
    ['a constructor property', '{"anonymousId":"a","event":"X","properties":{"constructor":"v"}}', 400, 'prototype_pollution', 'properties.constructor'],
    ['a constructor trait', '{"anonymousId":"a","event":"X","traits":{"constructor":"Bob"}}', 400, 'prototype_pollution', 'traits.constructor'],
    [
      'a deep prototype key',
      '{"anonymousId":"a","event":"X","context":{"page":{"a":[{"prototype":1}]}}}',
      400,
      'prototype_pollution',
      'context.page.a[0].prototype',
    ],
    ['an event named prototype', '{"anonymousId":"a","event":"prototype"}', 400, 'prototype_pollution', 'event'],
    ['an event named __proto__', '{"anonymousId":"a","event":"__proto__"}', 400, 'prototype_pollution', 'event'],
    ['a lone surrogate in anonymousId', '{"anonymousId":"x\\ud800","event":"X"}', 400, 'invalid_string', 'anonymousId'],
    [
      'a lone surrogate in a trait value',
      '{"anonymousId":"a","event":"X","context":{"traits":{"name":"\\udc00"}}}',
      400,
      'invalid_string',
      'context.traits.name',
    ],
    ['a timestamp before 1970', '{"anonymousId":"a","event":"X","timestamp":"1969-12-31T23:59:59Z"}', 400, 'invalid_date', 'timestamp'],
    ['0000-01-01 with sentAt 9999-12-31', '{"anonymousId":"a","event":"X","timestamp":"0000-01-01","sentAt":"9999-12-31"}', 400, 'invalid_date', 'timestamp'],
  ];

  it.each(refused)('refuses %s with a 4xx naming the path', async (_name, body, status, code, path) => {
    const res = await post('/v1/track', body);
    expect(res.status).toBe(status);
    expect((res.json as ErrorJson).error).toMatchObject({ status, code, details: { path } });
  });

  it('accepts toString, valueOf and hasOwnProperty as event names and keys, unchanged', async () => {
    const res = await post('/v1/track', {
      anonymousId: 'proto-names',
      messageId: 'it-proto-names',
      event: 'toString',
      properties: { valueOf: 1, hasOwnProperty: 'x' },
      context: { traits: { toString: 'y' } },
    });
    expect(res.status).toBe(200);
    await tap.waitFor((m) => m.some((x) => x.headers['messageId'] === 'it-proto-names'));
    const p = tap.payloads<Payload>(byId('it-proto-names'))[0]!;
    expect(p['event']).toBe('toString');
    expect(p.properties).toEqual({ valueOf: 1, hasOwnProperty: 'x' });
    expect(p.context['traits']).toEqual({ toString: 'y' });
  });

  it('lists such messages of a batch as rejected, with index and path', async () => {
    const res = await post('/v1/batch', {
      batch: [
        { type: 'track', anonymousId: 'b13', messageId: 'it-b13-ok', event: 'Fine' },
        { type: 'identify', anonymousId: 'b13', traits: { list: [['x']] } },
        { type: 'track', anonymousId: 'b13', event: 'constructor' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      accepted: 1,
      rejected: [
        { index: 1, errors: [{ path: 'traits.list[0]', code: 'nested_array' }] },
        { index: 2, errors: [{ path: 'event' }] },
      ],
    });
  });

  it('answers a gzip bomb 413 (decompression stops at 500 KB) and goes on serving', async () => {
    // ~390 KB of gzip (under the raw limit, so the body is read) inflating to 384 MiB.
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 24 }, () => member));
    expect(bomb.length).toBeLessThan(500 * 1024);
    const res = await post('/v1/batch', bomb, { 'Content-Encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect((res.json as ErrorJson).error.code).toBe('payload_too_large');
    const after = await post('/v1/track', gzipSync(JSON.stringify({ anonymousId: 'after-bomb', event: 'Still here' })), { 'Content-Encoding': 'gzip' });
    expect(after.status).toBe(200);
  });

  it('reads the rest of a refused compressed body, so its keep-alive connection serves later requests', async () => {
    const bomb = Buffer.concat(Array.from({ length: 8 }, () => gzipSync(Buffer.alloc(16 * 1024 * 1024))));
    expect((await post('/v1/track', bomb, { 'Content-Encoding': 'gzip' })).status).toBe(413);
    // fetch reuses idle keep-alive connections: one left half-read would hang a request here.
    const later = await Promise.all(Array.from({ length: 6 }, (_, i) => post('/v1/track', { anonymousId: 'after-bomb', event: `Next ${i}` })));
    expect(later.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
  });
});

describe('bounded output and refusals (a review: context copies, accepted-but-invalid dates, unbounded refusals)', () => {
  type ErrorJson = { error: { status: number; code: string; message: string; details?: Record<string, unknown> } };
  const track = (i: number) => ({ type: 'track', anonymousId: 'bounds', event: 'E', messageId: `it-bounds-${i}` });
  const gzipPost = (body: unknown) => post('/v1/batch', gzipSync(Buffer.from(JSON.stringify(body))), { 'Content-Encoding': 'gzip' });

  it("refuses a batch-level context over 32 KB (the report's 200 KB context over 6,000 tracks: 500 KB, a few KB gzipped)", async () => {
    const body = {
      writeKey,
      context: { k: 'x'.repeat(200 * 1024) },
      batch: Array.from({ length: 6_000 }, () => ({ type: 'track', anonymousId: 'a', event: 'E' })),
    };
    expect(JSON.stringify(body).length).toBeLessThan(500 * 1024);
    const res = await gzipPost(body);
    expect(res.status).toBe(413);
    // the item cap is checked first: nothing of the body was copied
    expect((res.json as ErrorJson).error).toMatchObject({ code: 'batch_too_large', message: expect.stringMatching(/6000 messages; the limit is 2500/) });
    const capped = await gzipPost({ context: { k: 'x'.repeat(200 * 1024) }, batch: Array.from({ length: 10 }, (_, i) => track(i)) });
    expect(capped.status).toBe(413);
    expect((capped.json as ErrorJson).error).toMatchObject({ code: 'message_too_large', details: { path: 'context' } });
  });

  it('answers 413 when a batch-level context copied into every item would pass the output bound', async () => {
    const res = await gzipPost({ context: { k: 'x'.repeat(30 * 1024) }, batch: Array.from({ length: 2_500 }, (_, i) => track(i)) });
    expect(res.status).toBe(413);
    expect((res.json as ErrorJson).error).toMatchObject({ code: 'batch_too_large', details: { path: 'batch' } });
    expect((res.json as ErrorJson).error.message).toMatch(/more than 8388608 bytes/);
  });

  it('refuses, naming it, an item that the batch context takes over the event limit, and accepts the others', async () => {
    const res = await post('/v1/batch', {
      context: { k: 'x'.repeat(31 * 1024) },
      batch: [track(100), { ...track(101), properties: { pad: 'y'.repeat(4 * 1024) } }],
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      accepted: 1,
      rejectedCount: 1,
      rejected: [{ index: 1, messageId: 'it-bounds-101', errors: [{ code: 'message_too_large' }] }],
    });
    await tap.waitFor((m) => m.some((x) => x.headers['messageId'] === 'it-bounds-100'));
    expect(tap.messages.some((x) => x.headers['messageId'] === 'it-bounds-101')).toBe(false);
  });

  it('lists the first 100 rejected items with a total count: 500 KB of {} gzipped is a 413, 2,499 of them a short answer', async () => {
    const bomb = `{"batch":[${Array.from({ length: 170_000 }, () => '{}').join(',')}]}`;
    expect(bomb.length).toBeLessThanOrEqual(500 * 1024);
    const many = await post('/v1/batch', gzipSync(Buffer.from(bomb)), { 'Content-Encoding': 'gzip' });
    expect(many.status).toBe(413);
    expect((many.json as ErrorJson).error.message).toMatch(/^batch has 170000 messages; the limit is 2500/);
    const res = await post('/v1/batch', { batch: [...Array.from({ length: 2_499 }, () => ({})), track(200)] });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ accepted: 1, rejectedCount: 2_499 });
    expect((res.json['rejected'] as unknown[]).length).toBe(100);
    const all = await post('/v1/batch', { batch: Array.from({ length: 300 }, () => ({})) });
    expect(all.status).toBe(400);
    expect((all.json as ErrorJson).error.message).toBe('all 300 messages of the batch were rejected');
    expect((all.json as ErrorJson).error.details).toMatchObject({ rejectedCount: 300 });
    expect(((all.json as ErrorJson).error.details?.['rejected'] as unknown[]).length).toBe(100);
  });

  it('stores the odd date forms it accepts as canonical ISO-8601, which every stage decodes', async () => {
    const res = await post('/v1/batch', {
      sentAt: '2026-01-01 10:00:05+02',
      batch: [
        { ...track(300), timestamp: '2026-01-01t10:00:00z' },
        { ...track(301), originalTimestamp: '2026-01-01T09:00:00,25', sentAt: '2026-01-01t09:00:05Z' },
      ],
    });
    expect(res.status).toBe(200);
    await tap.waitFor((m) => ['it-bounds-300', 'it-bounds-301'].every((id) => m.some((x) => x.headers['messageId'] === id)));
    const [a, b] = ['it-bounds-300', 'it-bounds-301'].map((id) => tap.messages.find((x) => x.headers['messageId'] === id)!);
    expect(decodeMessage(Schemas.rawEvent, a!.value).payload).toMatchObject({
      originalTimestamp: '2026-01-01T10:00:00.000Z',
      sentAt: '2026-01-01T08:00:05.000Z',
    });
    expect(decodeMessage(Schemas.rawEvent, b!.value).payload).toMatchObject({
      originalTimestamp: '2026-01-01T09:00:00.250Z',
      sentAt: '2026-01-01T09:00:05.000Z',
    });
  });
});

describe('HTTP surface', () => {
  it('answers CORS preflights from any origin', async () => {
    const res = await fetch(`${url}/v1/batch`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://shop.example.com', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,authorization' },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it('serves OpenAPI, Prometheus metrics, health and readiness', async () => {
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    for (const p of ['/v1/track', '/v1/page', '/v1/screen', '/v1/identify', '/v1/group', '/v1/alias', '/v1/batch', '/v1/sources', '/v1/sources/{id}'])
      expect(doc.paths[p]).toBeDefined();
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/mosaic_collector_events_total\{[^}]*outcome="accepted"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/mosaic_http_request_duration_seconds_bucket/);
    const ready = (await (await fetch(`${url}/ready`)).json()) as { checks: { name: string; ok: boolean }[] };
    expect(ready.checks.map((c) => c.name).sort()).toEqual(['kafka-consumers', 'kafka-producer', 'mongodb']);
    expect(ready.checks.every((c) => c.ok)).toBe(true);
  });
});
