// Email signing keys from the configuration: validated at start-up; required in production.
import { ConfigError, loadConfig } from '@mosaic/shared-config';
import { collectorEnvSchema, emailSigningKeys } from './collector.config';

const token = 'admin-token-0123456789';
const load = (env: Record<string, string>) => loadConfig('collector', collectorEnvSchema, { MOSAIC_ADMIN_TOKEN: token, ...env });

describe('COLLECTOR_EMAIL_SIGNING_KEYS', () => {
  it('parses the rotation list (first signs)', () => {
    const config = load({ COLLECTOR_EMAIL_SIGNING_KEYS: `new:${'n'.repeat(32)},old:${'o'.repeat(32)}`, NODE_ENV: 'production' });
    expect(emailSigningKeys(config)).toEqual({
      keys: [
        { kid: 'new', secret: 'n'.repeat(32) },
        { kid: 'old', secret: 'o'.repeat(32) },
      ],
    });
  });

  it('refuses short secrets and bad entries at start-up, naming the variable', () => {
    expect(() => load({ COLLECTOR_EMAIL_SIGNING_KEYS: 'k1:too-short' })).toThrow(
      /COLLECTOR_EMAIL_SIGNING_KEYS: entry 1 \(k1\): secret is 9 bytes; at least 32/,
    );
    expect(() => load({ COLLECTOR_EMAIL_SIGNING_KEYS: `nocolon${'x'.repeat(40)}` })).toThrow(/COLLECTOR_EMAIL_SIGNING_KEYS: entry 1 must be kid:secret/);
  });

  it('requires keys in production', () => {
    expect(() => emailSigningKeys(load({ NODE_ENV: 'production' }))).toThrow(ConfigError);
    expect(() => emailSigningKeys(load({ NODE_ENV: 'production' }))).toThrow(/COLLECTOR_EMAIL_SIGNING_KEYS: required when NODE_ENV=production/);
  });

  it('derives a key from the admin token in development, with a warning', () => {
    const r = emailSigningKeys(load({ NODE_ENV: 'development' }));
    expect(r.keys).toHaveLength(1);
    expect(r.keys[0]!.kid).toBe('dev');
    expect(r.keys[0]!.secret).not.toContain(token);
    expect(r.warning).toMatch(/COLLECTOR_EMAIL_SIGNING_KEYS is not set/);
  });

  it('validates the other email settings', () => {
    expect(load({}).own).toMatchObject({ COLLECTOR_EMAIL_TOKEN_TTL_DAYS: 365, COLLECTOR_EMAIL_MACHINE_SECONDS: 5 });
    expect(() => load({ COLLECTOR_PUBLIC_URL: 'ftp://x.example' })).toThrow(/COLLECTOR_PUBLIC_URL/);
    expect(() => load({ COLLECTOR_EMAIL_TOKEN_TTL_DAYS: '0' })).toThrow(/COLLECTOR_EMAIL_TOKEN_TTL_DAYS/);
  });
});
