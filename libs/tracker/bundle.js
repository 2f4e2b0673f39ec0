// Builds mosaic.js: the tracker's TypeScript modules (src/browser.ts and what it imports),
// concatenated in dependency order into one ES2017 IIFE and minified with swc. No bundler is
// needed because the tracker keeps to a subset that concatenates safely (checked here):
// relative named imports only (no renames, namespaces, defaults or re-exports), and no two
// modules declare the same top-level name. Used by tools/scripts/build.mjs (into dist/) and by
// the collector when it runs from source (tests).
'use strict';
const { readFileSync } = require('node:fs');
const { dirname, join, relative, resolve } = require('node:path');
const { gzipSync } = require('node:zlib');
const { createHash } = require('node:crypto');

const SRC = join(__dirname, 'src');
const ENTRY = join(SRC, 'browser.ts');

function fail(file, msg) {
  throw new Error(`tracker bundle: ${relative(join(__dirname, '..', '..'), file)}: ${msg}`);
}

function declaredNames(item) {
  const d = item.type === 'ExportDeclaration' ? item.declaration : item;
  if (d.type === 'VariableDeclaration') return d.declarations.flatMap((x) => (x.id.type === 'Identifier' ? [x.id.value] : []));
  if (d.type === 'FunctionDeclaration' || d.type === 'ClassDeclaration') return [d.identifier.value];
  return [];
}

function print(swc, item) {
  return swc.printSync({ type: 'Module', span: { start: 0, end: 0, ctxt: 0 }, body: [item], interpreter: null }).code;
}

/** Modules reachable from the entry, dependencies first, each as ES2017 JS without import/export. */
function collect(swc) {
  const order = [];
  const seen = new Map();
  const owners = new Map();
  const helpers = new Map();
  const visit = (file, stack) => {
    if (seen.has(file)) {
      if (stack.includes(file)) fail(file, `circular import (${stack.map((f) => relative(SRC, f)).join(' → ')})`);
      return;
    }
    seen.set(file, true);
    const ts = readFileSync(file, 'utf8');
    // Types are stripped and type-only imports dropped; the module syntax is kept for the checks below.
    const js = swc.transformSync(ts, {
      filename: file,
      swcrc: false,
      // Class fields become constructor assignments (no helper functions to share between modules).
      jsc: { parser: { syntax: 'typescript' }, target: 'es2017', transform: { useDefineForClassFields: false } },
      module: { type: 'es6' },
      sourceMaps: false,
    }).code;
    const ast = swc.parseSync(js, { syntax: 'ecmascript', target: 'es2017' });
    const body = [];
    for (const item of ast.body) {
      if (item.type === 'ImportDeclaration') {
        const from = item.source.value;
        if (!from.startsWith('./') && !from.startsWith('../')) fail(file, `imports "${from}": the tracker has no runtime dependencies`);
        for (const s of item.specifiers) {
          if (s.type !== 'ImportSpecifier' || (s.imported && s.imported.value !== s.local.value)) fail(file, `import from "${from}" must be plain named imports (no default, namespace or renaming)`);
        }
        visit(resolve(dirname(file), `${from}.ts`), [...stack, file]);
        continue;
      }
      if (item.type === 'ExportNamedDeclaration' || item.type === 'ExportAllDeclaration' || item.type === 'ExportDefaultDeclaration' || item.type === 'ExportDefaultExpression') {
        // `export { x }` of a local name is harmless; re-exports and defaults are not supported.
        if (item.type === 'ExportNamedDeclaration' && !item.source && item.specifiers.every((s) => !s.exported || s.exported.value === s.orig.value)) continue;
        fail(file, 'only `export <declaration>` is supported');
      }
      const decl = item.type === 'ExportDeclaration' ? item.declaration : item;
      const names = declaredNames(item);
      // swc's inlined helpers (`_define_property`, `_object_spread`…) are the same in every
      // module that needs them: the first copy is kept.
      if (names.length === 1 && names[0].startsWith('_') && helpers.has(names[0])) {
        if (helpers.get(names[0]) !== print(swc, decl)) fail(file, `helper ${names[0]} differs between modules`);
        continue;
      }
      for (const name of names) {
        if (owners.has(name) && owners.get(name) !== file) fail(file, `top-level name "${name}" is also declared in ${relative(SRC, owners.get(name))}`);
        owners.set(name, file);
        if (name.startsWith('_') && names.length === 1) helpers.set(name, print(swc, decl));
      }
      body.push(decl);
    }
    ast.body = body;
    order.push({ file, code: swc.printSync(ast).code });
  };
  visit(ENTRY, []);
  return order;
}

/**
 * The minified bundle: `{code, bytes, gzipBytes, etag, modules}`. `minify: false` keeps it
 * readable (debugging).
 */
function buildTracker({ minify = true } = {}) {
  const swc = require('@swc/core');
  const modules = collect(swc);
  const joined = `(function(){'use strict';\n${modules.map((m) => `// ${relative(SRC, m.file)}\n${m.code}`).join('\n')}\n})();\n`;
  const code = minify
    ? swc.minifySync(joined, {
        compress: { ecma: 2017, passes: 2, unsafe_arrows: false, toplevel: true },
        mangle: { toplevel: true },
        ecma: 2017,
        module: false,
        format: { comments: false },
      }).code
    : joined;
  const banner = `/*! mosaic.js | Mosaic tracker | Apache-2.0 */\n`;
  const out = banner + code;
  return {
    code: out,
    bytes: Buffer.byteLength(out),
    gzipBytes: gzipSync(out, { level: 9 }).length,
    etag: `"${createHash('sha256').update(out).digest('base64url').slice(0, 22)}"`,
    modules: modules.map((m) => relative(SRC, m.file)),
  };
}

module.exports = { buildTracker };
