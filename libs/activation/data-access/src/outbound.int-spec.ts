import { createServer, type Server } from 'node:http';
import type { LookupAddress } from 'node:dns';
import type { AddressInfo } from 'node:net';
import { generateSecret, OutboundAllowList } from '@mosaic/activation-domain';
import { postWebhook } from './webhook.client';
import { isOutboundBlocked, OutboundBlockedError, OutboundGuard, type ResolveAll } from './outbound';

function allow(text: string): OutboundAllowList {
  const r = OutboundAllowList.parse(text);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.value;
}

/** A resolver answering from a table (names that exist in no real DNS). */
const table =
  (answers: Record<string, string[]>): ResolveAll =>
  async (hostname) =>
    (answers[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

function lookup(guard: OutboundGuard, hostname: string, all: boolean): Promise<{ err: NodeJS.ErrnoException | null; result: string | LookupAddress[] }> {
  return new Promise((resolve) => guard.lookup(hostname, { all }, (err, result) => resolve({ err, result })));
}

describe('OutboundGuard', () => {
  const guard = new OutboundGuard(
    OutboundAllowList.NONE,
    table({
      'public.test': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
      'rebind.test': ['93.184.215.14', '169.254.169.254'],
      'mapped.test': ['::ffff:127.0.0.1'],
    }),
  );
  afterAll(() => guard.close());

  it('passes on every checked address of a public name (both lookup forms)', async () => {
    expect(await lookup(guard, 'public.test', true)).toEqual({
      err: null,
      result: [
        { address: '93.184.215.14', family: 4 },
        { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
      ],
    });
    expect(await lookup(guard, 'public.test', false)).toEqual({ err: null, result: '93.184.215.14' });
  });

  it('refuses a name when any address it resolves to is not public', async () => {
    const rebind = await lookup(guard, 'rebind.test', true);
    expect(isOutboundBlocked(rebind.err)).toBe(true);
    expect(rebind.err?.message).toMatch(/^rebind\.test resolves to 169\.254\.169\.254 \(cloud metadata\)/);
    expect((await lookup(guard, 'mapped.test', false)).err?.message).toMatch(/loopback/);
  });

  it('refuses metadata names and non-public literals before any lookup', async () => {
    expect(() => guard.checkHost('metadata.google.internal')).toThrow(OutboundBlockedError);
    expect(() => guard.checkHost('2130706433')).toThrow(/127\.0\.0\.1 \(loopback\)/);
    expect(() => guard.checkHost('public.test')).not.toThrow();
    await expect(guard.connect('127.0.0.1', 1, 1_000)).rejects.toMatchObject({ code: 'EOUTBOUNDBLOCKED' });
  });
});

describe('postWebhook and the outbound guard', () => {
  let server: Server;
  let port: number;
  let requests = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests += 1;
      req.resume();
      req.on('end', () => {
        if (req.url === '/busy') return void res.writeHead(429, { 'retry-after': '7' }).end('slow down');
        if (req.url === '/hang') return; // never answers
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const post = (url: string, guard: OutboundGuard, timeoutMs = 2_000) =>
    postWebhook({ url, secret: generateSecret(new Uint8Array(24).fill(7)), headers: {}, timeoutMs }, 'dlv_1', '{}', 1_700_000_000, guard);

  it('reports the status, Retry-After and timeouts as before', async () => {
    const guard = new OutboundGuard(allow('127.0.0.1/32'));
    try {
      expect(await post(`http://127.0.0.1:${port}/busy`, guard)).toEqual({ status: 429, retryAfter: '7', error: 'HTTP 429' });
      expect(await post(`http://127.0.0.1:${port}/hang`, guard, 200)).toEqual({ status: 'timeout', error: 'no answer within 200 ms' });
      expect(await post(`http://127.0.0.1:1/`, guard)).toEqual({ status: 'network', error: 'ECONNREFUSED' });
      requests = 0;
    } finally {
      guard.close();
    }
  });

  it('refuses loopback by address and by name unless allow-listed; nothing reaches the receiver', async () => {
    const none = new OutboundGuard();
    try {
      for (const url of [
        `http://127.0.0.1:${port}/`,
        `http://0x7f.1:${port}/`,
        `http://2130706433:${port}/`,
        `http://[::ffff:127.0.0.1]:${port}/`,
        `http://localhost:${port}/`,
      ]) {
        expect(await post(url, none)).toMatchObject({ status: 'blocked', error: expect.stringMatching(/loopback/) });
      }
      expect(requests).toBe(0);
    } finally {
      none.close();
    }
  });

  it('delivers to an allow-listed address, connecting to the address it checked', async () => {
    // `hooks.example.test` exists in no DNS: the request can only reach the receiver through
    // the address the guard resolved and checked.
    const guard = new OutboundGuard(allow('127.0.0.1/32'), table({ 'hooks.example.test': ['127.0.0.1'], 'elsewhere.test': ['10.1.2.3'] }));
    try {
      expect(await post(`http://hooks.example.test:${port}/`, guard)).toEqual({ status: 204 });
      expect(await post(`http://127.0.0.1:${port}/`, guard)).toEqual({ status: 204 });
      expect(await post(`http://elsewhere.test:${port}/`, guard)).toMatchObject({ status: 'blocked', error: expect.stringMatching(/10\.1\.2\.3 \(private\)/) });
      expect(requests).toBe(2);
    } finally {
      guard.close();
    }
  });

  it('delivers to an allow-listed host name whatever it resolves to', async () => {
    const guard = new OutboundGuard(allow('localhost'));
    try {
      const r = await post(`http://localhost:${port}/`, guard);
      expect(r).toEqual({ status: 204 });
    } finally {
      guard.close();
    }
  });
});
