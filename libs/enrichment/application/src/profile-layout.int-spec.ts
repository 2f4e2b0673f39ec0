// The profile layout against the real server of the Jest run (FerretDB 1.24 or MongoDB): a few
// top-level fields and the rest of the state as JSON text, converted at the store's boundary;
// profiles stored before that layout (all nested) are still read, and rewritten in the new one
// by their next write. Here (not in data-access) because it also runs the batch applier and
// the RFM job over both layouts.
import type { Connection } from 'mongoose';
import type { ResolvedEvent } from '@mosaic/contracts';
import { type ProfileState, applyEvent } from '@mosaic/enrichment-domain';
import {
  ENRICHMENT_COLLECTIONS,
  type ProfileDocument,
  ProfileRepository,
  type StoredProfileDocument,
  fromStoredProfile,
  stateToDocument,
  toStoredProfile,
} from '@mosaic/enrichment-data-access';
import { BatchApplier } from './batch-applier';
import { RfmJob } from './rfm.job';
import { useTestStore } from './testing/test-store';

jest.setTimeout(60_000);

const DAY = 86_400_000;
const db = useTestStore('layout-test');
let conn: Connection;
let store: ProfileRepository;
let seq = 0;

beforeAll(() => {
  ({ conn, store } = db);
});

function resolved(profileId: string, fields: Partial<ResolvedEvent['event']>, daysAgo = 1): ResolvedEvent {
  const at = new Date(Date.now() - daysAgo * DAY).toISOString();
  return {
    kind: 'event',
    profileId,
    identifiers: [
      { type: 'userId', value: `u-${profileId}` },
      { type: 'anonymousId', value: `a-${profileId}` },
    ],
    event: {
      type: 'track',
      messageId: `m-${++seq}`,
      anonymousId: `a-${profileId}`,
      userId: `u-${profileId}`,
      properties: {},
      traits: {},
      context: {},
      timestamp: at,
      receivedAt: at,
      sourceId: 'src',
      ...fields,
    } as ResolvedEvent['event'],
  };
}

function fold(events: ResolvedEvent[]): ProfileState {
  let state: ProfileState | undefined;
  for (const e of events) state = applyEvent(state, e, { now: new Date().toISOString() }).state;
  return state as ProfileState;
}

/**
 * Keys that were awkward as field names (a leading `$`, dots, `Object.prototype` members, an
 * empty name, non-BMP characters), as traits, event names and categories (the domain escapes
 * those); with `rawValueKeys`, also inside a trait's value, which nothing escapes (the
 * collector does upstream) and which the old nested layout could not store at all.
 */
function awkwardState(profileId: string, rawValueKeys = true): ProfileState {
  const value = rawValueKeys ? { $nested: { 'x.y': [1, null, { $z: true }] } } : { '＄nested': { 'x．y': [1, null, { '＄z': true }] } };
  return fold([
    resolved(profileId, {
      type: 'identify',
      traits: { $plan: 'pro', 'a.b.c': 1, toString: 'x', constructor: 'y', '': 'empty', 'ü 🍩': value, $set_once: { 'first.source': 'ads' } },
    }),
    resolved(profileId, { event: '$weird.event', properties: { 'k.e.y': 1 } }),
    resolved(profileId, { event: 'Product Viewed', properties: { product_id: 'p.1', category: '$cat.egory', price: 12.5 } }),
    resolved(profileId, {
      event: 'Order Completed',
      properties: { order_id: 'o-1', total: 99.99, products: [{ product_id: 'p.1', price: 99.99, quantity: 1 }] },
    }),
  ]);
}

type RawDocument = { _id: string } & Record<string, unknown>;
const raw = () => conn.db!.collection<RawDocument>(ENRICHMENT_COLLECTIONS.profiles);
const applier = () => new BatchApplier({ store, anonymousTtlMs: 365 * DAY, redirectTtlMs: 30 * DAY, eventRetentionMs: 400 * DAY });

