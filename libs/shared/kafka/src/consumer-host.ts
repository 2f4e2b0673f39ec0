/**
 * Batch consumption for every stage: one kafkajs consumer per topic, commit only after the
 * handler's promise resolved, bounded per-message retries, dead-letter topic, health, metrics
 * and a graceful drain on stop.
 */
import { PartitionAssigners, type Consumer, type EachBatchPayload, type IHeaders, type Kafka, type KafkaMessage } from 'kafkajs';
import {
  ContractViolationError,
  DLQ_TOPIC_OF,
  HEADER_CORRELATION_ID,
  HEADER_MESSAGE_ID,
  Schemas,
  TOPIC_SPECS,
  topicName,
  type DeadLetter,
  type ServiceName,
  type TopicKey,
} from '@mosaic/contracts';
import type { KafkaConfig } from '@mosaic/shared-config';
import { Registry, messageFields, type Logger } from '@mosaic/shared-logging';
import { computeBackoffMs, sleepWithTicks } from './backoff';
import { toError } from './errors';
import { consumerMetrics, type ConsumerMetrics } from './metrics';
import { produceMessage, type MessageSender } from './producer';
import { createStickyAssigner } from './sticky-assigner';

/** One consumed record, headers decoded to strings. */
export interface InboundMessage {
  /** Full topic name (with prefix). */
  topic: string;
  topicKey: TopicKey;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Record timestamp, ms since the epoch. */
  timestamp: number;
  /** From the `messageId` header (set by the contracts codec). */
  messageId?: string;
  /** From the `correlationId` header. */
  correlationId?: string;
}

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

