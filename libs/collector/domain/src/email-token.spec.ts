import {
  EmailTokenError,
  EmailTokenSigner,
  deriveDevSigningKey,
  encodeSignedToken,
  parseRecipient,
  parseSigningKeys,
  toTrackableUrl,
  type IssueRequest,
  type SigningKey,
} from './email-token';

const K1: SigningKey = { kid: 'k1', secret: 'a'.repeat(32) };
const K2: SigningKey = { kid: 'k2', secret: 'b'.repeat(40) };
const T0 = Date.UTC(2026, 0, 1);

function clock(start = T0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const open: IssueRequest = {
  kind: 'open',
  sourceId: 'src_1',
  recipient: { userId: 'u-1', email: 'Ada@Example.com ' },
  campaign: 'spring',
  emailId: 'send-1',
  ttlSeconds: 3600,
};
const click: IssueRequest = { ...open, kind: 'click', url: 'https://shop.example.com/sale?a=1&b=2' };

/** Replaces the payload of a token with another JSON object, keeping kid and mac. */
function withPayload(token: string, payload: Record<string, unknown>): string {
  const [, kid, mac] = token.split('.');
  return `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${kid}.${mac}`;
}
const decode = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'));

describe('email tokens', () => {
  it('a valid open token verifies and carries the claims (email normalised)', () => {
    const c = clock();
    const signer = new EmailTokenSigner([K1], c.now);
    const token = signer.issue(open);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.k1\.[A-Za-z0-9_-]{22}$/);
    const r = signer.verify(token, 'open');
    expect(r).toEqual({
      ok: true,
      claims: {
        kind: 'open',
        sourceId: 'src_1',
        recipient: { userId: 'u-1', email: 'ada@example.com' },
        campaign: 'spring',
        emailId: 'send-1',
        issuedAt: T0 / 1000,
        expiresAt: T0 / 1000 + 3600,
      },
    });
  });

  it('a valid click token carries the normalised URL', () => {
    const signer = new EmailTokenSigner([K1], clock().now);
    const r = signer.verify(signer.issue(click), 'click');
    expect(r.ok && r.claims.url).toBe('https://shop.example.com/sale?a=1&b=2');
  });

  it('refuses a tampered payload (same mac)', () => {
    const signer = new EmailTokenSigner([K1], clock().now);
    const token = signer.issue(click);
    const evil = withPayload(token, { ...decode(token), l: 'https://evil.example/' });
    expect(signer.verify(evil, 'click')).toEqual({ ok: false, reason: 'bad_signature' });
    const otherUser = withPayload(token, { ...decode(token), u: 'u-2' });
    expect(signer.verify(otherUser, 'click')).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a tampered signature', () => {
    const signer = new EmailTokenSigner([K1], clock().now);
    const token = signer.issue(open);
    const last = token.slice(-1);
    const flipped = token.slice(0, -1) + (last === 'A' ? 'B' : 'A');
    expect(signer.verify(flipped, 'open')).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a token signed with another secret under the same kid', () => {
    const token = new EmailTokenSigner([{ kid: 'k1', secret: 'z'.repeat(32) }], clock().now).issue(open);
    expect(new EmailTokenSigner([K1], clock().now).verify(token, 'open')).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a token whose kid is unknown; after rotation the old key still verifies', () => {
    const oldSigner = new EmailTokenSigner([K1], clock().now);
    const token = oldSigner.issue(open);
    expect(new EmailTokenSigner([K2], clock().now).verify(token, 'open')).toEqual({ ok: false, reason: 'unknown_key' });
    const rotated = new EmailTokenSigner([K2, K1], clock().now);
    expect(rotated.verify(token, 'open').ok).toBe(true);
    expect(rotated.issue(open).split('.')[1]).toBe('k2');
    expect(rotated.currentKeyId).toBe('k2');
  });

  it('refuses an expired token (and accepts it just before)', () => {
    const c = clock();
    const signer = new EmailTokenSigner([K1], c.now);
    const token = signer.issue(open);
    c.advance(3599_000);
    expect(signer.verify(token, 'open').ok).toBe(true);
    c.advance(1_000);
    expect(signer.verify(token, 'open')).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses unsigned and malformed tokens', () => {
    const signer = new EmailTokenSigner([K1], clock().now);
    const token = signer.issue(open);
    const payload = token.split('.')[0]!;
    for (const bad of [
      payload,
      `${payload}.k1`,
      `${payload}.k1.`,
      `${payload}..${token.split('.')[2]}`,
      '',
      'a.b.c.d',
      `${payload}.k1.${'!'.repeat(22)}`,
      'x'.repeat(9000),
    ]) {
      expect(signer.verify(bad, 'open')).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('refuses an open token used as a click and vice versa', () => {
    const signer = new EmailTokenSigner([K1], clock().now);
    expect(signer.verify(signer.issue(open), 'click')).toEqual({ ok: false, reason: 'wrong_kind' });
    expect(signer.verify(signer.issue(click), 'open')).toEqual({ ok: false, reason: 'wrong_kind' });
  });

  it('never signs a URL that is not absolute http(s): open-redirect attempts', () => {
    const signer = new EmailTokenSigner([K1], clock().now);
    for (const url of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      '//evil.example/x',
      '/relative',
      'data:text/html,<script>1</script>',
      'mailto:a@b.c',
      'ftp://x.example/',
      'https://',
      ' ',
      'http:evil.example',
      '\\\\evil.example',
    ]) {
      expect(() => signer.issue({ ...click, url })).toThrow(EmailTokenError);
    }
    expect(() => signer.issue({ ...click, url: undefined })).toThrow(EmailTokenError);
  });

  it('refuses a validly signed click token whose URL is not http(s) (defence in depth)', () => {
    const signer = new EmailTokenSigner([K1], clock().now);
    const base = decode(signer.issue(click));
    for (const l of ['javascript:alert(1)', '//evil.example', 'data:text/html,x', 'https://ok.example/ a']) {
      expect(signer.verify(encodeSignedToken({ ...base, l }, K1), 'click')).toEqual({ ok: false, reason: 'invalid_claims' });
    }
    // ...and validly signed but malformed claims of other kinds
    expect(signer.verify(encodeSignedToken({ ...base, v: 2 }, K1), 'click')).toEqual({ ok: false, reason: 'invalid_claims' });
    expect(signer.verify(encodeSignedToken({ ...base, u: undefined, e: undefined }, K1), 'click')).toEqual({ ok: false, reason: 'invalid_claims' });
    expect(signer.verify(encodeSignedToken({ ...base, i: T0 / 1000 + 86_400 }, K1), 'click')).toEqual({ ok: false, reason: 'invalid_claims' });
  });

  it('refuses to issue without identity, source or email id', () => {
    const signer = new EmailTokenSigner([K1], clock().now);
    expect(() => signer.issue({ ...open, recipient: {} })).toThrow(/recipient/);
    expect(() => signer.issue({ ...open, sourceId: '' })).toThrow(/sourceId/);
    expect(() => signer.issue({ ...open, emailId: '' })).toThrow(/emailId/);
    expect(() => signer.issue({ ...open, ttlSeconds: 0 })).toThrow(/ttl/);
  });

  it('refuses keys shorter than 32 bytes', () => {
    expect(() => new EmailTokenSigner([{ kid: 'k', secret: 'short' }])).toThrow(/32/);
    expect(() => new EmailTokenSigner([])).toThrow();
  });
});

describe('toTrackableUrl', () => {
  it('normalises http(s) URLs and refuses everything else', () => {
    expect(toTrackableUrl(' HTTPS://Shop.Example.com/a b?x=1 ')).toBe('https://shop.example.com/a%20b?x=1');
    expect(toTrackableUrl('http://x.example')).toBe('http://x.example/');
    expect(toTrackableUrl(`https://x.example/${'a'.repeat(5000)}`)).toBeUndefined();
    expect(toTrackableUrl('https:///nohost')).toBe('https://nohost/');
    expect(toTrackableUrl('https://')).toBeUndefined();
  });
});

describe('parseSigningKeys', () => {
  it('parses a rotation list', () => {
    expect(parseSigningKeys(`k2:${'b'.repeat(32)}, k1:${'a'.repeat(32)}`)).toEqual({
      ok: true,
      keys: [
        { kid: 'k2', secret: 'b'.repeat(32) },
        { kid: 'k1', secret: 'a'.repeat(32) },
      ],
    });
    // a secret may contain colons
    expect(parseSigningKeys(`k:${'a:'.repeat(16)}`)).toEqual({ ok: true, keys: [{ kid: 'k', secret: 'a:'.repeat(16) }] });
  });

  it('names every problem', () => {
    const r = parseSigningKeys(`k1:short,nocolon,bad kid:${'x'.repeat(32)},k1:${'y'.repeat(32)},`);
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems.join('\n')).toMatch(/entry 1 \(k1\): secret is 5 bytes/);
    expect(problems.join('\n')).toMatch(/entry 2 must be kid:secret/);
    expect(problems.join('\n')).toMatch(/entry 3: key id "bad kid"/);
    expect(problems.join('\n')).toMatch(/entry 4: key id "k1" is listed twice/);
    expect(problems.join('\n')).toMatch(/entry 5 is empty/);
    expect(parseSigningKeys(' ')).toEqual({ ok: false, problems: ['must list at least one kid:secret'] });
  });

  it('derives a stable development key from the admin token', () => {
    const a = deriveDevSigningKey('admin-token-1234567890');
    expect(a).toEqual(deriveDevSigningKey('admin-token-1234567890'));
    expect(a.secret).not.toEqual(deriveDevSigningKey('admin-token-0000000000').secret);
    expect(a.secret.length).toBeGreaterThanOrEqual(32);
    expect(a.secret).not.toContain('admin-token');
  });
});

describe('parseRecipient', () => {
  it('normalises and validates', () => {
    expect(parseRecipient({ userId: 42, email: ' Ada@Example.COM' })).toEqual({ ok: true, recipient: { userId: '42', email: 'ada@example.com' } });
    expect(parseRecipient({ anonymousId: 'a-1', email: '' })).toEqual({ ok: true, recipient: { anonymousId: 'a-1' } });
    expect(parseRecipient({})).toEqual({ ok: false, problems: ['recipient needs at least one of userId, email, anonymousId'] });
    expect(parseRecipient({ email: 'not an email' })).toEqual({ ok: false, problems: ['recipient.email must be an email address'] });
    expect(parseRecipient({ userId: { $ne: 1 } })).toEqual({ ok: false, problems: ['recipient.userId must be a non-empty string'] });
    expect(parseRecipient('x').ok).toBe(false);
  });
});
