/**
 * Batch consumption for every stage: one kafkajs consumer per topic, commit only after the
 * handler's promise resolved, per-message retries by failure kind (see failure-kind.ts),
 * dead-letter topic, health, metrics and a graceful drain on stop.
 */
import { PartitionAssigners, type Consumer, type EachBatchPayload, type IHeaders, type Kafka, type KafkaMessage } from 'kafkajs';
import {
  DLQ_TOPIC_OF,
  HEADER_CORRELATION_ID,
  HEADER_MESSAGE_ID,
  Schemas,
  TOPIC_SPECS,
  topicName,
  type ServiceName,
  type TopicKey,
} from '@mosaic/contracts';
import type { KafkaConfig } from '@mosaic/shared-config';
import { Registry, messageFields, type Logger } from '@mosaic/shared-logging';
import { computeBackoffMs } from './backoff';
import { deadLetterFor } from './dead-letter';
import type { InboundMessage } from './inbound-message';

export type { InboundMessage } from './inbound-message';
import { toError } from './errors';
import { classifyFailure, type FailureKind } from './failure-kind';
import { consumerMetrics, type ConsumerMetrics } from './metrics';
import { produceMessage, type MessageSender } from './producer';
import { createStickyAssigner } from './sticky-assigner';
import { TRACING_OFF, traceConsume, type Tracing } from './tracing';

export interface BatchContext {
  topic: string;
  topicKey: TopicKey;
  partition: number;
  groupId: string;
  /** `batch`: the whole fetched batch; `single`: one message, after the batch attempt failed. */
  mode: 'batch' | 'single';
  /** 1-based attempt number (always 1 in batch mode). */
  attempt: number;
  /** Heartbeats the group (cheap: only sends when the heartbeat interval elapsed). Call it in long handlers. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping. */
  isRunning(): boolean;
  /** True when this batch is no longer ours (a seek happened). */
  isStale(): boolean;
}

/** Processes one partition batch; resolve only when its effects are durable (offsets are committed after). */
export type BatchHandler = (messages: InboundMessage[], ctx: BatchContext) => Promise<void>;

export interface ConsumerRegistration {
  topic: TopicKey;
  handler: BatchHandler;
  /**
   * Where a group without committed offsets starts; default `true` (earliest retained offset),
   * so a freshly deployed stage misses nothing. `false` = only new messages.
   */
  fromBeginning?: boolean;
}

export interface ConsumerHostOptions {
  kafka: Kafka;
  config: KafkaConfig;
  /** Picks the dead-letter topic (`DLQ_TOPIC_OF[service]`) and the DLQ envelope's `producer`. */
  service: ServiceName;
  /** Writes dead letters (the process's EventProducer). */
  producer: MessageSender;
  logger: Logger;
  registry?: Registry;
  /** A consumer span per message, continuing the trace in its headers (see tracing.ts); default off. */
  tracing?: Tracing;
  /** Default `config.consumer.sessionTimeoutMs`. */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for members to re-join in a rebalance; default 60000. */
  rebalanceTimeoutMs?: number;
  /** Default min(3000, sessionTimeout / 3). */
  heartbeatIntervalMs?: number;
  /** Long-poll wait of an idle fetch; also bounds how long `stop()` waits for an idle fetch. Default 1000. */
  maxWaitTimeInMs?: number;
  /** Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** Batches of different partitions of one topic processed concurrently; default `config.consumer.concurrency`. */
  partitionsConsumedConcurrently?: number;
  /** `health()` is not ok when a consumer has not polled for this long; default 30000. */
  staleAfterMs?: number;
  /** Cap of one retry delay; default 10000. */
  maxRetryBackoffMs?: number;
  /** How a handler failure is retried (transient: until it passes; unknown: bounded; permanent: not); default {@link classifyFailure}. */
  classifyFailure?: (err: Error) => FailureKind;
  /**
   * kafkajs consumer retry (fetch loop, commits); when exhausted the consumer crashes and kafkajs
   * restarts it. Default `{ retries: 5, initialRetryTime: 300, maxRetryTime: 30000 }`.
   */
  consumerRetry?: { retries?: number; initialRetryTime?: number; maxRetryTime?: number };
  /**
   * Use the sticky assigner (members keep their partitions across rebalances where balance
   * allows; round-robin stays as the fallback protocol). Default true.
   */
  stickyAssignment?: boolean;
  /** Group id per topic; default `${config.consumer.groupId}.${topicKey}`. */
  groupIdFor?: (topic: TopicKey) => string;
}

