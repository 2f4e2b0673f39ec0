// The tracker runs in visitors' browsers and the demo shop is a website like any other: lint
// keeps it so (eslint.config.mjs: type:browser, scope:demo-shop). ESLint runs as the CLI does.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

function errors(file: string, code: string): string {
  const r = spawnSync(join(root, 'node_modules', '.bin', 'eslint'), ['--format', 'json', '--stdin', '--stdin-filename', join(root, file)], {
    cwd: root,
    input: code,
    encoding: 'utf8',
  });
  const [result] = JSON.parse(r.stdout) as { messages: { severity: number; ruleId: string; message: string }[] }[];
  return (result?.messages ?? [])
    .filter((m) => m.severity === 2)
    .map((m) => `${m.ruleId}: ${m.message}`)
    .join('\n');
}

jest.setTimeout(60_000);

beforeAll(() => {
  // The rule reads Nx's project graph; compute it as `npm test` and `npm run lint` do.
  const r = spawnSync(join(root, 'node_modules', '.bin', 'nx'), ['show', 'projects'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  expect(r.status).toBe(0);
});

describe('lint boundaries of browser code and the demo shop', () => {
  it('the tracker imports no package, no Node built-in and no other library, and uses no Node globals', () => {
    const found = errors(
      'libs/tracker/src/probe.ts',
      [
        "import { z } from 'zod';",
        "import { readFileSync } from 'node:fs';",
        "import { join } from 'path';",
        "import { loadConfig } from '@mosaic/shared-config';",
        'export const y = [z, readFileSync, join, loadConfig, process.argv, Buffer.alloc(1)];',
        '',
      ].join('\n'),
    );
    expect(found).toMatch(/type:browser" is not allowed to import "zod"/);
    expect(found).toMatch(/'node:fs' import is restricted/);
    expect(found).toMatch(/'path' import is restricted/);
    expect(found).toMatch(/type:browser" cannot depend on any libs/);
    expect(found).toMatch(/no-restricted-globals: Unexpected use of 'process'/);
    expect(found).toMatch(/no-restricted-globals: Unexpected use of 'Buffer'/);
  });

  it('the demo shop depends on shared libraries only; the collector may use the tracker', () => {
    expect(errors('apps/demo-shop/src/probe.ts', "import { TRACKER_VERSION } from '@mosaic/tracker';\nexport const y = TRACKER_VERSION;\n")).toMatch(
      /scope:demo-shop" can only depend on libs tagged with "scope:shared"/,
    );
    expect(errors('apps/demo-shop/src/probe.ts', "import { loadDemoShopConfig } from '@mosaic/shared-config';\nexport const y = loadDemoShopConfig;\n")).toBe(
      '',
    );
    expect(errors('apps/collector/src/probe.ts', "import { TRACKER_VERSION } from '@mosaic/tracker';\nexport const y = TRACKER_VERSION;\n")).toBe('');
  });
});
