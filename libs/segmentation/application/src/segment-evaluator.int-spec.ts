// The evaluator's locking against the real MongoDB-wire server: batches of different partitions
// (different profiles) go on together, while one that touches a profile another holds — its own,
// or a merge survivor — waits for it; and a change is in its segment's size before it is published.
// The tests hold a batch between its write and its publish.
import { planSegments, type ChangeInput } from '@mosaic/segmentation-domain';
import { SegmentProfilesRepository, SegmentSizesRepository, type OutboxEntry } from '@mosaic/segmentation-data-access';
import { useTestConnection } from '@mosaic/shared-testing';
import { SegmentEvaluator } from './segment-evaluator';

const plan = planSegments([{ key: 'vip', version: 1, definition: { key: 'vip', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 100 } } }]);

const db = useTestConnection();

let n = 0;
function change(profileId: string, version: number, mergedInto?: string): ChangeInput {
  const at = new Date().toISOString();
  return {
    profileId,
    version,
    changed: ['computed.orders'],
    profile: { identifiers: [{ type: 'userId', value: `u-${profileId}` }], traits: {}, computed: { orders: { count: 1, lifetimeValue: 500 } } },
    trigger: { messageId: `m-${++n}`, kind: 'event', eventType: 'track', event: 'Order Completed', properties: {}, timestamp: at },
    at,
    ...(mergedInto ? { mergedInto } : {}),
  };
}

/** An evaluator whose first publish of `held`'s entries waits until the test opens the gate. */
function heldEvaluator(held: string) {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const published: string[] = [];
  let gated = false;
  let reachedGate: () => void = () => undefined;
  const waiting = new Promise<void>((resolve) => (reachedGate = resolve));
  const publish = async (entries: readonly OutboxEntry[]) => {
    if (!gated && entries.some((e) => e.profileId === held)) {
      gated = true;
      reachedGate();
      await gate;
    }
    published.push(...entries.map((e) => e.profileId));
  };
  const store = new SegmentProfilesRepository(db.conn, { instanceId: 'locks' });
  const evaluator = new SegmentEvaluator({ store, publish, sizes: new SegmentSizesRepository(db.conn, 'locks'), plan: () => plan });
  return { evaluator, store, published, open, waiting };
}

const settled = (p: Promise<unknown>) => Promise.race([p.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 300))]);

it('a batch of other profiles finishes while one is held; a batch of the held profile, or merging into it, waits for it', async () => {
  const { evaluator, store, published, open, waiting } = heldEvaluator('p-held');
  await store.ensureIndexes();
  const held = evaluator.applyChanges([{ change: change('p-held', 1), partition: 0 }]);
  await waiting;

  await evaluator.applyChanges([{ change: change('p-other', 1), partition: 1 }]);
  expect(published).toEqual(['p-other']);

  const sameProfile = evaluator.applyChanges([{ change: change('p-held', 2), partition: 0 }]);
  const mergingInto = evaluator.applyChanges([{ change: change('p-loser', 1, 'p-held'), partition: 2 }]);
  expect(await settled(sameProfile)).toBe(false);
  expect(await settled(mergingInto)).toBe(false);
  expect(published).toEqual(['p-other']);

  open();
  await Promise.all([held, sameProfile, mergingInto]);
  expect(published[1]).toBe('p-held');
  const doc = await store.profiles.findOne({ _id: 'p-held' });
  expect(doc?.segments).toEqual(['vip']);
});

it('counts a change into its segment size before publishing it: a consumer that sees the change reads a size that includes it', async () => {
  const { evaluator, store, open, waiting } = heldEvaluator('p-counted');
  await store.ensureIndexes();
  const sizes = new SegmentSizesRepository(db.conn, 'reader');
  const before = (await sizes.sizes()).get('vip') ?? 0;
  const applied = evaluator.applyChanges([{ change: change('p-counted', 1), partition: 0 }]);
  await waiting; // held in its publish
  expect((await sizes.sizes()).get('vip')).toBe(before + 1);
  open();
  await applied;
});
