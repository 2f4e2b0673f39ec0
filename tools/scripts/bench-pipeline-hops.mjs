// Where the pipeline bench's latency goes, hop by hop: for every ping of the latency phase, when
// each stage's output for it appeared on Kafka (the record's timestamp, set by the producing
// service's clock on this same machine): POST → events.raw (collector) → events.resolved
// (identity) → profiles.changes (enrichment) → segments.membership (segmentation).
import { pct, sleep } from './bench-util.mjs';

/** The segment every ping enters: its entry on segments.membership ends the ping's trip. */
export const LATENCY_SEGMENT = 'bench-latency';

/** The topics (keys without the run's prefix) a ping passes, in order, and where each carries the ping's message id. */
export const HOPS = [
  { topic: 'events.raw', stage: 'collector', pingId: (p) => p.messageId },
  { topic: 'events.resolved', stage: 'identity', pingId: (p) => p.event?.messageId },
  { topic: 'profiles.changes', stage: 'enrichment', pingId: (p) => p.trigger?.messageId },
  {
    topic: 'segments.membership',
    stage: 'segmentation',
    pingId: (p) => (p.segmentKey === LATENCY_SEGMENT && p.change === 'entered' ? p.reason?.messageId : undefined),
  },
];

/**
 * Records the first record of each hop topic that carries a ping of this run (`ping-<runId>-…`
 * message ids); records without one are skipped unparsed, so following the busy topics costs
 * the bench's process a byte search per record.
 */
export function hopRecorder(runId) {
  const marker = Buffer.from(`"ping-${runId}-`);
  const seen = new Map(HOPS.map((h) => [h.topic, new Map()]));
  return {
    record(topicKey, message) {
      const hop = HOPS.find((h) => h.topic === topicKey);
      if (!hop || !message.value || message.value.indexOf(marker) < 0) return;
      const id = hop.pingId(JSON.parse(message.value.toString()).payload);
      const at = seen.get(topicKey);
      if (id && !at.has(id)) at.set(id, Number(message.timestamp));
    },
    /** The fewest pings it has seen on any hop's topic (the tap reads the topics side by side, each at its own pace). */
    fewestSeen() {
      return Math.min(...HOPS.map((h) => seen.get(h.topic).size));
    },
    /** p50/p99 of each hop over the pings sent (`sentAt`: message id → when its POST started), counting pings that made the hop. */
    summary(sentAt) {
      const points = [{ name: 'POST', at: sentAt }, ...HOPS.map((h) => ({ name: h.topic, stage: h.stage, at: seen.get(h.topic) }))];
      return points.slice(1).map((to, i) => {
        const from = points[i];
        const ms = [...sentAt.keys()].filter((id) => from.at.has(id) && to.at.has(id)).map((id) => to.at.get(id) - from.at.get(id));
        return { hop: `${from.name} → ${to.name}`, stage: to.stage, pings: ms.length, p50Ms: pct(ms, 50), p99Ms: pct(ms, 99) };
      });
    },
  };
}

/**
 * The hops of the pings in `sentAt`, read after the latency phase (from the topics' start, by a
 * consumer of its own, `<prefix>bench-hops`, which the run's clean-up deletes with its other
 * groups): the times are the records' own, so reading them late changes nothing and costs the
 * measured phases nothing. Waits up to `waitMs` until it has read the records of `expected` pings
 * (those the bench saw) on every hop's topic: the small membership topic is read long before the
 * large ones, so waiting for it alone timed only the pings read by then on the others.
 */
export async function hopTimes(ctx, sentAt, expected, waitMs = 60_000) {
  const { kafka, prefix, runId } = ctx;
  const recorder = hopRecorder(runId);
  ctx.hopTap = kafka.consumer({ groupId: `${prefix}bench-hops`, maxWaitTimeInMs: 200 });
  try {
    await ctx.hopTap.connect();
    for (const h of HOPS) await ctx.hopTap.subscribe({ topic: `${prefix}${h.topic}`, fromBeginning: true });
    await ctx.hopTap.run({ eachBatch: async ({ batch }) => batch.messages.forEach((m) => recorder.record(batch.topic.slice(prefix.length), m)) });
    const until = Date.now() + waitMs;
    while (Date.now() < until && recorder.fewestSeen() < expected) await sleep(200);
    return recorder.summary(sentAt);
  } finally {
    await ctx.hopTap.disconnect().catch(() => undefined);
  }
}

/** The hops as one report cell: `stage p50/p99` each. */
export function hopsLine(hops) {
  return (hops ?? []).map((h) => `${h.stage} ${h.p50Ms}/${h.p99Ms} ms (${h.pings})`).join(', ');
}
