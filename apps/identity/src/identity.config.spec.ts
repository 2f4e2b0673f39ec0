// The identity service's configuration: defaults, and every bad value named at start-up.
import { ConfigError, loadConfig } from '@mosaic/shared-config';
import { identityEnvSchema } from './identity.config';

const base = { MOSAIC_ADMIN_TOKEN: 'a-token-of-sixteen-chars' };

describe('identity configuration', () => {
  it('has defaults for everything of its own, and port 8081', () => {
    const config = loadConfig('identity', identityEnvSchema, base);
    expect(config.http.port).toBe(8081);
    expect(config.own).toEqual({
      IDENTITY_CACHE_MAX_ENTRIES: 200_000,
      IDENTITY_SWEEP_INTERVAL_SECONDS: 300,
      IDENTITY_PROCESSED_TTL_DAYS: 30,
      IDENTITY_PROFILE_CACHE_MAX_ENTRIES: 100000,
      IDENTITY_PROFILE_CACHE_TTL_SECONDS: 300,
      IDENTITY_RULES_REFRESH_SECONDS: 10,
      IDENTITY_MAX_ATTEMPTS: 10,
      IDENTITY_STORE_CAS: 'auto',
      IDENTITY_TICKET_LEASE_MS: 3_000,
    });
  });

  it('names every bad value', () => {
    try {
      loadConfig('identity', identityEnvSchema, { ...base, IDENTITY_CACHE_MAX_ENTRIES: '-1', IDENTITY_STORE_CAS: 'optimistic', IDENTITY_MAX_ATTEMPTS: 'ten' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toMatch(/IDENTITY_CACHE_MAX_ENTRIES/);
      expect(problems).toMatch(/IDENTITY_STORE_CAS/);
      expect(problems).toMatch(/IDENTITY_MAX_ATTEMPTS/);
    }
  });
});
