// The consumer-group lag of the pipeline benchmark (bench-pipeline.mjs): every stage's group
// sampled every second (kafkajs admin: committed offsets vs end offsets), and what a stage did.
import { perSec, sleep } from './bench-util.mjs';

const log = (m) => console.error(`[bench pipeline] ${m}`);

/**
 * The consumer groups of the pipeline, upstream first: each stage commits only after producing
 * what it derived, so one pass in this order that finds every lag at 0 after the load ended means
 * everything was consumed by its last stage.
 */
export const STAGES = [
  { key: 'identity', service: 'identity', topicKey: 'eventsRaw', topic: 'events.raw' },
  { key: 'enrichment', service: 'enrichment', topicKey: 'eventsResolved', topic: 'events.resolved' },
  { key: 'segmentation', service: 'segmentation', topicKey: 'profilesChanges', topic: 'profiles.changes' },
  { key: 'activation.changes', service: 'activation', topicKey: 'profilesChanges', topic: 'profiles.changes' },
  { key: 'activation.membership', service: 'activation', topicKey: 'segmentsMembership', topic: 'segments.membership' },
];

const groupOf = (prefix, st) => `${prefix}${st.service}.${st.topicKey}`;

/** Every stage's lag and consumed count now. */
export async function sampleLag(admin, prefix) {
  const row = { t: Date.now(), stages: {} };
  for (const st of STAGES) {
    const topic = `${prefix}${st.topic}`;
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: groupOf(prefix, st), topics: [topic] });
    const at = new Map(committed.partitions.map((p) => [p.partition, Number(p.offset)]));
    let lag = 0;
    let consumed = 0;
    for (const p of ends) {
      const low = Number(p.low);
      const done = Math.max(at.get(p.partition) ?? -1, low);
      lag += Number(p.high) - done;
      consumed += done - low;
    }
    row.stages[st.key] = { lag, consumed };
  }
  return row;
}

/** Samples the lag of every stage once a second from `start(t0)` until `stop()`; `series` holds the rows (`s`: seconds since t0). */
export function lagSampler(admin, prefix) {
  const series = [];
  let sampling = false;
  let done = Promise.resolve();
  const start = (t0) => {
    sampling = true;
    done = (async () => {
      while (sampling) {
        const next = Date.now() + 1000;
        try {
          const row = await sampleLag(admin, prefix);
          series.push({ ...row, s: +((row.t - t0) / 1000).toFixed(1) });
        } catch (err) {
          log(`lag sample failed: ${err.message}`);
        }
        await sleep(Math.max(0, next - Date.now()));
      }
    })();
  };
  const stop = () => {
    sampling = false;
    return done;
  };
  return { series, start, stop };
}

/** Every stage's group has consumed everything in this row. */
export const drained = (row) => Object.values(row.stages).every((s) => s.lag === 0);

/**
 * What each stage consumed by `endRow` since `base` (a row sampled before the load, when an earlier
 * phase was consumed), and at what rate since `t0` (until the first row after the load with that count).
 */
export function stageResults({ series, endRow, loadEndedAt, t0, prefix, base }) {
  return Object.fromEntries(
    STAGES.map((st) => {
      const total = endRow?.stages[st.key].consumed ?? 0;
      const consumed = total - (base?.stages[st.key].consumed ?? 0);
      const doneAt = series.find((r) => r.stages[st.key].consumed >= total && r.t >= loadEndedAt)?.t ?? endRow?.t ?? Date.now();
      const seconds = (doneAt - t0) / 1000;
      return [
        st.key,
        {
          group: groupOf(prefix, st),
          topic: `${prefix}${st.topic}`,
          messagesConsumed: consumed,
          lagAtEnd: endRow?.stages[st.key].lag ?? null,
          seconds: +seconds.toFixed(1),
          messagesPerSec: perSec(consumed, seconds),
        },
      ];
    }),
  );
}

/** The series as the JSON has it: seconds and each stage's lag. */
export const lagSeries = (series) => series.map((r) => ({ s: r.s, ...Object.fromEntries(STAGES.map((st) => [st.key, r.stages[st.key].lag])) }));
