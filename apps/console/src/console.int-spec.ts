/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// The console's backend against a real segmentation service and the real MongoDB-wire server:
// sign-in and the session cookie, CSRF, the roles enforced by the proxy (a refused request never
// reaches the service), users and the last admin, expiry and sign-out, the admin token for the
// CLI, and the single-page app's files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import type { StartedService } from '@mosaic/shared-service';
import { TEST_ADMIN_TOKEN, adminRequest, dropTestDatabase, startTestService, testInfra } from '@mosaic/shared-testing';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the proxy is tested against a real segmentation service, as the e2e tests do
import { segmentationDefinition } from '../../segmentation/src/segmentation.definition';
import { consoleDefinition } from './console.definition';

jest.setTimeout(60_000);

const ADMIN_PASSWORD = 'initial-admin-password';
const VIEWER = { username: 'vera.viewer', password: 'viewer-password-1', role: 'viewer' };
const EDITOR = { username: 'eddie.editor', password: 'editor-password-1', role: 'editor' };
const highLtv = { key: 'high-ltv', name: 'High lifetime value', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 500 } };

let segmentation: StartedService;
let consoleApp: StartedService;
let webDir: string;
let db: Connection;
/** Stands in for activation to show what the proxy sends and passes back: every request it got. */
let recorder: Server;
const recorded: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];

