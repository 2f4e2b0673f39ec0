/**
 * The process's one Kafka producer: idempotent, acks from all in-sync replicas, concurrent
 * `send()` calls coalesced into few `sendBatch` requests, and fail-fast when Kafka is away.
 */
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import {
  TOPIC_SPECS,
  encodeMessage,
  type EncodeMeta,
  type Envelope,
  type MessageSchema,
} from '@mosaic/contracts';
import type { KafkaConfig } from '@mosaic/shared-config';
import { Registry, type Logger } from '@mosaic/shared-logging';
import { groupByTopic, messageBytes, splitIntoChunks, takeBatch, type BatchLimits, type Chunk, type OutboundMessage } from './batching';
import { ProducerSendError, ProducerUnavailableError, UnknownTopicError } from './errors';
import { producerMetrics, type ProducerMetrics } from './metrics';
import { traceProduce } from './tracing';

export type { OutboundMessage } from './batching';

/** What services need from a producer (an interface so wiring can pass the EventProducer around). */
export interface MessageSender {
  send(topic: string, messages: OutboundMessage[]): Promise<void>;
}

export interface EventProducerOptions {
  /** A `send` rejects with {@link ProducerUnavailableError} when not acknowledged within this; default 5000. */
  ackTimeoutMs?: number;
  /** Coalescing window; default `cfg.producerLingerMs` (2 ms). 0 = next macrotask. */
  lingerMs?: number;
  /** Most messages per `sendBatch`; default 1000. */
  maxBatchMessages?: number;
  /** Most bytes per `sendBatch` (estimate); default 512 KiB, half the broker's default `message.max.bytes`. */
  maxBatchBytes?: number;
  /** A single record larger than this is refused up front; default 1,000,000 bytes. */
  maxMessageBytes?: number;
  /** Bound on one (re)connection attempt; default 10000. */
  connectTimeoutMs?: number;
  /** Metrics registry (the service's); a private one when omitted. */
  registry?: Registry;
}

export type ProducerState = 'idle' | 'connecting' | 'ready' | 'unavailable' | 'closing' | 'closed';

export interface ProducerStats {
  /** `send()` calls accepted. */
  sends: number;
  /** Messages acknowledged. */
  acked: number;
  /** Coalesced `sendBatch` calls made. */
  batches: number;
  /** Produce requests sent to brokers (kafkajs instrumentation; a batch spanning leaders makes several). */
  produceRequests: number;
  /** `send()` calls that failed. */
  failures: number;
}

interface Caller {
  topic: string;
  startedAt: number;
  remaining: number;
  settled: boolean;
  timer: NodeJS.Timeout;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface QueuedChunk extends Chunk {
  topic: string;
  caller: Caller;
}

interface InFlight {
  chunks: QueuedChunk[];
  startedAt: number;
  overdue: boolean;
  timer: NodeJS.Timeout;
}

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

/**
 * One idempotent kafkajs producer per process (`idempotent: true`, `maxInFlightRequests: 1`,
 * unlimited internal retries, `acks: -1`), behind a coalescing queue:
 *
 * - `send()` calls within `lingerMs` (and while a batch is in flight) are merged into one
 *   `sendBatch` of at most `maxBatchMessages` / `maxBatchBytes`; one batch is in flight at a
 *   time, so messages leave in the order they were sent.
 * - each caller's promise resolves when Kafka acknowledged all of ITS messages; when a batch
 *   fails, all its callers reject.
 * - fail fast: a `send` rejects with {@link ProducerUnavailableError} after `ackTimeoutMs` at
 *   most, and at once while the producer is known to be unavailable (initial connection failed,
 *   or a send timed out waiting for its batch's acknowledgement, or a batch went unacknowledged
 *   for `ackTimeoutMs`); it reconnects in the background.
 */
export class EventProducer implements MessageSender {
  private producer: Producer;
  private admin: Admin | undefined;
  private readonly log: Logger;
  private readonly metrics: ProducerMetrics;
  private readonly ackTimeoutMs: number;
  private readonly lingerMs: number;
  private readonly limits: BatchLimits;
  private readonly maxMessageBytes: number;
  private readonly connectTimeoutMs: number;

