// The architecture rules (DESIGN §10) are lint errors; this guards that they stay so: a
// domain library importing infrastructure, a shared library importing a service's library,
// and reading process.env outside the config library must all fail lint.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

// ESLint runs as the CLI does (its flat config is ESM, which Jest's module system does not load).
async function errors(file: string, code: string): Promise<string[]> {
  const r = spawnSync(join(root, 'node_modules', '.bin', 'eslint'), ['--format', 'json', '--stdin', '--stdin-filename', join(root, file)], {
    cwd: root,
    input: code,
    encoding: 'utf8',
  });
  const [result] = JSON.parse(r.stdout) as { messages: { severity: number; ruleId: string; message: string }[] }[];
  return (result?.messages ?? []).filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

jest.setTimeout(60_000);

beforeAll(() => {
  // The rule reads Nx's project graph; compute it as `npm test` and `npm run lint` do.
  const r = spawnSync(join(root, 'node_modules', '.bin', 'nx'), ['show', 'projects'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  expect(r.status).toBe(0);
});

describe('module boundaries are enforced as errors', () => {
  it('a domain library may not import kafkajs, mongoose or Nest', async () => {
    for (const pkg of ['kafkajs', 'mongoose', '@nestjs/common']) {
      const found = await errors('libs/collector/domain/src/probe.ts', `import * as x from '${pkg}';\nexport const y = x;\n`);
      expect(found.join('\n')).toMatch(/enforce-module-boundaries.*not allowed to import/);
    }
  });

  it('a domain library may not depend on a data-access library', async () => {
    const found = await errors(
      'libs/collector/domain/src/probe.ts',
      `import { SourcesRepository } from '@mosaic/collector-data-access';\nexport const y = SourcesRepository;\n`,
    );
    expect(found.join('\n')).toMatch(/enforce-module-boundaries/);
  });

  it('the application layer sits between apps and data-access: data-access and domain may not import it', async () => {
    const fromDataAccess = await errors(
      'libs/enrichment/data-access/src/probe.ts',
      `import * as a from '@mosaic/enrichment-application';\nexport const y = a;\n`,
    );
    expect(fromDataAccess.join('\n')).toMatch(/enforce-module-boundaries/);
    const fromDomain = await errors('libs/enrichment/domain/src/probe.ts', `import * as a from '@mosaic/enrichment-application';\nexport const y = a;\n`);
    expect(fromDomain.join('\n')).toMatch(/enforce-module-boundaries/);
    const fromApp = await errors('apps/enrichment/src/probe.ts', `import * as a from '@mosaic/enrichment-application';\nexport const y = a;\n`);
    expect(fromApp.join('\n')).not.toMatch(/enforce-module-boundaries/);
  });

  it('a controller or a Kafka consumer may not import the MongoDB driver or mongoose', async () => {
    for (const [file, pkg] of [
      ['apps/activation/src/probe.controller.ts', 'mongodb'],
      ['apps/identity/src/probe.consumer.ts', 'mongoose'],
    ]) {
      const found = await errors(file as string, `import * as m from '${pkg}';\nexport const y = m;\n`);
      expect(found.join('\n')).toMatch(/no-restricted-imports/);
    }
  });

  it('a function over 100 lines or a file over 400 lines fails lint (tests excepted)', async () => {
    const longFunction = `export function f(): number {\n  let x = 0;\n${'  x += 1;\n'.repeat(100)}  return x;\n}\n`;
    expect((await errors('libs/collector/domain/src/probe.ts', longFunction)).join('\n')).toMatch(/max-lines-per-function/);
    const longFile = Array.from({ length: 401 }, (_, i) => `export const c${i} = ${i};`).join('\n') + '\n';
    expect((await errors('libs/collector/domain/src/probe.ts', longFile)).join('\n')).toMatch(/max-lines/);
    expect(await errors('libs/collector/domain/src/probe.spec.ts', longFile)).toEqual([]);
  });

  it('a shared library may not depend on a service scope', async () => {
    const found = await errors('libs/shared/mongo/src/probe.ts', `import { Ingestor } from '@mosaic/collector-domain';\nexport const y = Ingestor;\n`);
    expect(found.join('\n')).toMatch(/enforce-module-boundaries/);
  });

  it('only the config library reads process.env', async () => {
    expect((await errors('apps/collector/src/probe.ts', 'export const port = process.env.PORT;\n')).join('\n')).toMatch(/no-restricted-properties/);
    expect(await errors('libs/shared/config/src/probe.ts', 'export const port = process.env.PORT;\n')).toEqual([]);
  });

  it('allowed imports pass', async () => {
    expect(
      await errors(
        'apps/collector/src/probe.ts',
        `import { Ingestor } from '@mosaic/collector-domain';\nimport { topicNames } from '@mosaic/contracts';\nexport const y = [Ingestor, topicNames];\n`,
      ),
    ).toEqual([]);
  });
});
