/**
 * Batch mode of the consumer host: one fetched partition batch goes to the handler whole; the
 * offsets are committed only after its promise resolved. When it fails, the batch falls back to
 * one message at a time (message-retry.ts).
 */
import type { EachBatchPayload } from 'kafkajs';
import { handle, isGroupMembershipError, markDone, type BatchRun, type ConsumerHostContext, type Runtime } from './consumer-runtime';
import { toError } from './errors';
import { toInboundMessage } from './inbound-decode';
import type { InboundMessage } from './inbound-message';
import { processSingle, takeRetryState } from './message-retry';

const nextOffset = (offset: string): string => (BigInt(offset) + 1n).toString();

/** kafkajs' `eachBatch` of one consumer. */
export async function onBatch(host: ConsumerHostContext, rt: Runtime, p: EachBatchPayload): Promise<void> {
  const { batch } = p;
  if (batch.messages.length === 0 || !p.isRunning() || p.isStale()) return;
  const started = Date.now();
  const run = newBatchRun(rt, p);
  try {
    await processBatch(host, run);
  } catch (err) {
    // The DLQ write failed, or the partition was lost: keep what is done, do not commit past
    // it, and let kafkajs redeliver from the failed message.
    await commitDone(host, run).catch((e: unknown) => host.log.warn({ err: e, topic: rt.topic }, 'commit after failure failed'));
    throw err;
  }
  await commitDone(host, run);
  host.metrics.batchDuration.observe({ topic: rt.topic, mode: run.single ? 'single' : 'batch' }, (Date.now() - started) / 1000);
}

function newBatchRun(rt: Runtime, p: EachBatchPayload): BatchRun {
  const { batch } = p;
  return {
    rt,
    p,
    messages: batch.messages.map((m) => toInboundMessage(rt.reg.topic, rt.topic, batch.partition, m)),
    processed: 0,
    single: false,
    ctx: (mode, attempt) => ({
      topic: rt.topic,
      topicKey: rt.reg.topic,
      partition: batch.partition,
      groupId: rt.groupId,
      mode,
      attempt,
      heartbeat: p.heartbeat,
      isRunning: p.isRunning,
      isStale: p.isStale,
    }),
  };
}

async function processBatch(host: ConsumerHostContext, run: BatchRun): Promise<void> {
  const { rt, p, messages } = run;
  // A message waiting for its next attempt is the first one fetched again after the resume.
  const waiting = takeRetryState(rt, p.batch.partition, (messages[0] as InboundMessage).offset);
  let from = 0;
  if (waiting) {
    const outcome = await processSingle(host, run, messages[0] as InboundMessage, waiting.attempt + 1);
    if (outcome === 'retry-later') return;
    markDone(run, messages[0] as InboundMessage);
    from = 1;
  }
  if (from < messages.length) await processFrom(host, run, from);
}

/** The batch handler on `messages[from..]`; if it fails, one message at a time. */
async function processFrom(host: ConsumerHostContext, run: BatchRun, from: number): Promise<void> {
  const { rt, p, messages } = run;
  const rest = messages.slice(from);
  const last = rest[rest.length - 1] as InboundMessage;
  let batchError: Error | undefined;
  try {
    await handle(host, run, rest, 'batch', 1);
  } catch (err) {
    batchError = toError(err);
  }
  // Lost the partition meanwhile (a heartbeat failed with a rebalance error, or the batch went
  // stale): not the messages' fault. Rethrow so kafkajs rejoins; nothing more is committed, and
  // the batch is redelivered to whoever owns the partition now (handlers are idempotent).
  if (batchError && (isGroupMembershipError(batchError) || p.isStale() || !p.isRunning())) {
    host.log.warn(
      { err: batchError, topic: rt.topic, partition: p.batch.partition, firstOffset: rest[0]?.offset, lastOffset: last.offset },
      'batch interrupted by a rebalance; it will be redelivered',
    );
    throw batchError;
  }
  if (!batchError) {
    if (p.isStale()) return;
    for (const msg of rest) markDone(run, msg);
    return;
  }
  host.log.warn(
    { err: batchError, topic: rt.topic, partition: p.batch.partition, firstOffset: rest[0]?.offset, lastOffset: last.offset, size: rest.length },
    'batch handler failed; processing the batch one message at a time',
  );
  for (const msg of rest) {
    if (!p.isRunning() || p.isStale()) return;
    const outcome = await processSingle(host, run, msg, 1, rest.length === 1 ? batchError : undefined);
    if (outcome === 'retry-later') return;
    markDone(run, msg);
    await p.heartbeat();
  }
}

async function commitDone(host: ConsumerHostContext, run: BatchRun): Promise<void> {
  const { rt, p, messages } = run;
  if (run.done === undefined || p.isStale()) return;
  const last = messages[messages.length - 1] as InboundMessage;
  const offset = run.done === last.offset ? nextOffset(p.batch.lastOffset()) : nextOffset(run.done);
  await p.commitOffsetsIfNecessary({ topics: [{ topic: p.batch.topic, partitions: [{ partition: p.batch.partition, offset }] }] });
  const lag = BigInt(p.batch.highWatermark) - BigInt(offset);
  host.metrics.lag.set({ topic: rt.topic, partition: String(p.batch.partition) }, Number(lag > 0n ? lag : 0n));
  host.metrics.consumed.inc({ topic: rt.topic, group: rt.groupId }, run.processed);
  run.processed = 0;
  run.done = undefined;
}
