// FerretDB on PostgreSQL (the local default store) must serve the services' point reads and
// writes from indexes. FerretDB v1.24 compiles {field: v} to `_jsonb -> 'field' @> v`, which
// its own btree indexes cannot serve; the GIN twins that tools/infra/postgres-gin-twins.sql
// adds can. This test reads PostgreSQL's plans of FerretDB's queries (FerretDB's `explain`
// returns them; psql for the UPDATE statement) and fails on a sequential scan.
import { randomBytes } from 'node:crypto';
import { MongoClient, type Collection, type Db, type Document, type Filter } from 'mongodb';
import { dropTestDatabase, testInfra } from '@mosaic/shared-testing';
import { ferretTable, psql } from './psql.test-helper';

jest.setTimeout(180000);

const DOCS = 10000;
const onPostgres = /^FerretDB .*\(PostgreSQL backend\)$/.test(testInfra().mongoServer);
if (!onPostgres) {
  process.stderr.write(
    `[postgres-indexes.int-spec] skipped: the store is "${testInfra().mongoServer || 'unknown'}", not FerretDB on the PostgreSQL cluster tools/infra starts\n`,
  );
}

interface Thing {
  _id: string;
  email: string;
  tags: string[];
  type: string;
  value: string;
  profile: { id: string };
  seen?: number;
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

(onPostgres ? describe : describe.skip)('FerretDB on PostgreSQL: the indexes the services declare serve their queries', () => {
  const t = testInfra();
  let client: MongoClient;
  let db: Db;
  let things: Collection<Thing>;

  const table = () => ferretTable(t.dbName, 'things');

  async function findPlan(filter: Document, collection = 'things'): Promise<PlanNode[]> {
    const r = await db.command({ explain: { find: collection, filter }, verbosity: 'queryPlanner' });
    expect(r.filterPushdown).toBe(true);
    return planNodes(r.queryPlanner.Plan as PlanNode);
  }

  beforeAll(async () => {
    client = await new MongoClient(t.mongoUri, { serverSelectionTimeoutMS: 10000 }).connect();
    db = client.db(t.dbName);
    things = db.collection<Thing>('things');
    // The kinds of index the services declare (ensureSchemaIndexes / mongoose schemas).
    await things.createIndex({ email: 1 }, { unique: true });
    await things.createIndex({ tags: 1 });
    await things.createIndex({ type: 1, value: 1 }, { unique: true });
    await things.createIndex({ 'profile.id': 1 });
    for (let i = 0; i < DOCS; i += 1000) {
      await things.insertMany(
        Array.from({ length: 1000 }, (_, k) => {
          const n = i + k;
          return { _id: `id-${n}`, email: `u${n}@example.com`, tags: [`t-${n}`, `g-${n % 10}`], type: 'email', value: `v-${n}`, profile: { id: `p-${n}` } };
        }),
      );
    }
  });

  afterAll(async () => {
    await client?.close();
    await dropTestDatabase();
  });

  it.each<[string, Filter<Thing>]>([
    ['a point read by _id', { _id: 'id-5000' }],
    ['a read by a unique string field', { email: 'u5000@example.com' }],
    ['a read by one element of an array field', { tags: 't-5000' }],
    ['a read by both fields of a compound index', { type: 'email', value: 'v-5000' }],
  ])('%s uses an index, not a sequential scan', async (_name, filter) => {
    const nodes = await findPlan(filter);
    expect(nodes.map((n) => n['Node Type'])).not.toContain('Seq Scan');
    expect(nodes.some((n) => n['Index Name']?.endsWith('_gin'))).toBe(true);
    expect(await things.find(filter).toArray()).toHaveLength(1);
  });

  it('updateOne by _id reads through the GIN twin and writes through the _id_ btree', async () => {
    // FerretDB's update: a SELECT with the filter (planned as the find above), then
    // `UPDATE ... WHERE _jsonb->'_id' = $1` for the matched document.
    expect((await findPlan({ _id: 'id-7000' })).map((n) => n['Node Type'])).not.toContain('Seq Scan');
    const plan = JSON.parse(await psql(`EXPLAIN (FORMAT JSON) UPDATE ${await table()} SET _jsonb = _jsonb WHERE _jsonb->'_id' = '"id-7000"'`)) as Array<{
      Plan: PlanNode;
    }>;
    expect(planNodes(plan[0].Plan).map((n) => n['Node Type'])).not.toContain('Seq Scan');
    expect((await things.updateOne({ _id: 'id-7000' }, { $set: { seen: 1 } })).modifiedCount).toBe(1);
  });

  it('gives every indexed field one GIN twin, and drops it with the last index on the field', async () => {
    const twins = async () =>
      (await psql(`SELECT indexdef FROM pg_indexes WHERE schemaname = '${t.dbName}' AND indexname LIKE '%\\_gin' ORDER BY 1`)).split('\n');
    const before = await twins();
    for (const expr of [`'_id'`, `'email'`, `'tags'`, `'type'`, `'value'`, `'{profile,id}'`]) {
      expect(before.filter((def) => def.includes(expr) && def.includes('USING gin') && def.includes('jsonb_path_ops'))).toHaveLength(1);
    }
    expect(before).toHaveLength(6);
    await things.dropIndex('tags_1');
    expect((await twins()).filter((def) => def.includes(`'tags'`))).toEqual([]);
    expect(await twins()).toHaveLength(5);
  });

  // With GIN's default fastupdate, every write lands in a pending list each lookup reads whole:
  // at 100,000 profiles a point read was 4x slower (docs/benchmarks.md, "GIN pending list").
  it('keeps no pending list: every twin has fastupdate off, also one made before that setting', async () => {
    const slowTwins = async () =>
      psql(
        `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = '${t.dbName}' AND c.relname LIKE '%\\_gin'
            AND NOT coalesce(c.reloptions, '{}') @> ARRAY['fastupdate=off'] ORDER BY 1`,
      );
    const twins = (await psql(`SELECT indexname FROM pg_indexes WHERE schemaname = '${t.dbName}' AND indexname LIKE 'things%\\_gin' ORDER BY 1`)).split('\n');
    expect(twins.length).toBeGreaterThan(0);
    expect(await slowTwins()).toBe('');
    // A twin an older install made with the default: the next sync (every infra start) mends it.
    await psql(`ALTER INDEX "${t.dbName}"."${twins[0]}" SET (fastupdate = on)`);
    expect(await slowTwins()).toBe(twins[0]);
    await psql(`SELECT mosaic_gin_sync('${await table()}'::regclass)`);
    expect(await slowTwins()).toBe('');
  });

  // Profile-sized documents (a few KB: PostgreSQL stores the jsonb out of line) in a table
  // that was just filled and never analyzed, as a service's collection is in its first
  // minutes: the planner must still take the index, although the heap is only a few pages.
  it('a point read of a profile-sized document uses an index in a small, fresh table', async () => {
    const profiles = db.collection<{ _id: string; body: string; idKeys: string[] }>('profiles');
    // Incompressible, like a real profile's JSON: PostgreSQL moves it out of line (TOAST).
    const body = (n: number) => JSON.stringify({ id: n, traits: { note: randomBytes(1800).toString('hex') } });
    await profiles.insertMany(Array.from({ length: 1000 }, (_, n) => ({ _id: `p-${n}`, body: body(n), idKeys: [`anonymousId:a-${n}`] })));
    const nodes = await findPlan({ _id: 'p-500' }, 'profiles');
    expect(nodes.map((n) => n['Node Type'])).not.toContain('Seq Scan');
    expect(nodes.some((n) => n['Index Name']?.endsWith('_gin'))).toBe(true);
    expect(await profiles.findOne({ _id: 'p-500' })).toMatchObject({ _id: 'p-500' });
  });

  // FerretDB v1.24 pushes no dotted-path filter of a find down to PostgreSQL (only of an
  // update or delete): a find by a nested field reads the whole collection whatever the indexes.
  it('does not push a find by a dotted path down (a known FerretDB v1.24 limit)', async () => {
    const r = await db.command({ explain: { find: 'things', filter: { 'profile.id': 'p-5000' } }, verbosity: 'queryPlanner' });
    expect(r.filterPushdown).toBe(false);
    expect(await things.find({ 'profile.id': 'p-5000' }).toArray()).toHaveLength(1);
  });
});
