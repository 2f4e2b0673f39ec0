// The build as `npm start` and the benchmarks run it: in their own process, before they start the
// services with that process's environment. It must leave that environment as it found it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

it('builds the services and the console web app, and leaves NODE_ENV as it was (unset)', () => {
  const out = mkdtempSync(join(ROOT, '.mosaic', 'test-build-'));
  try {
    const script = `import('./tools/scripts/build.mjs').then(async (m) => { await m.build({ quiet: true, out: ${JSON.stringify(out)} }); process.stdout.write(process.env.NODE_ENV ?? 'unset'); })`;
    const env = { ...process.env };
    delete env.NODE_ENV;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, env, encoding: 'utf8', timeout: 180_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('unset');
    expect(existsSync(join(out, 'apps', 'console-web', 'index.html'))).toBe(true);
    expect(existsSync(join(out, 'apps', 'collector', 'src', 'main.js'))).toBe(true);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
