// `events.ingest` against the real broker: plain Segment JSON from a Kafka producer reaches
// events.raw through the HTTP path's rules; refused records land on events.bad with their
// reasons and never hold up the records after them.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { TopicTap, TEST_ADMIN_TOKEN, startTestService, testInfra } from '@mosaic/shared-testing';
import type { StartedService } from '@mosaic/shared-service';
import { collectorDefinition } from './collector.definition';

let svc: StartedService;
let raw: TopicTap;
let bad: TopicTap;
let producer: Producer;
let writeKey: string;
let sourceId: string;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- envelopes are inspected as loose JSON

beforeAll(async () => {
  svc = await startTestService(collectorDefinition);
  raw = await TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.eventsRaw);
  bad = await TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.eventsBad);
  const res = await fetch(`${svc.http.url}/v1/sources`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'kafka' }),
  });
  ({ writeKey, id: sourceId } = (await res.json()) as { writeKey: string; id: string });
  producer = new Kafka({ clientId: 'ingest-test', brokers: testInfra().kafkaBrokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
}, 120_000);

afterAll(async () => {
  await producer?.disconnect();
  await raw?.stop();
  await bad?.stop();
  await svc?.stop();
});

const send = (records: { key?: string; value: string; headers?: Record<string, string> }[]) =>
  producer.send({
    topic: svc.platform.topics.eventsIngest,
    messages: records.map((r) => ({ key: r.key ?? null, value: r.value, headers: r.headers ?? { writeKey } })),
  });

const rawOf = (anonymousId: string) => raw.payloads<Obj>((p) => p['anonymousId'] === anonymousId);
const badOf = (pred: (p: Obj) => boolean) => bad.payloads<Obj>(pred);

it('a malformed record goes to events.bad with its reasons while the records after it flow on', async () => {
  const a = `a-${randomUUID()}`;
  await send([
    { key: a, value: JSON.stringify({ type: 'track', anonymousId: a, event: 'First', messageId: `${a}-1` }) },
    { key: a, value: '{"type":"track","anonymousId":' },
    { key: a, value: JSON.stringify({ type: 'track', anonymousId: a, properties: { x: 1 } }) },
    { key: a, value: JSON.stringify({ anonymousId: a, event: 'No type' }) },
    { key: a, value: JSON.stringify({ type: 'page', anonymousId: a, name: 'Home', messageId: `${a}-2` }) },
  ]);
  await raw.waitFor(() => rawOf(a).length === 2, 30_000);
  expect(rawOf(a).map((p) => [p['type'], p['messageId'], p['sourceId']])).toEqual([
    ['track', `${a}-1`, sourceId],
    ['page', `${a}-2`, sourceId],
  ]);
  expect(raw.messages.find((m) => (m.json as Obj | undefined)?.['payload']?.['messageId'] === `${a}-1`)?.key).toBe(a);
  await bad.waitFor(() => badOf((p) => p['key'] === a).length === 3, 30_000);
  const refused = badOf((p) => p['key'] === a);
  expect(refused.map((p) => p['reasons'][0].code)).toEqual(['malformed_json', 'required', 'required']);
  expect(refused.map((p) => p['reasons'][0].path)).toEqual(['', 'event', 'type']);
  expect(refused[0]).toMatchObject({ sourceId, sourceTopic: svc.platform.topics.eventsIngest, accepted: 0 });
  expect(Buffer.from(refused[0]!['valueBase64'], 'base64').toString('utf8')).toBe('{"type":"track","anonymousId":');
  expect(typeof refused[0]!['offset']).toBe('string');
});

it('refuses records without a write key header or with an unknown one', async () => {
  const a = `k-${randomUUID()}`;
  const value = JSON.stringify({ type: 'track', anonymousId: a, event: 'Nope' });
  await send([
    { key: a, value, headers: {} },
    { key: a, value, headers: { writeKey: 'not-a-key' } },
  ]);
  await bad.waitFor(() => badOf((p) => p['key'] === a).length === 2, 30_000);
  const refused = badOf((p) => p['key'] === a);
  expect(refused.map((p) => p['reasons'][0])).toEqual([
    expect.objectContaining({ path: 'header.writeKey', code: 'required' }),
    expect.objectContaining({ path: 'header.writeKey', code: 'invalid_value', message: 'unknown or revoked write key' }),
  ]);
  expect(refused.every((p) => p['sourceId'] === undefined)).toBe(true);
  expect(rawOf(a)).toEqual([]);
});

