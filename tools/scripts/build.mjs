#!/usr/bin/env node
// Compiles every app and library (not the tests) with swc into dist/, mirroring the source
// tree; import aliases from tsconfig.base.json are rewritten to relative paths, so
// `node dist/apps/<service>/src/main.js` runs with plain Node. Type checking is `npm run typecheck`.
import { readFileSync, mkdirSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { root } from './paths.mjs';

export { root };

// The console's single-page app is browser code built by Vite (buildConsoleWeb), not by swc.
const BROWSER_APPS = new Set([join(root, 'apps', 'console-web')]);

function walk(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory() && BROWSER_APPS.has(p)) continue;
    if (entry.isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.spec.ts') && !p.endsWith('.int-spec.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** `out`: the output directory (default dist/; tests build into their own directory under the repo, so node_modules resolves). */
export async function build({ quiet = false, out = join(root, 'dist') } = {}) {
  const started = Date.now();
  // Imported here, not at the top: the scripts load this file before dependencies are installed.
  const { transformFile } = await import('@swc/core');
  const swcrc = JSON.parse(readFileSync(join(root, '.swcrc.json'), 'utf8'));
  delete swcrc.$comment;
  const { compilerOptions } = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8'));
  swcrc.jsc.baseUrl = root;
  swcrc.jsc.paths = compilerOptions.paths;
  rmSync(out, { recursive: true, force: true });
  const files = [...walk(join(root, 'apps')), ...walk(join(root, 'libs'))];
  await Promise.all(
    files.map(async (file) => {
      const rel = relative(root, file);
      const target = join(out, rel.replace(/\.ts$/, '.js'));
      const result = await transformFile(file, { ...swcrc, swcrc: false, filename: file, sourceFileName: relative(dirname(target), file) });
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, `${result.code}\n//# sourceMappingURL=${target.split('/').pop()}.map\n`);
      if (result.map) writeFileSync(`${target}.map`, result.map);
    }),
  );
  // The browser tracker: one minified ES2017 script, served by the collector as /mosaic.js.
  const { buildTracker } = createRequire(import.meta.url)(join(root, 'libs', 'tracker', 'bundle.js'));
  const tracker = buildTracker();
  mkdirSync(join(out, 'libs', 'tracker'), { recursive: true });
  writeFileSync(join(out, 'libs', 'tracker', 'mosaic.js'), tracker.code);
  await buildConsoleWeb(out);
  if (!quiet)
    console.log(
      `built ${files.length} files into ${relative(root, out)}/ in ${Date.now() - started} ms; mosaic.js: ${tracker.bytes} bytes, ${tracker.gzipBytes} gzipped`,
    );
}

/** The console's single-page app (apps/console-web, React with Vite) into `<out>/apps/console-web/`, served by apps/console. */
async function buildConsoleWeb(out) {
  const { build: viteBuild } = await import('vite');
  // Vite sets NODE_ENV=production in the process that builds when it is unset; npm start and the
  // benchmarks build in-process and then start the services with their environment, which must
  // stay as the user left it (production makes the collector require email signing keys).
  const nodeEnv = process.env.NODE_ENV;
  try {
    await viteBuild({ configFile: join(root, 'apps', 'console-web', 'vite.config.mjs'), build: { outDir: join(out, 'apps', 'console-web') } });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outArg = process.argv.indexOf('--out');
  build(outArg > 0 && process.argv[outArg + 1] ? { out: resolve(process.argv[outArg + 1]) } : {}).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
