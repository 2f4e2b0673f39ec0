/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// The decision API on the real broker and store, with a real collector owning the sources:
// keys checked against the `sources` topic (a source created after start-up works, a revoked
// one is refused within seconds), user ids only with identity verification or a server key,
// profiles scoped to the sources they have events from, CORS per source, rate limits; the
// experiences of the seed banners and the cache kept current by the topics.
import { createHmac } from 'node:crypto';
import type { StartedService } from '@mosaic/shared-service';
import { adminRequest, dropTestDatabase, startTestService, waitFor } from '@mosaic/shared-testing';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the test starts a real collector (sources), as the e2e tests do
import { collectorDefinition } from '../../collector/src/collector.definition';
import { activationDefinition } from './activation.definition';
import { profileChange, sendMemberships, sendProfileChanges } from './activation-test-helpers';

jest.setTimeout(120_000);

const SHOP = 'https://shop.example.com';

interface Source {
  id: string;
  writeKey: string;
  serverKey: string;
  identitySecret: string;
}

let collector: StartedService;
let svc: StartedService;
let shop: Source;
let other: Source;

const createSource = async (name: string, allowedOrigins?: string[]): Promise<Source> => {
  const r = await adminRequest(collector.http.url, 'POST', '/v1/sources', { name, ...(allowedOrigins ? { allowedOrigins } : {}) });
  expect(r.status).toBe(201);
  return r.json as Source;
};

beforeAll(async () => {
  collector = await startTestService(collectorDefinition, { env: { MOSAIC_INSTANCE_ID: 'decide-it-collector' } });
  svc = await startTestService(activationDefinition, {
    env: { MOSAIC_INSTANCE_ID: 'decide-it-activation', ACTIVATION_COLLECTOR_URL: collector.http.url, ACTIVATION_CONFIG_REFRESH_MS: '200' },
  });
  // Created after activation started: it learns them from the topic.
  shop = await createSource('shop', [SHOP]);
  other = await createSource('other shop', ['https://other.example.com']);
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  await collector?.stop();
  await dropTestDatabase().catch(() => undefined);
});

const api = (method: string, path: string, body?: unknown) => adminRequest(svc.http.url, method, path, body);

type Answer = { status: number; json: Record<string, any>; headers: Headers };

async function decide(
  body: Record<string, unknown>,
  headers: Record<string, string> = { 'Content-Type': 'text/plain;charset=UTF-8', Origin: SHOP },
  url = svc.http.url,
): Promise<Answer> {
  const res = await fetch(`${url}/v1/decide`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, any>, headers: res.headers };
}

const fromServer = (serverKey: string) => ({ 'Content-Type': 'application/json', Authorization: `Bearer ${serverKey}` });
const userHash = (secret: string, userId: string) => createHmac('sha256', secret).update(userId).digest('hex');

const profile = (
  profileId: string,
  identifiers: { type: string; value: string }[],
  traits: Record<string, unknown>,
  computed: Record<string, unknown>,
  version = 1,
) => sendProfileChanges(svc.platform, [profileChange(profileId, version, identifiers, traits, { sources: [shop.id], ...computed })]);

const membership = (profileId: string, segmentKey: string, change: 'entered' | 'exited', profileVersion: number) =>
  sendMemberships(svc.platform, [
    { profileId, segmentKey, segmentVersion: 1, change, at: new Date().toISOString(), reason: { kind: 'message' }, identifiers: {}, profileVersion },
  ]);

const banner = {
  id: 'home-banner-v1',
  slot: 'home-banner',
  name: 'Home banner',
  rules: [
    {
      id: 'premium-coffee',
      when: { segments: { any: ['premium-coffee-browsers'] } },
      content: { html: '<h2>{{ profile.traits.firstName | default: "Coffee lover" }}, meet the Barista Pro 900</h2>' },
    },
    { id: 'discount', when: { segments: { any: ['high-ltv'] } }, content: { json: { headline: 'Thank you, {{ profile.traits.firstName }}', code: 'VIP15' } } },
    {
      id: 'welcome-back',
      when: { attributes: [{ attribute: 'orders.count', op: 'gte', value: 3 }] },
      content: { text: 'Welcome back, {{ profile.traits.firstName }}!' },
    },
  ],
  default: { html: '<h2>Fresh coffee, every day</h2>' },
};
const DEFAULT_SLOT = { 'home-banner': { html: '<h2>Fresh coffee, every day</h2>', experienceId: 'home-banner-v1', ruleId: null, holdout: false } };

