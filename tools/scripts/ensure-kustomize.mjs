#!/usr/bin/env node
// Installs the kustomize the deployment tests render k8s/ with, so that they never skip:
// sigs.k8s.io/kustomize/kustomize/v5 at a pinned version, built with `go install` from the Go
// module proxy into .mosaic/tools/bin/. The machine's kubectl (whose embedded kustomize
// version varies) is never used. Quiet when the pinned version is already there.
// Go missing: installs Debian's golang-go with apt-get when root (tools/scripts/apt.mjs, as kcat,
// Maven and Chromium are), else says what to install and exits non-zero. The
// module needs Go 1.22.7: a Go from 1.21 on fetches that toolchain itself from the Go module
// proxy (GOTOOLCHAIN=auto); an older one (Debian 12's golang-go is 1.19) is refused with the
// reason. `--path` prints the binary's path; `--check` only checks (prints the path, or says
// how to install and exits non-zero).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptInstall } from './apt.mjs';
import { root } from './paths.mjs';

export const KUSTOMIZE_VERSION = 'v5.7.1';
export const KUSTOMIZE_MODULE = 'sigs.k8s.io/kustomize/kustomize/v5';
export const KUSTOMIZE_BIN = join(root, '.mosaic', 'tools', 'bin', 'kustomize');
const GO_CANDIDATES = ['/usr/local/go/bin/go', 'go'];
/** The oldest Go that can switch to the toolchain the module asks for (GOTOOLCHAIN, Go 1.21). */
const MIN_GO = [1, 21];

const log = (msg) => console.error(`[mosaic] ${msg}`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20 * 60_000, ...opts });
  return { ok: !r.error && r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** `kustomize version` prints e.g. "v5.7.1" (or "{Version:kustomize/v5.7.1 ...}" in older builds). */
export function installedKustomizeVersion(bin = KUSTOMIZE_BIN) {
  if (!existsSync(bin)) return undefined;
  const r = run(bin, ['version']);
  return r.ok ? /v\d+\.\d+\.\d+/.exec(r.out)?.[0] : undefined;
}

function findGo() {
  return GO_CANDIDATES.find((go) => run(go, ['version']).ok);
}

/** `go version` prints e.g. "go version go1.22.2 linux/amd64": [1, 22]. */
function goVersion(go) {
  const m = /go(\d+)\.(\d+)/.exec(run(go, ['version']).out);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** A Go that can build the module: found, else Debian's golang-go installed; throws with the reason otherwise. */
function ensureGo() {
  let go = findGo();
  if (!go) {
    aptInstall('golang-go', `Go is missing (looked for ${GO_CANDIDATES.join(', ')}) to build kustomize`);
    go = findGo();
    if (!go) throw new Error('apt-get installed golang-go but `go version` does not run');
  }
  const v = goVersion(go);
  if (!v || v[0] < MIN_GO[0] || (v[0] === MIN_GO[0] && v[1] < MIN_GO[1])) {
    throw new Error(
      `${go} is ${v ? `Go ${v.join('.')}` : 'a Go of unknown version'}; ${KUSTOMIZE_MODULE}@${KUSTOMIZE_VERSION} needs Go 1.22.7, which Go ${MIN_GO.join('.')} or later fetches itself. ` +
        'Install Go 1.22 or later from https://go.dev/dl/ into /usr/local/go (Debian 12 packages only Go 1.19), then run: node tools/scripts/ensure-kustomize.mjs',
    );
  }
  return go;
}

/** Returns the kustomize binary's path, installing the pinned version when needed; throws with the reason otherwise. */
export function ensureKustomize() {
  if (installedKustomizeVersion() === KUSTOMIZE_VERSION) return KUSTOMIZE_BIN;
  const go = ensureGo();
  const gobin = join(root, '.mosaic', 'tools', 'bin');
  mkdirSync(gobin, { recursive: true });
  log(`installing kustomize ${KUSTOMIZE_VERSION} with \`${go} install ${KUSTOMIZE_MODULE}@${KUSTOMIZE_VERSION}\` into ${gobin} (once)...`);
  // Outside any module (cwd: the bin dir) and with -mod=mod, so that no go.mod or vendor
  // directory of the caller's environment interferes. GOTOOLCHAIN=auto: a Go older than the
  // module's `go 1.22.7` line fetches that toolchain (Debian's go.env sets `local`).
  const r = run(go, ['install', `${KUSTOMIZE_MODULE}@${KUSTOMIZE_VERSION}`], {
    cwd: gobin,
    env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod', GO111MODULE: 'on', CGO_ENABLED: '0', GOTOOLCHAIN: 'auto' },
  });
  if (!r.ok) throw new Error(`go install ${KUSTOMIZE_MODULE}@${KUSTOMIZE_VERSION} failed: ${r.out.slice(-2000)}`);
  const got = installedKustomizeVersion();
  if (got !== KUSTOMIZE_VERSION) throw new Error(`${KUSTOMIZE_BIN} reports version ${got ?? '(none)'} after installing ${KUSTOMIZE_VERSION}`);
  log(`installed kustomize ${got}`);
  return KUSTOMIZE_BIN;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const got = installedKustomizeVersion();
    if (got !== KUSTOMIZE_VERSION) {
      log(
        `kustomize ${KUSTOMIZE_VERSION} is not installed at ${KUSTOMIZE_BIN} (found: ${got ?? 'none'}); install it with: node tools/scripts/ensure-kustomize.mjs`,
      );
      process.exit(1);
    }
    process.stdout.write(`${KUSTOMIZE_BIN}\n`);
    process.exit(0);
  }
  try {
    const bin = ensureKustomize();
    if (process.argv.includes('--path')) process.stdout.write(`${bin}\n`);
  } catch (err) {
    log(`the deployment tests cannot render k8s/: ${err.message}`);
    process.exit(1);
  }
}