  private stateValue: ProducerState = 'idle';
  private readonly queue: QueuedChunk[] = [];
  private inFlight: InFlight | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private connectPromise: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = RECONNECT_MIN_MS;
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly knownTopics = new Set<string>();
  private readonly topicChecks = new Map<string, Promise<void>>();
  /** Sends accepted but still waiting for their topic check (not yet queued). */
  private checking = 0;
  private readonly counters: ProducerStats = { sends: 0, acked: 0, batches: 0, produceRequests: 0, failures: 0 };
  private lastError: Error | undefined;
  /** Set by disconnect() when it drains the queue (it was ready). */
  private flushOnClose = false;

  constructor(
    private readonly kafka: Kafka,
    cfg: KafkaConfig,
    logger: Logger,
    opts: EventProducerOptions = {},
  ) {
    this.log = logger.child({ component: 'event-producer' });
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 5_000;
    this.lingerMs = opts.lingerMs ?? cfg.producerLingerMs ?? 2;
    this.limits = { maxMessages: opts.maxBatchMessages ?? 1_000, maxBytes: opts.maxBatchBytes ?? 512 * 1024 };
    this.maxMessageBytes = opts.maxMessageBytes ?? 1_000_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.metrics = producerMetrics(opts.registry ?? new Registry());
    this.metrics.ready.set(0);
    this.producer = this.createProducer();
  }