function startRecorder(): Promise<string> {
  recorder = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      recorded.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url?.startsWith('/v1/busy'))
        res
          .writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '7' })
          .end('{"error":{"status":429,"code":"rate_limited","message":"slow down"}}');
      else if (req.url?.startsWith('/v1/refuse')) res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":{"status":401}}');
      else res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
    });
  });
  return new Promise((resolve) => recorder.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(recorder.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  webDir = mkdtempSync(join(tmpdir(), 'console-web-'));
  mkdirSync(join(webDir, 'assets'));
  writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>Mosaic console</title>');
  writeFileSync(join(webDir, 'assets', 'app-1a2b.js'), 'console.log(1)');
  segmentation = await startTestService(segmentationDefinition, { env: { MOSAIC_INSTANCE_ID: 'console-it-seg', SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0' } });
  consoleApp = await startTestService(consoleDefinition, {
    env: {
      MOSAIC_INSTANCE_ID: 'console-it',
      CONSOLE_INITIAL_ADMIN_PASSWORD: ADMIN_PASSWORD,
      CONSOLE_SEGMENTATION_URL: segmentation.http.url,
      // Nothing listens there: the proxy's answer when a service is down.
      CONSOLE_IDENTITY_URL: 'http://127.0.0.1:9',
      CONSOLE_ACTIVATION_URL: await startRecorder(),
      CONSOLE_WEB_DIR: webDir,
      // Told to the app with the session: the tracker snippet's default (a trailing slash dropped).
      COLLECTOR_PUBLIC_URL: 'https://cdp.example.com/',
    },
  });
  db = await mongoose.createConnection(testInfra().mongoUri).asPromise();
}, 120_000);

afterAll(async () => {
  await consoleApp?.stop();
  await segmentation?.stop();
  await db?.close();
  await new Promise((resolve) => recorder?.close(resolve));
  await dropTestDatabase().catch(() => undefined);
  rmSync(webDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  json: any;
  text: string;
  headers: Headers;
}

/** A browser's view of the console: the session cookie it was given and the CSRF token it was told. */
interface Browser {
  cookie?: string;
  csrfToken?: string;
}

async function call(
  browser: Browser,
  method: string,
  path: string,
  body?: unknown,
  opts: { csrf?: boolean; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (browser.cookie) headers['Cookie'] = browser.cookie;
  if (opts.csrf !== false && browser.csrfToken) headers['X-CSRF-Token'] = browser.csrfToken;
  if (body !== undefined) headers['Content-Type'] ??= 'application/json';
  const res = await fetch(`${consoleApp.http.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

async function signIn(username: string, password: string): Promise<Browser & { answer: Answer }> {
  const answer = await call({}, 'POST', '/api/session', { username, password });
  const setCookie = answer.headers.get('set-cookie') ?? '';
  const cookie = /^mosaic_console=[^;]*/.exec(setCookie)?.[0];
  return { cookie, csrfToken: answer.json?.csrfToken, answer };
}

async function signedIn(user: { username: string; password: string }): Promise<Browser> {
  const b = await signIn(user.username, user.password);
  expect(b.answer.status).toBe(200);
  return b;
}

const bearer = (method: string, path: string, body?: unknown, token = TEST_ADMIN_TOKEN) =>
  call({}, method, path, body, { headers: { Authorization: `Bearer ${token}` } });

async function createUsers(): Promise<void> {
  for (const user of [VIEWER, EDITOR]) {
    const r = await bearer('POST', '/api/users', user);
    expect([r.status, r.text]).toEqual([201, expect.any(String)]);
  }
}

describe('signing in', () => {
  it('creates the first admin from CONSOLE_INITIAL_ADMIN_PASSWORD and signs in with an HttpOnly, SameSite=Strict session cookie', async () => {
    const b = await signIn('admin', ADMIN_PASSWORD);
    expect(b.answer.status).toBe(200);
    const settings = { collectorPublicUrl: 'https://cdp.example.com' };
    expect(b.answer.json).toEqual({ user: { username: 'admin', role: 'admin' }, csrfToken: expect.stringMatching(/^[\w-]{22,}$/), settings });
    const setCookie = b.answer.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^mosaic_console=[\w-]{22,};/); // at least 128 random bits
    expect(setCookie).toMatch(/; HttpOnly/i);
    expect(setCookie).toMatch(/; SameSite=Strict/i);
    expect(setCookie).toMatch(/; Path=\//i);
    expect(setCookie).not.toMatch(/; Secure/i); // CONSOLE_COOKIE_SECURE=false
    expect((await call(b, 'GET', '/api/session')).json).toEqual({ user: { username: 'admin', role: 'admin' }, csrfToken: b.csrfToken, settings });
  });

  it('answers the same 401 for a wrong password and an unknown user', async () => {
    const wrong = await signIn('admin', 'not-the-password');
    const unknown = await signIn('nobody-here', ADMIN_PASSWORD);
    for (const r of [wrong, unknown]) {
      expect(r.answer.status).toBe(401);
      expect(r.answer.json).toEqual({ error: { status: 401, code: 'invalid_credentials', message: 'wrong username or password' } });
      expect(r.cookie).toBeUndefined();
    }
  });

  it('signs in only with a JSON body (a cross-site form cannot send one)', async () => {
    const r = await call({}, 'POST', '/api/session', JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }), {
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(r.status).toBe(415);
    expect(r.headers.get('set-cookie')).toBeNull();
  });

  it('refuses a username after 5 wrong passwords within 5 minutes (429 with Retry-After), even with the right one; other users sign in', async () => {
    const tess = { username: 'tess.throttled', password: 'throttled-password-1', role: 'viewer' };
    expect((await bearer('POST', '/api/users', tess)).status).toBe(201);
    await signedIn(tess); // a success clears nothing that matters here, and proves the password
    for (let i = 0; i < 5; i++) expect((await signIn(tess.username, `wrong-${i}`)).answer.status).toBe(401);
    const refused = await signIn(tess.username, tess.password);
    expect(refused.answer.status).toBe(429);
    expect(refused.answer.json.error).toMatchObject({ code: 'too_many_attempts', message: expect.stringContaining('try again in') });
    expect(Number(refused.answer.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.answer.headers.get('retry-after'))).toBeLessThanOrEqual(300);
    expect(refused.cookie).toBeUndefined();
    expect((await signIn('TESS.THROTTLED', tess.password)).answer.status).toBe(429); // any case of the name
    await signedIn({ username: 'admin', password: ADMIN_PASSWORD });
    expect((await bearer('DELETE', `/api/users/${tess.username}`)).status).toBe(204); // the users tests list exactly their own
  });

  it('a burst of concurrent wrong passwords gets 5 checked, the rest refused', async () => {
    const burst = { username: 'bo.burst', password: 'burst-password-12', role: 'viewer' };
    expect((await bearer('POST', '/api/users', burst)).status).toBe(201);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => signIn(burst.username, `wrong-${i}`)));
    const statuses = answers.map((a) => a.answer.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect((await bearer('DELETE', `/api/users/${burst.username}`)).status).toBe(204);
  });

  it('answers 401 not_signed_in without a session', async () => {
    expect((await call({}, 'GET', '/api/session')).json.error.code).toBe('not_signed_in');
    expect((await call({ cookie: 'mosaic_console=made-up' }, 'GET', '/api/session')).status).toBe(401);
    expect((await call({}, 'GET', '/api/svc/segmentation/v1/segments')).status).toBe(401);
  });
});

describe('users', () => {
  beforeAll(createUsers);

  it('lets an admin manage users with the CSRF token, and refuses a change without it', async () => {
    const admin = await signedIn({ username: 'admin', password: ADMIN_PASSWORD });
    const noCsrf = await call(admin, 'POST', '/api/users', { username: 'nina', password: 'nina-password-1', role: 'viewer' }, { csrf: false });
    expect([noCsrf.status, noCsrf.json.error.code]).toEqual([403, 'csrf_failed']);
    const created = await call(admin, 'POST', '/api/users', { username: 'nina', password: 'nina-password-1', role: 'viewer' });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ username: 'nina', role: 'viewer', createdAt: expect.any(String) });
    expect((await call(admin, 'POST', '/api/users', { username: 'nina', password: 'nina-password-2', role: 'editor' })).json.error.code).toBe('user_exists');
    const bad = await call(admin, 'POST', '/api/users', { username: 'ok-name', password: 'short', role: 'viewer' });
    expect([bad.status, bad.json.error.message]).toEqual([400, expect.stringContaining('password: must be at least 12 characters')]);
    const list = await call(admin, 'GET', '/api/users');
    expect(list.json.users.map((u: any) => `${u.username}:${u.role}`)).toEqual(['admin:admin', 'eddie.editor:editor', 'nina:viewer', 'vera.viewer:viewer']);
    expect((await call(admin, 'DELETE', '/api/users/nina')).status).toBe(204);
    expect((await signIn('nina', 'nina-password-1')).answer.status).toBe(401);
  });

  it('refuses users management to an editor', async () => {
    const editor = await signedIn(EDITOR);
    const r = await call(editor, 'GET', '/api/users');
    expect([r.status, r.json.error.code]).toEqual([403, 'forbidden']);
  });

  it('never deletes the last admin', async () => {
    const admin = await signedIn({ username: 'admin', password: ADMIN_PASSWORD });
    const r = await call(admin, 'DELETE', '/api/users/admin');
    expect([r.status, r.json.error.code]).toEqual([409, 'last_admin']);
    expect((await bearer('POST', '/api/users', { username: 'second.admin', password: 'second-admin-pw', role: 'admin' })).status).toBe(201);
    const second = await signedIn({ username: 'second.admin', password: 'second-admin-pw' });
    expect((await call(admin, 'DELETE', '/api/users/second.admin')).status).toBe(204);
    expect((await call(second, 'GET', '/api/session')).status).toBe(401); // their session went with them
    expect((await call(admin, 'DELETE', '/api/users/admin')).status).toBe(409);
  });

  it('accepts the admin token as a bearer (the CLI), and no other token', async () => {
    expect((await bearer('GET', '/api/users')).json.users.map((u: any) => u.username)).toContain('vera.viewer');
    expect((await bearer('GET', '/api/users', undefined, 'wrong-token-0123456789')).status).toBe(401);
    expect((await bearer('POST', '/api/users', { username: 'cli.user', password: 'cli-password-12', role: 'editor' })).status).toBe(201);
    expect((await bearer('DELETE', '/api/users/cli.user')).status).toBe(204);
    expect((await bearer('DELETE', '/api/users/cli.user')).status).toBe(404);
  });
});

describe('the proxy', () => {
  beforeAll(async () => {
    if ((await bearer('GET', '/api/users')).json.users.length < 3) await createUsers();
  });

  const upstreamSegment = async (key: string) => (await adminRequest(segmentation.http.url, 'GET', `/v1/segments/${key}`)).status;

  it("forwards a viewer's reads and the read-only preview, and refuses a viewer's write before it reaches the service", async () => {
    const viewer = await signedIn(VIEWER);
    const list = await call(viewer, 'GET', '/api/svc/segmentation/v1/segments?x=1');
    expect([list.status, list.json]).toEqual([200, { segments: expect.any(Array) }]);
    const preview = await call(viewer, 'POST', '/api/svc/segmentation/v1/segments/preview', highLtv);
    expect([preview.status, preview.json]).toEqual([200, expect.objectContaining({ matched: expect.any(Number) })]);
    const write = await call(viewer, 'POST', '/api/svc/segmentation/v1/segments', highLtv);
    expect(write.status).toBe(403);
    expect(write.json.error).toEqual({ status: 403, code: 'forbidden', message: 'role viewer may not POST /v1/segments on segmentation' });
    expect(await upstreamSegment('high-ltv')).toBe(404);
    // Another spelling of the same path is the same path.
    expect((await call(viewer, 'POST', '/api/svc/segmentation/v1//segm%65nts/', highLtv)).status).toBe(403);
    const slash = await call(viewer, 'POST', '/api/svc/segmentation/v1/segments%2Fpreview', highLtv);
    expect([slash.status, slash.json.error.code]).toEqual([400, 'invalid_path']);
    expect(await upstreamSegment('high-ltv')).toBe(404);
  });

  it("requires the session's CSRF token on an editor's write", async () => {
    const editor = await signedIn(EDITOR);
    const without = await call(editor, 'POST', '/api/svc/segmentation/v1/segments', highLtv, { csrf: false });
    expect([without.status, without.json.error.code]).toEqual([403, 'csrf_failed']);
    const wrong = await call(editor, 'POST', '/api/svc/segmentation/v1/segments', highLtv, { csrf: false, headers: { 'X-CSRF-Token': 'x'.repeat(43) } });
    expect([wrong.status, wrong.json.error.code]).toEqual([403, 'csrf_failed']);
    expect(await upstreamSegment('high-ltv')).toBe(404);
    const created = await call(editor, 'POST', '/api/svc/segmentation/v1/segments', highLtv);
    expect([created.status, created.json]).toEqual([201, expect.objectContaining({ key: 'high-ltv', version: 1 })]);
    expect(await upstreamSegment('high-ltv')).toBe(200);
    // The service's own errors come back as they are.
    const again = await call(editor, 'POST', '/api/svc/segmentation/v1/segments', highLtv);
    expect([again.status, again.json.error.code]).toEqual([409, 'conflict']);
  });

  it("keeps the admin-only routes from an editor, whatever the path's spelling", async () => {
    const editor = await signedIn(EDITOR);
    for (const path of ['/api/svc/collector/v1/sources', '/api/svc/collector/v1/%73ources', '/api/svc/collector/v1/sources/src_1/server-key']) {
      const r = await call(editor, 'POST', path, { name: 'x' });
      expect([path, r.status, r.json.error.code]).toEqual([path, 403, 'forbidden']);
    }
    expect((await call(editor, 'GET', '/api/svc/activation/v1/destinations/d_1/secret')).status).toBe(403);
  });

  it("sends the admin token, the JSON body, the query and the Idempotency-Key, never the browser's cookie or CSRF token; passes Retry-After back", async () => {
    const editor = await signedIn(EDITOR);
    recorded.length = 0;
    const r = await call(
      editor,
      'PUT',
      '/api/svc/activation/v1/experiences/home%20banner?dryRun=true&x=%2F',
      { rules: [] },
      { headers: { 'Idempotency-Key': 'k-1' } },
    );
    expect([r.status, r.json]).toEqual([200, { ok: true }]);
    const [sent] = recorded;
    expect(sent).toMatchObject({ method: 'PUT', url: '/v1/experiences/home%20banner?dryRun=true&x=%2F', body: '{"rules":[]}' });
    expect(sent?.headers).toMatchObject({ authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': 'k-1' });
    expect(sent?.headers).not.toHaveProperty('cookie');
    expect(sent?.headers).not.toHaveProperty('x-csrf-token');
    const busy = await call(editor, 'GET', '/api/svc/activation/v1/busy');
    expect([busy.status, busy.headers.get('retry-after'), busy.json.error.code]).toEqual([429, '7', 'rate_limited']);
    expect(busy.headers.get('content-security-policy')).toContain('sandbox');
    const refused = await call(editor, 'GET', '/api/svc/activation/v1/refuse');
    expect([refused.status, refused.json.error.code]).toEqual([502, 'upstream_refused']); // not a 401 that would sign the user out
  });

  it('answers 404 for an unknown service and 502 when a service is unreachable', async () => {
    const viewer = await signedIn(VIEWER);
    const unknown = await call(viewer, 'GET', '/api/svc/billing/v1/invoices');
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'unknown_service']);
    const down = await call(viewer, 'GET', '/api/svc/identity/v1/rules');
    expect([down.status, down.json.error.code]).toEqual([502, 'upstream_unavailable']);
  });
});

describe('sessions', () => {
  it('refuses an expired session and deletes it', async () => {
    const sessions = db.collection('console_sessions');
    const mine = { username: VIEWER.username };
    await sessions.deleteMany(mine);
    const viewer = await signedIn(VIEWER);
    expect(await sessions.countDocuments(mine)).toBe(1);
    expect((await call(viewer, 'GET', '/api/session')).status).toBe(200);
    await sessions.updateMany(mine, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    const r = await call(viewer, 'GET', '/api/session');
    expect([r.status, r.json.error.code]).toEqual([401, 'not_signed_in']);
    expect(await sessions.countDocuments(mine)).toBe(0);
    expect((await call(viewer, 'GET', '/api/svc/segmentation/v1/segments')).status).toBe(401);
  });

  it('signs out: the session is deleted and the cookie cleared', async () => {
    const editor = await signedIn(EDITOR);
    expect((await call(editor, 'DELETE', '/api/session', undefined, { csrf: false })).status).toBe(403);
    const out = await call(editor, 'DELETE', '/api/session');
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^mosaic_console=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/i);
    expect((await call(editor, 'GET', '/api/session')).status).toBe(401);
  });
});

describe('the single-page app', () => {
  it('serves its files, index.html for client-side routes, JSON 404 under /api, and the health endpoints', async () => {
    const home = await call({}, 'GET', '/');
    expect([home.status, home.text, home.headers.get('cache-control')]).toEqual([200, expect.stringContaining('Mosaic console'), 'no-cache']);
    expect((await call({}, 'GET', '/contacts/p_123')).text).toContain('Mosaic console');
    const asset = await call({}, 'GET', '/assets/app-1a2b.js');
    expect([asset.status, asset.text, asset.headers.get('cache-control')]).toEqual([200, 'console.log(1)', expect.stringContaining('immutable')]);
    expect((await call({}, 'GET', '/..%2F..%2F..%2Fetc%2Fpasswd')).text).toContain('Mosaic console'); // never a file outside the directory
    const api = await call({}, 'GET', '/api/nothing');
    expect([api.status, api.json.error.code]).toEqual([404, 'not_found']);
    expect((await call({}, 'GET', '/health')).json).toMatchObject({ status: 'ok', service: 'console' });
    expect((await call({}, 'GET', '/openapi.json')).json.paths).toHaveProperty(['/api/session']);
  });

  it('answers 503 with what to do when the app is not built', async () => {
    const unbuilt = await startTestService(consoleDefinition, { env: { MOSAIC_INSTANCE_ID: 'console-it-2', CONSOLE_WEB_DIR: join(webDir, 'missing') } });
    try {
      const res = await fetch(`${unbuilt.http.url}/contacts`);
      const body = (await res.json()) as any;
      expect([res.status, body.error.code, body.error.message]).toEqual([503, 'console_not_built', expect.stringContaining('npm run build')]);
    } finally {
      await unbuilt.stop();
    }
  });
});
