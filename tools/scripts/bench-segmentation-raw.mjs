// The raw limits of the segmentation benchmark (bench-segmentation.mjs), measured in the same run:
// the engine alone, the engine's part of a backfill, and the store alone.
import { randomUUID } from 'node:crypto';
import { changeSource } from './bench-segmentation-load.mjs';
import { oneDecimalRate as rate, prng, timedOps } from './bench-util.mjs';

/** raw.evaluate: profile changes applied per second by the pure domain over the 50 segments (the CPU ceiling). */
export async function rawEvaluate({ domain, defs, ids, opts }) {
  const plan = domain.planSegments(defs.map((d) => ({ key: d.key, version: 1, definition: d })));
  const next = changeSource(1, ids);
  const states = new Map();
  const { ops, seconds } = await timedOps(1, Math.min(opts.DURATION, 5), async (k) => {
    for (let j = 0; j < 200; j += 1) {
      const id = ids[(k * 200 + j) % ids.length];
      const c = next(id);
      states.set(id, domain.applyChange(states.get(id) ?? domain.emptyState(id), c, plan, Date.now()).state);
    }
    await new Promise((r) => setImmediate(r));
    return 200;
  });
  const sample = JSON.stringify(states.values().next().value).length;
  return { changesPerSec: rate(ops, seconds), stateBytes: sample };
}

/** raw.backfill: the engine's part of a backfill (parse, evaluate, serialise; no store) over generated profiles. */
export function rawBackfillEngine({ domain, defs, opts }) {
  const profiles = opts.ENGINE_BACKFILL;
  const gen = prng(4);
  const seg = { key: 'bf-ltv-900', version: 1, definition: { key: 'bf-ltv-900', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 900 } } };
  const bfPlan = domain.planSegments([...defs.map((d) => ({ key: d.key, version: 1, definition: d })), seg]);
  const keys = new Set([seg.key]);
  const now = Date.now();
  let changed = 0;
  const t = Date.now();
  for (let i = 0; i < profiles; i += 1) {
    const id = `g-${i}`;
    // as the store holds it: JSON text, parsed, evaluated, serialised again when changed
    const text = JSON.stringify({
      ...domain.emptyState(id),
      sourceVersion: 1,
      profile: {
        identifiers: [{ type: 'userId', value: `u-${i}` }],
        traits: { plan: 'pro' },
        computed: { orders: { count: 1, lifetimeValue: Math.round(gen() * 1000) } },
      },
    });
    const r = domain.applyDefinitions(JSON.parse(text), bfPlan, keys, now);
    if (r.changed) {
      changed += 1;
      JSON.stringify(r.state);
    }
  }
  const seconds = (Date.now() - t) / 1000;
  return { profiles, seconds, profilesPerSec: rate(profiles, seconds), changed };
}

/** raw.store: replaceOne upserts of segmentation-sized documents (bulkWrite of 50, 1 in flight) and a full scan. */
export async function rawStore({ mongo, dbName, opts }, stateBytes) {
  const col = mongo.db(dbName).collection('raw_segment_profiles');
  const doc = (i, k) => ({
    _id: `r-${i}`,
    partition: i % 6,
    version: k,
    writeId: randomUUID(),
    state: 'x'.repeat(stateBytes),
    segments: ['ltv-100', 'views-1'],
    timerAt: null,
    outbox: null,
    updatedAt: new Date(),
  });
  const N = Math.min(opts.PROFILES, 5000);
  for (let i = 0; i < N; i += 500) await col.insertMany(Array.from({ length: Math.min(500, N - i) }, (_, j) => doc(i + j, 0)));
  const upserts = await timedOps(1, opts.DURATION, async (k) => {
    const ops = Array.from({ length: 50 }, (_, j) => {
      const { _id, ...replacement } = doc((k * 50 + j) % N, k);
      return { replaceOne: { filter: { _id }, replacement, upsert: true } };
    });
    await col.bulkWrite(ops, { ordered: false });
    return 50;
  });
  const t = Date.now();
  let scanned = 0;
  for await (const _ of col.find({}).batchSize(1000)) scanned += 1;
  const scan = rate(scanned, (Date.now() - t) / 1000);
  await col.drop().catch(() => undefined);
  return { upsertsPerSec: rate(upserts.ops, upserts.seconds), scanDocsPerSec: scan };
}
