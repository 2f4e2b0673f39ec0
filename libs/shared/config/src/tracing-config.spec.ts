import { ConfigError, loadConfig } from './config';

const base = { MOSAIC_ADMIN_TOKEN: 'x'.repeat(16) };

describe('tracing configuration', () => {
  it('is off without an endpoint; the service name and full sampling by default', () => {
    expect(loadConfig('identity', undefined, base).tracing).toEqual({ serviceName: 'identity', sampleRatio: 1, scheduleDelayMs: 5_000 });
    expect(loadConfig('identity', undefined, { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: '' }).tracing.exporter).toBeUndefined();
  });

  it('exports to <endpoint>/v1/traces, or to the traces endpoint as given, with the headers', () => {
    const c = loadConfig('collector', undefined, {
      ...base,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318/',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%3Db, x-team = data',
      OTEL_SERVICE_NAME: 'edge-collector',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(c.tracing).toEqual({
      exporter: { url: 'http://otel:4318/v1/traces', headers: { 'api-key': 'a=b', 'x-team': 'data' } },
      serviceName: 'edge-collector',
      sampleRatio: 0.25,
      scheduleDelayMs: 5_000,
    });
    const t = loadConfig('collector', undefined, {
      ...base,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/traces',
    });
    expect(t.tracing.exporter?.url).toBe('https://b/traces');
  });

  it('refuses a bad endpoint, ratio or header list at start-up', () => {
    expect(() => loadConfig('identity', undefined, { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4318' })).toThrow(ConfigError);
    expect(() => loadConfig('identity', undefined, { ...base, OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() =>
      loadConfig('identity', undefined, { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318', OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }),
    ).toThrow(/OTEL_EXPORTER_OTLP_HEADERS/);
  });
});