it('manages experiences with 400s naming the problem', async () => {
  expect((await api('POST', '/v1/experiences', banner)).status).toBe(201);
  expect((await api('POST', '/v1/experiences', banner)).status).toBe(409);
  const bad = await api('POST', '/v1/experiences', {
    ...banner,
    id: 'bad',
    rules: [{ id: 'r', when: { traits: [{ trait: 'plan', op: 'like', value: 'x' }] }, content: { html: 'x', text: 'y' } }],
  });
  expect(bad.status).toBe(400);
  expect(bad.json['error']['message']).toMatch(/rules\[0\]\.when\.traits\[0\]\.op/);
  expect((await api('GET', '/v1/experiences')).json['experiences'].map((e: any) => e.id)).toEqual(['home-banner-v1']);
});

it('answers the seed examples: premium coffee browsers, high lifetime value (verified user), loyal customers (server key); defaults for a first-time visitor', async () => {
  await profile('p-premium', [{ type: 'anonymousId', value: 'a-premium' }], { firstName: '<b>Lin</b>' }, { orders: { count: 0 } });
  await profile(
    'p-vip',
    [
      { type: 'userId', value: 'u-vip' },
      { type: 'anonymousId', value: 'a-vip' },
    ],
    { firstName: 'Ada' },
    { orders: { count: 1, lifetimeValue: 900 } },
  );
  await profile('p-loyal', [{ type: 'userId', value: 'u-loyal' }], { firstName: 'Grace' }, { orders: { count: 5, lifetimeValue: 200 } });
  await membership('p-premium', 'premium-coffee-browsers', 'entered', 1);
  await membership('p-vip', 'high-ltv', 'entered', 1);
  const premium = await waitFor(
    async () => {
      const r = await decide({ writeKey: shop.writeKey, anonymousId: 'a-premium', slots: ['home-banner', 'footer'] });
      return r.json['slots']?.['home-banner']?.ruleId === 'premium-coffee' ? r : null;
    },
    { timeoutMs: 30_000 },
  );
  expect(premium.status).toBe(200);
  expect(premium.headers.get('access-control-allow-origin')).toBe(SHOP);
  expect(premium.json).toMatchObject({
    profileId: 'p-premium',
    segments: ['premium-coffee-browsers'],
    slots: { 'home-banner': { html: '<h2>&lt;b&gt;Lin&lt;/b&gt;, meet the Barista Pro 900</h2>', experienceId: 'home-banner-v1', holdout: false } },
  });
  expect(premium.json['slots']['footer']).toBeUndefined();
  const vip = await waitFor(
    async () => {
      const r = await decide({
        writeKey: shop.writeKey,
        userId: 'u-vip',
        userHash: userHash(shop.identitySecret, 'u-vip'),
        anonymousId: 'whatever',
        slots: ['home-banner'],
      });
      return r.json['slots']?.['home-banner']?.ruleId === 'discount' ? r : null;
    },
    { timeoutMs: 30_000 },
  );
  expect(vip.json['slots']['home-banner']['json']).toEqual({ headline: 'Thank you, Ada', code: 'VIP15' });
  const loyal = await waitFor(
    async () => {
      const r = await decide({ userId: 'u-loyal', slots: ['home-banner'] }, fromServer(shop.serverKey));
      return r.json['slots']?.['home-banner']?.ruleId === 'welcome-back' ? r : null;
    },
    { timeoutMs: 30_000 },
  );
  expect(loyal.json['slots']['home-banner']['text']).toBe('Welcome back, Grace!');
  expect(loyal.headers.get('access-control-allow-origin')).toBeNull();
  const stranger = await decide({ writeKey: shop.writeKey, anonymousId: 'never-seen', slots: ['home-banner'] });
  expect(stranger.json).toEqual({ profileId: null, segments: [], slots: DEFAULT_SLOT });
});

