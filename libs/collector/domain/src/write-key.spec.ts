import { extractWriteKey } from './write-key';

const basic = (credentials: string): string => `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;

describe('extractWriteKey', () => {
  it('reads the user name of HTTP Basic with an empty password', () => {
    expect(extractWriteKey(basic('wk_live_123:'))).toBe('wk_live_123');
  });

  it('takes a credential without a colon whole', () => {
    expect(extractWriteKey(basic('wk_live_123'))).toBe('wk_live_123');
  });

  it('ignores a password', () => {
    expect(extractWriteKey(basic('wk:secret'))).toBe('wk');
  });

  it('is case-insensitive in the scheme and tolerant of spaces', () => {
    expect(extractWriteKey(`  bAsIc   ${Buffer.from('wk:').toString('base64')} `)).toBe('wk');
  });

  it('accepts URL-safe base64', () => {
    const key = 'k>>>?';
    const urlSafe = Buffer.from(`${key}:`).toString('base64url');
    expect(urlSafe).toMatch(/[-_]/);
    expect(extractWriteKey(`Basic ${urlSafe}`)).toBe(key);
  });

  it('decodes UTF-8 keys', () => {
    expect(extractWriteKey(basic('clé:'))).toBe('clé');
  });

  it('prefers the header over the body', () => {
    expect(extractWriteKey(basic('from-header:'), { writeKey: 'from-body' })).toBe('from-header');
  });

  it('reads writeKey from a batch envelope or a single message', () => {
    expect(extractWriteKey(undefined, { batch: [], writeKey: 'env-key' })).toBe('env-key');
    expect(extractWriteKey(undefined, { type: 'track', event: 'E', writeKey: 'msg-key' })).toBe('msg-key');
  });

  it.each([
    ['Bearer some.jwt.token', 'Bearer (analytics-node with OAuth)'],
    ['Basic', 'no credential'],
    ['Basic !!!not-base64!!!', 'not base64'],
    [basic(':password-only'), 'empty user name'],
    ['', 'empty header'],
  ])('falls back to the body for %j (%s)', (header) => {
    expect(extractWriteKey(header, { writeKey: 'body-key' })).toBe('body-key');
    expect(extractWriteKey(header, {})).toBeUndefined();
  });

  it.each([undefined, null, 'wk', ['wk'], { writeKey: '' }, { writeKey: 42 }])('returns undefined for body %j', (body) => {
    expect(extractWriteKey(undefined, body)).toBeUndefined();
  });
});
