/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// A Kafka destination cannot write to Mosaic's own topics (those of libs/contracts with this
// deployment's prefix) or Kafka's internal ones: creating or replacing one is a 400 naming the
// topic, and a destination stored before that check produces nothing there. Real broker and store.
import type { StartedService } from '@mosaic/shared-service';
import { adminRequest, dropTestDatabase, startTestService, waitFor } from '@mosaic/shared-testing';
import { activationDefinition } from './activation.definition';
import { entered, sendMemberships } from './activation-test-helpers';
import { ActivationService } from './activation.service';

jest.setTimeout(120_000);

let svc: StartedService;
let activation: ActivationService;

beforeAll(async () => {
  svc = await startTestService(activationDefinition, {
    env: {
      MOSAIC_INSTANCE_ID: 'activation-own-topics-it',
      ACTIVATION_DISPATCH_INTERVAL_MS: '50',
      ACTIVATION_RETRY_BASE_MS: '100',
      ACTIVATION_RETRY_MAX_MS: '200',
      ACTIVATION_RETRY_MAX_ATTEMPTS: '2',
      ACTIVATION_CONFIG_REFRESH_MS: '200',
    },
  });
  activation = svc.http.app.get(ActivationService);
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  await dropTestDatabase().catch(() => undefined);
});

const api = (method: string, path: string, body?: unknown) => adminRequest(svc.http.url, method, path, body);

it("refuses a Kafka destination naming one of the deployment's own topics, with a 400 naming it", async () => {
  const topics = svc.platform.topics;
  for (const topic of [topics.segmentsMembership, topics.sources, topics.dlqActivation, topics.segmentsMembership.replace(/\./g, '_'), '__consumer_offsets']) {
    const r = await api('POST', '/v1/destinations', { kind: 'kafka', name: 'loop', topic });
    expect(r.status).toBe(400);
    expect(r.json['error']['message']).toContain(`topic: ${topic} is one of`);
  }
  const ok = await api('POST', '/v1/destinations', { kind: 'kafka', name: 'crm', topic: `${topics.segmentsMembership}.crm-copy` });
  expect(ok.status).toBe(201);
  const replaced = await api('PUT', `/v1/destinations/${ok.json['id']}`, { kind: 'kafka', name: 'crm', topic: topics.profilesChanges });
  expect(replaced.status).toBe(400);
  expect(replaced.json['error']['message']).toContain(`topic: ${topics.profilesChanges} is one of this deployment's own topics`);
  expect((await api('GET', `/v1/destinations/${ok.json['id']}`)).json['topic']).toBe(`${topics.segmentsMembership}.crm-copy`);
});

it('produces nothing to an own topic named by a destination stored before the check', async () => {
  const now = new Date();
  const topic = svc.platform.topics.segmentsMembership;
  await activation.destinations.insert({
    _id: 'dst_legacy_loop',
    kind: 'kafka',
    name: 'legacy',
    enabled: true,
    config: JSON.stringify({ kind: 'kafka', topic }),
    createdAt: now,
    updatedAt: now,
  });
  await activation.config.reload();
  expect((await api('POST', '/v1/triggers', { segmentKey: 'legacy-loop', on: 'entered', destinationId: 'dst_legacy_loop' })).status).toBe(201);
  await sendMemberships(svc.platform, [entered('o-1', 'legacy-loop')]);
  const [d] = await waitFor(
    async () => {
      const list = (await api('GET', '/v1/deliveries?destinationId=dst_legacy_loop')).json['deliveries'];
      return list[0]?.status === 'dead' ? list : null;
    },
    { timeoutMs: 30_000 },
  );
  expect(d.log.map((a: any) => a.status)).toEqual(['error', 'error']);
  expect(d.log[0].error).toMatch(new RegExp(`^not produced: ${topic.replace(/\./g, '\\.')} is one of this deployment's own topics`));
});
