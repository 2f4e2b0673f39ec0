// The delivery log's retention against the real MongoDB-wire server: a delivery that finished
// (delivered, dead, skipped) is deleted once its retention passed, by the first sweep of a
// process (by range) and by the later ones (by hour); a pending one, one being retried and a
// replayed one (pending again) are kept whatever their age.
import { useTestConnection } from '@mosaic/shared-testing';
import { DeliveriesRepository } from './deliveries.repository';
import { pendingDelivery } from './testing/pending-delivery';
import { ACTIVATION_COLLECTIONS, ensureActivationIndexes, type DeliveryAttempt, type DeliveryDocument } from './documents';

jest.setTimeout(60_000);

const HOUR = 3_600_000;
const db = useTestConnection();

const attempt = (outcome: DeliveryAttempt['outcome']): DeliveryAttempt => ({ at: new Date(), outcome, status: '200', ms: 5 });

async function storedIds(): Promise<string[]> {
  const docs = await db.conn.db!.collection(ACTIVATION_COLLECTIONS.deliveries).find({}).project({ _id: 1 }).toArray();
  return docs.map((d) => String(d._id)).sort();
}

/** Deliveries in every state, finished ones expiring an hour after they finished. */
async function deliveriesInEveryState(repo: DeliveriesRepository, prefix: string): Promise<void> {
  const docs = new Map(['pending', 'retrying', 'delivered', 'skipped', 'dead', 'replayed'].map((s) => [s, pendingDelivery(`${prefix}-${s}`)]));
  await repo.insertNew([...docs.values()]);
  const doc = (state: string) => docs.get(state) as DeliveryDocument;
  await repo.recordAttempt(doc('retrying'), attempt('retry'), { status: 'pending', nextAttemptAt: new Date(Date.now() + 60_000), attempts: 1 });
  await repo.recordAttempt(doc('delivered'), attempt('delivered'), { status: 'delivered', nextAttemptAt: null, attempts: 1, deliveredAt: new Date() });
  await repo.skip(doc('skipped'), 'frequency cap');
  await repo.recordAttempt(doc('dead'), attempt('fail'), { status: 'dead', nextAttemptAt: null, attempts: 1 });
  await repo.recordAttempt(doc('replayed'), attempt('fail'), { status: 'dead', nextAttemptAt: null, attempts: 1 });
  expect(await repo.replay({ ids: [`${prefix}-replayed`] })).toBe(1);
}

beforeAll(async () => {
  await ensureActivationIndexes(db.conn);
});

beforeEach(async () => {
  await db.conn.db!.collection(ACTIVATION_COLLECTIONS.deliveries).deleteMany({});
});

it('files a finished delivery under the hour its retention ends, and a replayed one under none', async () => {
  const repo = new DeliveriesRepository(db.conn, HOUR);
  const before = Date.now();
  await deliveriesInEveryState(repo, 'a');
  const docs = new Map((await db.conn.db!.collection<DeliveryDocument>(ACTIVATION_COLLECTIONS.deliveries).find({}).toArray()).map((d) => [d._id, d]));
  for (const finished of ['a-delivered', 'a-skipped', 'a-dead']) {
    const expiresAt = docs.get(finished)?.expiresAt?.getTime() ?? 0;
    expect(expiresAt).toBeGreaterThanOrEqual(before + HOUR);
    expect(docs.get(finished)?.expiryHour).toBe(Math.floor(expiresAt / HOUR));
  }
  for (const open of ['a-pending', 'a-retrying', 'a-replayed']) {
    expect(docs.get(open)).toMatchObject({ status: 'pending' });
    expect(docs.get(open)?.expiresAt).toBeUndefined();
    expect(docs.get(open)?.expiryHour).toBeUndefined();
  }
});

it('deletes finished deliveries past their retention, by range at a first sweep and by hour after, and keeps the open ones', async () => {
  const repo = new DeliveriesRepository(db.conn, HOUR);
  await deliveriesInEveryState(repo, 'a');
  const open = (prefix: string) => [`${prefix}-pending`, `${prefix}-replayed`, `${prefix}-retrying`];

  expect(await repo.sweepExpired(new Date())).toBe(0); // not expired yet
  await deliveriesInEveryState(repo, 'b');
  // Three hours on: the first sweep already ran (by range), so this one deletes by hour.
  expect(await repo.sweepExpired(new Date(Date.now() + 3 * HOUR))).toBe(6);
  expect(await storedIds()).toEqual([...open('a'), ...open('b')].sort());

  // A new process's first sweep deletes by range.
  await deliveriesInEveryState(repo, 'c');
  expect(await new DeliveriesRepository(db.conn, HOUR).sweepExpired(new Date(Date.now() + 3 * HOUR))).toBe(3);
  expect(await storedIds()).toEqual([...open('a'), ...open('b'), ...open('c')].sort());
});