it('takes a user id from a browser only with the userHash of the site’s server: 401 user_not_verified otherwise', async () => {
  const missing = await decide({ writeKey: shop.writeKey, userId: 'u-vip', anonymousId: 'a-vip', slots: ['home-banner'] });
  expect(missing.status).toBe(401);
  expect(missing.json['error']['code']).toBe('user_not_verified');
  expect(missing.headers.get('access-control-allow-origin')).toBe(SHOP); // the site can read why
  const wrong = await decide({ writeKey: shop.writeKey, userId: 'u-vip', userHash: userHash(shop.identitySecret, 'u-loyal'), slots: ['home-banner'] });
  expect(wrong.status).toBe(401);
  expect(wrong.json['error']['code']).toBe('user_not_verified');
  const otherSecret = await decide({ writeKey: shop.writeKey, userId: 'u-vip', userHash: userHash(other.identitySecret, 'u-vip'), slots: ['home-banner'] });
  expect(otherSecret.status).toBe(401);
  const right = await decide({ writeKey: shop.writeKey, userId: 'u-vip', userHash: userHash(shop.identitySecret, 'u-vip'), slots: ['home-banner'] });
  expect(right.status).toBe(200);
  expect(right.json['profileId']).toBe('p-vip');
  // A server key vouches for user ids; an unknown one is refused.
  expect((await decide({ userId: 'u-vip', slots: ['home-banner'] }, fromServer(shop.serverKey))).json['profileId']).toBe('p-vip');
  const badServer = await decide({ userId: 'u-vip', slots: ['home-banner'] }, fromServer('sk_not_a_key'));
  expect(badServer.status).toBe(401);
  expect(badServer.json['error']['code']).toBe('invalid_server_key');
});

it("scopes profiles to the sources they have events from: another source's key sees an unknown visitor", async () => {
  const otherOrigin = { 'Content-Type': 'text/plain', Origin: 'https://other.example.com' };
  const r = await decide({ writeKey: other.writeKey, anonymousId: 'a-premium', slots: ['home-banner'] }, otherOrigin);
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ profileId: null, segments: [], slots: DEFAULT_SLOT });
  expect((await decide({ userId: 'u-vip', slots: ['home-banner'] }, fromServer(other.serverKey))).json['profileId']).toBeNull();
  // Once the profile has events from the other source too, it sees it.
  await profile('p-premium', [{ type: 'anonymousId', value: 'a-premium' }], { firstName: 'Lin' }, { sources: [shop.id, other.id], orders: { count: 0 } }, 2);
  await waitFor(
    async () =>
      (await decide({ writeKey: other.writeKey, anonymousId: 'a-premium', slots: ['home-banner'] }, otherOrigin)).json['profileId'] === 'p-premium' || null,
    { timeoutMs: 30_000 },
  );
});

it('answers browsers only from the origins the source allows (preflight included); servers are unaffected', async () => {
  const evil = await decide(
    { writeKey: shop.writeKey, anonymousId: 'a-premium', slots: ['home-banner'] },
    { 'Content-Type': 'text/plain', Origin: 'https://evil.example.net' },
  );
  expect(evil.status).toBe(403);
  expect(evil.json['error']['code']).toBe('origin_not_allowed');
  expect(evil.json['error']['message']).toContain('https://evil.example.net');
  expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  // An origin another source allows is still refused with this source's key.
  const crossed = await decide(
    { writeKey: shop.writeKey, anonymousId: 'a-premium', slots: ['home-banner'] },
    { 'Content-Type': 'text/plain', Origin: 'https://other.example.com' },
  );
  expect(crossed.status).toBe(403);
  expect(crossed.headers.get('access-control-allow-origin')).toBeNull();
  const server = await decide({ writeKey: shop.writeKey, anonymousId: 'a-premium', slots: ['home-banner'] }, { 'Content-Type': 'application/json' });
  expect(server.status).toBe(200);
  expect(server.headers.get('access-control-allow-origin')).toBeNull();
  const preflight = (origin: string) =>
    fetch(`${svc.http.url}/v1/decide`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
  const ok = await preflight(SHOP);
  expect(ok.status).toBe(204);
  expect(ok.headers.get('access-control-allow-origin')).toBe(SHOP);
  expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
  expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
  const refused = await preflight('https://evil.example.net');
  expect(refused.status).toBe(403);
  expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  // Origins are changed on the collector and reach activation through the topic.
  const patched = await adminRequest(collector.http.url, 'PATCH', `/v1/sources/${shop.id}`, { allowedOrigins: [SHOP, 'http://127.0.0.1:8091'] });
  expect(patched.status).toBe(200);
  expect(patched.json['allowedOrigins']).toEqual([SHOP, 'http://127.0.0.1:8091']);
  await waitFor(
    async () =>
      (await decide({ writeKey: shop.writeKey, anonymousId: 'a-premium', slots: [] }, { 'Content-Type': 'text/plain', Origin: 'http://127.0.0.1:8091' }))
        .status === 200 || null,
    { timeoutMs: 15_000 },
  );
});

it('follows the topics: a segment change shows in the next decision (served from the cache)', async () => {
  const asLoyal = () => decide({ userId: 'u-loyal', slots: ['home-banner'] }, fromServer(shop.serverKey));
  await asLoyal(); // cached now
  await membership('p-loyal', 'high-ltv', 'entered', 1);
  await waitFor(async () => ((await asLoyal()).json['slots']['home-banner'].ruleId === 'discount' ? true : null), { timeoutMs: 30_000 });
  await membership('p-loyal', 'high-ltv', 'exited', 2);
  await waitFor(async () => ((await asLoyal()).json['slots']['home-banner'].ruleId === 'welcome-back' ? true : null), { timeoutMs: 30_000 });
  const metrics = await (await fetch(`${svc.http.url}/metrics`)).text();
  expect(metrics).toMatch(/mosaic_activation_decide_seconds_count\{[^}]*\} [1-9]/);
});

