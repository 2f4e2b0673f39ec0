// Activation's hot paths against the real MongoDB-wire server, over 10,000 stored profiles and
// 10,000 deliveries: a decision cache miss (the visitor's profile by identifier key), the
// dispatcher's read of a round's profiles, its query for due deliveries, its claim and record of
// one, and its look for dead letters left to produce return the right documents, and on FerretDB
// with PostgreSQL none of their queries reads a whole collection (each used to: an `$in` or a
// range is not pushed down, so their cost grew with the data).
import mongoose, { type Connection } from 'mongoose';
import { detectServerProfile } from '@mosaic/shared-mongo';
import { dropTestDatabase, plannedFinds, storePlansReadable, testInfra, wholeCollectionReads } from '@mosaic/shared-testing';
import { ActivationProfilesRepository } from './activation-profiles.repository';
import { DeliveriesRepository } from './deliveries.repository';
import { ACTIVATION_COLLECTIONS, ensureActivationIndexes, type ActivationProfileDocument, type DeliveryDocument } from './documents';

jest.setTimeout(120_000);

const N = 10_000;
const NOW = new Date('2026-12-05T12:00:00Z');
let conn: Connection;

function profile(i: number): ActivationProfileDocument {
  return {
    _id: `p-${i}`,
    profile: JSON.stringify({ traits: { firstName: `Visitor ${i}` }, computed: { orders: { count: i % 5 } } }),
    profileVersion: 1,
    segments: i % 2 === 0 ? ['even'] : [],
    membershipVersion: 1,
    idKeys: [`anonymousId:a-${i}`, ...(i % 3 === 0 ? [`userId:u-${i}`] : [])],
    updatedAt: NOW,
  };
}

/** Every 500th delivery is pending (half of those due), every 2500th from 1 dead with its letter to produce, the rest delivered long ago. */
function delivery(i: number): DeliveryDocument {
  const pending = i % 500 === 0;
  const unlettered = i % 2500 === 1;
  return {
    ...(unlettered ? { deadLetterDue: true } : {}),
    _id: `d-${i}`,
    partition: i % 6,
    offset: String(i),
    destinationId: 'dest-1',
    triggerId: 'trig-1',
    profileId: `p-${i}`,
    segmentKey: 'even',
    change: 'entered',
    membership: '{}',
    status: pending ? 'pending' : unlettered ? 'dead' : 'delivered',
    attempts: pending ? 0 : 1,
    dueAt: NOW,
    nextAttemptAt: pending ? new Date(NOW.getTime() + (i % 1000 === 0 ? -1_000 : 60_000)) : null,
    log: [],
    createdAt: NOW,
    updatedAt: NOW,
  };
}

async function insertAll<T>(collection: string, make: (i: number) => T): Promise<void> {
  const db = conn.db!;
  for (let i = 0; i < N; i += 1000) await db.collection(collection).insertMany(Array.from({ length: 1000 }, (_, k) => make(i + k)) as never[]);
}

beforeAll(async () => {
  conn = await mongoose.createConnection(testInfra().mongoUri, { monitorCommands: true }).asPromise();
  await ensureActivationIndexes(conn);
  await insertAll(ACTIVATION_COLLECTIONS.profiles, profile);
  await insertAll(ACTIVATION_COLLECTIONS.deliveries, delivery);
  // A merged-away profile still holds its keys: the live one must win.
  await conn.db!.collection(ACTIVATION_COLLECTIONS.profiles).insertOne({ ...profile(N), _id: 'p-old', idKeys: ['userId:u-9'], mergedInto: 'p-9' } as never);
});

afterAll(async () => {
  await conn?.close();
  await dropTestDatabase().catch(() => undefined);
});

function expectIndexedOnly(finds: Parameters<typeof wholeCollectionReads>[0], expectedFinds: number): void {
  expect(finds.length).toBeGreaterThanOrEqual(expectedFinds);
  if (storePlansReadable()) expect(wholeCollectionReads(finds)).toEqual([]);
}

