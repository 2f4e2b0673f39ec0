// A backfill against the real MongoDB-wire server, stopped mid-way by one instance and taken
// over by another: every profile ends evaluated exactly as one uninterrupted run would leave it
// (members are the profiles matching, each entry published once, the kept size exact), and every
// outbox confirmed. And a preview over the same scan stops within its time budget.
import { emptyState, planSegments, type ProfileSegmentState } from '@mosaic/segmentation-domain';
import { BackfillsRepository, SegmentProfilesRepository, SegmentSizesRepository, type OutboxEntry } from '@mosaic/segmentation-data-access';
import { useTestConnection, waitFor } from '@mosaic/shared-testing';
import { BackfillJob } from './backfill.job';
import { SegmentEvaluator } from './segment-evaluator';

const PROFILES = 240;
const ltv = (i: number): number => (i * 37) % 1000;
const plan = planSegments([
  { key: 'ltv-900', version: 1, definition: { key: 'ltv-900', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 900 } } },
]);

const db = useTestConnection();

function profileDoc(i: number) {
  const id = `p-${String(i).padStart(4, '0')}`;
  const state: ProfileSegmentState = {
    ...emptyState(id),
    sourceVersion: 1,
    profile: { identifiers: [{ type: 'userId', value: `u-${i}` }], traits: {}, computed: { orders: { count: 1, lifetimeValue: ltv(i) } } },
  };
  return {
    _id: id,
    partition: i % 3,
    version: 1,
    writeId: `w-${i}`,
    state: JSON.stringify(state),
    segments: [],
    timerAt: null,
    outbox: null,
    updatedAt: new Date(),
  };
}

function instance(name: string, published: OutboxEntry[], onPage?: () => void) {
  const store = new SegmentProfilesRepository(db.conn, { instanceId: name });
  const backfills = new BackfillsRepository(db.conn);
  const sizes = new SegmentSizesRepository(db.conn, name);
  const evaluator = new SegmentEvaluator({ store, publish: async (entries) => void published.push(...entries), sizes, plan: () => plan });
  const job = new BackfillJob({ backfills, store, evaluator, ensurePlan: async () => undefined, instanceId: name, pageSize: 40, rate: 0, onPage });
  return { store, backfills, sizes, job };
}

it('a backfill stopped after two pages and taken over by another instance evaluates every profile once, confirming the outboxes', async () => {
  const published: OutboxEntry[] = [];
  let pages = 0;
  const a = instance('a', published, () => {
    pages += 1;
    if (pages === 2) void a.job.stop(); // the page in progress finishes, then the job is released
  });
  await a.store.ensureIndexes();
  await a.backfills.ensureIndexes();
  await a.sizes.ensureIndexes();
  await a.store.profiles.insertMany(Array.from({ length: PROFILES }, (_, i) => profileDoc(i)));

  await a.job.request('ltv-900', 1);
  await a.job.tick(); // joins the pass, which ends once stopped
  const halfway = await a.backfills.progress('ltv-900');
  expect(halfway).toMatchObject({ status: 'running', processed: 80 });

  const b = instance('b', published);
  await b.job.tick();
  const done = await b.backfills.progress('ltv-900');
  const expected = Array.from({ length: PROFILES }, (_, i) => i)
    .filter((i) => ltv(i) > 900)
    .map((i) => `p-${String(i).padStart(4, '0')}`);
  expect(done).toMatchObject({ status: 'done', processed: PROFILES, changed: expected.length, published: expected.length });
  expect(
    published
      .filter((e) => e.change === 'entered')
      .map((e) => e.profileId)
      .sort(),
  ).toEqual(expected);
  expect(published).toHaveLength(expected.length);

  const docs = await b.store.profiles.find({}).toArray();
  expect(docs).toHaveLength(PROFILES);
  expect(
    docs
      .filter((d) => d.segments.includes('ltv-900'))
      .map((d) => d._id)
      .sort(),
  ).toEqual(expected);
  // confirmed: no outbox left, no grace deadline waiting for the timer sweep
  expect(docs.filter((d) => d.outbox !== null || d.timerAt !== null)).toEqual([]);
  expect((await b.sizes.sizes()).get('ltv-900')).toBe(expected.length);
  await Promise.all([a.sizes.fold(), b.sizes.fold()]);
  expect((await b.sizes.sizes()).get('ltv-900')).toBe(expected.length);
});

it('a preview scans every profile without a time budget, and with one starts no page that would end past it, with an estimate', async () => {
  let now = Date.parse('2026-12-05T12:00:00Z');
  const store = new SegmentProfilesRepository(db.conn, { instanceId: 'preview' });
  const evaluator = new SegmentEvaluator({
    store,
    publish: async () => undefined,
    sizes: new SegmentSizesRepository(db.conn, 'preview'),
    plan: () => plan,
    clock: () => (now += 100), // each call 100 ms later
  });
  const definition = { key: 'preview-ltv', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 900 } } as const;
  const matching = Array.from({ length: PROFILES }, (_, i) => ltv(i)).filter((v) => v > 900).length;
  expect(await evaluator.preview(definition, { maxProfiles: 10_000, sample: 3, pageSize: 40 })).toMatchObject({
    scanned: PROFILES,
    matched: matching,
    complete: true,
  });
  const bounded = await evaluator.preview(definition, { maxProfiles: 10_000, sample: 3, pageSize: 40, maxMillis: 250 });
  expect(bounded.complete).toBe(false);
  expect(bounded.scanned).toBeGreaterThanOrEqual(40);
  expect(bounded.scanned).toBeLessThan(PROFILES);
  // A page takes two clock readings here (200 ms): with 700 ms, pages end at 300, 500 and 700 ms;
  // a fourth would end at 900 ms, past the budget, although it would start before it (700 ms).
  const started = now;
  const timed = await evaluator.preview(definition, { maxProfiles: 10_000, sample: 3, pageSize: 40, maxMillis: 700 });
  expect(timed).toMatchObject({ scanned: 120, complete: false });
  expect(now - started).toBeLessThanOrEqual(700 + 100); // the reading that decided to stop
});

it('a pass started by a request that fails (the store unavailable) goes to onError, not to an unhandled rejection', async () => {
  const store = new SegmentProfilesRepository(db.conn, { instanceId: 'failing' });
  const backfills = new BackfillsRepository(db.conn);
  const evaluator = new SegmentEvaluator({ store, publish: async () => undefined, sizes: new SegmentSizesRepository(db.conn, 'failing'), plan: () => plan });
  const failure = new Error('store unavailable (injected)');
  jest.spyOn(backfills, 'findRunnable').mockRejectedValue(failure);
  const errors: unknown[] = [];
  const job = new BackfillJob({ backfills, store, evaluator, ensurePlan: async () => undefined, instanceId: 'failing', onError: (err) => errors.push(err) });
  expect(await job.request('ltv-failing', 1)).toMatchObject({ status: 'running' });
  await waitFor(() => errors.length === 1 || null);
  expect(errors).toEqual([failure]);
});
