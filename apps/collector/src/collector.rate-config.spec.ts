// The ingestion rate limits from the configuration: validated at start-up, with documented defaults.
import { loadConfig } from '@mosaic/shared-config';
import { MAX_BATCH_ITEMS } from '@mosaic/collector-domain';
import { collectorEnvSchema, ingestRateLimits } from './collector.config';

const load = (env: Record<string, string>) => loadConfig('collector', collectorEnvSchema, { MOSAIC_ADMIN_TOKEN: 'admin-token-0123456789', ...env });

describe('COLLECTOR_RATE_PER_KEY, COLLECTOR_RATE_PER_IP and their bursts', () => {
  it('defaults: 20,000 events a second per write key, 1,000 requests a second per client address, bursts of two seconds', () => {
    expect(ingestRateLimits(load({}).own)).toEqual({
      perKey: { ratePerSecond: 20_000, burst: 40_000 },
      perAddress: { ratePerSecond: 1_000, burst: 2_000 },
    });
  });

  it('a per-key burst is never below a full batch; 0 turns a limit off', () => {
    expect(ingestRateLimits(load({ COLLECTOR_RATE_PER_KEY: '10', COLLECTOR_RATE_PER_IP: '0' }).own)).toEqual({
      perKey: { ratePerSecond: 10, burst: MAX_BATCH_ITEMS },
      perAddress: { ratePerSecond: 0, burst: 1 },
    });
    expect(ingestRateLimits(load({ COLLECTOR_RATE_PER_IP: '0.5', COLLECTOR_BURST_PER_IP: '7' }).own).perAddress).toEqual({ ratePerSecond: 0.5, burst: 7 });
  });

  it('refuses bad values at start-up, naming the variable', () => {
    expect(() => load({ COLLECTOR_RATE_PER_KEY: '-1' })).toThrow(/COLLECTOR_RATE_PER_KEY/);
    expect(() => load({ COLLECTOR_RATE_PER_IP: 'many' })).toThrow(/COLLECTOR_RATE_PER_IP/);
    expect(() => load({ COLLECTOR_BURST_PER_KEY: String(MAX_BATCH_ITEMS - 1) })).toThrow(/COLLECTOR_BURST_PER_KEY/);
    expect(() => load({ COLLECTOR_BURST_PER_IP: '0' })).toThrow(/COLLECTOR_BURST_PER_IP/);
  });
});
