/* eslint-disable @typescript-eslint/no-explicit-any -- API responses and envelopes are inspected as loose JSON */
// Triggers and destinations on the real broker and store, against real HTTP receivers started
// here: Standard Webhooks signatures verified, retries with back-off, a failing endpoint
// dead-lettered and replayed, a slow endpoint not slowing another, replayed membership changes
// sending nothing twice, frequency caps, delays, a Kafka-topic destination, and bad input.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SegmentMembershipChange } from '@mosaic/contracts';
import { ACTIVATION_COLLECTIONS } from '@mosaic/activation-data-access';
import { verify } from '@mosaic/activation-domain';
import type { StartedService } from '@mosaic/shared-service';
import { PIPELINE_WAIT_MS, TopicTap, adminRequest, dropTestDatabase, startTestService, testInfra, waitFor } from '@mosaic/shared-testing';
import { activationDefinition } from './activation.definition';
import { profileChange, sendMemberships as sendMembershipsTo, sendProfileChanges } from './activation-test-helpers';

jest.setTimeout(180_000);

const infra = testInfra();
/** The slow endpoint answers once this resolves (a test replaces it with a closed gate). */
let slowGate: Promise<void> = Promise.resolve();
let svc: StartedService;
let receiver: Server;
let base: string;
let dlq: TopicTap;

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}
const received: Received[] = [];
const failures = new Map<string, number>(); // path -> remaining failures
let deadMode = true;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body, at: Date.now() });
      const reply = (status: number) => {
        res.statusCode = status;
        res.end();
      };
      // held until the test opens the gate: a slow endpoint whose slowness does not depend on the machine
      if (path.startsWith('/slow')) return void slowGate.then(() => reply(200));
      if (path.startsWith('/bad')) return reply(400);
      if (path.startsWith('/dead')) return reply(deadMode ? 503 : 204);
      const left = failures.get(path) ?? 0;
      if (left > 0) {
        failures.set(path, left - 1);
        return reply(500);
      }
      reply(200);
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  svc = await startTestService(activationDefinition, {
    // The receivers of this test are on loopback: allow-listed (outbound-policy.int-spec.ts runs without).
    env: {
      MOSAIC_INSTANCE_ID: 'activation-it-1',
      ACTIVATION_DISPATCH_INTERVAL_MS: '50',
      ACTIVATION_RETRY_BASE_MS: '100',
      ACTIVATION_RETRY_MAX_MS: '300',
      ACTIVATION_RETRY_MAX_ATTEMPTS: '3',
      ACTIVATION_CONFIG_REFRESH_MS: '200',
      ACTIVATION_OUTBOUND_ALLOW: '127.0.0.1/32,::1',
    },
  });
  dlq = await TopicTap.start(infra.kafkaBrokers, svc.platform.topics.dlqActivation);
}, 120_000);

afterAll(async () => {
  await dlq?.stop();
  await svc?.stop();
  await new Promise((r) => receiver?.close(r));
  await dropTestDatabase().catch(() => undefined);
});

const api = (method: string, path: string, body?: unknown) => adminRequest(svc.http.url, method, path, body);

const versions = new Map<string, number>();
function membership(profileId: string, segmentKey: string, change: 'entered' | 'exited', profileVersion?: number): SegmentMembershipChange {
  const v = profileVersion ?? (versions.get(profileId) ?? 0) + 1;
  versions.set(profileId, Math.max(v, versions.get(profileId) ?? 0));
  return {
    profileId,
    segmentKey,
    segmentVersion: 1,
    change,
    at: new Date().toISOString(),
    reason: { kind: 'message', messageId: `m-${profileId}-${v}` },
    identifiers: { userId: `user-${profileId}`, email: `${profileId}@example.com` },
    profileVersion: v,
  };
}

const sendMemberships = (changes: SegmentMembershipChange[]) => sendMembershipsTo(svc.platform, changes);
const sendProfile = (profileId: string, traits: Record<string, unknown>) =>
  sendProfileChanges(svc.platform, [profileChange(profileId, 1, [{ type: 'userId', value: `user-${profileId}` }], traits, { orders: { count: 3 } })]);

async function destination(body: Record<string, unknown>): Promise<{ id: string; secret?: string }> {
  const r = await api('POST', '/v1/destinations', body);
  expect(r.status).toBe(201);
  return { id: r.json['id'], secret: r.json['secret'] };
}

async function trigger(body: Record<string, unknown>): Promise<string> {
  const r = await api('POST', '/v1/triggers', body);
  expect(r.status).toBe(201);
  return r.json['id'];
}

