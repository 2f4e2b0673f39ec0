// Removal of what integration tests leave on the shared broker and database server: the
// per-file test environment (test-environment.ts) removes one file's names when the file ends,
// the global teardown sweeps every test name a crashed run left behind.
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';

/** Every test file's topics and consumer groups start with this (see testInfra()). */
export const TEST_TOPIC_PREFIX = 'mt-';
/** Every test file's databases start with this. */
export const TEST_DB_PREFIX = 'mt_';

export interface CleanupResult {
  topics: number;
  groups: number;
  databases: number;
  /** groups still in use (a consumer that outlived its test): removed by a later sweep */
  busyGroups: string[];
}

export interface CleanupTarget {
  brokers: string[];
  /** the server's URI without a database name */
  mongoUri: string;
  /** topics and groups whose names start with this */
  namePrefix: string;
  /** which databases to drop */
  isTestDatabase: (name: string) => boolean;
  /** how long a group that still has members is waited for; default 0 (no retry) */
  busyGroupWaitMs?: number;
}

/** Deletes the matching topics, consumer groups and databases; never throws. */
export async function removeTestResources(target: CleanupTarget): Promise<CleanupResult & { errors: string[] }> {
  const errors: string[] = [];
  const kafka = await removeKafkaResources(target).catch((e: unknown) => {
    errors.push(`kafka: ${describe(e)}`);
    return { topics: 0, groups: 0, busyGroups: [] };
  });
  const databases = await dropDatabases(target).catch((e: unknown) => {
    errors.push(`mongodb: ${describe(e)}`);
    return 0;
  });
  return { ...kafka, databases, errors };
}

async function removeKafkaResources(target: CleanupTarget): Promise<Pick<CleanupResult, 'topics' | 'groups' | 'busyGroups'>> {
  const admin = new Kafka({ clientId: 'mosaic-test-cleanup', brokers: target.brokers, logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(target.namePrefix));
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
    const { deleted, busy } = await deleteGroups(admin, target);
    return { topics: topics.length, groups: deleted, busyGroups: busy };
  } finally {
    await admin.disconnect();
  }
}

type Admin = ReturnType<Kafka['admin']>;

/** Groups with live members cannot be deleted: they are retried until busyGroupWaitMs has passed. */
async function deleteGroups(admin: Admin, target: CleanupTarget): Promise<{ deleted: number; busy: string[] }> {
  const deadline = Date.now() + (target.busyGroupWaitMs ?? 0);
  let pending = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(target.namePrefix));
  let deleted = 0;
  for (;;) {
    if (pending.length === 0) return { deleted, busy: [] };
    const results = await admin.deleteGroups(pending).catch((e: { groups?: { groupId: string; errorCode: number }[] }) => e.groups ?? []);
    const failed = new Set(results.filter((r) => r.errorCode !== 0).map((r) => r.groupId));
    deleted += pending.length - failed.size;
    pending = pending.filter((g) => failed.has(g));
    if (pending.length === 0 || Date.now() >= deadline) return { deleted, busy: pending };
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

async function dropDatabases(target: CleanupTarget): Promise<number> {
  const client = new MongoClient(target.mongoUri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.connect();
    const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
    const names = databases.map((d) => d.name).filter(target.isTestDatabase);
    for (const name of names) await client.db(name).dropDatabase();
    return names.length;
  } finally {
    await client.close();
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
