/**
 * What the consumer host's parts share: the state of one topic's consumer (`Runtime`), the host
 * context they are given, and one fetched partition batch being processed (`BatchRun`).
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from '@mosaic/shared-logging';
import type { FailureKind } from './failure-kind';
import type { InboundMessage } from './inbound-message';
import type { ConsumerMetrics } from './metrics';
import type { ConsumerSupervisor } from './consumer-supervisor';
import { TRACING_OFF, traceConsume } from './tracing';
import type { BatchContext, ConsumerCrashInfo, ConsumerHostOptions, ConsumerRegistration, ConsumerState } from './consumer-types';

export interface Runtime {
  reg: ConsumerRegistration;
  topic: string;
  groupId: string;
  /** The current kafkajs consumer (a restart replaces it). */
  consumer?: Consumer;
  /** Starts, restarts after crashes and stops the consumer; set by `start()`. */
  supervisor?: ConsumerSupervisor;
  state: ConsumerState;
  lastPollAt: number | null;
  startedAt: number;
  assigned: number[];
  crash?: ConsumerCrashInfo;
  /** The message of each partition waiting for its next attempt (the partition is paused meanwhile). */
  retrying: Map<number, RetryState>;
  /** The back-off timer of each partition paused for a retry. */
  resumeTimers: Map<number, NodeJS.Timeout>;
}

export interface RetryState {
  offset: string;
  /** Attempts made so far. */
  attempt: number;
}

/** The host's settings and state its parts (batch processing, retries, dead letters, consumer set-up) read. */
export interface ConsumerHostContext {
  readonly opts: ConsumerHostOptions;
  readonly log: Logger;
  readonly metrics: ConsumerMetrics;
  readonly dlqTopic: string;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly classify: (err: Error) => FailureKind;
  readonly crashListeners: ReadonlySet<(info: ConsumerCrashInfo) => void>;
  /** Set by `ConsumerHost.pause()`. */
  isPaused(): boolean;
}

/** One fetched partition batch being processed. */
export interface BatchRun {
  rt: Runtime;
  p: EachBatchPayload;
  messages: InboundMessage[];
  ctx: (mode: BatchContext['mode'], attempt: number) => BatchContext;
  /** Offset of the last message processed or dead-lettered (resolved). */
  done?: string;
  processed: number;
  /** Some message went through `processSingle` (for the duration metric). */
  single: boolean;
}

export function newRuntime(reg: ConsumerRegistration, topic: string, groupId: string): Runtime {
  return { reg, topic, groupId, state: 'registered', lastPollAt: null, startedAt: 0, assigned: [], retrying: new Map(), resumeTimers: new Map() };
}

/** The whole topic paused on the consumer when the host is paused (a no-op before `run()`: the group join applies it). */
export function applyPause(host: ConsumerHostContext, rt: Runtime): void {
  if (!host.isPaused() || !rt.consumer) return;
  try {
    rt.consumer.pause([{ topic: rt.topic }]);
  } catch (err) {
    host.log.debug({ err, topic: rt.topic }, 'could not pause a consumer yet');
  }
}

/** Runs the registered handler on `messages`, traced. */
export function handle(host: ConsumerHostContext, run: BatchRun, messages: InboundMessage[], mode: BatchContext['mode'], attempt: number): Promise<void> {
  const tracing = host.opts.tracing ?? TRACING_OFF;
  return traceConsume(tracing, messages, { groupId: run.rt.groupId, mode, attempt }, () => run.rt.reg.handler(messages, run.ctx(mode, attempt)));
}

export function markDone(run: BatchRun, msg: InboundMessage): void {
  run.p.resolveOffset(msg.offset); // kafkajs maps the last message to batch.lastOffset() (control records)
  run.done = msg.offset;
  run.processed++;
}

/**
 * Errors that mean this member lost (or is losing) its partitions: a rebalance in progress, an
 * expired session ("The coordinator is not aware of this member"), a new generation. kafkajs
 * rejoins the group when they reach it.
 */
export function isGroupMembershipError(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return (
    type === 'REBALANCE_IN_PROGRESS' ||
    type === 'UNKNOWN_MEMBER_ID' ||
    type === 'ILLEGAL_GENERATION' ||
    type === 'NOT_COORDINATOR_FOR_GROUP' ||
    type === 'FENCED_INSTANCE_ID'
  );
}
