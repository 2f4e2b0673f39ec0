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
  log(
    `reads: sizes of ${keys.length} segments p50 ${list.p50} ms (counted instead: ${countMs} ms; ${mismatched.length} differ); preview p50 ${preview.p50} ms`,
  );
  return {
    segments: keys.length,
    listMs: list,
    previewMs: preview,
    countAllMs: countMs,
    sizesDiffering: mismatched.map((k) => [k, sizes[k], counted[k], after[k]]),
  };
}
