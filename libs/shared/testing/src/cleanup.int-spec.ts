import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { testInfra } from './index';

const ROOT = path.resolve(__dirname, '../../../..');

// A failing test file, run in a nested Jest run with the project's configuration: when it
// ends, its topic, consumer group and database are gone all the same.
describe('the test environment removes what a test file created', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mosaic-cleanup-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('removes the topics, groups and database of a failing test file', async () => {
    const out = path.join(dir, 'names.json');
    const run = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
        '--ci',
        '--testMatch',
        '**/fixtures/leaves-resources.fixture.ts',
        '--roots',
        '<rootDir>/libs/shared/testing',
      ],
      { cwd: ROOT, env: { ...process.env, MOSAIC_FIXTURE_OUT: out }, encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.stderr).toMatch(/failing on purpose/);
    expect(run.status).toBe(1);
    const names = JSON.parse(readFileSync(out, 'utf8')) as { topic: string; groupId: string; dbName: string };

    const infra = testInfra();
    const admin = new Kafka({ brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(names.topic);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(names.groupId);
    } finally {
      await admin.disconnect();
    }
    const client = await MongoClient.connect(infra.baseMongoUri);
    try {
      const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
      expect(databases.map((d) => d.name)).not.toContain(names.dbName);
    } finally {
      await client.close();
    }
  }, 150_000);
});