it('serves a remembered decision only while the profile and the experience are unchanged', async () => {
  const asNoor = () => decide({ writeKey: shop.writeKey, anonymousId: 'a-noor', slots: ['home-banner'] });
  const headline = (r: Answer): unknown => r.json['slots']['home-banner']['html'];
  await profile('p-noor', [{ type: 'anonymousId', value: 'a-noor' }], { firstName: 'Noor' }, {});
  await membership('p-noor', 'premium-coffee-browsers', 'entered', 1);
  await waitFor(async () => ((await asNoor()).json['slots']['home-banner'].ruleId === 'premium-coffee' ? true : null), { timeoutMs: 30_000 });
  expect(headline(await asNoor())).toBe('<h2>Noor, meet the Barista Pro 900</h2>');
  const edited = structuredClone(banner);
  edited.rules[0]!.content = { html: '<h2>{{ profile.traits.firstName }}, meet the Barista Pro 1000</h2>' };
  try {
    expect((await api('PUT', '/v1/experiences/home-banner-v1', edited)).status).toBe(200);
    // the PUT answers once this instance holds the new experience: the very next decision shows it
    expect(headline(await asNoor())).toBe('<h2>Noor, meet the Barista Pro 1000</h2>');
    await profile('p-noor', [{ type: 'anonymousId', value: 'a-noor' }], { firstName: 'Nora' }, {}, 2);
    await waitFor(async () => (headline(await asNoor()) === '<h2>Nora, meet the Barista Pro 1000</h2>' ? true : null), { timeoutMs: 30_000 });
  } finally {
    expect((await api('PUT', '/v1/experiences/home-banner-v1', banner)).status).toBe(200);
  }
});