/** Throw this from a handler for errors retrying cannot fix: the message goes to the DLQ at once. */
export class NonRetriableError extends Error {
  override readonly name: string = 'NonRetriableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Default retry policy: everything is retried except contract violations and {@link NonRetriableError}. */
export function defaultIsRetriable(err: Error): boolean {
  if (err instanceof NonRetriableError || err instanceof ContractViolationError) return false;
  if (err.name === 'ContractViolationError' || err.name === 'NonRetriableError') return false;
  return (err as { retriable?: unknown }).retriable !== false;
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
  /** Batches of different partitions of one topic processed concurrently; default 1. */
  partitionsConsumedConcurrently?: number;
  /** `health()` is not ok when a consumer has not polled for this long; default 30000. */
  staleAfterMs?: number;
  /** Cap of one retry delay; default 10000. */
  maxRetryBackoffMs?: number;
  /** Which handler errors are worth retrying; default {@link defaultIsRetriable}. */
  isRetriable?: (err: Error) => boolean;
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
}

type SingleOutcome = 'processed' | 'dead-lettered' | 'stopped';

/** Largest original value copied into a dead letter (base64 grows it by 4/3). */
const DLQ_MAX_VALUE_BYTES = 512 * 1024;
const DLQ_MAX_STACK_CHARS = 8_000;

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
  private readonly isRetriable: (err: Error) => boolean;
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: ConsumerHostOptions) {
    this.log = opts.logger.child({ component: 'consumer-host' });
    this.metrics = consumerMetrics(opts.registry ?? new Registry());
    this.dlqTopic = topicName(opts.config.topicPrefix, DLQ_TOPIC_OF[opts.service]);
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? opts.config.consumer.sessionTimeoutMs;
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? Math.max(100, Math.min(3_000, Math.floor(this.sessionTimeoutMs / 3)));
    this.staleAfterMs = opts.staleAfterMs ?? 30_000;
    this.isRetriable = opts.isRetriable ?? defaultIsRetriable;
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
    });
    return this;
  }

  registeredTopics(): TopicKey[] {
    return [...this.runtimes.keys()];
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
      if (rt.state === 'starting' || rt.state === 'crashed') rt.state = 'running';
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
      partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.onBatch(rt, payload),
    });
  }

  private async onBatch(rt: Runtime, p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    if (batch.messages.length === 0 || !p.isRunning() || p.isStale()) return;
    const started = Date.now();
    const messages = batch.messages.map((m) => toInboundMessage(rt.reg.topic, rt.topic, batch.partition, m));
    const last = messages[messages.length - 1] as InboundMessage;
    const ctx = (mode: BatchContext['mode'], attempt: number): BatchContext => ({
      topic: rt.topic,
      topicKey: rt.reg.topic,
      partition: batch.partition,
      groupId: rt.groupId,
      mode,
      attempt,
      heartbeat: p.heartbeat,
      isRunning: p.isRunning,
      isStale: p.isStale,
    });
    const commit = async (offset: string): Promise<void> => {
      await p.commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset }] }] });
      const lag = BigInt(batch.highWatermark) - BigInt(offset);
      this.metrics.lag.set({ topic: rt.topic, partition: String(batch.partition) }, Number(lag > 0n ? lag : 0n));
    };

    // 1. The whole batch at once.
    let batchError: Error | undefined;
    try {
      await rt.reg.handler(messages, ctx('batch', 1));
    } catch (err) {
      batchError = toError(err);
    }
    // Lost the partition meanwhile (a heartbeat failed with a rebalance error, or the batch went
    // stale): not the messages' fault. Rethrow so kafkajs rejoins; nothing is committed, and the
    // batch is redelivered to whoever owns the partition now (handlers are idempotent).
    if (batchError && (isGroupMembershipError(batchError) || p.isStale() || !p.isRunning())) {
      this.log.warn({ err: batchError, topic: rt.topic, partition: batch.partition, firstOffset: messages[0]?.offset, lastOffset: last.offset }, 'batch interrupted by a rebalance; it will be redelivered');
      throw batchError;
    }
    if (!batchError) {
      if (p.isStale()) return;
      p.resolveOffset(last.offset); // kafkajs maps the last message to batch.lastOffset() (control records)
      await commit(nextOffset(batch.lastOffset()));
      this.metrics.consumed.inc({ topic: rt.topic, group: rt.groupId }, messages.length);
      this.metrics.batchDuration.observe({ topic: rt.topic, mode: 'batch' }, (Date.now() - started) / 1000);
      return;
    }
    this.log.warn(
      { err: batchError, topic: rt.topic, partition: batch.partition, firstOffset: messages[0]?.offset, lastOffset: last.offset, size: messages.length },
      'batch handler failed; processing the batch one message at a time',
    );

    // 2. One message at a time: retries with back-off, then the dead-letter topic.
    let done: string | undefined;
    let processed = 0;
    try {
      for (const msg of messages) {
        if (!p.isRunning() || p.isStale()) break;
        const first = messages.length === 1 ? batchError : undefined;
        const outcome = await this.processSingle(rt, msg, p, ctx, first);
        if (outcome === 'stopped') break;
        p.resolveOffset(msg.offset);
        done = msg.offset;
        processed++;
        await p.heartbeat();
      }
    } catch (err) {
      // The DLQ write (or a heartbeat in a rebalance) failed: keep what is done, do not commit past it,
      // and let kafkajs redeliver from the failed message.
      if (done !== undefined && !p.isStale()) {
        await commit(nextOffset(done)).catch((e: unknown) => this.log.warn({ err: e, topic: rt.topic }, 'commit after failure failed'));
        this.metrics.consumed.inc({ topic: rt.topic, group: rt.groupId }, processed);
      }
      throw err;
    }
    if (done !== undefined && !p.isStale()) {
      await commit(done === last.offset ? nextOffset(batch.lastOffset()) : nextOffset(done));
      this.metrics.consumed.inc({ topic: rt.topic, group: rt.groupId }, processed);
    }
    this.metrics.batchDuration.observe({ topic: rt.topic, mode: 'single' }, (Date.now() - started) / 1000);
  }

  private async processSingle(
    rt: Runtime,
    msg: InboundMessage,
    p: EachBatchPayload,
    ctx: (mode: BatchContext['mode'], attempt: number) => BatchContext,
    firstError: Error | undefined,
  ): Promise<SingleOutcome> {
    const { maxRetries, retryBackoffMs } = this.opts.config.consumer;
    const maxMs = this.opts.maxRetryBackoffMs ?? 10_000;
    const run = async (attempt: number): Promise<Error | undefined> => {
      try {
        await rt.reg.handler([msg], ctx('single', attempt));
        return undefined;
      } catch (err) {
        // A rebalance is not the message's fault: never retry or dead-letter it for that.
        if (isGroupMembershipError(err) || p.isStale()) throw err;
        return toError(err);
      }
    };
    // A one-message batch already had its first attempt.
    let attempt = 1;
    let error = firstError ?? (await run(attempt));
    if (!error) return 'processed';
    while (this.isRetriable(error) && attempt <= maxRetries) {
      const delay = computeBackoffMs(attempt, { baseMs: retryBackoffMs, maxMs });
      this.metrics.retries.inc({ topic: rt.topic });
      this.log.warn({ ...messageFields(msg), err: error, attempt, retryInMs: delay }, 'message handler failed; retrying');
      const carryOn = await sleepWithTicks(delay, {
        tickEveryMs: this.heartbeatIntervalMs,
        tick: p.heartbeat,
        shouldContinue: () => p.isRunning() && !p.isStale(),
      });
      if (!carryOn) return 'stopped';
      attempt++;
      error = await run(attempt);
      if (!error) return 'processed';
    }
    await this.deadLetter(rt, msg, error, attempt);
    return 'dead-lettered';
  }

  private async deadLetter(rt: Runtime, msg: InboundMessage, error: Error, attempts: number): Promise<void> {
    const value = msg.value ?? Buffer.alloc(0);
    const truncated = value.length > DLQ_MAX_VALUE_BYTES;
    const letter: DeadLetter = {
      service: this.opts.service,
      sourceTopic: rt.topic,
      partition: msg.partition,
      offset: msg.offset,
      valueBase64: (truncated ? value.subarray(0, DLQ_MAX_VALUE_BYTES) : value).toString('base64'),
      headers: msg.headers,
      error: { name: error.name || 'Error', message: error.message ?? '', ...(error.stack ? { stack: error.stack.slice(0, DLQ_MAX_STACK_CHARS) } : {}) },
      attempts,
      failedAt: new Date().toISOString(),
    };
    if (msg.key !== null) letter.key = msg.key;
    const headers: Record<string, string> = { sourceTopic: rt.topic, sourcePartition: String(msg.partition), sourceOffset: msg.offset };
    if (truncated) headers['valueTruncatedFrom'] = String(value.length);
    await produceMessage(this.opts.producer, this.dlqTopic, Schemas.deadLetter, letter, {
      key: msg.key,
      producer: this.opts.service,
      correlationId: msg.correlationId,
      messageId: `dlq:${rt.topic}:${msg.partition}:${msg.offset}`,
      headers,
    });
    this.metrics.deadLettered.inc({ topic: rt.topic });
    this.log.error({ ...messageFields(msg), err: error, attempts, dlq: this.dlqTopic }, 'message dead-lettered');
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
