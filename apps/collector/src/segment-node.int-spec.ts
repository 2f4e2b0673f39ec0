// Interoperability: the official @segment/analytics-node client (nobody here wrote it),
// pointed at the collector, sends track/page/identify/alias/group/screen; we read them back from Kafka.
import { Analytics } from '@segment/analytics-node';
import { TopicTap, TEST_ADMIN_TOKEN, startTestService, testInfra } from '@mosaic/shared-testing';
import type { StartedService } from '@mosaic/shared-service';
import { collectorDefinition } from './collector.definition';

let svc: StartedService;
let tap: TopicTap;

beforeAll(async () => {
  svc = await startTestService(collectorDefinition);
  tap = await TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.eventsRaw);
}, 120_000);

afterAll(async () => {
  await tap?.stop();
  await svc?.stop();
});

type Payload = Record<string, unknown> & { type: string; context: Record<string, unknown> };

it('accepts every call of the official Segment Node client', async () => {
  const created = (await (
    await fetch(`${svc.http.url}/v1/sources`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      body: '{"name":"backend"}',
    })
  ).json()) as { writeKey: string };
  const analytics = new Analytics({ writeKey: created.writeKey, host: svc.http.url, flushAt: 3, flushInterval: 200, maxRetries: 1 });
  const failures: unknown[] = [];
  analytics.on('error', (err) => failures.push(err));
  analytics.track({
    anonymousId: 'seg-anon-1',
    event: 'Order Completed',
    properties: { order_id: 'o-1', total: 42.5, products: [{ sku: 'B-1', price: 12.5 }] },
  });
  analytics.page({ anonymousId: 'seg-anon-1', name: 'Checkout', properties: { url: 'https://shop.example.com/checkout' } });
  analytics.identify({ userId: 'seg-user-1', anonymousId: 'seg-anon-1', traits: { email: 'grace@example.com', plan: 'gold' } });
  analytics.alias({ userId: 'seg-user-1', previousId: 'seg-anon-1' });
  analytics.group({ userId: 'seg-user-1', groupId: 'org-1', traits: { name: 'Hopper Ltd' } });
  analytics.screen({ userId: 'seg-user-1', name: 'Home' });
  await analytics.closeAndFlush({ timeout: 10_000 });
  expect(failures).toEqual([]);

  await tap.waitFor((m) => m.length >= 6);
  const payloads = tap.payloads<Payload>();
  const byType = Object.fromEntries(payloads.map((p) => [p.type, p]));
  expect(Object.keys(byType).sort()).toEqual(['alias', 'group', 'identify', 'page', 'screen', 'track']);
  expect(byType['track']).toMatchObject({ event: 'Order Completed', anonymousId: 'seg-anon-1', properties: { order_id: 'o-1', total: 42.5 } });
  expect(byType['identify']).toMatchObject({ userId: 'seg-user-1', traits: { email: 'grace@example.com' } });
  expect(byType['alias']).toMatchObject({ userId: 'seg-user-1', previousId: 'seg-anon-1' });
  expect(byType['track']!.context['library']).toMatchObject({ name: '@segment/analytics-node' });
  // The client's own messageIds are kept, so its retries de-duplicate.
  for (const p of payloads) expect(String(p['messageId'])).toMatch(/^node-next-/);
  const keys = Object.fromEntries(tap.messages.map((m) => [(m.json as { payload: Payload }).payload.type, m.key]));
  expect(keys).toMatchObject({ track: 'seg-anon-1', page: 'seg-anon-1', identify: 'seg-anon-1', alias: 'seg-user-1', screen: 'seg-user-1' });
});
