/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// One destination's pending deliveries never hold back another's, on the real broker and store
// with a dispatch batch of 5: a disabled destination's backlog and a slow destination's backlog
// (more due deliveries than the batch, all older) leave another destination's delivery to be sent
// at once; deleting a destination skips its pending deliveries, naming why.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StartedService } from '@mosaic/shared-service';
import { adminRequest, dropTestDatabase, startTestService, waitFor } from '@mosaic/shared-testing';
import { activationDefinition } from './activation.definition';
import { entered, sendMemberships as sendMembershipsTo } from './activation-test-helpers';

jest.setTimeout(120_000);

const BATCH = 5;
/** More pending deliveries of the blocked destination than a round reads. */
const BACKLOG = 3 * BATCH;
let svc: StartedService;
let receiver: Server;
let base: string;
const received: string[] = [];
/** The slow endpoint answers once this resolves. */
let openSlowGate!: () => void;
const slowGate = new Promise<void>((resolve) => (openSlowGate = resolve));

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(req.url ?? '/');
      // held until the test opens the gate: slow whatever the machine's speed
      if (req.url?.startsWith('/slow')) return void slowGate.then(() => res.end());
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  svc = await startTestService(activationDefinition, {
    env: {
      MOSAIC_INSTANCE_ID: 'activation-isolation-1',
      ACTIVATION_DISPATCH_BATCH: String(BATCH),
      ACTIVATION_DISPATCH_INTERVAL_MS: '50',
      ACTIVATION_CONFIG_REFRESH_MS: '200',
      ACTIVATION_OUTBOUND_ALLOW: '127.0.0.1/32,::1',
    },
  });
}, 120_000);

afterAll(async () => {
  openSlowGate();
  await svc?.stop();
  await new Promise((r) => receiver?.close(r));
  await dropTestDatabase().catch(() => undefined);
});

const api = (method: string, path: string, body?: unknown) => adminRequest(svc.http.url, method, path, body);

async function webhook(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await api('POST', '/v1/destinations', { kind: 'webhook', name, url: `${base}/${name}`, ...extra });
  expect(r.status).toBe(201);
  return r.json['id'];
}

async function trigger(segmentKey: string, destinationId: string): Promise<string> {
  const r = await api('POST', '/v1/triggers', { segmentKey, on: 'entered', destinationId });
  expect(r.status).toBe(201);
  return r.json['id'];
}

async function deliveries(destinationId: string): Promise<any[]> {
  return (await api('GET', `/v1/deliveries?destinationId=${destinationId}&limit=500`)).json['deliveries'];
}

/** `count` deliveries of the destination, once its backlog is stored. */
async function backlogOf(destinationId: string, segmentKey: string, count: number): Promise<void> {
  await sendMembershipsTo(
    svc.platform,
    Array.from({ length: count }, (_, i) => entered(`${segmentKey}-${i}`, segmentKey)),
  );
  await waitFor(async () => ((await deliveries(destinationId)).length === count ? true : null), { timeoutMs: 60_000, message: `${count} deliveries stored` });
}

/** Another destination's delivery, made after the backlog (so later in due order): sent while the backlog stays. */
async function expectAnotherDestinationServed(name: string): Promise<void> {
  const other = await webhook(name);
  await trigger(`${name}-seg`, other);
  await sendMembershipsTo(svc.platform, [entered(`${name}-p`, `${name}-seg`)]);
  await waitFor(() => received.includes(`/${name}`) || null, { timeoutMs: 30_000, message: `${name} served past the backlog` });
  // The endpoint sees the request before the dispatcher has its answer and records it: wait for the record.
  const recorded = await waitFor(async () => (await deliveries(other)).find((d) => d.status !== 'pending') ?? null, {
    timeoutMs: 30_000,
    message: `${name}'s delivery recorded`,
  });
  expect(recorded).toMatchObject({ status: 'delivered', attempts: 1 });
}

it('a disabled destination with more pending deliveries than the batch does not hold back another, and deleting it skips them', async () => {
  const paused = await webhook('paused');
  const pausedTrigger = await trigger('paused-seg', paused);
  expect((await api('PUT', `/v1/destinations/${paused}`, { kind: 'webhook', name: 'paused', url: `${base}/paused`, enabled: false })).status).toBe(200);
  await backlogOf(paused, 'paused-seg', BACKLOG);

  await expectAnotherDestinationServed('live');
  expect(received.filter((p) => p === '/paused')).toHaveLength(0);
  expect((await deliveries(paused)).every((d) => d.status === 'pending')).toBe(true);

  // Deleted (its trigger first): nothing can send its pending deliveries any more, so they end, with the reason.
  expect((await api('DELETE', `/v1/triggers/${pausedTrigger}`)).status).toBe(204);
  expect((await api('DELETE', `/v1/destinations/${paused}`)).status).toBe(204);
  const after = await deliveries(paused);
  expect(after).toHaveLength(BACKLOG);
  for (const d of after) expect(d).toMatchObject({ status: 'skipped', skipReason: `destination ${paused} was deleted`, nextAttemptAt: null });
});

it('a slow destination with no free slot and a backlog larger than the batch does not hold back another', async () => {
  // The longest timeout: the held request must not time out (and be retried) however slow the machine.
  const slow = await webhook('slow', { concurrency: 1, timeoutMs: 120_000 });
  await trigger('slow-seg', slow);
  await backlogOf(slow, 'slow-seg', BACKLOG);
  await waitFor(() => received.includes('/slow') || null, { timeoutMs: 30_000, message: 'the slow endpoint holds its first request' });

  await expectAnotherDestinationServed('fast');
  expect(received.filter((p) => p === '/slow')).toHaveLength(1); // its one slot is still taken
  openSlowGate();
  await waitFor(async () => ((await deliveries(slow)).every((d) => d.status === 'delivered') ? true : null), { timeoutMs: 60_000 });
  expect(received.filter((p) => p === '/slow')).toHaveLength(BACKLOG);
});
