/* eslint-disable @typescript-eslint/no-explicit-any -- API answers and envelopes are inspected as loose JSON */
// The attacks of issue 13's probe, end to end on the real broker and store: each is refused at
// the collector with a 400 naming the field, and the victim's next clean event still reaches
// their profile. A poisonous message that reaches a stage anyway (another producer, an old
// record) is dead-lettered alone after one attempt, and neither the victim's later events nor a
// bystander's wait for it.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { Schemas, encodeMessage, type RawEvent } from '@mosaic/contracts';
import type { StartedService } from '@mosaic/shared-service';
import { TopicTap, adminRequest, startTestService, testInfra, waitFor } from '@mosaic/shared-testing';
import { collectorDefinition } from '../../apps/collector/src/collector.definition';
import { enrichmentDefinition } from '../../apps/enrichment/src/enrichment.definition';
import { identityDefinition } from '../../apps/identity/src/identity.definition';
import { createSource } from './harness';

jest.setTimeout(180_000);

const services: StartedService[] = [];
let collector: StartedService;
let enrichment: StartedService;
let source: { id: string; writeKey: string };
let dlqEnrichment: TopicTap;
let dlqIdentity: TopicTap;

beforeAll(async () => {
  collector = await startTestService(collectorDefinition, { env: { MOSAIC_INSTANCE_ID: 'hard-collector' } });
  services.push(collector);
  services.push(await startTestService(identityDefinition, { env: { MOSAIC_INSTANCE_ID: 'hard-identity' } }));
  enrichment = await startTestService(enrichmentDefinition, { env: { MOSAIC_INSTANCE_ID: 'hard-enrichment' } });
  services.push(enrichment);
  dlqEnrichment = await TopicTap.start(testInfra().kafkaBrokers, collector.platform.topics.dlqEnrichment);
  dlqIdentity = await TopicTap.start(testInfra().kafkaBrokers, collector.platform.topics.dlqIdentity);
  source = await createSource(collector.http.url, 'hardening');
}, 180_000);

afterAll(async () => {
  await dlqEnrichment?.stop();
  await dlqIdentity?.stop();
  for (const s of services.reverse()) await s.stop();
});

