/**
 * Single-message mode of the consumer host: after a batch attempt failed, each message is tried on
 * its own, retried by failure kind (see failure-kind.ts) with the partition paused during the
 * back-off, and dead-lettered when it cannot succeed.
 */
import { messageFields } from '@mosaic/shared-logging';
import { computeBackoffMs } from './backoff';
import { deadLetter } from './consumer-dead-letter';
import { handle, isGroupMembershipError, applyPause, type BatchRun, type ConsumerHostContext, type RetryState, type Runtime } from './consumer-runtime';
import { toError } from './errors';
import type { InboundMessage } from './inbound-message';

export type SingleOutcome = 'processed' | 'dead-lettered' | 'retry-later';

/**
 * Attempt number `attempt` of one message (`error`: its outcome, when it was already made).
 * A permanent failure, or an unknown one past `maxRetries`, is dead-lettered. Otherwise the
 * partition is paused and resumed after the back-off, so the kafkajs worker is free for the
 * other partitions meanwhile; the message is fetched again and retried then (`onBatch`).
 */
export async function processSingle(host: ConsumerHostContext, run: BatchRun, msg: InboundMessage, attempt: number, error?: Error): Promise<SingleOutcome> {
  const { rt, p } = run;
  run.single = true;
  let failure = error;
  if (!failure) {
    try {
      await handle(host, run, [msg], 'single', attempt);
      return 'processed';
    } catch (err) {
      // A rebalance is not the message's fault: never retry or dead-letter it for that.
      if (isGroupMembershipError(err) || p.isStale()) throw err;
      failure = toError(err);
    }
  }
  const kind = host.classify(failure);
  const { maxRetries, retryBackoffMs } = host.opts.config.consumer;
  if (kind === 'permanent' || (kind === 'unknown' && attempt > maxRetries)) {
    await deadLetter(host, rt, msg, failure, attempt, kind);
    return 'dead-lettered';
  }
  const delay = computeBackoffMs(attempt, { baseMs: retryBackoffMs, maxMs: host.opts.maxRetryBackoffMs ?? 10_000 });
  host.metrics.retries.inc({ topic: rt.topic });
  const left = kind === 'unknown' ? { retriesLeft: maxRetries - attempt + 1 } : {};
  host.log.warn({ ...messageFields(msg), err: failure, failureKind: kind, attempt, retryInMs: delay, ...left }, 'message handler failed; retrying');
  retryLater(host, run, msg, attempt, delay);
  return 'retry-later';
}

function retryLater(host: ConsumerHostContext, run: BatchRun, msg: InboundMessage, attempt: number, delayMs: number): void {
  const { rt, p } = run;
  const partition = p.batch.partition;
  rt.retrying.set(partition, { offset: msg.offset, attempt });
  p.pause();
  // Pausing one partition clears kafkajs' topic-wide pause.
  applyPause(host, rt);
  const timer = setTimeout(() => {
    rt.resumeTimers.delete(partition);
    if (host.isPaused()) return; // resume() resumes it
    try {
      rt.consumer?.resume([{ topic: rt.topic, partitions: [partition] }]);
    } catch (err) {
      // The consumer is stopped or restarting: a restarted consumer does not keep the pause.
      host.log.debug({ err, topic: rt.topic, partition }, 'could not resume a partition');
    }
  }, delayMs);
  rt.resumeTimers.set(partition, timer);
}

/** The retry state of `partition` if its next message is the one that failed; a stale one is dropped. */
export function takeRetryState(rt: Runtime, partition: number, firstOffset: string): RetryState | undefined {
  const state = rt.retrying.get(partition);
  rt.retrying.delete(partition);
  return state?.offset === firstOffset ? state : undefined;
}
