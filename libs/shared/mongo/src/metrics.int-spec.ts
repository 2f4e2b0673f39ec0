// The store-command metrics against the real MongoDB-wire server: each command the service's
// client sends is counted once, by command and collection, and the connection's handshake and
// pings are not.
import type { Connection } from 'mongoose';
import { Registry } from '@mosaic/shared-logging';
import { dropTestDatabase, testInfra } from '@mosaic/shared-testing';
import { monitorStoreCommands } from './metrics';
import { connectMongo, pingMongo } from './mongo';

let conn: Connection;
const registry = new Registry();

beforeAll(async () => {
  conn = await connectMongo({ uri: testInfra().mongoUri, monitorCommands: true });
  monitorStoreCommands(conn, registry);
});

afterAll(async () => {
  await conn?.close();
  await dropTestDatabase().catch(() => undefined);
});

async function commands(): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('mosaic_mongo_commands_total')?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [`${v.labels['command']}:${v.labels['collection']}`, v.value]));
}

it('counts every command by command and collection, and no handshake or ping', async () => {
  const c = conn.db!.collection<{ _id: string; n: number }>('metered');
  await c.insertMany([
    { _id: 'a', n: 1 },
    { _id: 'b', n: 2 },
  ]);
  await c.findOne({ _id: 'a' });
  await c.findOne({ _id: 'b' });
  await c.bulkWrite([{ updateOne: { filter: { _id: 'a' }, update: { $inc: { n: 1 } } } }, { updateOne: { filter: { _id: 'b' }, update: { $inc: { n: 1 } } } }]);
  expect(await pingMongo(conn)).toBe(true);

  expect(await commands()).toEqual({ 'insert:metered': 1, 'find:metered': 2, 'update:metered': 1 });
  const duration = await registry.getSingleMetric('mosaic_mongo_command_seconds')?.get();
  const values = (duration?.values ?? []) as { metricName?: string; labels: Record<string, unknown>; value: number }[];
  const count = (command: string) => values.find((v) => v.metricName === 'mosaic_mongo_command_seconds_count' && v.labels['command'] === command)?.value;
  expect({ insert: count('insert'), find: count('find'), update: count('update') }).toEqual({ insert: 1, find: 2, update: 1 });
});
