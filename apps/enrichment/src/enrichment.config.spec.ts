// The enrichment service's configuration: defaults, and every bad value named at start-up.
import { ConfigError, loadConfig } from '@mosaic/shared-config';
import { enrichmentEnvSchema } from './enrichment.config';

const base = { MOSAIC_ADMIN_TOKEN: 'a-token-of-sixteen-chars' };

describe('enrichment configuration', () => {
  it('has defaults for everything of its own, and port 8082', () => {
    const config = loadConfig('enrichment', enrichmentEnvSchema, base);
    expect(config.http.port).toBe(8082);
    expect(config.own).toEqual({
      ENRICHMENT_SESSION_GAP_MINUTES: 30,
      ENRICHMENT_AFFINITY_HALF_LIFE_DAYS: 30,
      ENRICHMENT_ANONYMOUS_TTL_DAYS: 365,
      ENRICHMENT_REDIRECT_TTL_DAYS: 30,
      ENRICHMENT_EVENT_RETENTION_DAYS: 400,
      ENRICHMENT_SWEEP_INTERVAL_SECONDS: 300,
      ENRICHMENT_RFM_INTERVAL_SECONDS: 3_600,
      ENRICHMENT_PRICE_INDEX_SYNC_SECONDS: 30,
      ENRICHMENT_CACHE_MAX_ENTRIES: 200_000,
      ENRICHMENT_SEGMENT_EVENTS: 100,
      ENRICHMENT_ACTIVITY_MAX_ENTRIES: 10_000,
      ENRICHMENT_MAX_ATTEMPTS: 10,
      ENRICHMENT_MAX_CLOCK_SKEW_MS: 5_000,
      ENRICHMENT_STORE_CAS: 'auto',
      ENRICHMENT_TICKET_LEASE_MS: 3_000,
    });
  });

  it('names every bad value', () => {
    try {
      loadConfig('enrichment', enrichmentEnvSchema, {
        ...base,
        ENRICHMENT_SESSION_GAP_MINUTES: '0',
        ENRICHMENT_STORE_CAS: 'optimistic',
        ENRICHMENT_ANONYMOUS_TTL_DAYS: 'a year',
        ENRICHMENT_ACTIVITY_MAX_ENTRIES: '5',
      });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toMatch(/ENRICHMENT_SESSION_GAP_MINUTES/);
      expect(problems).toMatch(/ENRICHMENT_STORE_CAS/);
      expect(problems).toMatch(/ENRICHMENT_ANONYMOUS_TTL_DAYS/);
      expect(problems).toMatch(/ENRICHMENT_ACTIVITY_MAX_ENTRIES/);
    }
  });
});
