import { ConfigError } from './config';
import { loadDemoShopConfig } from './demo-shop';

describe('loadDemoShopConfig', () => {
  it('has defaults for a local stack', () => {
    expect(loadDemoShopConfig({})).toEqual({
      logLevel: 'info',
      http: { host: '0.0.0.0', port: 8091 },
      collectorUrl: 'http://127.0.0.1:8080',
      activationUrl: 'http://127.0.0.1:8084',
      writeKey: undefined,
      writeKeyFile: '.mosaic/demo-shop-write-key',
      sourceName: 'demo-shop',
      requireConsent: false,
      adminToken: undefined,
    });
  });

  it('reads its variables (URLs without trailing slashes)', () => {
    const c = loadDemoShopConfig({
      DEMO_SHOP_PORT: '9000',
      DEMO_SHOP_COLLECTOR_URL: 'https://collect.example.com/',
      DEMO_SHOP_REQUIRE_CONSENT: 'true',
      DEMO_SHOP_WRITE_KEY: 'wk',
      MOSAIC_ADMIN_TOKEN: 'a-token-of-sixteen-chars',
    });
    expect(c).toMatchObject({
      http: { port: 9000 },
      collectorUrl: 'https://collect.example.com',
      requireConsent: true,
      writeKey: 'wk',
      adminToken: 'a-token-of-sixteen-chars',
    });
  });

  it('names every bad value', () => {
    let err: unknown;
    try {
      loadDemoShopConfig({ DEMO_SHOP_PORT: 'x', DEMO_SHOP_COLLECTOR_URL: 'ftp://nope', MOSAIC_ADMIN_TOKEN: 'short' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toMatch(/DEMO_SHOP_PORT/);
    expect(problems).toMatch(/DEMO_SHOP_COLLECTOR_URL/);
    expect(problems).toMatch(/MOSAIC_ADMIN_TOKEN/);
  });
});