const at = (path: string) => received.filter((r) => r.path === path);
/** Trigger firings the service counted as duplicates (a replayed change), from its metrics. */
async function duplicatesFired(): Promise<number> {
  const metrics = await (await fetch(`${svc.http.url}/metrics`)).text();
  return Number(/mosaic_activation_triggers_fired_total\{outcome="duplicate"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
}

async function deliveries(destinationId: string): Promise<any[]> {
  return (await api('GET', `/v1/deliveries?destinationId=${destinationId}&limit=500`)).json['deliveries'];
}

it('delivers a signed webhook (Standard Webhooks) with the profile, and logs the attempt', async () => {
  const d = await destination({ kind: 'webhook', name: 'CRM', url: `${base}/ok`, headers: { 'X-Team': 'sales' } });
  expect(d.secret).toMatch(/^whsec_/);
  await trigger({ segmentKey: 'vip', on: 'entered', destinationId: d.id });
  await sendProfile('p-1', { firstName: 'Ada' });
  // The profile change is stored first (it comes on another topic): wait for it, not for a while.
  await waitFor(async () => (await svc.platform.mongo.db!.collection(ACTIVATION_COLLECTIONS.profiles).findOne({ _id: 'p-1' as never })) ?? null);
  await sendMemberships([membership('p-1', 'vip', 'entered')]);
  await waitFor(() => at('/ok').length === 1 || null, { timeoutMs: PIPELINE_WAIT_MS });
  const req = at('/ok')[0] as Received;
  expect(req.headers['x-team']).toBe('sales');
  const ok = verify(req.headers as any, req.body, [d.secret as string], Date.now());
  expect(ok).toMatchObject({ ok: true });
  expect(verify(req.headers as any, req.body.replace('vip', 'vIp'), [d.secret as string], Date.now())).toMatchObject({ ok: false });
  const body = JSON.parse(req.body);
  expect(body).toMatchObject({
    type: 'segment.entered',
    id: req.headers['webhook-id'],
    data: { profileId: 'p-1', segmentKey: 'vip', identifiers: { userId: 'user-p-1' }, profile: { traits: { firstName: 'Ada' } } },
  });
  const [delivery] = await waitFor(async () => {
    const list = await deliveries(d.id);
    return list[0]?.status === 'delivered' ? list : null;
  });
  expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, profileId: 'p-1', log: [{ outcome: 'delivered', status: '200' }] });
  expect((await api('GET', `/v1/destinations/${d.id}`)).json['secret']).not.toBe(d.secret); // elided in reads
  expect((await api('GET', `/v1/destinations/${d.id}/secret`)).json['secret']).toBe(d.secret);
});

it('retries with back-off until the endpoint answers, then stops', async () => {
  failures.set('/flaky', 2);
  const d = await destination({ kind: 'webhook', name: 'flaky', url: `${base}/flaky` });
  await trigger({ segmentKey: 'flaky-seg', on: 'entered', destinationId: d.id });
  await sendMemberships([membership('p-2', 'flaky-seg', 'entered')]);
  const [delivery] = await waitFor(
    async () => {
      const list = await deliveries(d.id);
      return list[0]?.status === 'delivered' ? list : null;
    },
    { timeoutMs: PIPELINE_WAIT_MS },
  );
  expect(delivery.log.map((a: any) => `${a.outcome}:${a.status}`)).toEqual(['retry:500', 'retry:500', 'delivered:200']);
  expect(at('/flaky')).toHaveLength(3);
  expect(new Set(at('/flaky').map((r) => r.headers['webhook-id'])).size).toBe(1); // the same id on every attempt
});

it('dead-letters after the last attempt (and a permanent 4xx at once); replay through the admin API delivers', async () => {
  deadMode = true;
  const dead = await destination({ kind: 'webhook', name: 'down', url: `${base}/dead` });
  const bad = await destination({ kind: 'webhook', name: 'rejects', url: `${base}/bad` });
  await trigger({ segmentKey: 'dead-seg', on: 'entered', destinationId: dead.id });
  await trigger({ segmentKey: 'dead-seg', on: 'entered', destinationId: bad.id });
  await sendMemberships([membership('p-3', 'dead-seg', 'entered')]);
  const [d1] = await waitFor(
    async () => {
      const list = await deliveries(dead.id);
      return list[0]?.status === 'dead' ? list : null;
    },
    { timeoutMs: PIPELINE_WAIT_MS },
  );
  expect(d1.attempts).toBe(3);
  const [d2] = await waitFor(
    async () => {
      const list = await deliveries(bad.id);
      return list[0]?.status === 'dead' ? list : null;
    },
    { timeoutMs: PIPELINE_WAIT_MS },
  );
  expect(d2).toMatchObject({ attempts: 1, log: [{ outcome: 'fail', status: '400' }] });
  await dlq.waitFor((m) => m.filter((x) => (x.json as any)?.payload?.headers?.deliveryId).length >= 2, PIPELINE_WAIT_MS);
  const letter = dlq.payloads<any>((p) => p.headers?.deliveryId === d1.id)[0];
  expect(letter).toMatchObject({ service: 'activation', sourceTopic: svc.platform.topics.segmentsMembership, attempts: 3, error: { name: 'DeliveryFailed' } });
  expect(JSON.parse(Buffer.from(letter.valueBase64, 'base64').toString())).toMatchObject({ profileId: 'p-3', segmentKey: 'dead-seg' });
  deadMode = false; // the endpoint is back
  expect((await api('POST', `/v1/destinations/${dead.id}/replay`)).json).toEqual({ replayed: 1 });
  await waitFor(async () => ((await deliveries(dead.id))[0]?.status === 'delivered' ? true : null), { timeoutMs: PIPELINE_WAIT_MS });
  expect((await api('POST', `/v1/deliveries/${d1.id}/replay`)).status).toBe(409); // delivered now
});