export interface ConsumerCrashInfo {
  topic: string;
  groupId: string;
  error: Error;
  /** kafkajs restarts the consumer itself when true. */
  restart: boolean;
  at: Date;
}

export type ConsumerState = 'registered' | 'starting' | 'running' | 'crashed' | 'stopping' | 'stopped';

export interface ConsumerHealth {
  topicKey: TopicKey;
  topic: string;
  groupId: string;
  ok: boolean;
  state: ConsumerState;
  /** Last fetch / heartbeat / group join / batch (ISO-8601), null before the first. */
  lastPollAt: string | null;
  assignedPartitions: number[];
  /** The last crash (kept after kafkajs restarted the consumer; `state` tells whether it is running again). */
  crash?: { error: string; restart: boolean; at: string };
}

export interface ConsumerHostHealth {
  /** Every consumer is running, not crashed, and polled within `staleAfterMs`. */
  ok: boolean;
  /** The oldest of the consumers' last polls (ISO-8601), null if one never polled. */
  lastPollAt: string | null;
  topics: ConsumerHealth[];
}

interface Runtime {
  reg: ConsumerRegistration;
  topic: string;
  groupId: string;
  consumer?: Consumer;
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

interface RetryState {
  offset: string;
  /** Attempts made so far. */
  attempt: number;
}

type SingleOutcome = 'processed' | 'dead-lettered' | 'retry-later';

/** One fetched partition batch being processed. */
interface BatchRun {
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

export function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, raw] of Object.entries(headers)) {
    const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (v === undefined) continue;
    out[name] = typeof v === 'string' ? v : v.toString('utf8');
  }
  return out;
}

export function toInboundMessage(topicKey: TopicKey, topic: string, partition: number, m: KafkaMessage): InboundMessage {
  const headers = decodeHeaders(m.headers);
  const msg: InboundMessage = {
    topic,
    topicKey,
    partition,
    offset: m.offset,
    key: m.key === null ? null : m.key.toString('utf8'),
    value: m.value,
    headers,
    timestamp: Number(m.timestamp),
  };
  if (headers[HEADER_MESSAGE_ID] !== undefined) msg.messageId = headers[HEADER_MESSAGE_ID];
  if (headers[HEADER_CORRELATION_ID] !== undefined) msg.correlationId = headers[HEADER_CORRELATION_ID];
  return msg;
}

const nextOffset = (offset: string): string => (BigInt(offset) + 1n).toString();

/**
 * Hosts the service's consumers: `register()` one handler per topic, `start()`, `stop()` on
 * SIGTERM. Each topic gets its own kafkajs consumer and group (`<groupId>.<topicKey>`): kafkajs
 * assigns all subscribed topics to every member of a group, so members subscribing to different
 * topics must not share one.
 */
export class ConsumerHost {
  private readonly log: Logger;
  private readonly metrics: ConsumerMetrics;
  private readonly runtimes = new Map<TopicKey, Runtime>();
  private readonly crashListeners = new Set<(info: ConsumerCrashInfo) => void>();
  private readonly dlqTopic: string;
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly staleAfterMs: number;
  private readonly classify: (err: Error) => FailureKind;
  private started = false;
  private stopping: Promise<void> | undefined;
  /** Set by `pause()`: every consumer, including one kafkajs restarts after a crash, stays paused. */
  private paused = false;

  constructor(private readonly opts: ConsumerHostOptions) {
    this.log = opts.logger.child({ component: 'consumer-host' });
    this.metrics = consumerMetrics(opts.registry ?? new Registry());
    this.dlqTopic = topicName(opts.config.topicPrefix, DLQ_TOPIC_OF[opts.service]);
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? opts.config.consumer.sessionTimeoutMs;
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? Math.max(100, Math.min(3_000, Math.floor(this.sessionTimeoutMs / 3)));
    this.staleAfterMs = opts.staleAfterMs ?? 30_000;
    this.classify = opts.classifyFailure ?? classifyFailure;
  }

  /** The group id used for a topic. */
  groupIdFor(topic: TopicKey): string {
    return this.opts.groupIdFor?.(topic) ?? `${this.opts.config.consumer.groupId}.${topic}`;
  }

