/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// A dispatch round started at once (new deliveries ingested, a destination's or a delivery's
// replay) that fails — the store or Kafka unavailable; injected here by making the round
// reject — is logged as a warning, and the service goes on answering. Unhandled, the rejection
// would exit Node. Real broker and store; the periodic round is a minute away (and logs
// another message), so the rounds counted here are those started at once.
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
    env: { MOSAIC_INSTANCE_ID: 'activation-dispatch-soon-it', ACTIVATION_DISPATCH_INTERVAL_MS: '60000', ACTIVATION_CONFIG_REFRESH_MS: '200' },
  });
  activation = svc.http.app.get(ActivationService);
}, 120_000);

afterAll(async () => {
  jest.restoreAllMocks();
  await svc?.stop();
  await dropTestDatabase().catch(() => undefined);
});

const api = (method: string, path: string, body?: unknown) => adminRequest(svc.http.url, method, path, body);

it('logs a failed dispatch round started by ingestion or a replay, and keeps serving', async () => {
  // localhost is refused when sent to (no allow-list): the delivery is dead after one attempt
  const dest = await api('POST', '/v1/destinations', { kind: 'webhook', name: 'refused', url: 'http://localhost:9/hook' });
  expect(dest.status).toBe(201);
  const destinationId: string = dest.json['id'];
  expect((await api('POST', '/v1/triggers', { segmentKey: 'soon', on: 'entered', destinationId })).status).toBe(201);
  await sendMemberships(svc.platform, [entered('s-1', 'soon')]);
  const [dead] = await waitFor(
    async () => {
      const list = (await api('GET', `/v1/deliveries?destinationId=${destinationId}`)).json['deliveries'];
      return list[0]?.status === 'dead' ? list : null;
    },
    { timeoutMs: 30_000 },
  );

  const failure = new Error('store unavailable (injected)');
  jest.spyOn(activation, 'dispatchOnce').mockRejectedValue(failure);
  const warn = jest.spyOn(svc.platform.runtime.logger, 'warn');
  const logged = () =>
    warn.mock.calls.filter(([obj, msg]) => (obj as any)?.err === failure && msg === 'early dispatch round failed; the periodic round retries').length;

  expect((await api('POST', `/v1/deliveries/${dead.id}/replay`)).json).toEqual({ replayed: 1 });
  await waitFor(() => logged() === 1 || null);
  expect((await api('POST', `/v1/destinations/${destinationId}/replay`)).json).toEqual({ replayed: 0 });
  await waitFor(() => logged() === 2 || null);
  await sendMemberships(svc.platform, [entered('s-2', 'soon')]);
  await waitFor(() => logged() === 3 || null, { timeoutMs: 30_000 });
  expect((await api('GET', '/v1/destinations')).status).toBe(200);
});
