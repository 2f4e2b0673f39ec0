/* eslint-disable @typescript-eslint/no-explicit-any -- arbitrary messages and API answers are loose JSON */
// One contract from the front door to the last store, as a property: fast-check generates
// arbitrary Segment messages (odd keys and names, nested arrays, unpaired surrogates, dates
// far out of range, deep objects, huge numbers); every one the collector accepts runs through
// identity, enrichment, segmentation and activation — their real code on the real broker and
// store — and none of them reaches a dead-letter topic. What the collector refuses is a 400
// naming the problem, never a 5xx.
import { randomUUID } from 'node:crypto';
import * as fc from 'fast-check';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { TopicKey } from '@mosaic/contracts';
import type { StartedService } from '@mosaic/shared-service';
import { TopicTap, adminRequest, startTestService, testInfra, waitFor } from '@mosaic/shared-testing';
import { activationDefinition } from '../../apps/activation/src/activation.definition';
import { collectorDefinition } from '../../apps/collector/src/collector.definition';
import { enrichmentDefinition } from '../../apps/enrichment/src/enrichment.definition';
import { identityDefinition } from '../../apps/identity/src/identity.definition';
import { segmentationDefinition } from '../../apps/segmentation/src/segmentation.definition';
import { createSource } from './harness';

jest.setTimeout(300_000);

/** Messages per run; a failing run prints its seed (MOSAIC_PROPERTY_SEED=<seed> replays it). */
const MESSAGES = 240;
const BATCH = 10;
// A test setting, like MOSAIC_CHROMIUM in harness.ts: replays a reported failure.
const SEED = Number(process.env.MOSAIC_PROPERTY_SEED ?? Date.now() % 2 ** 31);
const DLQS: TopicKey[] = ['dlqCollector', 'dlqIdentity', 'dlqEnrichment', 'dlqSegmentation', 'dlqActivation'];

// ---- arbitrary Segment messages ------------------------------------------------------------

const NASTY_NAMES = [
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
  '$inc',
  '$where',
  'a.b',
  '.',
  '$',
  '',
  ' ',
  '_id',
  'length',
  'email',
  'userId',
  'nul\u0000',
  'emoji 😀',
  'ÿ',
  '\u202e',
  'Product Viewed',
  'Order Completed',
  'Product Added',
];
/** Rare faults: each makes the message refused (or the whole request, for `__proto__`), or, for the trait operators, usually has the wrong shape. */
const FAULTY_NAMES = ['__proto__', 'constructor', 'prototype', 'x\ud800', '\udc00y', '$set', '$set_once', '$unset'];
const rare = <T>(common: fc.Arbitrary<T>, odd: fc.Arbitrary<T>, oddOneIn = 40) =>
  fc.oneof({ weight: oddOneIn - 1, arbitrary: common }, { weight: 1, arbitrary: odd });

