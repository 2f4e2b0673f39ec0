// Dispatching deliveries against the real store of the Jest run: a Kafka destination whose
// attempt failed because Mosaic's own broker was unavailable keeps its attempts (it waits for
// the broker instead of being dead-lettered), while a failure of the destination itself counts;
// a finished send starts the next due delivery without waiting for the next round.
import type { Connection } from 'mongoose';
import { ProducerUnavailableError } from '@mosaic/shared-kafka';
import { RetryPolicy, type Destination } from '@mosaic/activation-domain';
import { ACTIVATION_COLLECTIONS, ActivationProfilesRepository, DeliveriesRepository, type DeliveryDocument } from '@mosaic/activation-data-access';
import { connectMongo } from '@mosaic/shared-mongo';
import { dropTestDatabase, testInfra, waitFor } from '@mosaic/shared-testing';
import { DispatchDeliveries } from './dispatch-deliveries.use-case';

jest.setTimeout(60_000);

const KAFKA_DESTINATION: Destination = { id: 'dst_crm', name: 'CRM', enabled: true, kind: 'kafka', topic: 'crm' };
let conn: Connection;
let deliveries: DeliveriesRepository;
let now = Date.parse('2026-12-01T00:00:00Z');

beforeAll(async () => {
  conn = await connectMongo({ uri: testInfra().mongoUri });
  deliveries = new DeliveriesRepository(conn);
});

afterAll(async () => {
  await conn?.close();
  await dropTestDatabase().catch(() => undefined);
});

beforeEach(async () => {
  await conn.db!.collection(ACTIVATION_COLLECTIONS.deliveries).deleteMany({});
});

function delivery(id: string): DeliveryDocument {
  const at = new Date(now);
  const membership = {
    profileId: 'p-1',
    segmentKey: 'vip',
    segmentVersion: 1,
    change: 'entered',
    at: at.toISOString(),
    reason: { kind: 'message' },
    identifiers: {},
    profileVersion: 1,
  };
  return {
    _id: id,
    partition: 0,
    offset: '0',
    destinationId: KAFKA_DESTINATION.id,
    triggerId: 'trg_1',
    profileId: 'p-1',
    segmentKey: 'vip',
    change: 'entered',
    membership: JSON.stringify(membership),
    status: 'pending',
    attempts: 0,
    dueAt: at,
    nextAttemptAt: at,
    log: [],
    createdAt: at,
    updatedAt: at,
  };
}

/** A dispatcher over the real repositories, publishing with `publish`, a clock this file moves and no jitter. */
function dispatcher(publish: () => Promise<void>, deadLettered: string[]): DispatchDeliveries {
  return new DispatchDeliveries({
    deliveries,
    profiles: new ActivationProfilesRepository(conn),
    config: { destination: (id) => (id === KAFKA_DESTINATION.id ? KAFKA_DESTINATION : undefined), triggers: () => [] },
    publishToTopic: publish,
    deadLetter: async (d) => void deadLettered.push(d._id),
    policy: new RetryPolicy({ maxAttempts: 2, baseMs: 10, maxMs: 10 }),
    clock: () => now,
    random: () => 0,
  });
}

/** Runs dispatch rounds, moving the clock past every back-off, until the delivery leaves `pending` or `rounds` ran. */
async function dispatchRounds(d: DispatchDeliveries, rounds: number): Promise<DeliveryDocument> {
  for (let i = 0; i < rounds; i += 1) {
    await d.tick([0]);
    await d.drain();
    now += 1_000;
    const doc = await deliveries.findById('dlv_1');
    if (doc?.status !== 'pending') return doc!;
  }
  return (await deliveries.findById('dlv_1'))!;
}

it('keeps the attempts of a Kafka delivery while its own broker is unavailable, and delivers once it is back', async () => {
  await deliveries.insertNew([delivery('dlv_1')]);
  let unavailable = 5;
  const deadLettered: string[] = [];
  const published: string[] = [];
  const d = dispatcher(async () => {
    if (unavailable-- > 0) throw new ProducerUnavailableError('Kafka did not acknowledge within 5000 ms');
    published.push('dlv_1');
  }, deadLettered);
  const doc = await dispatchRounds(d, 10);
  expect(doc).toMatchObject({ status: 'delivered', attempts: 1 });
  expect(doc.log.map((a) => a.status)).toEqual([...Array(5).fill('broker unavailable'), 'produced']);
  expect(published).toEqual(['dlv_1']);
  expect(deadLettered).toEqual([]);
});

it('counts the attempts of a Kafka delivery that fails for another reason, and dead-letters after the last', async () => {
  await deliveries.insertNew([delivery('dlv_1')]);
  const deadLettered: string[] = [];
  const d = dispatcher(async () => {
    throw new Error('topic "crm" does not exist');
  }, deadLettered);
  const doc = await dispatchRounds(d, 10);
  expect(doc).toMatchObject({ status: 'dead', attempts: 2 });
  expect(deadLettered).toEqual(['dlv_1']);
});

it('starts the next due delivery as soon as a slot frees: one round sends all of them, never more at once than the destination allows', async () => {
  const ids = Array.from({ length: 10 }, (_, i) => `dlv_${i}`);
  await deliveries.insertNew(ids.map(delivery));
  let active = 0;
  let mostAtOnce = 0;
  let published = 0;
  const d = dispatcher(async () => {
    active += 1;
    mostAtOnce = Math.max(mostAtOnce, active);
    await new Promise((r) => setImmediate(r));
    active -= 1;
    published += 1;
  }, []);
  expect(await d.tick([0])).toBe(4); // a Kafka destination's four slots
  await waitFor(async () => ((await Promise.all(ids.map((id) => deliveries.findById(id)))).every((doc) => doc?.status === 'delivered') ? true : null), {
    timeoutMs: 30_000,
    message: 'all ten delivered after one round',
  });
  expect(published).toBe(10);
  expect(mostAtOnce).toBeLessThanOrEqual(4);
});
