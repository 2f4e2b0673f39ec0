// The pipeline benchmark's reading of pg_stat_statements (bench-store-tables.mjs) against the
// PostgreSQL cluster tools/infra started, which preloads it: the updates made through FerretDB on
// a collection show, exactly, as "UPDATE <collection>".
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MongoClient } from 'mongodb';
import { dropTestDatabase, testInfra } from '@mosaic/shared-testing';

jest.setTimeout(60_000);

const MODULE = pathToFileURL(path.join(__dirname, 'bench-store-tables.mjs')).href;
const INFRA = path.join(__dirname, '..', 'infra', 'index.js');
const onPostgres = /^FerretDB .*\(PostgreSQL backend\)$/.test(testInfra().mongoServer);
if (!onPostgres) {
  process.stderr.write(
    `[bench-store-tables.int-spec] skipped: the store is "${testInfra().mongoServer || 'unknown'}", not FerretDB on the PostgreSQL cluster tools/infra starts\n`,
  );
}

type StatementTimes = Record<string, { calls: number; ms: number }> | null;

/** `readStatementTimes` of database `db`, run in a child (Jest here runs CommonJS; the bench is ES modules). */
function readStatementTimes(db: string): StatementTimes {
  const script = [
    `import { createRequire } from 'node:module';`,
    `import { readStatementTimes } from ${JSON.stringify(MODULE)};`,
    `const infra = createRequire(import.meta.url)(${JSON.stringify(INFRA)});`,
    `console.log(JSON.stringify(await readStatementTimes(infra, ${JSON.stringify(db)})));`,
  ].join('\n');
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as StatementTimes;
}

(onPostgres ? describe : describe.skip)('pg_stat_statements on the private cluster, as the pipeline benchmark reads it', () => {
  const t = testInfra();
  let client: MongoClient;

  beforeAll(async () => {
    client = await new MongoClient(t.mongoUri, { serverSelectionTimeoutMS: 10_000 }).connect();
  });

  afterAll(async () => {
    await client?.close();
    await dropTestDatabase();
  });

  it('counts each update through FerretDB under its statement kind and collection', async () => {
    const counted = client.db(t.dbName).collection<{ _id: string; n: number }>('counted');
    await counted.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: `c-${i}`, n: 0 })));
    const before = readStatementTimes(t.dbName);
    if (before === null)
      throw new Error('pg_stat_statements is not readable: tools/infra did not preload it (or the cluster predates that: npm run infra -- down, then up)');
    for (let i = 0; i < 20; i += 1) await counted.updateOne({ _id: `c-${i}` }, { $set: { n: 1 } });
    const after = readStatementTimes(t.dbName);
    const updates = (after?.['UPDATE counted']?.calls ?? 0) - (before['UPDATE counted']?.calls ?? 0);
    expect(updates).toBe(20);
    expect(after?.['UPDATE counted']?.ms).toBeGreaterThan(0);
  });
});
