// The one way the tool scripts install a missing Debian package: `apt-get install` when this
// process is root on a machine with apt-get (`apt-get update` first, once per process);
// otherwise it throws, saying what to install. apt's output goes to stderr, so that stdout
// stays free for the scripts' answers (e.g. `--json`).
import { spawnSync } from 'node:child_process';

const log = (msg) => console.error(`[mosaic] ${msg}`);
const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive', APT_LISTCHANGES_FRONTEND: 'none', NEEDRESTART_MODE: 'a' };

export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** The path of a command on PATH (or of an executable path), or undefined. */
export function which(name) {
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] || undefined : undefined;
}

function apt(args) {
  const r = spawnSync('apt-get', args, { stdio: ['ignore', 2, 2], timeout: 30 * 60_000, env: { ...process.env, ...APT_ENV } });
  return !r.error && r.status === 0;
}

let aptUpdated = false;

/** Installs Debian's `pkg`, `why` saying what is missing; throws with what to do when it cannot. */
export function aptInstall(pkg, why) {
  if (!isRoot() || !which('apt-get')) throw new Error(`${why}; install it as root: apt-get update && apt-get install -y --no-install-recommends ${pkg}`);
  log(`${why}: installing Debian's ${pkg} package...`);
  if (!aptUpdated && !apt(['update'])) throw new Error('apt-get update failed');
  aptUpdated = true;
  if (!apt(['install', '-y', '--no-install-recommends', pkg])) throw new Error(`apt-get install ${pkg} failed`);
}