  /** Registers the handler of a topic (one per topic); before `start()`. */
  register(reg: ConsumerRegistration): this {
    if (this.started) throw new Error('ConsumerHost.register() after start()');
    if (!(reg.topic in TOPIC_SPECS)) throw new Error(`unknown topic key ${JSON.stringify(reg.topic)}`);
    if (this.runtimes.has(reg.topic)) throw new Error(`a handler for ${reg.topic} is already registered`);
    this.runtimes.set(reg.topic, {
      reg,
      topic: topicName(this.opts.config.topicPrefix, reg.topic),
      groupId: this.groupIdFor(reg.topic),
      state: 'registered',
      lastPollAt: null,
      startedAt: 0,
      assigned: [],
      retrying: new Map(),
      resumeTimers: new Map(),
    });
    return this;
  }

  registeredTopics(): TopicKey[] {
    return [...this.runtimes.keys()];
  }

  /**
   * Stops fetching on every registered topic until `resume()` (a batch being processed finishes
   * and commits). Holds across the consumers' restarts and rebalances; group membership and
   * heartbeats go on, so no rebalance follows. Before `start()` the consumers start paused.
   */
  pause(): void {
    this.paused = true;
    for (const rt of this.runtimes.values()) this.applyPause(rt);
  }

  /** Undoes `pause()`; partitions still waiting for a retry's back-off stay paused until it elapses. */
  resume(): void {
    this.paused = false;
    for (const rt of this.runtimes.values()) {
      if (!rt.consumer || rt.state === 'stopping' || rt.state === 'stopped') continue;
      try {
        rt.consumer.resume([{ topic: rt.topic }]);
        const waiting = [...rt.resumeTimers.keys()];
        if (waiting.length > 0) rt.consumer.pause([{ topic: rt.topic, partitions: waiting }]);
      } catch (err) {
        // Not running yet, or restarting: its next group join finds `paused` false.
        this.log.debug({ err, topic: rt.topic }, 'could not resume a consumer');
      }
    }
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Called on every kafkajs consumer crash (kafkajs restarts the consumer when `restart`). */
  onCrash(listener: (info: ConsumerCrashInfo) => void): () => void {
    this.crashListeners.add(listener);
    return () => this.crashListeners.delete(listener);
  }

  /** Connects, subscribes and runs every registered consumer; resolves once each joined its group. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all([...this.runtimes.values()].map((rt) => this.startOne(rt)));
  }

  /**
   * Graceful drain: each consumer finishes and commits its in-flight batch (kafkajs
   * `consumer.disconnect()` stops fetching, waits for running batch handlers, leaves the group,
   * then closes connections). Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(
        [...this.runtimes.values()].map(async (rt) => {
          if (!rt.consumer) {
            rt.state = 'stopped';
            return;
          }
          rt.state = 'stopping';
          for (const t of rt.resumeTimers.values()) clearTimeout(t);
          rt.resumeTimers.clear();
          try {
            await rt.consumer.disconnect();
          } catch (err) {
            this.log.warn({ err, topic: rt.topic }, 'error while stopping a consumer');
          }
          rt.state = 'stopped';
          for (const p of rt.assigned) this.metrics.lag.remove({ topic: rt.topic, partition: String(p) });
          rt.assigned = [];
        }),
      );
      this.log.info({ topics: [...this.runtimes.values()].map((r) => r.topic) }, 'consumers stopped');
    })();
    return this.stopping;
  }

  health(now: number = Date.now()): ConsumerHostHealth {
    const topics: ConsumerHealth[] = [...this.runtimes.values()].map((rt) => {
      const reference = rt.lastPollAt ?? (rt.startedAt || null);
      const fresh = reference !== null && now - reference <= this.staleAfterMs;
      const ok = (rt.state === 'running' || rt.state === 'starting') && fresh;
      const h: ConsumerHealth = {
        topicKey: rt.reg.topic,
        topic: rt.topic,
        groupId: rt.groupId,
        ok,
        state: rt.state,
        lastPollAt: rt.lastPollAt === null ? null : new Date(rt.lastPollAt).toISOString(),
        assignedPartitions: [...rt.assigned],
      };
      if (rt.crash) h.crash = { error: `${rt.crash.error.name}: ${rt.crash.error.message}`, restart: rt.crash.restart, at: rt.crash.at.toISOString() };
      return h;
    });
    const polls = [...this.runtimes.values()].map((r) => r.lastPollAt);
    const oldest = polls.some((p) => p === null) ? null : polls.length ? Math.min(...(polls as number[])) : null;
    return { ok: topics.every((t) => t.ok), lastPollAt: oldest === null ? null : new Date(oldest).toISOString(), topics };
  }

  // ---------------------------------------------------------------------------------------

  /** The whole topic paused on the consumer when the host is paused (a no-op before `run()`: the group join applies it). */
  private applyPause(rt: Runtime): void {
    if (!this.paused || !rt.consumer) return;
    try {
      rt.consumer.pause([{ topic: rt.topic }]);
    } catch (err) {
      this.log.debug({ err, topic: rt.topic }, 'could not pause a consumer yet');
    }
  }

  private async startOne(rt: Runtime): Promise<void> {
    const o = this.opts;
    const consumer = o.kafka.consumer({
      groupId: rt.groupId,
      sessionTimeout: this.sessionTimeoutMs,
      rebalanceTimeout: o.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxWaitTimeInMs: o.maxWaitTimeInMs ?? 1_000,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 1_048_576,
      allowAutoTopicCreation: false,
      partitionAssigners:
        o.stickyAssignment === false
          ? [PartitionAssigners.roundRobin]
          : [createStickyAssigner(() => ({ [rt.topic]: rt.assigned })), PartitionAssigners.roundRobin],
      retry: {
        initialRetryTime: 300,
        maxRetryTime: 30_000,
        retries: 5,
        ...o.consumerRetry,
        restartOnFailure: async (err) => {
          this.log.error({ err, topic: rt.topic, groupId: rt.groupId }, 'consumer failed; restarting it');
          return !this.stopping;
        },
      },
    });
    rt.consumer = consumer;
    rt.state = 'starting';
    rt.startedAt = Date.now();
    const polled = () => {
      rt.lastPollAt = Date.now();
    };
    const ev = consumer.events;
    consumer.on(ev.FETCH_START, polled);
    consumer.on(ev.FETCH, polled);
    consumer.on(ev.HEARTBEAT, polled);
    consumer.on(ev.START_BATCH_PROCESS, polled);
    consumer.on(ev.END_BATCH_PROCESS, polled);
    consumer.on(ev.GROUP_JOIN, (e) => {
      polled();
      const assigned = e.payload.memberAssignment[rt.topic] ?? [];
      for (const p of rt.assigned) if (!assigned.includes(p)) this.metrics.lag.remove({ topic: rt.topic, partition: String(p) });
      rt.assigned = [...assigned].sort((a, b) => a - b);
      for (const p of rt.retrying.keys()) if (!assigned.includes(p)) rt.retrying.delete(p);
      if (rt.state === 'starting' || rt.state === 'crashed') rt.state = 'running';
      // A consumer kafkajs restarted is a new consumer group object without the pause; this event
      // comes (synchronously) after the join and before the first fetch, so nothing slips through.
      this.applyPause(rt);
      this.log.info({ topic: rt.topic, groupId: rt.groupId, partitions: rt.assigned, joinMs: e.payload.duration }, 'joined consumer group');
    });
    consumer.on(ev.CRASH, (e) => {
      const info: ConsumerCrashInfo = { topic: rt.topic, groupId: rt.groupId, error: e.payload.error, restart: e.payload.restart, at: new Date() };
      rt.crash = info;
      if (rt.state !== 'stopping' && rt.state !== 'stopped') rt.state = 'crashed';
      this.metrics.crashes.inc({ topic: rt.topic });
      this.log.error({ err: e.payload.error, topic: rt.topic, groupId: rt.groupId, restart: e.payload.restart }, 'Kafka consumer crashed');
      for (const l of this.crashListeners) {
        try {
          l(info);
        } catch (err) {
          this.log.warn({ err }, 'crash listener threw');
        }
      }
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [rt.topic], fromBeginning: rt.reg.fromBeginning ?? true });
    } catch (err) {
      rt.state = 'stopped';
      await consumer.disconnect().catch(() => undefined);
      const e = toError(err);
      const hint = (err as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION' ? ' (the topic does not exist: provision it)' : '';
      throw new Error(`cannot start the consumer of ${rt.topic}${hint}: ${e.message}`, { cause: err });
    }
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? o.config.consumer.concurrency,
      eachBatch: (payload) => this.onBatch(rt, payload),
    });
  }

  private async onBatch(rt: Runtime, p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    if (batch.messages.length === 0 || !p.isRunning() || p.isStale()) return;
    const started = Date.now();
    const messages = batch.messages.map((m) => toInboundMessage(rt.reg.topic, rt.topic, batch.partition, m));
    const run: BatchRun = {
      rt,
      p,
      messages,
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
    try {
      // A message waiting for its next attempt is the first one fetched again after the resume.
      const waiting = this.takeRetryState(rt, batch.partition, (messages[0] as InboundMessage).offset);
      let from = 0;
      if (waiting) {
        const outcome = await this.processSingle(run, messages[0] as InboundMessage, waiting.attempt + 1);
        if (outcome === 'retry-later') return;
        this.markDone(run, messages[0] as InboundMessage);
        from = 1;
      }
      if (from < messages.length) await this.processFrom(run, from);
    } catch (err) {
      // The DLQ write failed, or the partition was lost: keep what is done, do not commit past
      // it, and let kafkajs redeliver from the failed message.
      await this.commitDone(run).catch((e: unknown) => this.log.warn({ err: e, topic: rt.topic }, 'commit after failure failed'));
      throw err;
    }
    await this.commitDone(run);
    this.metrics.batchDuration.observe({ topic: rt.topic, mode: run.single ? 'single' : 'batch' }, (Date.now() - started) / 1000);
  }

  private handle(run: BatchRun, messages: InboundMessage[], mode: BatchContext['mode'], attempt: number): Promise<void> {
    const tracing = this.opts.tracing ?? TRACING_OFF;
    return traceConsume(tracing, messages, { groupId: run.rt.groupId, mode, attempt }, () => run.rt.reg.handler(messages, run.ctx(mode, attempt)));
  }

  /** The batch handler on `messages[from..]`; if it fails, one message at a time. */
  private async processFrom(run: BatchRun, from: number): Promise<void> {
    const { rt, p, messages } = run;
    const rest = messages.slice(from);
    const last = rest[rest.length - 1] as InboundMessage;
    let batchError: Error | undefined;
    try {
      await this.handle(run, rest, 'batch', 1);
    } catch (err) {
      batchError = toError(err);
    }
    // Lost the partition meanwhile (a heartbeat failed with a rebalance error, or the batch went
    // stale): not the messages' fault. Rethrow so kafkajs rejoins; nothing more is committed, and
    // the batch is redelivered to whoever owns the partition now (handlers are idempotent).
    if (batchError && (isGroupMembershipError(batchError) || p.isStale() || !p.isRunning())) {
      this.log.warn({ err: batchError, topic: rt.topic, partition: p.batch.partition, firstOffset: rest[0]?.offset, lastOffset: last.offset }, 'batch interrupted by a rebalance; it will be redelivered');
      throw batchError;
    }
    if (!batchError) {
      if (p.isStale()) return;
      for (const msg of rest) this.markDone(run, msg);
      return;
    }
    this.log.warn(
      { err: batchError, topic: rt.topic, partition: p.batch.partition, firstOffset: rest[0]?.offset, lastOffset: last.offset, size: rest.length },
      'batch handler failed; processing the batch one message at a time',
    );
    for (const msg of rest) {
      if (!p.isRunning() || p.isStale()) return;
      const outcome = await this.processSingle(run, msg, 1, rest.length === 1 ? batchError : undefined);
      if (outcome === 'retry-later') return;
      this.markDone(run, msg);
      await p.heartbeat();
    }
  }

  /**
   * Attempt number `attempt` of one message (`error`: its outcome, when it was already made).
   * A permanent failure, or an unknown one past `maxRetries`, is dead-lettered. Otherwise the
   * partition is paused and resumed after the back-off, so the kafkajs worker is free for the
   * other partitions meanwhile; the message is fetched again and retried then (`onBatch`).
   */
  private async processSingle(run: BatchRun, msg: InboundMessage, attempt: number, error?: Error): Promise<SingleOutcome> {
    const { rt, p } = run;
    run.single = true;
    let failure = error;
    if (!failure) {
      try {
        await this.handle(run, [msg], 'single', attempt);
        return 'processed';
      } catch (err) {
        // A rebalance is not the message's fault: never retry or dead-letter it for that.
        if (isGroupMembershipError(err) || p.isStale()) throw err;
        failure = toError(err);
      }
    }
    const kind = this.classify(failure);
    const { maxRetries, retryBackoffMs } = this.opts.config.consumer;
    if (kind === 'permanent' || (kind === 'unknown' && attempt > maxRetries)) {
      await this.deadLetter(rt, msg, failure, attempt, kind);
      return 'dead-lettered';
    }
    const delay = computeBackoffMs(attempt, { baseMs: retryBackoffMs, maxMs: this.opts.maxRetryBackoffMs ?? 10_000 });
    this.metrics.retries.inc({ topic: rt.topic });
    const left = kind === 'unknown' ? { retriesLeft: maxRetries - attempt + 1 } : {};
    this.log.warn({ ...messageFields(msg), err: failure, failureKind: kind, attempt, retryInMs: delay, ...left }, 'message handler failed; retrying');
    this.retryLater(run, msg, attempt, delay);
    return 'retry-later';
  }

  private retryLater(run: BatchRun, msg: InboundMessage, attempt: number, delayMs: number): void {
    const { rt, p } = run;
    const partition = p.batch.partition;
    rt.retrying.set(partition, { offset: msg.offset, attempt });
    p.pause();
    // Pausing one partition clears kafkajs' topic-wide pause.
    this.applyPause(rt);
    const timer = setTimeout(() => {
      rt.resumeTimers.delete(partition);
      if (this.paused) return; // resume() resumes it
      try {
        rt.consumer?.resume([{ topic: rt.topic, partitions: [partition] }]);
      } catch (err) {
        // The consumer is stopped or restarting: a restarted consumer does not keep the pause.
        this.log.debug({ err, topic: rt.topic, partition }, 'could not resume a partition');
      }
    }, delayMs);
    rt.resumeTimers.set(partition, timer);
  }

  /** The retry state of `partition` if its next message is the one that failed; a stale one is dropped. */
  private takeRetryState(rt: Runtime, partition: number, firstOffset: string): RetryState | undefined {
    const state = rt.retrying.get(partition);
    rt.retrying.delete(partition);
    return state?.offset === firstOffset ? state : undefined;
  }

  private markDone(run: BatchRun, msg: InboundMessage): void {
    run.p.resolveOffset(msg.offset); // kafkajs maps the last message to batch.lastOffset() (control records)
    run.done = msg.offset;
    run.processed++;
  }

  private async commitDone(run: BatchRun): Promise<void> {
    const { rt, p, messages } = run;
    if (run.done === undefined || p.isStale()) return;
    const last = messages[messages.length - 1] as InboundMessage;
    const offset = run.done === last.offset ? nextOffset(p.batch.lastOffset()) : nextOffset(run.done);
    await p.commitOffsetsIfNecessary({ topics: [{ topic: p.batch.topic, partitions: [{ partition: p.batch.partition, offset }] }] });
    const lag = BigInt(p.batch.highWatermark) - BigInt(offset);
    this.metrics.lag.set({ topic: rt.topic, partition: String(p.batch.partition) }, Number(lag > 0n ? lag : 0n));
    this.metrics.consumed.inc({ topic: rt.topic, group: rt.groupId }, run.processed);
    run.processed = 0;
    run.done = undefined;
  }

  private async deadLetter(rt: Runtime, msg: InboundMessage, error: Error, attempts: number, kind: FailureKind): Promise<void> {
    const { payload, meta } = deadLetterFor(
      { topic: rt.topic, partition: msg.partition, offset: msg.offset, key: msg.key, value: msg.value, headers: msg.headers, correlationId: msg.correlationId },
      { service: this.opts.service, error, attempts },
    );
    await produceMessage(this.opts.producer, this.dlqTopic, Schemas.deadLetter, payload, meta);
    this.metrics.deadLettered.inc({ topic: rt.topic });
    this.log.error({ ...messageFields(msg), err: error, failureKind: kind, attempts, dlq: this.dlqTopic }, 'message dead-lettered');
  }
}

/**
 * Errors that mean this member lost (or is losing) its partitions: a rebalance in progress, an
 * expired session ("The coordinator is not aware of this member"), a new generation. kafkajs
 * rejoins the group when they reach it.
 */
export function isGroupMembershipError(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'UNKNOWN_MEMBER_ID' || type === 'ILLEGAL_GENERATION' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'FENCED_INSTANCE_ID';
}
