// The ingestion rate limits (DESIGN §12: per key and client address) against the real broker:
// 429 with Retry-After naming the limit, nothing produced for a refused request, and the
// client address taken from X-Forwarded-For only when COLLECTOR_TRUST_PROXY trusts the proxy.
// Rates of 0.001/s refill one token in 1,000 s, so no test depends on how fast it runs.
import { TopicTap, adminRequest, startTestService, testInfra } from '@mosaic/shared-testing';
import type { StartedService } from '@mosaic/shared-service';
import { collectorDefinition } from './collector.definition';

const SLOW = '0.001';
let direct: StartedService; // COLLECTOR_TRUST_PROXY unset: X-Forwarded-For is ignored
let proxied: StartedService; // behind a trusted proxy (this test's loopback)
let tap: TopicTap;

type Answer = { status: number; json: Record<string, any>; retryAfter: string | null }; // eslint-disable-line @typescript-eslint/no-explicit-any -- answers are inspected as loose JSON

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

async function send(svc: StartedService, path: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${svc.http.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {}, retryAfter: res.headers.get('retry-after') };
}

async function writeKeyOf(svc: StartedService, name: string): Promise<string> {
  const created = await adminRequest(svc.http.url, 'POST', '/v1/sources', { name });
  expect(created.status).toBe(201);
  return created.json['writeKey'] as string;
}

/** Retry-After for one token at 0.001/s: 1,000 s less what refilled since the bucket emptied (the test's own duration, far under 500 s). */
const expectWaitForOneToken = (retryAfter: string | null) => {
  expect(Number(retryAfter)).toBeGreaterThan(500);
  expect(Number(retryAfter)).toBeLessThanOrEqual(1000);
};
const track = (id: string) => ({ anonymousId: 'rl', event: 'Limited', messageId: id });
const produced = (id: string) => tap.messages.some((m) => m.headers['messageId'] === id);
const payloadOf = (id: string) => (tap.messages.find((m) => m.headers['messageId'] === id)?.json as { payload: { context: Record<string, unknown> } }).payload;

beforeAll(async () => {
  direct = await startTestService(collectorDefinition, {
    env: { MOSAIC_INSTANCE_ID: 'rl-direct', COLLECTOR_RATE_PER_IP: SLOW, COLLECTOR_BURST_PER_IP: '3', COLLECTOR_RATE_PER_KEY: '0' },
  });
  proxied = await startTestService(collectorDefinition, {
    env: {
      MOSAIC_INSTANCE_ID: 'rl-proxied',
      COLLECTOR_TRUST_PROXY: '127.0.0.1,::1',
      COLLECTOR_RATE_PER_IP: SLOW,
      COLLECTOR_BURST_PER_IP: '2',
      COLLECTOR_RATE_PER_KEY: SLOW,
      COLLECTOR_BURST_PER_KEY: '2500',
    },
  });
  tap = await TopicTap.start(testInfra().kafkaBrokers, direct.platform.topics.eventsRaw);
}, 120_000);

afterAll(async () => {
  await tap?.stop();
  await direct?.stop();
  await proxied?.stop();
});