const name = fc.oneof(
  { weight: 5, arbitrary: fc.string({ maxLength: 16 }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_NAMES) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
);
const key = rare(name, fc.oneof(fc.constantFrom(...FAULTY_NAMES), fc.string({ unit: 'binary', maxLength: 4 })), 200);
const text = rare(name, fc.oneof(fc.constantFrom(...FAULTY_NAMES), fc.string({ unit: 'binary', maxLength: 6 })), 200);
const leaf = fc.oneof(
  { weight: 4, arbitrary: text },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e308, -1e308, 5e-324, -0) },
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 5 }, leaf, tie('array'), fc.dictionary(key, tie('value'), { maxKeys: 5 })),
  // an array directly inside an array is a store-compatibility fault: rare
  array: fc.array(rare(fc.oneof(leaf, fc.dictionary(key, tie('value'), { maxKeys: 3 })), tie('array'), 300), { maxLength: 4 }),
}));
const object = fc.dictionary(key, value, { maxKeys: 6 });

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Forms the collector accepts that are not toISOString's (some not ISO-8601 to the contract's validator): it must store them canonical. */
const ODD_FORMS: ((d: Date) => string)[] = [
  (d) => d.toISOString().replace('T', 't'),
  (d) => d.toISOString().replace('Z', 'z'),
  (d) => d.toISOString().replace('T', ' ').replace('.', ','),
  (d) => d.toISOString().replace('Z', '123456+00:00'),
  (d) => new Date(d.getTime() + 2 * HOUR).toISOString().replace('Z', '+02:00'),
  (d) => new Date(d.getTime() - 5.5 * HOUR).toISOString().replace('Z', '-0530'),
  (d) => d.toISOString().slice(0, 19),
  (d) => d.toISOString().slice(0, 16).replace('T', 't'),
];
const recent = fc.integer({ min: -60 * DAY, max: DAY }).map((ms) => new Date(Date.now() + ms));
const timestamp = rare(
  fc.oneof(
    recent.map((d) => d.toISOString()),
    fc.tuple(recent, fc.constantFrom(...ODD_FORMS)).map(([d, form]) => form(d)),
  ),
  fc.oneof(
    fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString()),
    fc.constantFrom('0000-01-01', '9999-12-31', '1969-12-31T23:59:59Z', '2026-13-45', 'not a date', '', '+275760-09-13T00:00:00.000Z', '2026-01-01'),
    fc.oneof(fc.integer(), fc.double()).map(String),
  ),
  12,
);
const id = fc.oneof(
  { weight: 6, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom('shared-visitor', 'toString', 'constructor') },
);
const context = fc.record(
  {
    traits: fc.record(
      { email: fc.oneof(fc.emailAddress(), text), phone: fc.oneof(fc.constantFrom('+14155552671', '+44 20 7946 0958'), text), extra: value },
      { requiredKeys: [] },
    ),
    page: fc.record({ url: fc.oneof(fc.webUrl(), text), referrer: fc.oneof(fc.webUrl({ withQueryParameters: true }), text), path: text }, { requiredKeys: [] }),
    campaign: fc.record({ source: text, medium: text, name: text }, { requiredKeys: [] }),
    externalIds: fc.array(
      fc.record({
        id: rare(fc.string({ minLength: 1, maxLength: 12 }), fc.oneof(text, fc.integer()), 20),
        type: rare(fc.constantFrom('crm_id', 'pos_id', 'toString'), text, 20),
        collection: fc.constantFrom('users', 'accounts'),
      }),
      { maxLength: 2 },
    ),
    userAgent: text,
    ip: fc.oneof(fc.ipV4(), fc.ipV6(), text),
    other: object,
  },
  { requiredKeys: [] },
);
const segmentMessage = fc
  .record(
    {
      type: rare(fc.constantFrom('track', 'track', 'track', 'page', 'screen', 'identify', 'group', 'alias'), text, 60),
      anonymousId: id,
      userId: id,
      event: fc.oneof(fc.constantFrom('Product Viewed', 'Order Completed', 'Product Added', 'Email Link Clicked'), text),
      name: text,
      category: text,
      groupId: id,
      previousId: id,
      properties: fc.oneof(
        object,
        fc.record(
          { price: leaf, revenue: leaf, total: leaf, category: fc.constantFrom('coffee', 'tea'), products: fc.array(object, { maxLength: 3 }) },
          { requiredKeys: [] },
        ),
      ),
      traits: object,
      context,
      timestamp,
      sentAt: timestamp,
      originalTimestamp: timestamp,
    },
    { requiredKeys: ['type', 'anonymousId', 'event', 'groupId', 'previousId'] },
  )
  // a message without any id is a fault of its own: keep the anonymous id mostly
  .chain((m) => fc.boolean().map((dropAnonymous) => (dropAnonymous && m.userId !== undefined ? { ...m, anonymousId: undefined } : m)));

// ---- the pipeline ---------------------------------------------------------------------------

const services: StartedService[] = [];
let collector: StartedService;
let taps: TopicTap[] = [];
let writeKey: string;

