/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// The outbound address policy (DESIGN §12) with the default configuration (no allow-list), on
// the real broker and store: destinations whose URL or SMTP host is a non-public address (in
// any spelling) or a cloud metadata name are refused when created or replaced; a host name
// that resolves to loopback is accepted, then refused when a delivery is sent — a permanent
// failure recorded on the delivery, and nothing reaches the receiver listening there.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StartedService } from '@mosaic/shared-service';
import { adminRequest, dropTestDatabase, startTestService, waitFor } from '@mosaic/shared-testing';
import { activationDefinition } from './activation.definition';
import { entered, sendMemberships } from './activation-test-helpers';

jest.setTimeout(120_000);

let svc: StartedService;
let receiver: Server;
let port: number;
let received = 0;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    received += 1;
    req.resume();
    req.on('end', () => res.end());
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  port = (receiver.address() as AddressInfo).port;
  svc = await startTestService(activationDefinition, {
    env: { MOSAIC_INSTANCE_ID: 'activation-outbound-it', ACTIVATION_DISPATCH_INTERVAL_MS: '50', ACTIVATION_CONFIG_REFRESH_MS: '200' },
  });
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  await new Promise((r) => receiver?.close(r));
  await dropTestDatabase().catch(() => undefined);
});

const api = (method: string, path: string, body?: unknown) => adminRequest(svc.http.url, method, path, body);
const EMAIL = { kind: 'email', name: 'mail', from: 'shop@example.com', subject: 'Hi', html: '<p>Hi</p>' };

it.each([
  ['http://127.0.0.1:8081/hook', /127\.0\.0\.1 \(loopback\)/],
  ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 \(cloud metadata\)/],
  ['http://[::1]/hook', /::1 \(loopback\)/],
  ['http://0x7f.1/hook', /127\.0\.0\.1 \(loopback\)/],
  ['http://2130706433/hook', /127\.0\.0\.1 \(loopback\)/],
  ['http://[::ffff:127.0.0.1]/hook', /loopback/],
  ['http://metadata.google.internal/computeMetadata/v1/', /metadata\.google\.internal \(cloud metadata\)/],
  ['https://10.1.2.3/hook', /10\.1\.2\.3 \(private\)/],
])('a webhook to %s is refused with a 400 naming the url', async (url, reason) => {
  const r = await api('POST', '/v1/destinations', { kind: 'webhook', name: 'x', url });
  expect(r.status).toBe(400);
  expect(r.json['error']['message']).toMatch(/^invalid destination: url: host points to /);
  expect(r.json['error']['message']).toMatch(reason);
  expect(r.json['error']['message']).toMatch(/ACTIVATION_OUTBOUND_ALLOW/);
});

it.each(['127.0.0.1', '0x7f.1', '2130706433', '[::1]', '169.254.169.254', 'metadata', 'instance-data'])(
  'an SMTP host %s is refused with a 400 naming smtp.host',
  async (host) => {
    const r = await api('POST', '/v1/destinations', { ...EMAIL, smtp: { host, port: 25 } });
    expect(r.status).toBe(400);
    expect(r.json['error']['message']).toMatch(/^invalid destination: smtp\.host: points to .*\((loopback|cloud metadata)\)/);
  },
);

it('a destination cannot be replaced with a refused host either', async () => {
  const created = await api('POST', '/v1/destinations', { kind: 'webhook', name: 'public', url: 'https://hooks.example.com/mosaic' });
  expect(created.status).toBe(201);
  const replaced = await api('PUT', `/v1/destinations/${created.json['id']}`, { kind: 'webhook', name: 'public', url: 'http://169.254.169.254/' });
  expect(replaced.status).toBe(400);
  expect(replaced.json['error']['message']).toMatch(/url: host points to 169\.254\.169\.254/);
  expect((await api('GET', `/v1/destinations/${created.json['id']}`)).json['url']).toBe('https://hooks.example.com/mosaic');
});

it('a host name resolving to loopback is refused when sent: the delivery fails at once, naming the address', async () => {
  const hook = await api('POST', '/v1/destinations', { kind: 'webhook', name: 'rebinding', url: `http://localhost:${port}/hook` });
  expect(hook.status).toBe(201); // host names are checked when resolved, not when configured
  const mail = await api('POST', '/v1/destinations', { ...EMAIL, smtp: { host: 'localhost', port } });
  expect(mail.status).toBe(201);
  for (const destinationId of [hook.json['id'], mail.json['id']]) {
    expect((await api('POST', '/v1/triggers', { segmentKey: 'outbound-seg', on: 'entered', destinationId })).status).toBe(201);
  }
  await sendMemberships(svc.platform, [entered('p-out-1', 'outbound-seg', 1, { userId: 'p-out-1', email: 'p-out-1@example.com' })]);
  for (const destinationId of [hook.json['id'], mail.json['id']]) {
    const delivery = await waitFor(
      async () => {
        const list = (await api('GET', `/v1/deliveries?destinationId=${destinationId}`)).json['deliveries'] as any[];
        return list[0]?.status === 'dead' ? list[0] : null;
      },
      { timeoutMs: 30_000 },
    );
    expect(delivery).toMatchObject({
      attempts: 1,
      log: [{ outcome: 'fail', status: 'blocked', error: expect.stringMatching(/localhost resolves to 127\.0\.0\.1 \(loopback\)/) }],
    });
  }
  expect(received).toBe(0);
});