it('a slow endpoint does not slow another destination', async () => {
  let openSlowGate!: () => void;
  slowGate = new Promise<void>((resolve) => (openSlowGate = resolve));
  // The longest timeout: the held request must not time out (and be retried) however slow the machine.
  const slow = await destination({ kind: 'webhook', name: 'slow', url: `${base}/slow`, concurrency: 1, timeoutMs: 120_000 });
  const fast = await destination({ kind: 'webhook', name: 'fast', url: `${base}/fast` });
  await trigger({ segmentKey: 'both', on: 'entered', destinationId: slow.id });
  await trigger({ segmentKey: 'both', on: 'entered', destinationId: fast.id });
  await sendMemberships(Array.from({ length: 5 }, (_, i) => membership(`iso-${i}`, 'both', 'entered')));
  // all five reach the fast endpoint while the slow one still holds its first (concurrency 1)
  await waitFor(() => at('/fast').length >= 5 || null, { timeoutMs: PIPELINE_WAIT_MS });
  expect(at('/slow').length).toBeLessThanOrEqual(1);
  openSlowGate();
  await waitFor(() => at('/slow').length >= 5 || null, { timeoutMs: PIPELINE_WAIT_MS });
  // Once all ten are recorded as delivered no dispatch round picks them again: each was sent once.
  await waitFor(
    async () => ((await deliveries(slow.id)).concat(await deliveries(fast.id)).filter((x) => x.status === 'delivered').length === 10 ? true : null),
    {
      timeoutMs: PIPELINE_WAIT_MS,
    },
  );
  expect(at('/fast')).toHaveLength(5);
  expect(at('/slow')).toHaveLength(5);
  expect(new Set(at('/fast').map((r) => r.headers['webhook-id'])).size).toBe(5);
});

it('replaying membership changes sends nothing twice; frequency caps and delays hold', async () => {
  const d = await destination({ kind: 'webhook', name: 'once', url: `${base}/once` });
  await trigger({ segmentKey: 'once-seg', on: 'entered', destinationId: d.id });
  await trigger({ segmentKey: 'capped', on: 'entered', destinationId: d.id, frequencyCap: { max: 1, perSeconds: 3600 } });
  const first = [
    membership('p-4', 'once-seg', 'entered'),
    membership('p-5', 'capped', 'entered'),
    membership('p-5', 'capped', 'exited'),
    membership('p-5', 'capped', 'entered'),
  ];
  await sendMemberships(first);
  await waitFor(() => at('/once').length === 2 || null, { timeoutMs: PIPELINE_WAIT_MS });
  const duplicatesBefore = await duplicatesFired();
  await sendMemberships(first); // a replay of the topic
  // The replay is ingested once its three firings are counted as duplicates (no wait for a while).
  await waitFor(async () => ((await duplicatesFired()) >= duplicatesBefore + 3 ? true : null), { timeoutMs: PIPELINE_WAIT_MS });
  expect(at('/once')).toHaveLength(2);
  const list = await deliveries(d.id);
  expect(list.map((x) => x.status).sort()).toEqual(['delivered', 'delivered', 'skipped']);
  expect(list.find((x) => x.status === 'skipped').skipReason).toMatch(/frequency cap/);
  expect(await duplicatesFired()).toBeGreaterThanOrEqual(3);

  // a delayed trigger is skipped when the profile left the segment before it was due
  const delayed = await destination({ kind: 'webhook', name: 'delayed', url: `${base}/delayed` });
  await trigger({ segmentKey: 'delayed-seg', on: 'entered', destinationId: delayed.id, delaySeconds: 2 });
  const sentAt = Date.now();
  await sendMemberships([membership('p-6', 'delayed-seg', 'entered'), membership('p-7', 'delayed-seg', 'entered'), membership('p-7', 'delayed-seg', 'exited')]);
  await waitFor(() => at('/delayed').length === 1 || null, { timeoutMs: PIPELINE_WAIT_MS });
  expect(JSON.parse((at('/delayed')[0] as Received).body).data.profileId).toBe('p-6');
  // Not before its delay (2 s after the change): a lower bound no machine speed can break.
  expect((at('/delayed')[0] as Received).at).toBeGreaterThanOrEqual(sentAt + 1_900);
  const skipped = await waitFor(async () => (await deliveries(delayed.id)).find((x) => x.status === 'skipped') ?? null, { timeoutMs: PIPELINE_WAIT_MS });
  expect(skipped).toMatchObject({ profileId: 'p-7', skipReason: expect.stringMatching(/changed back/) });
});

