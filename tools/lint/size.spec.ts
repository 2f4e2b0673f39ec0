// The size rules of docs/CONVENTIONS.md for the plain-JavaScript files (tools/infra, tools/cli,
// tools/scripts, the demo shop's script), which ESLint's TypeScript configuration does not read
// (TypeScript is held to the same rules by ESLint's max-lines and max-lines-per-function).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..', '..');
const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 100;

function javaScriptSources(): string[] {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.js', '*.mjs', '*.cjs'], { cwd: root, encoding: 'utf8' });
  return files
    .split('\n')
    .filter((f) => f && !f.includes('node_modules/') && !/\.(spec|int-spec)\.|(^|\/)dist\/|eslint\.config|jest\.config|libs\/tracker\/bundle\.js$/.test(f));
}

/** `path:line name (n lines)` of every function longer than `max` lines in `source`. */
export function longFunctions(path: string, source: string, max = MAX_FUNCTION_LINES): string[] {
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = file.getLineAndCharacterOfPosition(node.end).line;
      if (last - first + 1 > max) out.push(`${path}:${first + 1} ${node.name?.getText() ?? '(anonymous)'} (${last - first + 1} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

describe('size of the JavaScript sources', () => {
  const files = javaScriptSources();

  it('finds the tools to check', () => {
    expect(files).toEqual(expect.arrayContaining(['tools/infra/index.js', 'tools/cli/mosaic.mjs', 'tools/scripts/bench-util.mjs']));
  });

  it(`no file over ${MAX_FILE_LINES} lines`, () => {
    const long = files.map((f) => [f, readFileSync(join(root, f), 'utf8').split('\n').length - 1] as const).filter(([, n]) => n > MAX_FILE_LINES);
    expect(long).toEqual([]);
  });

  it(`no function over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(files.flatMap((f) => longFunctions(f, readFileSync(join(root, f), 'utf8')))).toEqual([]);
  });

  it('finds a long function when there is one (the check can fail)', () => {
    const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  x += ${i};`).join('\n');
    expect(longFunctions('probe.js', `function f() {\n  let x = 0;\n${body}\n  return x;\n}\n`)).toEqual(['probe.js:1 f (104 lines)']);
  });
});
