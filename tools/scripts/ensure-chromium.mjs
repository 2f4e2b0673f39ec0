#!/usr/bin/env node
// Makes sure a Chromium the browser tests can drive is installed (Debian's `chromium`
// package at /usr/bin/chromium, driven by playwright-core). Installs it with apt-get when it
// is missing and we are root; otherwise says why and exits non-zero, so that the browser
// tests never silently skip (in CI or anywhere else).
// MOSAIC_CHROMIUM may name another Chromium binary (it is checked, never installed).
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { aptInstall } from './apt.mjs';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

const log = (msg) => console.error(`[mosaic] ${msg}`);

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function version(path) {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Returns the Chromium binary's path, installing Debian's package when needed; throws with the reason otherwise. */
export function ensureChromium({ binary = process.env.MOSAIC_CHROMIUM || DEFAULT_CHROMIUM } = {}) {
  if (executable(binary)) {
    const v = version(binary);
    if (v) return { path: binary, version: v, installed: false };
    throw new Error(`${binary} exists but \`${binary} --version\` failed; reinstall it (apt-get install --reinstall chromium)`);
  }
  if (binary !== DEFAULT_CHROMIUM) throw new Error(`MOSAIC_CHROMIUM=${binary} is not an executable file`);
  if (process.platform !== 'linux')
    throw new Error(`${binary} is missing and this is not Linux (${process.platform}); install Chromium and set MOSAIC_CHROMIUM to its binary`);
  aptInstall('chromium', `${binary} is missing`);
  const v = executable(binary) ? version(binary) : undefined;
  if (!v) throw new Error(`apt-get installed chromium but ${binary} does not run`);
  log(`installed ${v}`);
  return { path: binary, version: v, installed: true };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const r = ensureChromium();
    if (!r.installed) log(`chromium: ${r.version} (${r.path})`);
  } catch (err) {
    log(`browser tests cannot run: ${err.message}`);
    process.exit(1);
  }
}
