// The reads phase of `npm run bench -- segmentation` (./bench-segmentation.mjs), after the
// backfill: sizes of every segment, a preview, and what sizes cost when counted.
import { pct } from './bench-util.mjs';

const log = (m) => console.error(`[bench segmentation] ${m}`);

/** Times `call` `times` times in a row (ms): p50 and max. */
async function timed(times, call) {
  const ms = [];
  for (let i = 0; i < times; i += 1) {
    const t = performance.now();
    await call();
    ms.push(performance.now() - t);
  }
  return { p50: Math.round(pct(ms, 50)), max: Math.round(Math.max(...ms)) };
}

/**
 * What one timer round's query costs over the stored profiles: the service's (one minute, by
 * `timerSlot`: segment-profiles.repository.ts `due`) against the range every round sent before
 * minutes existed (what a sweep still sends), both for six partitions, sorted, at most 200.
 */
async function timerRoundCost(col) {
  const now = new Date();
  const query = (slot) =>
    col
      .find({ ...(slot === undefined ? {} : { timerSlot: slot }), partition: { $in: [0, 1, 2, 3, 4, 5] }, timerAt: { $ne: null, $lte: now } })
      .sort({ timerAt: 1 })
      .limit(200)
      .toArray();
  return { slot: await timed(5, () => query(Math.floor(now.getTime() / 60_000))), sweep: await timed(3, () => query(undefined)) };
}

/**
 * Reads over the stored profiles, after the backfill: the sizes of every segment
 * (`GET /v1/segments`: kept counts), a preview of an unsaved definition (default `maxProfiles`),
 * and, as the comparison, what sizes cost when counted: one `countDocuments` per segment.
 */
export async function readsPhase(ctx) {
  const list = await timed(5, async () => {
    const r = await ctx.api('GET', '/v1/segments');
    if (r.status !== 200) throw new Error(`GET /v1/segments: ${r.status}`);
    return r;
  });
  const sizes = Object.fromEntries((await ctx.api('GET', '/v1/segments')).json.segments.map((x) => [x.key, x.size]));
  const preview = await timed(3, () =>
    ctx.api('POST', '/v1/segments/preview', { key: 'bf-preview', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 500 } }),
  );
  const col = ctx.mongo.db(ctx.dbName).collection('segmentation_profiles');
  const keys = Object.keys(sizes);
  const t = performance.now();
  const counted = {};
  for (const key of keys) counted[key] = await col.countDocuments({ segments: key });
  const countMs = Math.round(performance.now() - t);
  // a timer may fire while the counts run: a size differs only if it differs before and after
  const after = Object.fromEntries((await ctx.api('GET', '/v1/segments')).json.segments.map((x) => [x.key, x.size]));
  const mismatched = keys.filter((k) => counted[k] !== sizes[k] && counted[k] !== after[k]);
  const timerRound = await timerRoundCost(col);
  log(
    `reads: sizes of ${keys.length} segments p50 ${list.p50} ms (counted instead: ${countMs} ms; ${mismatched.length} differ); preview p50 ${preview.p50} ms; ` +
      `a timer round's query p50 ${timerRound.slot.p50} ms (the range over every profile instead: ${timerRound.sweep.p50} ms)`,
  );
  return {
    segments: keys.length,
    listMs: list,
    previewMs: preview,
    countAllMs: countMs,
    timerRoundMs: timerRound,
    sizesDiffering: mismatched.map((k) => [k, sizes[k], counted[k], after[k]]),
  };
}
