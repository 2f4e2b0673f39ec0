/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// The decision API on the real broker and store: write keys checked with a real collector,
// experiences (the seed banners: premium coffee, a discount for high lifetime value, a welcome
// back for loyal customers), first-time visitors, the browser's text/plain body and CORS, the
// cache kept current by the topics (a membership change shows in the next decision).
import type { StartedService } from '@mosaic/shared-service';
import { adminRequest, dropTestDatabase, startTestService, waitFor } from '@mosaic/shared-testing';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the test starts a real collector (write keys), as the e2e tests do
import { collectorDefinition } from '../../collector/src/collector.definition';
import { activationDefinition } from './activation.definition';
import { profileChange, sendMemberships, sendProfileChanges } from './activation-test-helpers';

jest.setTimeout(120_000);

let collector: StartedService;
let svc: StartedService;
let writeKey: string;

beforeAll(async () => {
  collector = await startTestService(collectorDefinition, { env: { MOSAIC_INSTANCE_ID: 'decide-it-collector' } });
  svc = await startTestService(activationDefinition, { env: { MOSAIC_INSTANCE_ID: 'decide-it-activation', ACTIVATION_COLLECTOR_URL: collector.http.url, ACTIVATION_CONFIG_REFRESH_MS: '200' } });
  writeKey = (await adminRequest(collector.http.url, 'POST', '/v1/sources', { name: 'shop' })).json['writeKey'];
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  await collector?.stop();
  await dropTestDatabase().catch(() => undefined);
});

const api = (method: string, path: string, body?: unknown) => adminRequest(svc.http.url, method, path, body);