it('refuses bad requests: 401 without a valid write key, 400 naming the problem', async () => {
  expect((await decide({ anonymousId: 'a', slots: [] })).status).toBe(401);
  const wrong = await decide({ writeKey: 'wk_not_a_key', anonymousId: 'a', slots: ['home-banner'] });
  expect(wrong.status).toBe(401);
  expect(wrong.json['error']['code']).toBe('invalid_write_key');
  const basic = await decide(
    { anonymousId: 'a-premium', slots: ['home-banner'] },
    { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${shop.writeKey}:`).toString('base64')}` },
  );
  expect(basic.status).toBe(200);
  const slots = await decide({ writeKey: shop.writeKey, anonymousId: 'a', slots: 'home-banner' });
  expect(slots.status).toBe(400);
  expect(slots.json['error']['message']).toMatch(/^slots: /);
  const res = await fetch(`${svc.http.url}/v1/decide`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{not json' });
  expect(res.status).toBe(400);
  expect((await decide({ writeKey: shop.writeKey, anonymousId: 'x'.repeat(300), slots: [] })).json['error']['message']).toMatch(/^anonymousId: /);
});

it('manages access settings on the collector: validation naming the field, secrets never listed, rotation', async () => {
  const bad = await adminRequest(collector.http.url, 'PATCH', `/v1/sources/${shop.id}`, {
    allowedOrigins: ['https://ok.example.com', 'https://*.example.com'],
  });
  expect(bad.status).toBe(400);
  expect(bad.json['error']['message']).toMatch(/^allowedOrigins\[1\]: .*wildcard/);
  expect((await adminRequest(collector.http.url, 'PATCH', `/v1/sources/${shop.id}`, { name: 'x' })).status).toBe(400);
  expect((await adminRequest(collector.http.url, 'PATCH', '/v1/sources/src_nope', { allowedOrigins: [] })).status).toBe(404);
  const listed = await adminRequest(collector.http.url, 'GET', '/v1/sources');
  const view = listed.json['sources'].find((s: any) => s.id === shop.id);
  expect(view).toMatchObject({ identityVerification: true, serverKeyPrefix: shop.serverKey.slice(0, 7) });
  expect(JSON.stringify(listed.json)).not.toContain(shop.identitySecret);
  // A rotated server key: the old one is refused, the new one works.
  const rotated = await adminRequest(collector.http.url, 'POST', `/v1/sources/${shop.id}/server-key`);
  expect(rotated.status).toBe(200);
  expect(rotated.json['serverKey']).toMatch(/^sk_/);
  await waitFor(async () => (await decide({ userId: 'u-vip', slots: [] }, fromServer(shop.serverKey))).status === 401 || null, { timeoutMs: 15_000 });
  expect((await decide({ userId: 'u-vip', slots: [] }, fromServer(rotated.json['serverKey']))).json['profileId']).toBe('p-vip');
  // A rotated identity secret: hashes made with the old one stop verifying.
  const secret = await adminRequest(collector.http.url, 'POST', `/v1/sources/${shop.id}/identity-secret`);
  expect(secret.json['identitySecret']).not.toBe(shop.identitySecret);
  await waitFor(
    async () =>
      (await decide({ writeKey: shop.writeKey, userId: 'u-vip', userHash: userHash(secret.json['identitySecret'], 'u-vip'), slots: [] })).status === 200 ||
      null,
    { timeoutMs: 15_000 },
  );
  expect((await decide({ writeKey: shop.writeKey, userId: 'u-vip', userHash: userHash(shop.identitySecret, 'u-vip'), slots: [] })).status).toBe(401);
});

it('refuses a revoked source within seconds, on an instance that had its key in hand', async () => {
  const doomed = await createSource('doomed', [SHOP]);
  await waitFor(async () => (await decide({ writeKey: doomed.writeKey, anonymousId: 'a-1', slots: [] })).status === 200 || null, { timeoutMs: 15_000 });
  expect((await adminRequest(collector.http.url, 'DELETE', `/v1/sources/${doomed.id}`)).status).toBe(200);
  const refused = await waitFor(
    async () => {
      const r = await decide({ writeKey: doomed.writeKey, anonymousId: 'a-1', slots: [] });
      return r.status === 401 ? r : null;
    },
    { timeoutMs: 15_000, message: 'the revoked write key refused' },
  );
  expect(refused.json['error']['code']).toBe('invalid_write_key');
  expect((await decide({ userId: 'u', slots: [] }, fromServer(doomed.serverKey))).status).toBe(401);
});

describe('rate limits (an instance of its own, started after the sources exist: it reads the topic from the beginning)', () => {
  let limited: StartedService;

  beforeAll(async () => {
    limited = await startTestService(activationDefinition, {
      env: {
        MOSAIC_INSTANCE_ID: 'decide-it-limited',
        ACTIVATION_COLLECTOR_URL: collector.http.url,
        // Refills too slowly to matter during the test: the counts are exact whatever the machine's speed.
        ACTIVATION_DECIDE_RATE_PER_IP: '0.001',
        ACTIVATION_DECIDE_BURST_PER_IP: '5',
        ACTIVATION_DECIDE_RATE_PER_KEY: '0.001',
        ACTIVATION_DECIDE_BURST_PER_KEY: '8',
        ACTIVATION_TRUST_PROXY: 'true',
      },
    });
    await waitFor(async () => ((await fetch(`${limited.http.url}/ready`)).status === 200 ? true : null), { timeoutMs: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await limited?.stop();
  });

  const from = (ip: string) => ({ 'Content-Type': 'application/json', 'X-Forwarded-For': ip });

  it('answers 429 with Retry-After past the burst of a client address, and of a key', async () => {
    const byIp: number[] = [];
    for (let i = 0; i < 8; i++)
      byIp.push((await decide({ writeKey: other.writeKey, anonymousId: 'a', slots: [] }, from('203.0.113.7'), limited.http.url)).status);
    expect(byIp.filter((s) => s === 200)).toHaveLength(5);
    expect(byIp.slice(5)).toEqual([429, 429, 429]);
    const limitedAnswer = await decide({ writeKey: other.writeKey, anonymousId: 'a', slots: [] }, from('203.0.113.7'), limited.http.url);
    expect(limitedAnswer.json['error']['code']).toBe('rate_limited');
    expect(Number(limitedAnswer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Per key: every call from another address; the key has 8 - 5 = 3 calls left.
    const byKey: number[] = [];
    for (let i = 0; i < 5; i++)
      byKey.push((await decide({ writeKey: other.writeKey, anonymousId: 'a', slots: [] }, from(`198.51.100.${i + 1}`), limited.http.url)).status);
    expect(byKey).toEqual([200, 200, 200, 429, 429]);
    // Another key is not limited by it.
    expect((await decide({ writeKey: shop.writeKey, anonymousId: 'a', slots: [] }, from('198.51.100.50'), limited.http.url)).status).toBe(200);
  });
});