it('takes batch bodies item by item, and de-duplicates by messageId', async () => {
  const a = `b-${randomUUID()}`;
  const batch = {
    batch: [
      { type: 'identify', anonymousId: a, userId: `u-${a}`, messageId: `${a}-1` },
      { type: 'track', anonymousId: a, event: '' },
      { type: 'track', anonymousId: a, event: 'Later' },
    ],
  };
  await send([
    { key: a, value: JSON.stringify(batch) },
    { key: a, value: JSON.stringify({ type: 'identify', anonymousId: a, userId: `u-${a}`, messageId: `${a}-1` }) },
  ]);
  await bad.waitFor(() => badOf((p) => p['key'] === a).length === 1, 30_000);
  expect(badOf((p) => p['key'] === a)[0]).toMatchObject({ accepted: 2, reasons: [{ index: 1, path: 'event', code: 'invalid_value' }] });
  await raw.waitFor(() => rawOf(a).length >= 2, 30_000);
  const events = rawOf(a);
  expect(events.map((p) => p['type'])).toEqual(['identify', 'track']);
  // A message without messageId gets one derived from the record's position: a redelivery repeats it.
  expect(events[1]!['messageId']).toMatch(/^kafka-[0-9a-f]{32}-\d+$/);
  await new Promise((r) => setTimeout(r, 1_000));
  expect(rawOf(a)).toHaveLength(2);
});

describe('a bad event always fits events.bad (never dlq.collector)', () => {
  let dlq: TopicTap;
  beforeAll(async () => {
    dlq = await TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.dlqCollector);
  });
  afterAll(async () => {
    await dlq?.stop();
  });

  it('a record with ~200,000 reasons lists the first ones and counts them all', async () => {
    const a = `many-${randomUUID()}`;
    // each item: no id, no event, 64 external ids without id and type: 130 reasons; 1,500 items
    const item = { type: 'track', context: { externalIds: Array.from({ length: 64 }, () => ({})) } };
    await send([{ key: a, value: JSON.stringify({ batch: Array.from({ length: 1_500 }, () => item) }) }]);
    await bad.waitFor(() => badOf((p) => p['key'] === a).length === 1, 30_000);
    const [refused] = badOf((p) => p['key'] === a);
    expect(refused!['reasons'].length).toBeLessThanOrEqual(1_000);
    expect(refused).toMatchObject({ accepted: 0, reasonCount: 1_500 * 130, reasons: expect.arrayContaining([expect.objectContaining({ index: 0 })]) });
    expect(refused).not.toHaveProperty('valueTruncatedFrom');
  });

  it('a record of 450 KB with reasons of 30 KB paths: reasons cut, value truncated and its size given', async () => {
    const a = `long-${randomUUID()}`;
    const longKey = 'k'.repeat(30_000);
    const item = { type: 'track', anonymousId: a, event: 'E', properties: { [longKey]: [[1]] } };
    const value = JSON.stringify({ batch: Array.from({ length: 15 }, () => item) });
    expect(value.length).toBeGreaterThan(384 * 1024);
    await send([{ key: a, value }]);
    await bad.waitFor(() => badOf((p) => p['key'] === a).length === 1, 30_000);
    const [refused] = badOf((p) => p['key'] === a);
    expect(refused!['reasons']).toHaveLength(15);
    expect(refused!['reasons'][0]).toMatchObject({ index: 0, code: 'nested_array' });
    expect(refused!['reasons'][0].path).toHaveLength(1_001);
    expect(refused).toMatchObject({ valueTruncatedFrom: value.length });
    expect(Buffer.from(refused!['valueBase64'], 'base64').length).toBe(384 * 1024);
    expect(bad.messages.find((m) => m.key === a)?.headers['valueTruncatedFrom']).toBe(String(value.length));
    expect(dlq.messages).toEqual([]);
  });
});
