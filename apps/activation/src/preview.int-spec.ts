/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// The console's "Preview for a contact" on the real broker and store: the decision /v1/decide
// would make for a chosen profile (read through to the store on a cache miss), different for a
// profile in the experience's segment and one outside it; nothing counted, delivered or changed.
import type { StartedService } from '@mosaic/shared-service';
import { adminRequest, dropTestDatabase, startTestService, waitFor } from '@mosaic/shared-testing';
import { activationDefinition } from './activation.definition';
import { profileChange, sendMemberships, sendProfileChanges } from './activation-test-helpers';

jest.setTimeout(120_000);

let svc: StartedService;

beforeAll(async () => {
  svc = await startTestService(activationDefinition, { env: { MOSAIC_INSTANCE_ID: 'preview-it-activation', ACTIVATION_CONFIG_REFRESH_MS: '200' } });
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  await dropTestDatabase().catch(() => undefined);
});

const api = (method: string, path: string, body?: unknown) => adminRequest(svc.http.url, method, path, body);

const banner = {
  id: 'preview-banner',
  slot: 'home-banner',
  name: 'Home banner',
  rules: [{ id: 'vip-offer', when: { segments: { any: ['vip'] } }, content: { html: '<h2>{{ profile.traits.firstName }}, 15% off for you</h2>' } }],
  default: { html: '<h2>Fresh coffee, every day</h2>' },
};

/** The decisions answered so far, from /metrics (the preview must not count as one). */
async function decisionsCounted(): Promise<string[]> {
  const text = await (await fetch(`${svc.http.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('mosaic_activation_decisions_total'));
}

it('shows what a profile in the segment and one outside it would see, recording nothing', async () => {
  expect((await api('POST', '/v1/experiences', banner)).status).toBe(201);
  await sendProfileChanges(svc.platform, [
    profileChange('p-in', 1, [{ type: 'userId', value: 'u-in' }], { firstName: 'Ada' }),
    profileChange('p-out', 1, [{ type: 'userId', value: 'u-out' }], { firstName: 'Lin' }),
  ]);
  await sendMemberships(svc.platform, [
    {
      profileId: 'p-in',
      segmentKey: 'vip',
      segmentVersion: 1,
      change: 'entered',
      at: new Date().toISOString(),
      reason: { kind: 'message' },
      identifiers: {},
      profileVersion: 1,
    },
  ]);
  const before = await decisionsCounted();
  const inside = await waitFor(
    async () => {
      const r = await api('POST', '/v1/experiences/preview', { profileId: 'p-in' });
      return r.status === 200 && (r.json as any).slots['home-banner']?.ruleId === 'vip-offer' ? r : null;
    },
    { timeoutMs: 30_000 },
  );
  expect(inside.json).toEqual({
    profileId: 'p-in',
    segments: ['vip'],
    slots: { 'home-banner': { html: '<h2>Ada, 15% off for you</h2>', experienceId: 'preview-banner', ruleId: 'vip-offer', holdout: false } },
  });
  const outside = await api('POST', '/v1/experiences/preview', { profileId: 'p-out', slots: ['home-banner', 'footer'] });
  expect(outside.status).toBe(200);
  expect(outside.json).toEqual({
    profileId: 'p-out',
    segments: [],
    slots: { 'home-banner': { html: '<h2>Fresh coffee, every day</h2>', experienceId: 'preview-banner', ruleId: null, holdout: false } },
  });
  // Nothing recorded: no decision counted, no delivery, the experience as it was.
  expect(await decisionsCounted()).toEqual(before);
  expect((await api('GET', '/v1/deliveries')).json).toEqual({ deliveries: [] });
  expect((await api('GET', '/v1/experiences/preview-banner')).json).toMatchObject({ ...banner });
});

it('answers 404 for an unknown profile, 400 for a bad body, 401 without the admin token', async () => {
  const unknown = await api('POST', '/v1/experiences/preview', { profileId: 'p-nobody' });
  expect(unknown.status).toBe(404);
  expect((unknown.json as any).error.code).toBe('not_found');
  expect((await api('POST', '/v1/experiences/preview', { profileId: 'p-in', slots: 'home-banner' })).status).toBe(400);
  expect((await api('POST', '/v1/experiences/preview', {})).status).toBe(400);
  const anonymous = await fetch(`${svc.http.url}/v1/experiences/preview`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ profileId: 'p-in' }),
  });
  expect(anonymous.status).toBe(401);
});
