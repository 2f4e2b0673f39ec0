// Claims of due deliveries against the real MongoDB-wire server, in the compare-and-set mode the
// service uses on it: of ten instances claiming the same delivery at once, exactly one gets it
// (FerretDB 1.24 lets several "win" a plain conditional update: it reads, then writes), also for
// a delivery stored before deliveries had versions; the outcome of a claim that was taken since
// changes nothing.
import { detectServerProfile } from '@mosaic/shared-mongo';
import { useTestConnection } from '@mosaic/shared-testing';
import { DeliveriesRepository } from './deliveries.repository';
import { pendingDelivery } from './testing/pending-delivery';
import { ACTIVATION_COLLECTIONS, ensureActivationIndexes, type DeliveryDocument } from './documents';

jest.setTimeout(60_000);

const NOW = new Date('2026-12-05T12:00:00Z');
const LEASE_MS = 60_000;
const CLAIMERS = 10;
const db = useTestConnection();
let repo: DeliveriesRepository;

beforeAll(async () => {
  await ensureActivationIndexes(db.conn);
  repo = new DeliveriesRepository(db.conn, undefined, { cas: (await detectServerProfile(db.conn)).cas });
});

beforeEach(async () => {
  await db.conn.db!.collection(ACTIVATION_COLLECTIONS.deliveries).deleteMany({});
});

/** Each instance claims the delivery as it read it, all at once; the owners that got it. */
async function claimedBy(read: DeliveryDocument): Promise<string[]> {
  const claims = await Promise.all(Array.from({ length: CLAIMERS }, (_, i) => repo.claim(read, `instance-${i}`, NOW, LEASE_MS)));
  return claims.filter((c) => c !== null).map((c) => c.leaseOwner as string);
}

it('gives a due delivery to exactly one of the instances claiming it at once', async () => {
  const docs = Array.from({ length: 20 }, (_, i) => pendingDelivery(`dlv_${i}`, NOW));
  await repo.insertNew(docs);
  for (const read of await repo.due([{ destinationId: 'dst_1', limit: 50 }], [0], NOW, new Set())) {
    const owners = await claimedBy(read);
    expect(owners).toHaveLength(1);
    expect(await repo.findById(read._id)).toMatchObject({ version: 1, leaseOwner: owners[0], nextAttemptAt: new Date(NOW.getTime() + LEASE_MS) });
  }
  // Claimed: not due again before the lease ends.
  expect(await repo.due([{ destinationId: 'dst_1', limit: 50 }], [0], NOW, new Set())).toEqual([]);
});

it('gives a delivery stored before versions to exactly one claimer too', async () => {
  await db.conn
    .db!.collection<DeliveryDocument>(ACTIVATION_COLLECTIONS.deliveries)
    .insertMany(Array.from({ length: 10 }, (_, i) => pendingDelivery(`dlv_old_${i}`, NOW)));
  const due = await repo.due([{ destinationId: 'dst_1', limit: 50 }], [0], NOW, new Set());
  expect(due).toHaveLength(10);
  for (const read of due) {
    expect(read.version).toBeUndefined();
    expect(await claimedBy(read)).toHaveLength(1);
    expect(await repo.findById(read._id)).toMatchObject({ version: 1 });
  }
});

it('writes nothing for an owner whose claim was taken after its lease ended', async () => {
  await repo.insertNew([pendingDelivery('dlv_1', NOW)]);
  const [read] = await repo.due([{ destinationId: 'dst_1', limit: 50 }], [0], NOW, new Set());
  const first = (await repo.claim(read as DeliveryDocument, 'instance-a', NOW, LEASE_MS)) as DeliveryDocument;
  const later = new Date(NOW.getTime() + LEASE_MS);
  const [again] = await repo.due([{ destinationId: 'dst_1', limit: 50 }], [0], later, new Set());
  const second = (await repo.claim(again as DeliveryDocument, 'instance-b', later, LEASE_MS)) as DeliveryDocument;
  const delivered = await repo.recordAttempt(
    second,
    { at: later, outcome: 'delivered', status: '200', ms: 5 },
    { status: 'delivered', nextAttemptAt: null, attempts: 1 },
  );
  expect(delivered).toMatchObject({ status: 'delivered', version: 3 });

  expect(
    await repo.recordAttempt(first, { at: later, outcome: 'retry', status: '503', ms: 5 }, { status: 'pending', nextAttemptAt: later, attempts: 1 }),
  ).toBeNull();
  expect(await repo.skip(first, 'late')).toBe(false);
  const stored = (await repo.findById('dlv_1')) as DeliveryDocument;
  expect(stored).toMatchObject({ status: 'delivered', version: 3, nextAttemptAt: null });
  expect(stored.log.map((a) => a.status)).toEqual(['200']);
});
