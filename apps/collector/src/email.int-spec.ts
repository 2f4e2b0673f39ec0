// Email tracking on the real broker and MongoDB-wire server: the rewrite endpoint, the open
// pixel and tracked links, asserted on what reached events.raw.
import { TopicTap, TEST_ADMIN_TOKEN, startTestService, testInfra } from '@mosaic/shared-testing';
import type { StartedService } from '@mosaic/shared-service';
import { Schemas, decodeMessage } from '@mosaic/contracts';
import { EmailTokenSigner, encodeSignedToken, emailAnonymousId, type IssueRequest, type SigningKey } from '@mosaic/collector-domain';
import { collectorDefinition } from './collector.definition';
import { TRANSPARENT_GIF } from './email.controller';

const K_NEW: SigningKey = { kid: 'k2', secret: 'new-secret-'.padEnd(40, 'n') };
const K_OLD: SigningKey = { kid: 'k1', secret: 'old-secret-'.padEnd(40, 'o') };
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' };

let svc: StartedService;
let tap: TopicTap;
let url: string;
let sourceId: string;
/** Signs like the service, but as of an hour ago (so opens are not "too soon after send"). */
let pastSigner: EmailTokenSigner;

type Payload = {
  messageId: string;
  type: string;
  event: string;
  userId?: string;
  anonymousId?: string;
  sourceId: string;
  timestamp: string;
  properties: Record<string, unknown>;
  context: Record<string, unknown>;
};

const eventsOf = (emailId: string): Payload[] => tap.payloads<Payload>((p) => p.properties?.['email_id'] === emailId);

function issue(over: Partial<IssueRequest> & { emailId: string }, signer = pastSigner): string {
  return signer.issue({ kind: 'open', sourceId, recipient: { userId: 'u-1', email: 'ada@example.com' }, campaign: 'spring', ttlSeconds: 86_400, ...over });
}

async function get(path: string, headers: Record<string, string> = { 'User-Agent': CHROME }, method = 'GET') {
  const res = await fetch(`${url}${path}`, { method, headers, redirect: 'manual' });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body };
}

/** A valid open on a marker email: once it is on the topic, everything sent before it has been handled. */
async function barrier(): Promise<void> {
  const emailId = `barrier-${Math.random().toString(36).slice(2)}`;
  expect((await get(`/v1/e/o/${issue({ emailId })}.gif`)).status).toBe(200);
  await tap.waitFor(() => eventsOf(emailId).length === 1);
}

beforeAll(async () => {
  svc = await startTestService(collectorDefinition, { env: { COLLECTOR_EMAIL_SIGNING_KEYS: `${K_NEW.kid}:${K_NEW.secret},${K_OLD.kid}:${K_OLD.secret}` } });
  url = svc.http.url;
  tap = await TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.eventsRaw);
  const created = await fetch(`${url}/v1/sources`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'newsletter' }) });
  sourceId = ((await created.json()) as { id: string }).id;
  pastSigner = new EmailTokenSigner([K_NEW, K_OLD], () => Date.now() - 3_600_000);
}, 120_000);

afterAll(async () => {
  await tap?.stop();
  await svc?.stop();
});