async function track(body: Record<string, unknown>): Promise<{ status: number; json: any }> {
  const res = await fetch(`${collector.http.url}/v1/track`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}` },
    body: JSON.stringify({ messageId: randomUUID(), event: 'Page Liked', ...body }),
  });
  return { status: res.status, json: await res.json() };
}

/** The profile of an identifier once `ready` holds for it. */
function profileOf(type: string, value: string, ready: (p: any) => boolean): Promise<any> {
  return waitFor(
    async () => {
      const r = await adminRequest(enrichment.http.url, 'GET', `/v1/profiles/by/${type}/${encodeURIComponent(value)}`);
      return r.status === 200 && ready(r.json['profile']) ? r.json['profile'] : null;
    },
    { timeoutMs: 60_000, intervalMs: 250, message: `the profile of ${type} ${value}` },
  );
}

const pageLikes = (p: any) => (p.computed.daily ? Object.values(p.computed.daily).reduce((n: number, d: any) => n + (d.events?.['Page Liked'] ?? 0), 0) : 0);

describe('attacks of the probe are refused at the door; the victim keeps working', () => {
  const victim = { email: `victim-${randomUUID()}@example.com`, anonymousId: `victim-${randomUUID()}` };

  beforeAll(async () => {
    expect((await track({ anonymousId: victim.anonymousId, context: { traits: { email: victim.email } } })).status).toBe(200);
    await profileOf('anonymousId', victim.anonymousId, (p) => pageLikes(p) === 1);
  });

  it.each([
    ['a nested array merged in by email', { context: { traits: { email: '<victim>', x: [[1]] } } }, 'context.traits.x[0]'],
    ['a constructor property', { properties: { constructor: 'v' } }, 'properties.constructor'],
    ['a constructor trait', { context: { traits: { email: '<victim>', constructor: 'Bob' } } }, 'constructor'],
    ['an event named prototype', { event: 'prototype', context: { traits: { email: '<victim>' } } }, 'event'],
    ['an unpaired surrogate in an id', { anonymousIdSuffix: '\ud800', context: { traits: { email: '<victim>' } } }, 'anonymousId'],
    ['a timestamp out of range', { timestamp: '0000-01-01', sentAt: '9999-12-31', context: { traits: { email: '<victim>' } } }, 'timestamp'],
  ])('%s: 400 naming the field, and the victim’s next clean event reaches the profile', async (_name, attack, field) => {
    const { anonymousIdSuffix, ...rest } = attack as Record<string, any>;
    const body = JSON.parse(JSON.stringify(rest).replace('<victim>', victim.email));
    const attacker = `attacker-${randomUUID()}${anonymousIdSuffix ?? ''}`;
    const refused = await track({ anonymousId: attacker, ...body });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json.error)).toContain(field);

    const before = pageLikes(await profileOf('anonymousId', victim.anonymousId, () => true));
    expect((await track({ anonymousId: victim.anonymousId })).status).toBe(200);
    await profileOf('anonymousId', victim.anonymousId, (p) => pageLikes(p) === before + 1);
  });

  it('events and traits named like Object.prototype members are ordinary data', async () => {
    const visitor = `proto-${randomUUID()}`;
    for (const event of ['toString', 'toString', 'valueOf']) expect((await track({ anonymousId: visitor, event })).status).toBe(200);
    expect((await track({ anonymousId: visitor, context: { traits: { toString: 'T', hasOwnProperty: 'H' } } })).status).toBe(200);
    const p = await profileOf('anonymousId', visitor, (x) => pageLikes(x) === 1);
    const counts = Object.values(p.computed.daily as Record<string, any>).map((d) => d.events);
    expect(counts).toEqual([{ toString: 2, valueOf: 1, 'Page Liked': 1 }]);
  });
});

describe('a poisonous message that reaches a stage is dead-lettered alone', () => {
  it('a record enrichment cannot store: dead-lettered after one attempt; the same profile’s next event and a bystander’s are applied', async () => {
    const victim = `poisoned-${randomUUID()}`;
    const bystander = `bystander-${randomUUID()}`;
    expect((await track({ anonymousId: victim })).status).toBe(200);
    await profileOf('anonymousId', victim, (p) => pageLikes(p) === 1);

    // Another producer writes what the collector refuses: an event name with a NUL character,
    // which the PostgreSQL-backed store cannot hold in the event document's `name` field.
    // (Profiles keep their state as JSON text, which holds anything JSON can: the event
    // document's indexed fields are what can still be refused.)
    const poisonId = randomUUID();
    const now = new Date().toISOString();
    const poison: RawEvent = {
      type: 'track',
      event: 'Poison\u0000Event',
      messageId: poisonId,
      anonymousId: victim,
      properties: {},
      traits: {},
      context: {},
      timestamp: now,
      receivedAt: now,
      sourceId: source.id,
    };
    const producer = new Kafka({ brokers: testInfra().kafkaBrokers, logLevel: logLevel.NOTHING }).producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    try {
      const { value, headers } = encodeMessage(Schemas.rawEvent, poison, { producer: 'another-producer', messageId: poisonId });
      await producer.send({ topic: collector.platform.topics.eventsRaw, acks: -1, messages: [{ key: victim, value, headers }] });
    } finally {
      await producer.disconnect();
    }
    expect((await track({ anonymousId: victim })).status).toBe(200);
    expect((await track({ anonymousId: bystander })).status).toBe(200);

    await profileOf('anonymousId', victim, (p) => pageLikes(p) === 2);
    await profileOf('anonymousId', bystander, (p) => pageLikes(p) === 1);
    const letter = await waitFor(() => dlqEnrichment.payloads<any>((p) => JSON.stringify(p.headers).includes(poisonId))[0] ?? null, {
      timeoutMs: 30_000,
      message: 'the poison in dlq.enrichment',
    });
    expect(letter.attempts).toBe(1);
    expect(dlqEnrichment.messages).toHaveLength(1);
    expect(dlqIdentity.messages).toHaveLength(0);
  });
});
