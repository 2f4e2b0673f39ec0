'use strict';
// FerretDB v1 (the MongoDB-wire server when there is no mongod), built once from its Go module
// into the cache dir.

const fs = require('node:fs');
const path = require('node:path');
const { defaultLogger, mkdirp, cacheDir: defaultCacheDir, tailFile } = require('./common.js');
const { run, which } = require('./processes.js');
const { ensureCached } = require('./downloads.js');

const FERRETDB_VERSION = 'v1.24.0';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';

/** @param {string} cache */
function ferretdbHome(cache) {
  return path.join(cache, `ferretdb-${FERRETDB_VERSION}`);
}

/**
 * Make sure a FerretDB binary is built in <cache>/ferretdb-<version>/ferretdb.
 * (`go install ...@v1.24.0` does not work: the proxy refuses the module's version list;
 * downloading that exact version and building it from a writable copy does.)
 * @param {{cacheDir?: string, log?: (line: string) => void}} [opts]
 * @returns {Promise<string>} the binary
 */
async function ensureFerretdb(opts = {}) {
  const log = opts.log || defaultLogger;
  const home = ferretdbHome(opts.cacheDir || defaultCacheDir());
  const bin = path.join(home, 'ferretdb');
  const marker = path.join(home, '.complete');
  const isComplete = () => fs.existsSync(marker) && fs.existsSync(bin);
  return ensureCached({ home, isComplete, result: bin, what: 'the FerretDB build', log }, () => buildFerretdb({ home, bin, marker, log }));
}

/**
 * @param {{home: string, bin: string, marker: string, log: (line: string) => void}} p
 * @returns {Promise<string>} the binary
 */
async function buildFerretdb({ home, bin, marker, log }) {
  const go = which('go');
  if (!go) {
    throw new Error(
      'No MongoDB-wire server: `mongod` is not on PATH and there is no Go toolchain (`go`) to build FerretDB. ' +
        'Install one of them, or start a Docker engine, or point KAFKA_BROKERS and MONGODB_URI at running servers.',
    );
  }
  mkdirp(home);
  const buildLog = path.join(home, 'build.log');
  fs.writeFileSync(buildLog, `${new Date().toISOString()} building FerretDB ${FERRETDB_VERSION}\n`);
  log(
    `no mongod on PATH: building FerretDB ${FERRETDB_VERSION} (MongoDB-wire server) with Go into ${home}` +
      ' - first time only, this takes about a minute (longer if Go modules must be downloaded)...',
  );
  const t0 = Date.now();
  const baseEnv = { ...process.env, GOTOOLCHAIN: 'local', GO111MODULE: 'on' };
  const dl = await run(go, ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], {
    cwd: home,
    env: { ...baseEnv, GOFLAGS: '' },
    logFile: buildLog,
    timeoutMs: 15 * 60 * 1000,
  });
  /** @type {{Dir?: string, Error?: string}} */
  let info = {};
  try {
    info = JSON.parse(dl.stdout);
  } catch {
    // reported below
  }
  if (dl.code !== 0 || !info.Dir) {
    throw new Error(
      `go mod download ${FERRETDB_MODULE}@${FERRETDB_VERSION} failed (exit code ${dl.code})${info.Error ? `: ${info.Error}` : ''}. Log: ${buildLog}`,
    );
  }
  const src = path.join(home, `src.tmp-${process.pid}`);
  fs.rmSync(src, { recursive: true, force: true });
  fs.cpSync(info.Dir, src, { recursive: true });
  makeWritable(src);
  // The module zip lacks the generated version file that build/version embeds.
  fs.writeFileSync(path.join(src, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
  const tmpBin = `${bin}.tmp-${process.pid}`;
  const build = await run(go, ['build', '-trimpath', '-o', tmpBin, './cmd/ferretdb'], {
    cwd: src,
    env: { ...baseEnv, GOFLAGS: '-mod=mod -buildvcs=false' },
    logFile: buildLog,
    timeoutMs: 30 * 60 * 1000,
  });
  if (build.code !== 0) {
    fs.rmSync(src, { recursive: true, force: true });
    throw new Error(`building FerretDB failed (exit code ${build.code}). Log: ${buildLog}\n${tailFile(buildLog, 30)}`);
  }
  fs.renameSync(tmpBin, bin);
  fs.rmSync(src, { recursive: true, force: true });
  const version = await run(bin, ['--version']);
  fs.writeFileSync(marker, `${JSON.stringify({ version: FERRETDB_VERSION, output: version.stdout.trim(), at: new Date().toISOString() }, null, 2)}\n`);
  log(`FerretDB built in ${Math.round((Date.now() - t0) / 1000)} s`);
  return bin;
}

/** chmod -R u+w (Go's module cache is read-only). @param {string} dir */
function makeWritable(dir) {
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink()) return;
  fs.chmodSync(dir, st.mode | 0o200);
  if (st.isDirectory()) for (const name of fs.readdirSync(dir)) makeWritable(path.join(dir, name));
}

module.exports = { FERRETDB_VERSION, ferretdbHome, ensureFerretdb };
