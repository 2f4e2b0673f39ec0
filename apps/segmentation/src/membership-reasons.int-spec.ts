/* eslint-disable @typescript-eslint/no-explicit-any -- API responses and envelopes are inspected as loose JSON */
// Why a profile entered a segment, on the real broker and MongoDB-wire server: an entry by an
// event records the trigger (the event's name, id and time) and the conditions that held with
// the profile's values; GET /v1/profiles/{id}/segments returns it, the entered message carries
// it, and a membership stored before reasons were recorded is answered without one.
import { Schemas, type ProfileChange } from '@mosaic/contracts';
import { produceMessages } from '@mosaic/shared-kafka';
import type { StartedService } from '@mosaic/shared-service';
import { PIPELINE_WAIT_MS, TopicTap, adminRequest, dropTestDatabase, startTestService, testInfra } from '@mosaic/shared-testing';
import { MongoClient } from 'mongodb';
import { segmentationDefinition } from './segmentation.definition';

jest.setTimeout(120_000);

const HOUR = 3_600_000;
const infra = testInfra();
let svc: StartedService;
let membership: TopicTap;
let mongo: MongoClient;

beforeAll(async () => {
  svc = await startTestService(segmentationDefinition, {
    env: { MOSAIC_INSTANCE_ID: 'segmentation-reasons-1', SEGMENTATION_DEFINITIONS_REFRESH_MS: '500', SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0' },
  });
  membership = await TopicTap.start(infra.kafkaBrokers, svc.platform.topics.segmentsMembership);
  mongo = await MongoClient.connect(infra.mongoUri);
}, 120_000);

afterAll(async () => {
  await membership?.stop();
  await svc?.stop();
  await mongo?.close();
  await dropTestDatabase().catch(() => undefined);
});

const api = (method: string, path: string, body?: unknown) => adminRequest(svc.http.url, method, path, body);

function viewed(profileId: string, version: number, messageId: string, at: number, category: string): ProfileChange {
  return {
    profileId,
    version,
    changed: [],
    profile: { identifiers: [{ type: 'userId', value: `user-${profileId}` }], traits: { plan: 'pro' }, computed: {}, membershipVersion: 0 } as any,
    trigger: { messageId, kind: 'event', eventType: 'track', event: 'Product Viewed', properties: { category }, timestamp: new Date(at).toISOString() },
    at: new Date().toISOString(),
  };
}

async function send(changes: ProfileChange[]): Promise<void> {
  await produceMessages(
    svc.platform.producer,
    svc.platform.topics.profilesChanges,
    Schemas.profileChange,
    changes.map((c) => ({
      payload: c,
      meta: { key: c.profileId, producer: 'it-test', messageId: `chg:${c.profileId}:${c.trigger?.messageId}`, correlationId: 'x' },
    })),
  );
}

const coffeeTwice = {
  key: 'coffee-machine-viewers',
  name: 'Viewed coffee machines twice in 7 days',
  condition: {
    all: [
      {
        event: 'Product Viewed',
        where: [{ property: 'category', op: 'equals', value: 'coffee-machines' }],
        aggregate: { fn: 'count', op: 'gte', value: 2 },
        within: { amount: 7, unit: 'days' },
      },
      { trait: 'plan', op: 'equals', value: 'pro' },
    ],
  },
};

it('an entry by an event records the event and the conditions that held; the endpoint and the entered message carry them', async () => {
  expect((await api('POST', '/v1/segments', coffeeTwice)).status).toBe(201);
  const now = Date.now();
  const second = now - HOUR;
  await send([
    viewed('p-why', 1, 'ev-why-1', now - 2 * HOUR, 'coffee-machines'),
    viewed('p-why', 2, 'ev-why-tea', now - 90 * 60_000, 'tea'),
    viewed('p-why', 3, 'ev-why-2', second, 'coffee-machines'),
  ]);
  await membership.waitFor(() => membership.payloads<any>((p) => p.profileId === 'p-why').length >= 1, PIPELINE_WAIT_MS);

  const matched = ['Product Viewed with category = coffee-machines: 2 times within 7 days (needs ≥ 2)', 'trait plan = pro'];
  const trigger = { kind: 'event', event: 'Product Viewed', messageId: 'ev-why-2', at: new Date(second).toISOString() };
  const res = await api('GET', '/v1/profiles/p-why/segments');
  expect(res.status).toBe(200);
  expect(res.json['segments']).toEqual([
    { segmentKey: 'coffee-machine-viewers', segmentVersion: 1, since: expect.any(String), reason: { trigger, matched }, why: expect.any(String) },
  ]);
  expect(res.json['segments'][0].why).toBe(`triggered by event Product Viewed at ${trigger.at} (id ev-why-2): ${matched.join('; ')}`);

  const [entered] = membership.payloads<any>((p) => p.profileId === 'p-why');
  expect(entered).toMatchObject({ change: 'entered', segmentKey: 'coffee-machine-viewers', reason: { kind: 'message', messageId: 'ev-why-2' } });
  expect(entered.explanation).toEqual({ trigger, matched });
});

it('a membership stored before reasons were recorded is answered without one', async () => {
  const state = {
    profileId: 'p-old',
    sourceVersion: 4,
    profile: { identifiers: [], traits: { plan: 'pro' }, computed: {} },
    windows: {},
    qualified: { 'coffee-machine-viewers': true },
    memberships: { 'coffee-machine-viewers': { version: 1, since: '2026-01-02T03:04:05.000Z' } },
    timers: {},
    applied: [],
    membershipVersion: 1,
  };
  await mongo
    .db()
    .collection('segmentation_profiles')
    .insertOne({
      _id: 'p-old' as any,
      partition: 0,
      version: 1,
      writeId: 'w-old',
      state: JSON.stringify(state),
      segments: ['coffee-machine-viewers'],
      timerAt: null,
      timerSlot: null,
      outbox: null,
      updatedAt: new Date(),
    });
  const res = await api('GET', '/v1/profiles/p-old/segments');
  expect(res.status).toBe(200);
  expect(res.json['segments']).toEqual([
    { segmentKey: 'coffee-machine-viewers', segmentVersion: 1, since: '2026-01-02T03:04:05.000Z', reason: null, why: 'entered before reasons were recorded' },
  ]);
});