  private createProducer(): Producer {
    const producer = this.kafka.producer({
      idempotent: true,
      // KIP-98 / kafkajs "Transactions" docs: EoS needs max one in-flight request and unlimited retries.
      maxInFlightRequests: 1,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1_000 },
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    producer.on(producer.events.REQUEST, (e) => {
      if (e.payload.apiName === 'Produce') this.counters.produceRequests++;
    });
    return producer;
  }

  /**
   * After a batch failed in a way that leaves its outcome unknown (connection lost, timeout) or
   * the idempotence state broken, the next batch must not reuse the failed batch's sequence
   * numbers (kafkajs rolls them back): the broker could take it for a duplicate of a batch that
   * did land and drop it. A fresh producer gets a new producer id, so that cannot happen.
   */
  private replaceProducer(): void {
    const old = this.producer;
    this.producer = this.createProducer();
    old.disconnect().catch((err: unknown) => this.log.debug({ err }, 'error disconnecting a replaced producer'));
  }

  get state(): ProducerState {
    return this.stateValue;
  }

  /** True when connected and not waiting on an overdue acknowledgement (readiness probe). */
  isReady(): boolean {
    return this.stateValue === 'ready';
  }

  stats(): Readonly<ProducerStats> {
    return { ...this.counters };
  }

  /** The last connection or send error, for health output. */
  get lastFailure(): Error | undefined {
    return this.lastError;
  }

  /** Starts connecting in the background (idempotent); sends made meanwhile wait up to `ackTimeoutMs`. */
  start(): void {
    if (this.stateValue !== 'idle') return;
    this.setState('connecting');
    void this.attemptConnect();
  }

  /**
   * Starts and waits until ready. Rejects with {@link ProducerUnavailableError} after
   * `timeoutMs` (default: wait as long as it takes); the producer keeps reconnecting.
   */
  async connect(timeoutMs?: number): Promise<void> {
    this.start();
    if (this.stateValue === 'ready') return;
    if (this.stateValue === 'closing' || this.stateValue === 'closed') throw new ProducerUnavailableError('producer is closed');
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          if (timer) clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
              reject(new ProducerUnavailableError(`Kafka not reachable within ${timeoutMs} ms`, { cause: this.lastError }));
            }, timeoutMs);
      this.readyWaiters.push(waiter);
    });
  }

  /**
   * Produces `messages` to `topic` (a full topic name). Resolves once Kafka acknowledged all of
   * them (acks from all in-sync replicas).
   */
  send(topic: string, messages: OutboundMessage[]): Promise<void> {
    if (this.stateValue === 'idle') this.start();
    if (this.stateValue === 'closing' || this.stateValue === 'closed') {
      return this.fail(topic, 'unavailable', new ProducerUnavailableError('producer is closed'));
    }
    if (this.stateValue === 'unavailable') {
      return this.fail(topic, 'unavailable', new ProducerUnavailableError('Kafka is unavailable', { cause: this.lastError }));
    }
    if (messages.length === 0) return Promise.resolve();
    for (const m of messages) {
      if (!Buffer.isBuffer(m.value)) return this.fail(topic, 'error', new ProducerSendError('message value must be a Buffer'));
      const size = messageBytes(m);
      if (size > this.maxMessageBytes) {
        return this.fail(topic, 'error', new ProducerSendError(`message of ${size} bytes exceeds the ${this.maxMessageBytes}-byte limit`));
      }
    }
    this.counters.sends++;
    return new Promise<void>((resolve, reject) => {
      const caller: Caller = {
        topic,
        startedAt: Date.now(),
        remaining: 0,
        settled: false,
        resolve,
        reject,
        timer: setTimeout(() => this.onCallerTimeout(caller), this.ackTimeoutMs),
      };
      const chunks = splitIntoChunks(messages, this.limits).map((c) => ({ ...c, topic, caller }));
      caller.remaining = chunks.length;
      if (this.knownTopics.has(topic)) {
        this.enqueue(chunks);
        return;
      }
      this.checking++;
      this.checkTopic(topic).then(
        () => {
          this.checking--;
          if (!caller.settled) this.enqueue(chunks);
        },
        (err: Error) => {
          this.checking--;
          this.settle(caller, err instanceof UnknownTopicError ? 'unknown_topic' : 'unavailable', err);
        },
      );
    });
  }

  /** Flushes queued messages (waiting at most `ackTimeoutMs` for them), then disconnects. */
  async disconnect(): Promise<void> {
    if (this.stateValue === 'closed') return;
    const wasReady = this.stateValue === 'ready';
    this.flushOnClose = wasReady;
    this.setState('closing');
    for (const w of this.readyWaiters.splice(0)) w.reject(new ProducerUnavailableError('producer closed while connecting'));
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (wasReady) {
      const deadline = Date.now() + this.ackTimeoutMs;
      this.flush();
      while ((this.queue.length > 0 || this.inFlight || this.checking > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
        if (!this.inFlight) this.flush();
      }
    }
    for (const c of this.queue.splice(0)) this.settle(c.caller, 'unavailable', new ProducerUnavailableError('producer closed before the message was sent'));
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    try {
      await this.producer.disconnect();
    } catch (err) {
      this.log.warn({ err }, 'error while disconnecting the producer');
    }
    if (this.admin) await this.admin.disconnect().catch(() => undefined);
    this.setState('closed');
  }

  // ---------------------------------------------------------------------------------------

  private setState(s: ProducerState): void {
    if (this.stateValue === s) return;
    const prev = this.stateValue;
    this.stateValue = s;
    this.metrics.ready.set(s === 'ready' ? 1 : 0);
    if (s === 'ready') {
      this.reconnectDelay = RECONNECT_MIN_MS;
      if (prev === 'unavailable') this.log.info('Kafka producer available again');
      for (const w of this.readyWaiters.splice(0)) w.resolve();
      this.schedule();
    } else if (s === 'unavailable') {
      // Known to be unavailable: everyone still waiting in the queue fails now, not at their deadline.
      for (const c of this.queue.splice(0)) this.settle(c.caller, 'unavailable', new ProducerUnavailableError('Kafka is unavailable', { cause: this.lastError }));
      this.scheduleReconnect();
    }
  }

  private fail(topic: string, reason: string, err: Error): Promise<never> {
    this.counters.failures++;
    this.metrics.failures.inc({ topic, reason });
    return Promise.reject(err);
  }

  private settle(caller: Caller, reason: string, err?: Error): void {
    if (caller.settled) return;
    caller.settled = true;
    clearTimeout(caller.timer);
    if (err) {
      this.counters.failures++;
      this.metrics.failures.inc({ topic: caller.topic, reason });
      caller.reject(err);
    } else {
      this.metrics.ackLatency.observe({ topic: caller.topic }, (Date.now() - caller.startedAt) / 1000);
      caller.resolve();
    }
  }

  private onCallerTimeout(caller: Caller): void {
    // Drop its chunks that have not been sent yet; chunks already in flight may still land.
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]?.caller === caller) this.queue.splice(i, 1);
    // Its batch left after the send, so it is overdue within lingerMs anyway. Declaring that first
    // means whoever sees this rejection also sees 'unavailable' (the next send fails at once),
    // instead of a window, however short, in which sends are still queued behind the lost batch.
    const inFlight = this.inFlight;
    if (inFlight?.chunks.some((c) => c.caller === caller)) this.onBatchOverdue(inFlight);
    this.settle(caller, 'timeout', new ProducerUnavailableError(`no acknowledgement from Kafka within ${this.ackTimeoutMs} ms`, { cause: this.lastError }));
  }

  private enqueue(chunks: QueuedChunk[]): void {
    if (this.stateValue === 'unavailable' || this.stateValue === 'closed' || (this.stateValue === 'closing' && !this.flushOnClose)) {
      const caller = chunks[0]?.caller;
      if (caller) this.settle(caller, 'unavailable', new ProducerUnavailableError('Kafka is unavailable', { cause: this.lastError }));
      return;
    }
    this.queue.push(...chunks);
    this.schedule();
  }

  private queuedTotals(): { messages: number; bytes: number } {
    let messages = 0;
    let bytes = 0;
    for (const c of this.queue) {
      messages += c.messages.length;
      bytes += c.bytes;
    }
    return { messages, bytes };
  }

  private schedule(): void {
    if (this.inFlight || this.queue.length === 0) return;
    if (this.stateValue !== 'ready' && this.stateValue !== 'closing') return;
    const { messages, bytes } = this.queuedTotals();
    if (messages >= this.limits.maxMessages || bytes >= this.limits.maxBytes || this.stateValue === 'closing') {
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      this.flush();
      return;
    }
    if (!this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        this.flush();
      }, this.lingerMs);
    }
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) return;
    if (this.stateValue !== 'ready' && this.stateValue !== 'closing') return;
    const chunks = takeBatch(this.queue, this.limits).filter((c) => !c.caller.settled);
    if (chunks.length === 0) {
      this.schedule();
      return;
    }
    const inFlight: InFlight = {
      chunks,
      startedAt: Date.now(),
      overdue: false,
      timer: setTimeout(() => this.onBatchOverdue(inFlight), this.ackTimeoutMs),
    };
    this.inFlight = inFlight;
    this.counters.batches++;
    this.metrics.batches.inc();
    const size = chunks.reduce((n, c) => n + c.messages.length, 0);
    this.metrics.batchSize.observe(size);
    this.producer
      .sendBatch({
        acks: -1,
        timeout: Math.max(this.ackTimeoutMs, 1_000),
        topicMessages: groupByTopic(chunks).map(({ topic, messages }) => ({
          topic,
          messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers, partition: m.partition })),
        })),
      })
      .then(
        () => this.onBatchDone(inFlight),
        (err: unknown) => this.onBatchDone(inFlight, err instanceof Error ? err : new Error(String(err))),
      );
  }

  private onBatchOverdue(inFlight: InFlight): void {
    if (this.inFlight !== inFlight) return;
    inFlight.overdue = true;
    if (this.stateValue === 'ready') {
      this.lastError = new Error(`a produce batch has not been acknowledged for ${this.ackTimeoutMs} ms`);
      this.log.warn({ ackTimeoutMs: this.ackTimeoutMs }, 'Kafka producer unavailable: acknowledgement overdue; failing sends fast until it recovers');
      this.setState('unavailable');
    }
  }

  private onBatchDone(inFlight: InFlight, err?: Error): void {
    clearTimeout(inFlight.timer);
    if (this.inFlight === inFlight) this.inFlight = undefined;
    const definite = err !== undefined && isDefiniteRejection(err);
    for (const chunk of inFlight.chunks) {
      const caller = chunk.caller;
      if (caller.settled) continue;
      if (err) {
        if (definite) this.settle(caller, 'error', new ProducerSendError(`Kafka refused the batch: ${err.message}`, { cause: err }));
        else this.settle(caller, 'unavailable', new ProducerUnavailableError(`Kafka did not acknowledge: ${err.message}`, { cause: err }));
        continue;
      }
      this.counters.acked += chunk.messages.length;
      this.metrics.produced.inc({ topic: chunk.topic }, chunk.messages.length);
      if (--caller.remaining === 0) this.settle(caller, 'ok');
    }
    if (err) {
      this.lastError = err;
      this.log.error({ err, messages: inFlight.chunks.reduce((n, c) => n + c.messages.length, 0), definite }, 'produce batch failed');
      if (!definite && this.stateValue !== 'closing' && this.stateValue !== 'closed') {
        this.replaceProducer();
        if (this.stateValue === 'ready') this.setState('unavailable');
        else this.scheduleReconnect();
      }
    } else if (this.stateValue === 'unavailable') {
      // The overdue batch went through: Kafka is back.
      this.lastError = undefined;
      this.setState('ready');
    }
    this.schedule();
  }

  // --- connection -------------------------------------------------------------------------

  private attemptConnect(): Promise<void> {
    if (this.connectPromise) return this.connectPromise;
    const producer = this.producer;
    const attempt = (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          producer.connect(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`connection attempt exceeded ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
          }),
        ]);
        if (this.stateValue === 'closing' || this.stateValue === 'closed') return;
        if (producer !== this.producer) {
          // Replaced meanwhile: connect the new one.
          this.scheduleReconnect();
          return;
        }
        if (this.inFlight?.overdue) {
          // Connected, but the overdue batch has not gone through yet: stay unavailable until it does.
          this.scheduleReconnect();
          return;
        }
        this.lastError = undefined;
        this.setState('ready');
      } catch (err) {
        this.lastError = err instanceof Error ? err : new Error(String(err));
        if (this.stateValue === 'closing' || this.stateValue === 'closed') return;
        this.log.warn({ err: this.lastError, retryInMs: this.reconnectDelay }, 'Kafka producer cannot connect');
        if (this.stateValue === 'unavailable') this.scheduleReconnect();
        else this.setState('unavailable');
      } finally {
        if (timer) clearTimeout(timer);
      }
    })().finally(() => {
      this.connectPromise = undefined;
    });
    this.connectPromise = attempt;
    return attempt;
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.stateValue === 'closing' || this.stateValue === 'closed') return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, this.reconnectDelay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stateValue === 'unavailable' || this.stateValue === 'connecting') void this.attemptConnect();
    }, delay);
  }

  // --- topic existence --------------------------------------------------------------------

  /**
   * Verifies once per topic that it exists: kafkajs retries a produce to a missing topic forever
   * (the idempotent producer has unlimited retries), which would stall every batch it is part of.
   */
  private checkTopic(topic: string): Promise<void> {
    let check = this.topicChecks.get(topic);
    if (!check) {
      check = (async () => {
        this.admin ??= this.kafka.admin({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 } });
        try {
          await this.admin.connect();
          const meta = await this.admin.fetchTopicMetadata({ topics: [topic] });
          if (!meta.topics.some((t) => t.name === topic && t.partitions.length > 0)) throw new UnknownTopicError(topic);
        } catch (err) {
          const type = (err as { type?: string }).type;
          if (err instanceof UnknownTopicError || type === 'UNKNOWN_TOPIC_OR_PARTITION') throw new UnknownTopicError(topic);
          throw new ProducerUnavailableError(`cannot read metadata of ${topic}`, { cause: err });
        }
        this.knownTopics.add(topic);
      })().finally(() => this.topicChecks.delete(topic));
      this.topicChecks.set(topic, check);
    }
    return check;
  }
}

// --- error classification -------------------------------------------------------------------

/** Protocol errors after which the producer's idempotence state (id, epoch, sequences) is unusable. */
const PRODUCER_STATE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'DUPLICATE_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'PRODUCER_FENCED',
]);

function causes(err: unknown): { name?: string; type?: string; retriable?: boolean }[] {
  const out: { name?: string; type?: string; retriable?: boolean }[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 10 && typeof e === 'object' && e !== null; depth++) {
    out.push(e as { name?: string; type?: string; retriable?: boolean });
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/**
 * True when Kafka definitely refused the batch (a non-retriable protocol error such as
 * MESSAGE_TOO_LARGE): nothing was written and retrying will not help. False when the outcome is
 * unknown (connection lost, timeout, retries given up) or the producer's idempotence state broke.
 */
export function isDefiniteRejection(err: unknown): boolean {
  const chain = causes(err);
  if (chain.some((c) => c.type !== undefined && PRODUCER_STATE_ERRORS.has(c.type))) return false;
  return chain.some((c) => c.name === 'KafkaJSProtocolError' && c.retriable === false);
}

// --- contract messages ----------------------------------------------------------------------

export interface ProduceMeta {
  /** Record key (partitioning); `null` for round-robin. */
  key: string | null;
  /** The producing service (envelope `producer`). */
  producer: string;
  correlationId?: string;
  messageId?: string;
  producedAt?: Date;
  partition?: number;
  /** See EncodeMeta.validate in @mosaic/contracts (default true). */
  validate?: boolean;
  /** Extra headers, next to `messageId`, `correlationId` and `schema`. */
  headers?: Record<string, string>;
}

function assertSchemaOnTopic(schema: MessageSchema<unknown>, topicName: string): void {
  if (!schema.topics.some((k) => topicName.endsWith(TOPIC_SPECS[k].suffix))) {
    throw new ProducerSendError(`schema ${schema.name}@${schema.version} is not carried on topic ${topicName}`);
  }
}

function toOutbound<T>(schema: MessageSchema<T>, payload: T, meta: ProduceMeta): { message: OutboundMessage; envelope: Envelope<T> } {
  const encodeMeta: EncodeMeta = { producer: meta.producer, correlationId: meta.correlationId, messageId: meta.messageId, producedAt: meta.producedAt, validate: meta.validate };
  const encoded = encodeMessage(schema, payload, encodeMeta);
  return {
    message: { key: meta.key, value: encoded.value, headers: { ...meta.headers, ...encoded.headers }, partition: meta.partition },
    envelope: encoded.envelope as Envelope<T>,
  };
}

/**
 * THE way services produce contract messages: validates and encodes the payload with the
 * contracts codec, sends it and resolves with the envelope once Kafka acknowledged it.
 */
export async function produceMessage<T>(producer: MessageSender, topicName: string, schema: MessageSchema<T>, payload: T, meta: ProduceMeta): Promise<Envelope<T>> {
  assertSchemaOnTopic(schema as MessageSchema<unknown>, topicName);
  const { message, envelope } = toOutbound(schema, payload, meta);
  await sendTraced(producer, topicName, [{ message, envelope }]);
  return envelope;
}

/** Like {@link produceMessage} for many messages of one schema in one `send` (one acknowledgement). */
export async function produceMessages<T>(
  producer: MessageSender,
  topicName: string,
  schema: MessageSchema<T>,
  items: readonly { payload: T; meta: ProduceMeta }[],
): Promise<Envelope<T>[]> {
  assertSchemaOnTopic(schema as MessageSchema<unknown>, topicName);
  const encoded = items.map((i) => toOutbound(schema, i.payload, i.meta));
  await sendTraced(producer, topicName, encoded);
  return encoded.map((e) => e.envelope);
}

/** Sends, with a producer span per message and its trace context in the headers when traced (see tracing.ts). */
async function sendTraced(producer: MessageSender, topicName: string, encoded: readonly { message: OutboundMessage; envelope: Envelope<unknown> }[]): Promise<void> {
  const end = traceProduce(
    topicName,
    encoded.map(({ message, envelope }) => ({ headers: message.headers, key: message.key, correlationId: envelope.correlationId, messageId: envelope.messageId })),
  );
  try {
    await producer.send(
      topicName,
      encoded.map((e) => e.message),
    );
  } catch (err) {
    end?.(err);
    throw err;
  }
  end?.();
}
