import { createHmac } from 'node:crypto';
import { SourceDirectory, originAllowed, profileVisibleTo, userHashOf, verifyUserHash, type SourceAccess } from './decide-access';

const SECRET = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I';

describe('identity verification', () => {
  it("accepts the hex HMAC-SHA256 of the user id with the source's secret (any case)", () => {
    const hash = createHmac('sha256', SECRET).update('user-42').digest('hex');
    expect(userHashOf(SECRET, 'user-42')).toBe(hash);
    expect(verifyUserHash(SECRET, 'user-42', hash)).toBe(true);
    expect(verifyUserHash(SECRET, 'user-42', hash.toUpperCase())).toBe(true);
  });

  it('refuses another user, another secret, a malformed hash, or no secret', () => {
    const hash = userHashOf(SECRET, 'user-42');
    expect(verifyUserHash(SECRET, 'user-43', hash)).toBe(false);
    expect(verifyUserHash(`${SECRET}x`, 'user-42', hash)).toBe(false);
    expect(verifyUserHash(SECRET, 'user-42', hash.slice(2))).toBe(false);
    expect(verifyUserHash(SECRET, 'user-42', `${hash.slice(0, 62)}zz`)).toBe(false);
    expect(verifyUserHash(SECRET, 'user-42', undefined)).toBe(false);
    expect(verifyUserHash(undefined, 'user-42', hash)).toBe(false);
  });
});

describe('origins', () => {
  it('matches exactly; "null" never', () => {
    const allowed = ['https://shop.example.com', 'http://127.0.0.1:8091'];
    expect(originAllowed(allowed, 'https://shop.example.com')).toBe(true);
    expect(originAllowed(allowed, 'http://127.0.0.1:8091')).toBe(true);
    expect(originAllowed(allowed, 'http://shop.example.com')).toBe(false);
    expect(originAllowed(allowed, 'https://evil.shop.example.com')).toBe(false);
    expect(originAllowed(allowed, 'https://shop.example.com.evil.net')).toBe(false);
    expect(originAllowed(allowed, 'null')).toBe(false);
    expect(originAllowed([], 'https://shop.example.com')).toBe(false);
  });
});

describe('profile scoping', () => {
  it('shows a profile only to the sources it has events from', () => {
    expect(profileVisibleTo({ sources: ['src_a', 'src_b'] }, 'src_b')).toBe(true);
    expect(profileVisibleTo({ sources: ['src_a'] }, 'src_b')).toBe(false);
    expect(profileVisibleTo({}, 'src_a')).toBe(false);
    expect(profileVisibleTo({ sources: 'src_a' }, 'src_a')).toBe(false);
  });
});

describe('SourceDirectory', () => {
  const state = (over: Partial<SourceAccess> = {}): SourceAccess => ({
    id: 'src_1',
    name: 'shop',
    writeKeyHash: 'w1',
    serverKeyHash: 's1',
    identitySecret: SECRET,
    allowedOrigins: ['https://shop.example.com'],
    revokedAt: null,
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  });

  it('resolves write and server keys of active sources', () => {
    const d = new SourceDirectory();
    d.apply(state());
    expect(d.byWriteKey('w1')?.id).toBe('src_1');
    expect(d.byServerKey('s1')?.id).toBe('src_1');
    expect(d.byWriteKey('s1')).toBeUndefined();
    expect([...d.allowedOrigins()]).toEqual(['https://shop.example.com']);
  });

  it('forgets a rotated server key and a revoked source', () => {
    const d = new SourceDirectory();
    d.apply(state());
    d.apply(state({ serverKeyHash: 's2', updatedAt: '2026-01-01T00:00:01.000Z' }));
    expect(d.byServerKey('s1')).toBeUndefined();
    expect(d.byServerKey('s2')?.id).toBe('src_1');
    d.apply(state({ serverKeyHash: 's2', revokedAt: '2026-01-01T00:00:02.000Z', updatedAt: '2026-01-01T00:00:02.000Z' }));
    expect(d.byWriteKey('w1')).toBeUndefined();
    expect(d.byServerKey('s2')).toBeUndefined();
    expect(d.allowedOrigins().size).toBe(0);
    expect(d.get('src_1')?.revokedAt).not.toBeNull();
  });

  it('keeps the later state whatever the order records arrive in', () => {
    const revoked = state({ revokedAt: '2026-01-02T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z' });
    const d = new SourceDirectory();
    expect(d.apply(revoked)).toBe(true);
    expect(d.apply(state())).toBe(false);
    expect(d.byWriteKey('w1')).toBeUndefined();
  });

  it('answers a state with no server key and no origins (sources older than access settings)', () => {
    const d = new SourceDirectory();
    d.apply({ id: 'src_old', name: 'old', writeKeyHash: 'w0', allowedOrigins: [], revokedAt: null, updatedAt: '2025-01-01T00:00:00.000Z' });
    expect(d.byWriteKey('w0')?.identitySecret).toBeUndefined();
    expect(d.allowedOrigins().size).toBe(0);
  });
});
