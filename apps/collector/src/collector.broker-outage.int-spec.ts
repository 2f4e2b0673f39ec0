// With Kafka unreachable the collector answers 503 quickly, never 200 for an event that was
// not stored; when the broker is back it recovers, and everything it acknowledged is there.
import { TopicTap, TEST_ADMIN_TOKEN, startPrivateKafka, startTestService, type PrivateKafka } from '@mosaic/shared-testing';
import type { StartedService } from '@mosaic/shared-service';
import { collectorDefinition } from './collector.definition';

jest.setTimeout(180_000);

let kafka: PrivateKafka;
let svc: StartedService;
let auth: string;

function createSource(name: string): Promise<Response> {
  return fetch(`${svc.http.url}/v1/sources`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  });
}

async function track(id: string): Promise<{ status: number; retryAfter: string | null }> {
  const res = await fetch(`${svc.http.url}/v1/track`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: auth },
    body: JSON.stringify({ anonymousId: 'outage-1', messageId: id, event: 'During outage test' }),
  });
  await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after') };
}

beforeAll(async () => {
  kafka = await startPrivateKafka();
  svc = await startTestService(collectorDefinition, {
    env: { KAFKA_BROKERS: kafka.brokers.join(','), COLLECTOR_ACK_TIMEOUT_MS: '2000', KAFKA_PRODUCER_ACK_TIMEOUT_MS: '2000', KAFKA_TOPIC_PARTITIONS: '1' },
  });
  const created = (await (await createSource('outage')).json()) as { writeKey: string };
  auth = `Basic ${Buffer.from(`${created.writeKey}:`).toString('base64')}`;
});

afterAll(async () => {
  await svc?.stop();
  await kafka?.destroy();
});

it('answers 503 quickly while the broker is down and recovers when it is back', async () => {
  expect((await track('outage-before')).status).toBe(200);

  await kafka.stop('SIGKILL');
  const during: { status: number; retryAfter: string | null }[] = [];
  for (let i = 0; i < 3; i++) during.push(await track(`outage-during-${i}`));
  for (const r of during) {
    expect(r.status).toBe(503);
    expect(r.retryAfter).not.toBeNull();
    // It answered while the broker was still down (it is started again only below): the request
    // failed fast instead of waiting for Kafka. No bound on how fast: the machine may be busy.
  }
  // An admin change that cannot be announced on its topic is a 503 to retry, not an internal error.
  const admin = await createSource('during outage');
  expect(admin.status).toBe(503);
  expect(admin.headers.get('retry-after')).toBe('5');
  expect(((await admin.json()) as { error: { code: string } }).error.code).toBe('kafka_unavailable');
  // Health stays up (the process is fine); readiness says Kafka is not.
  expect((await fetch(`${svc.http.url}/health`)).status).toBe(200);
  expect((await fetch(`${svc.http.url}/ready`)).status).toBe(503);

  await kafka.start();
  let recovered: { status: number } = { status: 0 };
  const deadline = Date.now() + 60_000;
  let n = 0;
  while (Date.now() < deadline) {
    recovered = await track(`outage-after-${n++}`);
    if (recovered.status === 200) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(recovered.status).toBe(200);

  // Everything acknowledged with 200 is on the topic.
  const tap = await TopicTap.start(kafka.brokers, svc.platform.topics.eventsRaw);
  try {
    await tap.waitFor(
      (m) => m.some((x) => x.headers['messageId'] === 'outage-before') && m.some((x) => x.headers['messageId'] === `outage-after-${n - 1}`),
      30_000,
    );
  } finally {
    await tap.stop();
  }
});