beforeAll(async () => {
  collector = await startTestService(collectorDefinition, { env: { MOSAIC_INSTANCE_ID: 'prop-collector' } });
  services.push(collector);
  services.push(await startTestService(identityDefinition, { env: { MOSAIC_INSTANCE_ID: 'prop-identity' } }));
  services.push(await startTestService(enrichmentDefinition, { env: { MOSAIC_INSTANCE_ID: 'prop-enrichment' } }));
  const segmentation = await startTestService(segmentationDefinition, {
    env: { MOSAIC_INSTANCE_ID: 'prop-segmentation', SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0' },
  });
  services.push(segmentation);
  services.push(await startTestService(activationDefinition, { env: { MOSAIC_INSTANCE_ID: 'prop-activation', ACTIVATION_COLLECTOR_URL: collector.http.url } }));
  // segments that read properties, traits, computed attributes and event windows of arbitrary data
  const segments = [
    {
      key: 'viewers',
      condition: {
        event: 'Product Viewed',
        where: [{ property: 'category', op: 'equals', value: 'coffee' }],
        aggregate: { fn: 'count', op: 'gte', value: 2 },
        within: { amount: 7, unit: 'days' },
      },
    },
    {
      key: 'spenders',
      condition: { event: 'Order Completed', aggregate: { fn: 'sum', property: 'total', op: 'gt', value: 100 }, within: { amount: 30, unit: 'days' } },
    },
    { key: 'emailed', condition: { trait: 'email', op: 'exists' } },
    { key: 'buyers', condition: { attribute: 'orders.count', op: 'gte', value: 1 } },
  ];
  for (const s of segments) expect((await adminRequest(segmentation.http.url, 'POST', '/v1/segments', s)).status).toBe(201);
  taps = await Promise.all(DLQS.map((t) => TopicTap.start(testInfra().kafkaBrokers, collector.platform.topics[t])));
  writeKey = (await createSource(collector.http.url, 'property')).writeKey;
}, 240_000);

afterAll(async () => {
  for (const t of taps) await t.stop();
  for (const s of services.reverse()) await s.stop();
});

async function sendBatch(batch: Record<string, unknown>[]): Promise<{ status: number; body: any }> {
  const res = await fetch(`${collector.http.url}/v1/batch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
    body: JSON.stringify({ batch }),
  });
  return { status: res.status, body: await res.json().catch(() => ({})) };
}

/** A refusal's reason without the values in it, to count them. */
function refusalKind(e: any): string {
  return `${e.path ?? ''} ${e.code ?? ''} ${String(e.message ?? '')
    .replace(/"[^"]*"|\d+/g, '…')
    .slice(0, 80)}`.trim();
}

/** Every consumer group of this test has read its topic to the end. */
async function pipelineDrained(admin: ReturnType<Kafka['admin']>): Promise<boolean> {
  const prefix = testInfra().topicPrefix;
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
  if (groups.length < 4) return false;
  for (const groupId of groups) {
    const topicKey = groupId.slice(groupId.lastIndexOf('.') + 1) as TopicKey;
    const topic = collector.platform.topics[topicKey];
    if (!topic) continue;
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const done = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
    for (const p of ends) if (BigInt(p.high) > 0n && (done.get(p.partition) ?? -1n) < BigInt(p.high)) return false;
  }
  return true;
}

it('every message the collector accepts is processed by every stage without a dead letter', async () => {
  const messages = fc.sample(segmentMessage, { numRuns: MESSAGES, seed: SEED }).map((m) => ({ ...m, messageId: randomUUID() }) as Record<string, unknown>);
  const accepted: string[] = [];
  const refusals = new Map<string, number>();
  for (let i = 0; i < messages.length; i += BATCH) {
    const batch = messages.slice(i, i + BATCH);
    const { status, body } = await sendBatch(batch);
    // a refusal is a 4xx naming the problem (400, or 413 for a request over the size limit), never a 5xx
    expect({ seed: SEED, status, body: [200, 400, 413].includes(status) ? undefined : body }).toEqual({
      seed: SEED,
      status: [400, 413].includes(status) ? status : 200,
      body: undefined,
    });
    const rejected = new Set<number>(status === 200 ? (body.rejected ?? []).map((r: any) => r.index) : batch.map((_, j) => j));
    for (const r of body.rejected ?? []) for (const e of r.errors ?? [r]) refusals.set(refusalKind(e), (refusals.get(refusalKind(e)) ?? 0) + 1);
    batch.forEach((m, j) => rejected.has(j) || accepted.push(m['messageId'] as string));
  }
  process.stderr.write(`[contract property] seed ${SEED}: ${accepted.length}/${MESSAGES} accepted; refusals ${JSON.stringify(Object.fromEntries(refusals))}\n`);
  // The property is only worth something when a good share of messages gets through. Over 1,500
  // seeds (the collector's own parsing and validation, without the services) 76 to 151 of 240 were
  // accepted, median 117: a third (80) failed one seed in a few hundred, a quarter is no seed's luck.
  expect(accepted.length).toBeGreaterThanOrEqual(MESSAGES / 4);

  const admin = new Kafka({ brokers: testInfra().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await waitFor(() => pipelineDrained(admin), { timeoutMs: 240_000, intervalMs: 1_000, message: `every stage drained (seed ${SEED})` });
  } finally {
    await admin.disconnect();
  }
  const deadLetters = taps.flatMap((t) => t.messages.map((m) => ({ topic: m.topic, error: (m.json as any)?.payload?.error, key: m.key })));
  expect({ seed: SEED, deadLetters }).toEqual({ seed: SEED, deadLetters: [] });

  // every accepted event is in enrichment's event store, under the message id it was accepted with
  const client = await MongoClient.connect(testInfra().mongoUri);
  try {
    const stored = await client
      .db()
      .collection('enrichment_events')
      .countDocuments({ _id: { $in: accepted } as any });
    expect({ seed: SEED, stored }).toEqual({ seed: SEED, stored: accepted.length });
  } finally {
    await client.close();
  }
});