describe('per client address (requests a second)', () => {
  it('is not fooled by X-Forwarded-For when no proxy is trusted: 429 naming the address, nothing produced', async () => {
    const key = await writeKeyOf(direct, 'rl-direct');
    const headers = (i: number) => ({ Authorization: basic(key), 'X-Forwarded-For': `198.51.100.${i}` });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await send(direct, '/v1/track', track(`rl-direct-${i}`), headers(i)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    const refused = answers[3]!;
    expect(refused.json['error']).toMatchObject({ code: 'rate_limited', details: { limit: 'client_address', ratePerSecond: 0.001, burst: 3 } });
    expect(refused.json['error'].message).toMatch(
      /^too many requests from client address (127\.0\.0\.1|::1|::ffff:127\.0\.0\.1): the limit is 0\.001 requests a second/,
    );
    expectWaitForOneToken(refused.retryAfter);
    await tap.waitFor(() => produced('rl-direct-2'));
    expect(payloadOf('rl-direct-0').context['ip']).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
    expect(produced('rl-direct-3')).toBe(false);
  });

  it('covers imports and the short paths of analytics.js too, and is counted by route and limit', async () => {
    const key = await writeKeyOf(direct, 'rl-direct-2');
    const row = JSON.stringify({ type: 'track', userId: 'u', event: 'Imported' });
    expect((await send(direct, '/v1/import', row, { Authorization: basic(key), 'Content-Type': 'application/x-ndjson' })).status).toBe(429);
    expect((await send(direct, '/v1/t', track('rl-direct-t'), { Authorization: basic(key) })).status).toBe(429);
    const metrics = await (await fetch(`${direct.http.url}/metrics`)).text();
    expect(metrics).toMatch(/mosaic_collector_rate_limited_total\{route="track",limit="client_address"[^}]*\} 2\n/);
    expect(metrics).toMatch(/mosaic_collector_rate_limited_total\{route="import",limit="client_address"[^}]*\} 1\n/);
  });

  it('behind a trusted proxy, limits each client of X-Forwarded-For on its own', async () => {
    const key = await writeKeyOf(proxied, 'rl-proxied');
    const from = (ip: string, id: string) => send(proxied, '/v1/track', track(id), { Authorization: basic(key), 'X-Forwarded-For': ip });
    const statuses = [await from('203.0.113.1', 'rl-p-1'), await from('203.0.113.1', 'rl-p-2'), await from('203.0.113.1', 'rl-p-3')];
    expect(statuses.map((a) => a.status)).toEqual([200, 200, 429]);
    expect(statuses[2]!.json['error'].message).toMatch(/^too many requests from client address 203\.0\.113\.1:/);
    expect((await from('203.0.113.2', 'rl-p-4')).status).toBe(200);
    await tap.waitFor(() => produced('rl-p-4'));
    expect(payloadOf('rl-p-4').context['ip']).toBe('203.0.113.2');
  });
});

describe('per write key (events a second)', () => {
  let client = 0;
  // a new client address for every request: only the key's limit is under test here
  const as = (key: string) => ({ Authorization: basic(key), 'X-Forwarded-For': `192.0.2.${++client}` });

  it("charges a batch's items; over the key's budget is a 429 naming the key, other keys go on", async () => {
    const [key, other] = [await writeKeyOf(proxied, 'rl-key'), await writeKeyOf(proxied, 'rl-key-other')];
    const batch = { batch: Array.from({ length: 2_500 }, (_, i) => ({ type: 'track', anonymousId: 'rl-k', event: 'E', messageId: `rl-k-${i}` })) };
    expect((await send(proxied, '/v1/batch', batch, as(key))).status).toBe(200);
    const over = await send(proxied, '/v1/track', track('rl-k-over'), as(key));
    expect(over.status).toBe(429);
    expect(over.json['error']).toMatchObject({ code: 'rate_limited', details: { limit: 'write_key', ratePerSecond: 0.001, burst: 2500 } });
    expect(over.json['error'].message).toMatch(/^too many events with this write key \(1 in this request\): the limit is 0\.001 events a second per write key/);
    expectWaitForOneToken(over.retryAfter);
    expect((await send(proxied, '/v1/track', track('rl-k-other'), as(other))).status).toBe(200);
    await tap.waitFor(() => produced('rl-k-other') && produced('rl-k-2499'));
    expect(produced('rl-k-over')).toBe(false);
  });

  it("does not charge imports to the key (a backfill must not throttle the site's live events)", async () => {
    const key = await writeKeyOf(proxied, 'rl-key-import');
    const batch = { batch: Array.from({ length: 2_500 }, () => ({ type: 'track', anonymousId: 'rl-i', event: 'E' })) };
    expect((await send(proxied, '/v1/batch', batch, as(key))).status).toBe(200);
    expect((await send(proxied, '/v1/track', track('rl-i-over'), as(key))).status).toBe(429);
    const row = JSON.stringify({ type: 'track', userId: 'u', event: 'Imported', messageId: 'rl-i-import' });
    const imported = await send(proxied, '/v1/import', row, { ...as(key), 'Content-Type': 'application/x-ndjson' });
    expect(imported.status).toBe(200);
    expect(imported.json).toMatchObject({ accepted: 1, rejectedCount: 0 });
  });
});
