// The mosaic.js bundle (../bundle.js, swc): one ES2017 script, small, self-contained.
// eslint-disable-next-line @nx/enforce-module-boundaries -- a Node-side test of the bundle: acorn (ESLint's parser) checks the ECMAScript level
import { parse } from 'acorn';
import { buildTracker } from '../bundle';

describe('mosaic.js', () => {
  const bundle = buildTracker();

  it('is one ES2017 script: no module syntax, nothing newer than ES2017', () => {
    expect(() => parse(bundle.code, { ecmaVersion: 2017, sourceType: 'script' })).not.toThrow();
    // The sources use object spread and optional catch bindings (ES2018/2019): compiled away.
    expect(() => parse('const a = {...b};', { ecmaVersion: 2017, sourceType: 'script' })).toThrow();
  });

  it('has no runtime dependencies and no Node globals', () => {
    expect(bundle.code).not.toMatch(/\brequire\(|\bprocess\.|\bmodule\.exports|\bimport\(/);
    expect(bundle.modules[bundle.modules.length - 1]).toBe('browser.ts');
    expect(bundle.modules).not.toContain('index.ts');
  });

  it('stays small: well under 10 KB gzipped (analytics.js is about 30 KB)', () => {
    expect(bundle.gzipBytes).toBeLessThan(10 * 1024);
    expect(bundle.bytes).toBeLessThan(30 * 1024);
  });

  it('is reproducible (same ETag for the same sources)', () => {
    expect(buildTracker().etag).toBe(bundle.etag);
  });
});