async function decide(body: Record<string, unknown>, headers: Record<string, string> = { 'Content-Type': 'text/plain;charset=UTF-8' }): Promise<{ status: number; json: Record<string, any>; headers: Headers }> {
  const res = await fetch(`${svc.http.url}/v1/decide`, { method: 'POST', headers: { Origin: 'https://shop.example.com', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, any>, headers: res.headers };
}

const profile = (profileId: string, identifiers: { type: string; value: string }[], traits: Record<string, unknown>, computed: Record<string, unknown>, version = 1) =>
  sendProfileChanges(svc.platform, [profileChange(profileId, version, identifiers, traits, computed)]);

const membership = (profileId: string, segmentKey: string, change: 'entered' | 'exited', profileVersion: number) =>
  sendMemberships(svc.platform, [{ profileId, segmentKey, segmentVersion: 1, change, at: new Date().toISOString(), reason: { kind: 'message' }, identifiers: {}, profileVersion }]);

const banner = {
  id: 'home-banner-v1',
  slot: 'home-banner',
  name: 'Home banner',
  rules: [
    { id: 'premium-coffee', when: { segments: { any: ['premium-coffee-browsers'] } }, content: { html: '<h2>{{ profile.traits.firstName | default: "Coffee lover" }}, meet the Barista Pro 900</h2>' } },
    { id: 'discount', when: { segments: { any: ['high-ltv'] } }, content: { json: { headline: 'Thank you, {{ profile.traits.firstName }}', code: 'VIP15' } } },
    { id: 'welcome-back', when: { attributes: [{ attribute: 'orders.count', op: 'gte', value: 3 }] }, content: { text: 'Welcome back, {{ profile.traits.firstName }}!' } },
  ],
  default: { html: '<h2>Fresh coffee, every day</h2>' },
};

it('manages experiences with 400s naming the problem', async () => {
  expect((await api('POST', '/v1/experiences', banner)).status).toBe(201);
  expect((await api('POST', '/v1/experiences', banner)).status).toBe(409);
  const bad = await api('POST', '/v1/experiences', { ...banner, id: 'bad', rules: [{ id: 'r', when: { traits: [{ trait: 'plan', op: 'like', value: 'x' }] }, content: { html: 'x', text: 'y' } }] });
  expect(bad.status).toBe(400);
  expect(bad.json['error']['message']).toMatch(/rules\[0\]\.when\.traits\[0\]\.op/);
  expect((await api('GET', '/v1/experiences')).json['experiences'].map((e: any) => e.id)).toEqual(['home-banner-v1']);
});

it('answers the seed examples: premium coffee browsers, high lifetime value, loyal customers; defaults for a first-time visitor', async () => {
  await profile('p-premium', [{ type: 'anonymousId', value: 'a-premium' }], { firstName: '<b>Lin</b>' }, { orders: { count: 0 } });
  await profile('p-vip', [{ type: 'userId', value: 'u-vip' }, { type: 'anonymousId', value: 'a-vip' }], { firstName: 'Ada' }, { orders: { count: 1, lifetimeValue: 900 } });
  await profile('p-loyal', [{ type: 'userId', value: 'u-loyal' }], { firstName: 'Grace' }, { orders: { count: 5, lifetimeValue: 200 } });
  await membership('p-premium', 'premium-coffee-browsers', 'entered', 1);
  await membership('p-vip', 'high-ltv', 'entered', 1);
  const premium = await waitFor(async () => {
    const r = await decide({ writeKey, anonymousId: 'a-premium', slots: ['home-banner', 'footer'] });
    return r.json['slots']?.['home-banner']?.ruleId === 'premium-coffee' ? r : null;
  }, { timeoutMs: 30_000 });
  expect(premium.status).toBe(200);
  expect(premium.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
  expect(premium.json).toMatchObject({ profileId: 'p-premium', segments: ['premium-coffee-browsers'], slots: { 'home-banner': { html: '<h2>&lt;b&gt;Lin&lt;/b&gt;, meet the Barista Pro 900</h2>', experienceId: 'home-banner-v1', holdout: false } } });
  expect(premium.json['slots']['footer']).toBeUndefined();
  const vip = await waitFor(async () => {
    const r = await decide({ writeKey, userId: 'u-vip', anonymousId: 'whatever', slots: ['home-banner'] });
    return r.json['slots']?.['home-banner']?.ruleId === 'discount' ? r : null;
  }, { timeoutMs: 30_000 });
  expect(vip.json['slots']['home-banner']['json']).toEqual({ headline: 'Thank you, Ada', code: 'VIP15' });
  const loyal = await waitFor(async () => {
    const r = await decide({ writeKey, userId: 'u-loyal', slots: ['home-banner'] }, { 'Content-Type': 'application/json' });
    return r.json['slots']?.['home-banner']?.ruleId === 'welcome-back' ? r : null;
  }, { timeoutMs: 30_000 });
  expect(loyal.json['slots']['home-banner']['text']).toBe('Welcome back, Grace!');
  const stranger = await decide({ writeKey, anonymousId: 'never-seen', slots: ['home-banner'] });
  expect(stranger.json).toEqual({ profileId: null, segments: [], slots: { 'home-banner': { html: '<h2>Fresh coffee, every day</h2>', experienceId: 'home-banner-v1', ruleId: null, holdout: false } } });
});

it('follows the topics: a segment change shows in the next decision (served from the cache)', async () => {
  await decide({ writeKey, userId: 'u-loyal', slots: ['home-banner'] }); // cached now
  await membership('p-loyal', 'high-ltv', 'entered', 1);
  await waitFor(async () => ((await decide({ writeKey, userId: 'u-loyal', slots: ['home-banner'] })).json['slots']['home-banner'].ruleId === 'discount' ? true : null), { timeoutMs: 30_000 });
  await membership('p-loyal', 'high-ltv', 'exited', 2);
  await waitFor(async () => ((await decide({ writeKey, userId: 'u-loyal', slots: ['home-banner'] })).json['slots']['home-banner'].ruleId === 'welcome-back' ? true : null), { timeoutMs: 30_000 });
  const metrics = await (await fetch(`${svc.http.url}/metrics`)).text();
  expect(metrics).toMatch(/mosaic_activation_decide_seconds_count\{[^}]*\} [1-9]/);
});

it('refuses bad requests: 401 without a valid write key, 400 naming the problem', async () => {
  expect((await decide({ anonymousId: 'a', slots: [] })).status).toBe(401);
  const wrong = await decide({ writeKey: 'wk_not_a_key', anonymousId: 'a', slots: ['home-banner'] });
  expect(wrong.status).toBe(401);
  expect(wrong.json['error']['code']).toBe('invalid_write_key');
  const basic = await decide({ anonymousId: 'a-premium', slots: ['home-banner'] }, { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` });
  expect(basic.status).toBe(200);
  const slots = await decide({ writeKey, anonymousId: 'a', slots: 'home-banner' });
  expect(slots.status).toBe(400);
  expect(slots.json['error']['message']).toMatch(/^slots: /);
  const res = await fetch(`${svc.http.url}/v1/decide`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{not json' });
  expect(res.status).toBe(400);
  expect((await decide({ writeKey, anonymousId: 'x'.repeat(300), slots: [] })).json['error']['message']).toMatch(/^anonymousId: /);
});
