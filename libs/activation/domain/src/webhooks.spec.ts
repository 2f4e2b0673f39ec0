import { webcrypto } from 'node:crypto';
import { decodeSecret, generateSecret, isWebhookSecret, parseSignatures, sign, verify, webhookHeaders } from './webhooks';

// The test vector of the Standard Webhooks reference libraries ("sign function works" in
// libraries/javascript/src/webhook.test.ts of github.com/standard-webhooks/standard-webhooks;
// the same values are in the other languages' tests).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const NOW = VECTOR.timestamp * 1000;
const OTHER_SECRET = generateSecret(new Uint8Array(32).fill(7));

/** HMAC-SHA256 through WebCrypto: a second, independent implementation. */
async function webCryptoSignature(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const keyBytes = Uint8Array.from(atob(secret.slice('whsec_'.length)), (c) => c.charCodeAt(0));
  const key = await webcrypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await webcrypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return `v1,${btoa(String.fromCharCode(...new Uint8Array(mac)))}`;
}

function headersFor(signature: string, timestamp = VECTOR.timestamp, id = VECTOR.id): Record<string, string> {
  return { ...webhookHeaders({ id, timestamp, signature }) };
}

describe('sign', () => {
  it('reproduces the Standard Webhooks test vector', () => {
    expect(sign(VECTOR)).toBe(VECTOR.signature);
  });

  it('agrees with WebCrypto on the vector and on other inputs (unicode body included)', async () => {
    expect(await webCryptoSignature(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
    const input = { secret: OTHER_SECRET, id: 'dlv_abc-DEF_123', timestamp: 1767225600, body: '{"name":"Zoë ☕","n":1}' };
    expect(sign(input)).toBe(await webCryptoSignature(input.secret, input.id, input.timestamp, input.body));
  });

  it('signs bytes like the same string', () => {
    expect(sign({ ...VECTOR, body: new TextEncoder().encode(VECTOR.body) })).toBe(VECTOR.signature);
  });

  it('depends on every part', () => {
    expect(sign({ ...VECTOR, id: 'msg_other' })).not.toBe(VECTOR.signature);
    expect(sign({ ...VECTOR, timestamp: VECTOR.timestamp + 1 })).not.toBe(VECTOR.signature);
    expect(sign({ ...VECTOR, body: `${VECTOR.body} ` })).not.toBe(VECTOR.signature);
    expect(sign({ ...VECTOR, secret: OTHER_SECRET })).not.toBe(VECTOR.signature);
  });

  it.each([
    ['no prefix', { secret: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, /whsec_/],
    ['not base64', { secret: 'whsec_not*base64!' }, /whsec_/],
    ['too short', { secret: generateSecret(new Uint8Array(24)).slice(0, -4) }, /24 to 64 bytes/],
    ['an id with a dot', { id: 'a.b' }, /webhook id/],
    ['an id with a space', { id: 'a b' }, /webhook id/],
    ['an empty id', { id: '' }, /webhook id/],
    ['a fractional timestamp', { timestamp: 1.5 }, /timestamp/],
    ['a negative timestamp', { timestamp: -1 }, /timestamp/],
  ])('rejects %s', (_name, change, message) => {
    expect(() => sign({ ...VECTOR, ...change })).toThrow(message);
  });
});

describe('secrets', () => {
  it('generates whsec_ + base64 of the given bytes', () => {
    const bytes = Uint8Array.from({ length: 24 }, (_, i) => i);
    const secret = generateSecret(bytes);
    expect(secret).toBe(`whsec_${Buffer.from(bytes).toString('base64')}`);
    expect(decodeSecret(secret)).toEqual(Buffer.from(bytes));
    expect(isWebhookSecret(secret)).toBe(true);
  });

  it('accepts 24 to 64 bytes only', () => {
    expect(() => generateSecret(new Uint8Array(23))).toThrow(RangeError);
    expect(() => generateSecret(new Uint8Array(65))).toThrow(RangeError);
    expect(isWebhookSecret(generateSecret(new Uint8Array(64)))).toBe(true);
  });

  it('recognizes malformed secrets', () => {
    expect(isWebhookSecret(VECTOR.secret)).toBe(true);
    expect(isWebhookSecret('whsec_')).toBe(false);
    expect(isWebhookSecret(`whsec_${Buffer.alloc(70).toString('base64')}`)).toBe(false);
    expect(isWebhookSecret(`${VECTOR.secret}=`)).toBe(false);
    expect(isWebhookSecret(42)).toBe(false);
  });
});

describe('webhookHeaders', () => {
  it('names the three headers and joins several signatures with spaces', () => {
    expect(webhookHeaders({ id: 'dlv_1', timestamp: 1700000000, signature: 'v1,a' })).toEqual({
      'webhook-id': 'dlv_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': 'v1,a',
    });
    expect(webhookHeaders({ id: 'dlv_1', timestamp: 1, signature: ['v1,a', 'v1,b'] })['webhook-signature']).toBe('v1,a v1,b');
  });
});

describe('verify', () => {
  it('accepts the vector', () => {
    expect(verify(headersFor(VECTOR.signature), VECTOR.body, [VECTOR.secret], NOW)).toEqual({ ok: true, id: VECTOR.id, timestamp: VECTOR.timestamp });
  });

  it('reads headers in any case, and repeated signature headers', () => {
    const headers = { 'Webhook-Id': VECTOR.id, 'WEBHOOK-TIMESTAMP': String(VECTOR.timestamp), 'webhook-signature': ['v1,AAAA', VECTOR.signature] };
    expect(verify(headers, VECTOR.body, [VECTOR.secret], NOW).ok).toBe(true);
  });

  it('accepts one valid signature among several, other versions ignored (the spec example)', () => {
    const sigs = [
      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
      `v2,${VECTOR.signature.slice(3)}`,
      VECTOR.signature,
      'v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw==',
    ];
    expect(verify(headersFor(sigs.join(' ')), VECTOR.body, [VECTOR.secret], NOW).ok).toBe(true);
  });

  it('supports secret rotation: any of the secrets', () => {
    const signature = sign({ ...VECTOR, secret: OTHER_SECRET });
    expect(verify(headersFor(signature), VECTOR.body, [VECTOR.secret, OTHER_SECRET], NOW).ok).toBe(true);
    expect(verify(headersFor(signature), VECTOR.body, [VECTOR.secret], NOW)).toMatchObject({ ok: false, reason: 'no-matching-signature' });
  });

  it('rejects a changed body, id or timestamp', () => {
    expect(verify(headersFor(VECTOR.signature), `${VECTOR.body} `, [VECTOR.secret], NOW)).toMatchObject({ ok: false, reason: 'no-matching-signature' });
    expect(verify(headersFor(VECTOR.signature, VECTOR.timestamp, 'msg_x'), VECTOR.body, [VECTOR.secret], NOW)).toMatchObject({
      reason: 'no-matching-signature',
    });
    expect(verify(headersFor(VECTOR.signature, VECTOR.timestamp + 1), VECTOR.body, [VECTOR.secret], NOW)).toMatchObject({ reason: 'no-matching-signature' });
  });

  it.each([
    ['webhook-id', 'missing-id'],
    ['webhook-timestamp', 'missing-timestamp'],
    ['webhook-signature', 'missing-signature'],
  ])('names a missing %s', (name, reason) => {
    const headers = headersFor(VECTOR.signature);
    delete headers[name];
    const r = verify(headers, VECTOR.body, [VECTOR.secret], NOW);
    expect(r).toMatchObject({ ok: false, reason });
    expect(!r.ok && r.message).toContain(name);
  });

  it.each([['v1,'], ['v1,dawfeoifkpqwoekfpqoekf'], ['v1a,abcd'], [VECTOR.signature.slice(0, 8)]])('rejects the signature header %s', (signature) => {
    const r = verify(headersFor(signature), VECTOR.body, [VECTOR.secret], NOW);
    expect(r.ok).toBe(false);
    expect(['missing-signature', 'no-matching-signature']).toContain(!r.ok && r.reason);
  });

  it('rejects a timestamp that is not an integer', () => {
    const headers = { ...headersFor(VECTOR.signature), 'webhook-timestamp': 'hello' };
    expect(verify(headers, VECTOR.body, [VECTOR.secret], NOW)).toMatchObject({ ok: false, reason: 'invalid-timestamp' });
  });

  it('accepts timestamps up to the tolerance away, in both directions', () => {
    const headers = headersFor(VECTOR.signature);
    expect(verify(headers, VECTOR.body, [VECTOR.secret], NOW + 300_999).ok).toBe(true);
    expect(verify(headers, VECTOR.body, [VECTOR.secret], NOW + 301_000)).toMatchObject({ ok: false, reason: 'timestamp-too-old' });
    expect(verify(headers, VECTOR.body, [VECTOR.secret], NOW - 300_000).ok).toBe(true);
    expect(verify(headers, VECTOR.body, [VECTOR.secret], NOW - 301_000)).toMatchObject({ ok: false, reason: 'timestamp-too-new' });
    expect(verify(headers, VECTOR.body, [VECTOR.secret], NOW + 11_000, 10)).toMatchObject({ reason: 'timestamp-too-old' });
  });

  it('throws on a malformed configured secret', () => {
    expect(() => verify(headersFor(VECTOR.signature), VECTOR.body, ['secret'], NOW)).toThrow(/whsec_/);
  });

  it('parses only canonical v1 signatures', () => {
    expect(parseSignatures(`v1,${Buffer.alloc(32, 1).toString('base64')} v2,AAAA v1,%%% v1`)).toEqual([Buffer.alloc(32, 1)]);
  });
});