describe('POST /v1/email/rewrite', () => {
  it('requires the admin token and a valid body with an active source', async () => {
    const body = { html: '<a href="https://x.example/">x</a>', sourceId: 'src_x', recipient: { email: 'a@b.co' }, campaign: 'c', emailId: 'e' };
    expect(
      (await fetch(`${url}/v1/email/rewrite`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).status,
    ).toBe(401);
    const unknown = await fetch(`${url}/v1/email/rewrite`, { method: 'POST', headers: admin, body: JSON.stringify(body) });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('invalid_source');
    const bad = await fetch(`${url}/v1/email/rewrite`, { method: 'POST', headers: admin, body: JSON.stringify({ html: '', recipient: {} }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/html.*sourceId.*campaign.*emailId.*recipient/);
  });

  it('refuses an expiresInDays that is not a whole number of days with 400 naming it (was 500)', async () => {
    const body = { html: '<a href="https://x.example/">x</a>', sourceId, recipient: { email: 'a@b.co' }, campaign: 'c', emailId: 'e' };
    for (const expiresInDays of [0.000001, 0.5, 0, 3651]) {
      const res = await fetch(`${url}/v1/email/rewrite`, { method: 'POST', headers: admin, body: JSON.stringify({ ...body, expiresInDays }) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^expiresInDays/);
    }
    const ok = await fetch(`${url}/v1/email/rewrite`, { method: 'POST', headers: admin, body: JSON.stringify({ ...body, expiresInDays: 1 }) });
    expect(ok.status).toBe(200);
  });

  it('rewrites links and adds a pixel that work end to end', async () => {
    const html = '<html><body><p>Hi</p><a href="https://shop.example.com/sale?x=1&amp;y=2">Sale</a> <a href="mailto:help@example.com">Help</a></body></html>';
    const res = await fetch(`${url}/v1/email/rewrite`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ html, sourceId, recipient: { userId: 'u-rw', email: 'RW@Example.com' }, campaign: 'rewrite-test', emailId: 'rw-1' }),
    });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { html: string; links: number };
    expect(out.links).toBe(1);
    expect(out.html).toContain('href="mailto:help@example.com"');
    const link = new RegExp(`href="(${url}/v1/e/c/[^"]+)"`).exec(out.html)![1]!;
    const pixel = new RegExp(`<img src="(${url}/v1/e/o/[^"]+\\.gif)"`).exec(out.html)![1]!;
    const click = await fetch(link, { redirect: 'manual', headers: { 'User-Agent': CHROME } });
    expect(click.status).toBe(302);
    expect(click.headers.get('location')).toBe('https://shop.example.com/sale?x=1&y=2');
    expect((await fetch(pixel, { headers: { 'User-Agent': CHROME } })).status).toBe(200);
    await tap.waitFor(() => eventsOf('rw-1').length === 2);
    const [first, second] = eventsOf('rw-1');
    expect(new Set([first!.event, second!.event])).toEqual(new Set(['Email Opened', 'Email Link Clicked']));
    for (const e of eventsOf('rw-1')) {
      expect(e).toMatchObject({ userId: 'u-rw', sourceId, context: { traits: { email: 'rw@example.com' } } });
      // issued a moment ago: flagged, not dropped
      expect(e.properties).toMatchObject({ campaign: 'rewrite-test', machine: true, machine_reason: 'too_soon_after_send' });
    }
  });
});

describe('GET /v1/e/o/<token>.gif', () => {
  it('answers a transparent GIF and records Email Opened with identity', async () => {
    const res = await get(`/v1/e/o/${issue({ emailId: 'open-1' })}.gif`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(res.headers.get('cache-control')).toMatch(/no-store/);
    expect(res.body.equals(TRANSPARENT_GIF)).toBe(true);
    await tap.waitFor(() => eventsOf('open-1').length === 1);
    const msg = tap.messages.find((m) => (m.json as { payload: Payload }).payload.properties['email_id'] === 'open-1')!;
    expect(msg.key).toBe('u-1');
    expect(() => decodeMessage(Schemas.rawEvent, msg.value)).not.toThrow();
    const e = eventsOf('open-1')[0]!;
    expect(e).toMatchObject({
      type: 'track',
      event: 'Email Opened',
      userId: 'u-1',
      sourceId,
      properties: { campaign: 'spring', email_id: 'open-1', machine: false, machine_reason: null },
      context: { traits: { email: 'ada@example.com' }, userAgent: CHROME },
    });
    expect(e.messageId).toMatch(/^eo-[0-9a-f]{32}$/);
  });

  it('counts repeated loads within minutes as one open', async () => {
    const token = issue({ emailId: 'open-repeat' });
    for (let i = 0; i < 3; i++) expect((await get(`/v1/e/o/${token}.gif`)).status).toBe(200);
    await barrier();
    expect(eventsOf('open-repeat')).toHaveLength(1);
  });

  it('keys recipients known only by email by a derived anonymousId', async () => {
    await get(`/v1/e/o/${issue({ emailId: 'open-email-only', recipient: { email: 'Only@Example.com' } })}.gif`);
    await tap.waitFor(() => eventsOf('open-email-only').length === 1);
    const e = eventsOf('open-email-only')[0]!;
    expect(e.userId).toBeUndefined();
    expect(e.anonymousId).toBe(emailAnonymousId('only@example.com'));
    expect(e.context['traits']).toEqual({ email: 'only@example.com' });
  });

  it('flags machine opens (Apple MPP, scanners, HEAD) instead of dropping them; Gmail proxy opens are real', async () => {
    await get(`/v1/e/o/${issue({ emailId: 'open-mpp' })}.gif`, { 'User-Agent': 'Mozilla/5.0' });
    await get(`/v1/e/o/${issue({ emailId: 'open-scanner' })}.gif`, { 'User-Agent': 'Barracuda Sentinel (EE)' });
    const head = await get(`/v1/e/o/${issue({ emailId: 'open-head' })}.gif`, { 'User-Agent': CHROME }, 'HEAD');
    expect(head.status).toBe(200);
    await get(`/v1/e/o/${issue({ emailId: 'open-gmail' })}.gif`, {
      'User-Agent': 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
    });
    await tap.waitFor(() => ['open-mpp', 'open-scanner', 'open-head', 'open-gmail'].every((id) => eventsOf(id).length === 1));
    expect(eventsOf('open-mpp')[0]!.properties).toMatchObject({
      machine: true,
      machine_reason: 'apple_mail_privacy_protection',
      proxy: 'apple_mail_privacy_protection',
    });
    expect(eventsOf('open-scanner')[0]!.properties).toMatchObject({ machine: true, machine_reason: 'scanner_user_agent' });
    expect(eventsOf('open-head')[0]!.properties).toMatchObject({ machine: true, machine_reason: 'head_request' });
    expect(eventsOf('open-gmail')[0]!.properties).toMatchObject({ machine: false, machine_reason: null, proxy: 'google_image_proxy' });
  });

  it('a tampered, expired, unsigned, foreign-key or click token still gets the GIF, and nothing is recorded', async () => {
    const good = issue({ emailId: 'open-bad' });
    const [payload, kid, mac] = good.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const tampered = `${Buffer.from(JSON.stringify({ ...claims, u: 'someone-else' })).toString('base64url')}.${kid}.${mac}`;
    const expired = issue({ emailId: 'open-bad', ttlSeconds: 60 }); // issued an hour ago
    const unsigned = payload;
    const foreign = encodeSignedToken(claims, { kid: 'k1', secret: 'x'.repeat(40) });
    const clickToken = issue({ emailId: 'open-bad', kind: 'click', url: 'https://x.example/' });
    for (const token of [tampered, expired, unsigned, foreign, clickToken, 'garbage', 'a/b.c.d']) {
      const res = await get(`/v1/e/o/${token}.gif`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/gif');
      expect(res.body.equals(TRANSPARENT_GIF)).toBe(true);
    }
    await barrier();
    expect(eventsOf('open-bad')).toHaveLength(0);
  });

  it('tokens signed with the previous key still verify (rotation)', async () => {
    const oldOnly = new EmailTokenSigner([K_OLD], () => Date.now() - 3_600_000);
    await get(`/v1/e/o/${issue({ emailId: 'open-rotated' }, oldOnly)}.gif`);
    await tap.waitFor(() => eventsOf('open-rotated').length === 1);
  });

  it('records nothing for a revoked source', async () => {
    const created = (await (await fetch(`${url}/v1/sources`, { method: 'POST', headers: admin, body: '{"name":"revoked-news"}' })).json()) as { id: string };
    await fetch(`${url}/v1/sources/${created.id}`, { method: 'DELETE', headers: admin });
    const res = await get(`/v1/e/o/${issue({ emailId: 'open-revoked', sourceId: created.id })}.gif`);
    expect(res.status).toBe(200);
    await barrier();
    expect(eventsOf('open-revoked')).toHaveLength(0);
  });
});

describe('GET /v1/e/c/<token>', () => {
  it('redirects (302) to the signed URL and records Email Link Clicked', async () => {
    const res = await get(`/v1/e/c/${issue({ emailId: 'click-1', kind: 'click', url: 'https://shop.example.com/p/cm-900?utm_source=email' })}`);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://shop.example.com/p/cm-900?utm_source=email');
    expect(res.headers.get('cache-control')).toMatch(/no-store/);
    await tap.waitFor(() => eventsOf('click-1').length === 1);
    expect(eventsOf('click-1')[0]).toMatchObject({
      event: 'Email Link Clicked',
      userId: 'u-1',
      sourceId,
      properties: { campaign: 'spring', email_id: 'click-1', url: 'https://shop.example.com/p/cm-900?utm_source=email', machine: false, machine_reason: null },
      context: { traits: { email: 'ada@example.com' } },
    });
  });

  it('ignores any URL in the query: only the signed one is ever a redirect target', async () => {
    const res = await get(
      `/v1/e/c/${issue({ emailId: 'click-2', kind: 'click', url: 'https://shop.example.com/' })}?url=https://evil.example/&redirect=//evil.example`,
    );
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://shop.example.com/');
  });

  it('flags HEAD requests and scanner clicks as machine activity (and still redirects)', async () => {
    const head = await get(`/v1/e/c/${issue({ emailId: 'click-head', kind: 'click', url: 'https://x.example/' })}`, { 'User-Agent': CHROME }, 'HEAD');
    expect(head.status).toBe(302);
    const scan = await get(`/v1/e/c/${issue({ emailId: 'click-scan', kind: 'click', url: 'https://x.example/' })}`, {
      'User-Agent': 'Mozilla/5.0 Mimecast URL Protect',
    });
    expect(scan.status).toBe(302);
    await tap.waitFor(() => eventsOf('click-head').length === 1 && eventsOf('click-scan').length === 1);
    expect(eventsOf('click-head')[0]!.properties).toMatchObject({ machine: true, machine_reason: 'head_request' });
    expect(eventsOf('click-scan')[0]!.properties).toMatchObject({ machine: true, machine_reason: 'scanner_user_agent' });
  });

  it('answers 400 without a Location for tampered, expired, unsigned and open-redirect tokens, and records nothing', async () => {
    const good = issue({ emailId: 'click-bad', kind: 'click', url: 'https://shop.example.com/' });
    const [payload, kid, mac] = good.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const redirected = `${Buffer.from(JSON.stringify({ ...claims, l: 'https://evil.example/' })).toString('base64url')}.${kid}.${mac}`;
    const expired = issue({ emailId: 'click-bad', kind: 'click', url: 'https://shop.example.com/', ttlSeconds: 60 });
    // validly signed, but not an http(s) URL: still never a redirect
    const javascript = encodeSignedToken({ ...claims, l: 'javascript:alert(1)' }, K_NEW);
    const protocolRelative = encodeSignedToken({ ...claims, l: '//evil.example/' }, K_NEW);
    const openToken = issue({ emailId: 'click-bad' });
    for (const token of [redirected, expired, payload, `${payload}.${kid}`, javascript, protocolRelative, openToken, 'garbage']) {
      const res = await get(`/v1/e/c/${token}`);
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
    }
    const html = await get(`/v1/e/c/${redirected}`, { 'User-Agent': CHROME, Accept: 'text/html' });
    expect(html.status).toBe(400);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    expect(html.body.toString()).toMatch(/not valid/);
    await barrier();
    expect(eventsOf('click-bad')).toHaveLength(0);
  });
});

describe('observability', () => {
  it('counts email outcomes and documents the endpoints', async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/mosaic_collector_email_total\{[^}]*kind="open"[^}]*outcome="recorded"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/mosaic_collector_email_total\{[^}]*kind="click"[^}]*outcome="invalid_token"[^}]*\} [1-9]/);
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/v1/e/') || p === '/v1/email/rewrite')).toHaveLength(3);
  });
});