it('delivers to a host name that resolves to an allow-listed address', async () => {
  const d = await destination({ kind: 'webhook', name: 'by name', url: `${base.replace('127.0.0.1', 'localhost')}/named` });
  await trigger({ segmentKey: 'named-seg', on: 'entered', destinationId: d.id });
  await sendMemberships([membership('p-9', 'named-seg', 'entered')]);
  const [delivery] = await waitFor(
    async () => {
      const list = await deliveries(d.id);
      return list[0]?.status === 'delivered' ? list : null;
    },
    { timeoutMs: PIPELINE_WAIT_MS },
  );
  expect(delivery).toMatchObject({ attempts: 1, log: [{ outcome: 'delivered', status: '200' }] });
  expect(at('/named')).toHaveLength(1);
  // allow-listed addresses are accepted as literals too; other non-public ones are not
  expect((await api('POST', '/v1/destinations', { kind: 'webhook', name: 'v6', url: 'http://[::1]:9/x' })).status).toBe(201);
  const meta = await api('POST', '/v1/destinations', { kind: 'webhook', name: 'meta', url: 'http://169.254.169.254/latest/meta-data/' });
  expect(meta.status).toBe(400);
  expect(meta.json['error']['message']).toMatch(/url: host points to 169\.254\.169\.254 \(cloud metadata\)/);
});

it('re-publishes to a Kafka topic for another team', async () => {
  const topic = `${infra.topicPrefix}crm-team`;
  const d = await destination({ kind: 'kafka', name: 'CRM team', topic });
  await trigger({ segmentKey: 'kafka-seg', on: 'exited', destinationId: d.id });
  const tap = await TopicTap.start(infra.kafkaBrokers, topic);
  try {
    await sendMemberships([membership('p-8', 'kafka-seg', 'entered'), membership('p-8', 'kafka-seg', 'exited')]);
    await tap
      .waitFor((m) => m.length === 1, 90_000)
      .catch(async (err: Error) => {
        throw new Error(`${err.message}; the delivery: ${JSON.stringify(await deliveries(d.id))}`);
      });
    expect(tap.messages[0]?.key).toBe('p-8');
    expect(tap.messages[0]?.json).toMatchObject({ type: 'segment.exited', data: { profileId: 'p-8', segmentKey: 'kafka-seg' } });
  } finally {
    await tap.stop();
  }
});

it('refuses bad configuration with 400s naming the problem, 404s and 409s', async () => {
  const bad = await api('POST', '/v1/destinations', { kind: 'webhook', name: 'x', url: 'ftp://example.com', headers: { 'webhook-signature': 'x' } });
  expect(bad.status).toBe(400);
  expect(bad.json['error']['message']).toMatch(/url: .*headers\.webhook-signature/s);
  expect((await api('POST', '/v1/destinations', { kind: 'pigeon', name: 'x' })).json['error']['message']).toMatch(/kind/);
  const t = await api('POST', '/v1/triggers', { segmentKey: 'vip', on: 'joined', destinationId: 'dst_nope' });
  expect(t.status).toBe(400);
  expect(t.json['error']['message']).toMatch(/on: /);
  expect((await api('POST', '/v1/triggers', { segmentKey: 'vip', on: 'entered', destinationId: 'dst_nope' })).json['error']['message']).toMatch(
    /destinationId: no destination/,
  );
  expect((await api('GET', '/v1/destinations/dst_nope')).status).toBe(404);
  const used = (await api('GET', '/v1/triggers')).json['triggers'][0];
  expect((await api('DELETE', `/v1/destinations/${used.destinationId}`)).status).toBe(409);
  expect((await api('GET', '/v1/deliveries?limit=0')).status).toBe(400);
  expect((await fetch(`${svc.http.url}/v1/destinations`)).status).toBe(401);
});
