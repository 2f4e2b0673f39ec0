import { requiresCsrfToken } from './csrf';
import { validateNewUser } from './user-input';
import { isExpired, sessionExpiry } from './session';

describe('validateNewUser', () => {
  it('accepts a valid user', () => {
    expect(validateNewUser({ username: 'ada.l@x-y_z', password: 'correct horse', role: 'editor' })).toEqual({
      ok: true,
      value: { username: 'ada.l@x-y_z', password: 'correct horse', role: 'editor' },
    });
  });

  it.each([
    [{ username: 'ab', password: 'long enough pw', role: 'viewer' }, 'username'],
    [{ username: 'Ada', password: 'long enough pw', role: 'viewer' }, 'username'],
    [{ username: 'a'.repeat(65), password: 'long enough pw', role: 'viewer' }, 'username'],
    [{ username: 'ada', password: 'short', role: 'viewer' }, 'password'],
    [{ username: 'ada', password: 12345678901234, role: 'viewer' }, 'password'],
    [{ username: 'ada', password: 'long enough pw', role: 'root' }, 'role'],
    [{ username: 'ada', password: 'long enough pw' }, 'role'],
    [{ username: 'ada', password: 'long enough pw', role: 'viewer', extra: 1 }, 'extra'],
  ])('names the bad field of %j', (body, field) => {
    const r = validateNewUser(body);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.map((e) => e.path)).toEqual([field]);
  });

  it('refuses a body that is not an object', () => {
    expect(validateNewUser([]).ok).toBe(false);
  });
});

describe('requiresCsrfToken', () => {
  it('asks for it on every change except signing in', () => {
    expect(requiresCsrfToken('GET', '/api/session')).toBe(false);
    expect(requiresCsrfToken('HEAD', '/api/svc/enrichment/v1/profiles')).toBe(false);
    expect(requiresCsrfToken('POST', '/api/session')).toBe(false);
    expect(requiresCsrfToken('DELETE', '/api/session')).toBe(true);
    expect(requiresCsrfToken('POST', '/api/users')).toBe(true);
    expect(requiresCsrfToken('POST', '/api/svc/segmentation/v1/segments/preview')).toBe(true);
  });
});

describe('sessions', () => {
  it('expire after their lifetime, not before', () => {
    const created = new Date('2026-12-06T00:00:00Z');
    const expires = sessionExpiry(created, 12);
    expect(expires.toISOString()).toBe('2026-12-06T12:00:00.000Z');
    expect(isExpired(expires, new Date('2026-12-06T11:59:59Z'))).toBe(false);
    expect(isExpired(expires, expires)).toBe(true);
  });
});
