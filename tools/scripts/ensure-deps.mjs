// Installs npm dependencies when they are missing or older than package-lock.json, so the
// quick-start commands need no separate install step. No-op when node_modules is current.
import { existsSync, statSync, utimesSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './paths.mjs';

export function ensureDeps() {
  const lock = join(root, 'package-lock.json');
  const marker = join(root, 'node_modules', '.package-lock.json');
  const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000);
  if (!stale) return;
  // `npm install` (not `npm ci`): the registry mirror here serves only this platform's optional
  // builds, so the lock lacks other platforms' entries, which `npm ci` refuses; `npm install`
  // installs exactly the locked versions all the same.
  console.error('[mosaic] installing npm dependencies (npm install, from package-lock.json)...');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('[mosaic] npm install failed');
    process.exit(r.status ?? 1);
  }
  if (existsSync(marker)) utimesSync(marker, new Date(), new Date());
}