describe('profile layout', () => {
  it('round trip: a state with awkward keys is stored as top-level fields + JSON text and read back equal', async () => {
    const state = awkwardState('p-awkward');
    expect(Object.keys(state.traits)).toEqual(expect.arrayContaining(['＄plan', 'a．b．c', '＿constructor']));
    const doc = stateToDocument(state, { status: 'active', writeId: store.newWriteId() });
    // Pure: stored → logical gives back the logical document.
    const stored = toStoredProfile(doc);
    expect(fromStoredProfile(JSON.parse(JSON.stringify(stored)) as StoredProfileDocument)).toEqual(doc);

    expect((await store.writeProfiles([{ expected: null, doc }])).get('p-awkward')).toBe('applied');
    const onDisk = (await raw().findOne({ _id: 'p-awkward' })) as RawDocument;
    // No nested object at top level (FerretDB converts those field by field): orders are in the body.
    expect(Object.keys(onDisk).sort()).toEqual(['_id', 'body', 'buyer', 'idKeys', 'known', 'status', 'version', 'writeId']);
    expect(typeof onDisk['body']).toBe('string');
    expect(onDisk['buyer']).toBe(true);
    expect(JSON.parse(onDisk['body'] as string).computed.orders).toMatchObject({ count: 1, revenue: 99.99 });
    expect(await store.getProfile('p-awkward')).toEqual(doc);
    expect((await store.getProfiles(['p-awkward'])).get('p-awkward')).toEqual(doc);
    expect(await store.findByIdentifierKey('userId:u-p-awkward')).toEqual([doc]);
    expect(documentOrders(await collect(store.profilesWithOrders()))).toEqual([['p-awkward', 1]]);
  });

  it('a profile in the old nested layout is read as it was and rewritten in the new layout by the next event', async () => {
    const id = 'p-legacy';
    const before = stateToDocument(awkwardState(id, false), { status: 'active', writeId: 'legacy-write', expiresAt: new Date(Date.now() + DAY) });
    // Inserted as the service wrote it before: the whole state as nested fields.
    await raw().insertOne(before as unknown as RawDocument);
    // Read as it is stored (the driver stored the state's undefined values as null then).
    const asStored = await raw().findOne({ _id: id });
    expect(asStored).toHaveProperty('computed');
    const read = await store.getProfile(id);
    expect(read).toEqual(asStored);
    expect(read).toMatchObject({
      _id: id,
      version: before.version,
      status: 'active',
      known: true,
      idKeys: before.idKeys,
      traits: before.traits,
      identifiers: before.identifiers,
    });
    expect(read?.computed.orders).toEqual(before.computed.orders);
    expect((await store.getProfiles([id])).get(id)).toEqual(asStored);
    expect((await store.resolve(id)).doc).toEqual(asStored);
    expect(documentOrders(await collect(store.profilesWithOrders()))).toEqual([[id, 1]]);

    const event = resolved(id, { type: 'page', properties: { path: '/a.b' }, context: { page: { url: 'https://shop.example.com/a.b', path: '/a.b' } } }, 0);
    const { changes, stats } = await applier().applyBatch([{ messageId: event.event.messageId, correlationId: 'c-1', payload: event }]);
    expect(stats).toMatchObject({ applied: 1, conflicts: 0, profilesWritten: 1 });
    expect(changes[0]?.change.version).toBe(before.version + 1);

    const onDisk = (await raw().findOne({ _id: id })) as RawDocument;
    expect(typeof onDisk['body']).toBe('string');
    expect(onDisk).not.toHaveProperty('computed');
    expect(onDisk).not.toHaveProperty('traits');
    const after = (await store.getProfile(id)) as ProfileDocument;
    expect(after.version).toBe(before.version + 1);
    expect(after.traits).toEqual(before.traits);
    expect(after.computed.pageViews).toBe(before.computed.pageViews + 1);
    expect(after.computed.orders).toEqual(before.computed.orders);
    expect(after.appliedMessageIds).toEqual([...before.appliedMessageIds, event.event.messageId]);
    // The same event again is a duplicate, whichever layout it was guarded in.
    const again = await applier().applyBatch([{ messageId: event.event.messageId, correlationId: 'c-1', payload: event }]);
    expect(again.stats).toMatchObject({ applied: 0, duplicates: 1 });
  });

  it('RFM scores profiles of every layout and stores them in the current one', async () => {
    const legacy = stateToDocument(awkwardState('p-rfm-old', false), { status: 'active', writeId: 'legacy-write' });
    await raw().insertOne(legacy as unknown as RawDocument);
    // The first body layout: orders (and rfm) at top level, the rest in the body.
    const v1 = stateToDocument(awkwardState('p-rfm-v1'), { status: 'active', writeId: 'v1-write' });
    const { buyer: _buyer, body, ...v1Top } = toStoredProfile(v1);
    const { orders, ...v1Computed } = (JSON.parse(body) as { computed: Record<string, unknown> }).computed;
    await raw().insertOne({ ...v1Top, orders, body: JSON.stringify({ ...JSON.parse(body), computed: v1Computed }) } as unknown as RawDocument);
    expect(await store.getProfile('p-rfm-v1')).toEqual(v1);
    const current = stateToDocument(awkwardState('p-rfm-new'), { status: 'active', writeId: store.newWriteId() });
    await store.writeProfiles([{ expected: null, doc: current }]);
    const changed: string[] = [];
    const run = await new RfmJob({
      repository: store,
      holder: 'layout-test',
      leaseMs: 10_000,
      onChange: async (c) => void changed.push(c.profileId),
    }).runOnce();
    expect(run).toMatchObject({ ran: true, population: 3, updated: 3 });
    expect(changed.sort()).toEqual(['p-rfm-new', 'p-rfm-old', 'p-rfm-v1']);
    for (const id of ['p-rfm-old', 'p-rfm-v1', 'p-rfm-new']) {
      const onDisk = (await raw().findOne({ _id: id })) as RawDocument;
      expect(onDisk).not.toHaveProperty('rfm');
      expect(onDisk).not.toHaveProperty('orders');
      expect(onDisk['buyer']).toBe(true);
      const stored = (JSON.parse(onDisk['body'] as string) as { computed: { rfm: unknown } }).computed.rfm;
      expect(stored).toMatchObject({ r: expect.any(Number), f: expect.any(Number), m: expect.any(Number) });
      expect((await store.getProfile(id))?.computed.rfm).toEqual(stored);
    }
    // Unchanged scores: nothing written the second time.
    expect(await new RfmJob({ repository: store, holder: 'layout-test', leaseMs: 10_000, onChange: async () => undefined }).runOnce()).toMatchObject({
      population: 3,
      updated: 0,
    });
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function documentOrders(rows: { _id: string; orders: { count: number } }[]): [string, number][] {
  return rows.map((r) => [r._id, r.orders.count]);
}