it('finds a visitor by identifier key from an index: user id first, then anonymous id, never a merged-away profile', async () => {
  const profiles = new ActivationProfilesRepository(conn);
  const found: Array<Awaited<ReturnType<ActivationProfilesRepository['findByIdKeys']>>> = [];
  const finds = await plannedFinds(conn, async () => {
    found.push(await profiles.findByIdKeys(['userId:u-9', 'anonymousId:a-10']));
    found.push(await profiles.findByIdKeys(['userId:u-nobody', 'anonymousId:a-4001']));
    found.push(await profiles.findByIdKeys(['userId:u-nobody', 'anonymousId:a-nobody']));
  });
  const [byUser, byAnonymous, unknown] = found;
  expect(byUser).toMatchObject({ profileId: 'p-9', traits: { firstName: 'Visitor 9' } });
  expect(byAnonymous).toMatchObject({ profileId: 'p-4001', segments: [] });
  expect(unknown).toBeNull();
  expectIndexedOnly(finds, 5);
});

it('reads a round of profiles by id from an index', async () => {
  const profiles = new ActivationProfilesRepository(conn, storePlansReadable());
  let found = new Map<string, unknown>();
  const finds = await plannedFinds(conn, async () => {
    found = await profiles.findByIds(['p-1', 'p-2', 'p-5000', 'p-9999', 'p-nobody', 'p-2']);
  });
  expect([...found.keys()].sort()).toEqual(['p-1', 'p-2', 'p-5000', 'p-9999']);
  expect(found.get('p-2')).toEqual({ profile: { traits: { firstName: 'Visitor 2' }, computed: { orders: { count: 2 } } }, segments: ['even'] });
  expectIndexedOnly(finds, 1);
});

it('finds the due deliveries of its partitions, claims and records one, without reading the delivery log', async () => {
  const deliveries = new DeliveriesRepository(conn, undefined, { cas: (await detectServerProfile(conn)).cas });
  let due: DeliveryDocument[] = [];
  let recorded: DeliveryDocument | null = null;
  const finds = await plannedFinds(conn, async () => {
    due = await deliveries.due([{ destinationId: 'dest-1', limit: 50 }], [0, 2, 4], NOW, new Set(['d-2000']));
    const claimed = await deliveries.claim(due[0] as DeliveryDocument, 'instance-1', NOW, 60_000);
    recorded = await deliveries.recordAttempt(
      claimed as DeliveryDocument,
      { at: NOW, outcome: 'delivered', status: '200', ms: 1 },
      { status: 'delivered', nextAttemptAt: null, attempts: 1 },
    );
  });
  // Pending and due: every 1000th (d-0 … d-9000); all have even partitions (i % 6 of a multiple of 1000).
  const expected = Array.from({ length: 10 }, (_, k) => `d-${k * 1000}`).filter(
    (id) => id !== 'd-2000' && Number(id.slice(2)) % 6 !== 1 && (Number(id.slice(2)) % 6) % 2 === 0,
  );
  expect(due.map((d) => d._id).sort()).toEqual(expected.sort());
  expect(recorded).toMatchObject({ _id: due[0]?._id, status: 'delivered', version: 2 });
  expectIndexedOnly(finds, 3);
});

it('finds the dead letters left to produce of its partitions from an index', async () => {
  const deliveries = new DeliveriesRepository(conn);
  let found: DeliveryDocument[] = [];
  const finds = await plannedFinds(conn, async () => {
    found = await deliveries.deadLettersDue([1, 3], 10);
  });
  // d-1, d-2501, d-5001, d-7501: partitions 1, 5, 3, 1.
  expect(found.map((d) => d._id).sort()).toEqual(['d-1', 'd-5001', 'd-7501']);
  expectIndexedOnly(finds, 1);
});
