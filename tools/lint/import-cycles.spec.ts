// The imports of the workspace form no circle (type-only imports included: a circle of types
// is where a runtime circle starts). madge builds the graph with the workspace's path aliases.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import madge from 'madge';

const root = join(__dirname, '..', '..');

async function circles(paths: string[], baseDir: string, extensions: string[]): Promise<string[][]> {
  const graph = await madge(paths, { baseDir, fileExtensions: extensions, tsConfig: join(root, 'tsconfig.base.json') });
  return graph.circular();
}

jest.setTimeout(60_000);

describe('import cycles', () => {
  it('apps and libraries import each other in no circle', async () => {
    expect(await circles(['apps', 'libs'], root, ['ts'])).toEqual([]);
  });

  it('the tools (infra, scripts, CLI) import each other in no circle', async () => {
    expect(await circles(['tools'], root, ['js', 'mjs', 'cjs', 'ts'])).toEqual([]);
  });

  it('finds a circle when there is one (the check can fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mosaic-cycles-'));
    try {
      writeFileSync(join(dir, 'a.ts'), "import { b } from './b';\nexport const a = () => b;\n");
      writeFileSync(join(dir, 'b.ts'), "import type { a } from './a';\nexport const b = (x?: typeof a) => x;\n");
      expect(await circles([dir], dir, ['ts'])).toEqual([['a.ts', 'b.ts']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
