/**
 * The process's one Kafka producer: idempotent, acks from all in-sync replicas, concurrent
 * `send()` calls coalesced into few `sendBatch` requests, and fail-fast when Kafka is away.
 *
 * The parts: send-queue.ts (coalescing, batches in flight, acknowledgement deadlines),
 * topic-check.ts, definite-rejection.ts, produce-message.ts (`produceMessage(s)` for contract messages).
 */
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { KafkaConfig } from '@mosaic/shared-config';
import { Registry, type Logger } from '@mosaic/shared-logging';
import { messageBytes, type OutboundMessage } from './batching';
import { ProducerSendError, ProducerUnavailableError, UnknownTopicError } from './errors';
import { producerMetrics, type ProducerMetrics } from './metrics';
import type { MessageSender } from './produce-message';
import type { EventProducerOptions, ProducerState, ProducerStats } from './producer-types';
import { SendQueue } from './send-queue';
import { TopicChecker } from './topic-check';

export type { OutboundMessage } from './batching';
export type { EventProducerOptions, ProducerState, ProducerStats } from './producer-types';
export { produceMessage, produceMessages, type MessageSender, type ProduceMeta } from './produce-message';
export { isDefiniteRejection } from './definite-rejection';

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

/**
 * One idempotent kafkajs producer per process (`idempotent: true`, `maxInFlightRequests: 1`,
 * unlimited internal retries, `acks: -1`), behind a coalescing queue:
 *
 * - `send()` calls within `lingerMs` (and while a batch is in flight) are merged into one
 *   `sendBatch` of at most `maxBatchMessages` / `maxBatchBytes`; one batch is in flight at a
 *   time, so messages leave in the order they were sent.
 * - each caller's promise resolves when Kafka acknowledged all of ITS messages. When a batch
 *   fails, its callers reject, except when Kafka refused a batch shared by several callers:
 *   those are sent again one by one, so only the one whose record Kafka refuses gets
 *   {@link ProducerSendError} (send-queue.ts).
 * - fail fast: a `send` rejects with {@link ProducerUnavailableError} after `ackTimeoutMs` at
 *   most, and at once while the producer is known to be unavailable (initial connection failed,
 *   or a send timed out waiting for its batch's acknowledgement, or a batch went unacknowledged
 *   for `ackTimeoutMs`); it reconnects in the background.
 */
export class EventProducer implements MessageSender {
  private producer: Producer;
  private readonly log: Logger;
  private readonly metrics: ProducerMetrics;
  private readonly ackTimeoutMs: number;
  private readonly maxMessageBytes: number;
  private readonly connectTimeoutMs: number;
  private readonly sendQueue: SendQueue;
  private readonly topics: TopicChecker;

  private stateValue: ProducerState = 'idle';
  private connectPromise: Promise<void> | undefined;
  /**
   * kafkajs connects still under way, with their producer: `disconnect()` does not cancel one
   * (it goes on past our attempt's timeout, and may connect after we closed), so closing waits
   * for each and disconnects what it connected.
   */
  private readonly connecting = new Map<Promise<void>, Producer>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = RECONNECT_MIN_MS;
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
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
    this.ackTimeoutMs = opts.ackTimeoutMs ?? cfg.producerAckTimeoutMs;
    this.maxMessageBytes = opts.maxMessageBytes ?? 1_000_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.metrics = producerMetrics(opts.registry ?? new Registry());
    this.metrics.ready.set(0);
    this.producer = this.createProducer();
    this.topics = new TopicChecker(kafka);
    this.sendQueue = new SendQueue({
      log: this.log,
      metrics: this.metrics,
      counters: this.counters,
      ackTimeoutMs: this.ackTimeoutMs,
      lingerMs: opts.lingerMs ?? cfg.producerLingerMs ?? 2,
      limits: { maxMessages: opts.maxBatchMessages ?? 1_000, maxBytes: opts.maxBatchBytes ?? 512 * 1024 },
      state: () => this.stateValue,
      flushOnClose: () => this.flushOnClose,
      producer: () => this.producer,
      lastError: () => this.lastError,
      onAckOverdue: () => this.onAckOverdue(),
      onBatchFailed: (err, definite, messages) => this.onBatchFailed(err, definite, messages),
      onBatchAcked: () => this.onBatchAcked(),
    });
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
   * After any failed batch, the next batch must not reuse the failed batch's sequence numbers
   * (kafkajs rolls back those of every partition in the failed request): the broker could take it
   * for a duplicate of a batch that did land and drop it silently. That is so when the outcome is
   * unknown (connection lost, timeout), and also when Kafka definitely refused the batch: it
   * refuses per partition and appends the batch's other partitions. A fresh producer gets a new
   * producer id, so that cannot happen.
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
      const caller = this.sendQueue.newCaller(topic, resolve, reject);
      const chunks = this.sendQueue.chunksOf(caller, messages);
      if (this.topics.isKnown(topic)) {
        this.sendQueue.enqueue(chunks);
        return;
      }
      this.checking++;
      this.topics.check(topic).then(
        () => {
          this.checking--;
          if (!caller.settled) this.sendQueue.enqueue(chunks);
        },
        (err: Error) => {
          this.checking--;
          this.sendQueue.settle(caller, err instanceof UnknownTopicError ? 'unknown_topic' : 'unavailable', err);
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
    this.reconnectTimer = undefined;
    if (wasReady) {
      const deadline = Date.now() + this.ackTimeoutMs;
      this.sendQueue.flush();
      while ((this.sendQueue.busy() || this.checking > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
        this.sendQueue.flush(); // a no-op while a batch is in flight
      }
    }
    this.sendQueue.failQueued(() => new ProducerUnavailableError('producer closed before the message was sent'));
    this.sendQueue.stopLinger();
    try {
      await this.producer.disconnect();
    } catch (err) {
      this.log.warn({ err }, 'error while disconnecting the producer');
    }
    for (const [connect, producer] of [...this.connecting]) {
      await connect;
      await producer.disconnect().catch((err: unknown) => this.log.debug({ err }, 'error disconnecting a producer connected while closing'));
    }
    await this.topics.disconnect();
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
      this.sendQueue.schedule();
    } else if (s === 'unavailable') {
      // Known to be unavailable: everyone still waiting in the queue fails now, not at their deadline.
      this.sendQueue.failQueued(() => new ProducerUnavailableError('Kafka is unavailable', { cause: this.lastError }));
      this.scheduleReconnect();
    }
  }

  private fail(topic: string, reason: string, err: Error): Promise<never> {
    this.counters.failures++;
    this.metrics.failures.inc({ topic, reason });
    return Promise.reject(err);
  }

  /** The batch in flight has gone unacknowledged for `ackTimeoutMs`. */
  private onAckOverdue(): void {
    if (this.stateValue === 'ready') {
      this.lastError = new Error(`a produce batch has not been acknowledged for ${this.ackTimeoutMs} ms`);
      this.log.warn({ ackTimeoutMs: this.ackTimeoutMs }, 'Kafka producer unavailable: acknowledgement overdue; failing sends fast until it recovers');
      this.setState('unavailable');
    }
  }

  private onBatchFailed(err: Error, definite: boolean, messages: number): void {
    this.lastError = err;
    this.log.error({ err, messages, definite }, 'produce batch failed');
    if (this.stateValue === 'closing' || this.stateValue === 'closed') {
      // No time to replace the producer, and this one must not send again (see replaceProducer).
      this.sendQueue.failQueued(() => new ProducerUnavailableError('producer closed after a failed batch', { cause: err }));
      return;
    }
    this.replaceProducer();
    if (this.stateValue !== 'ready') this.scheduleReconnect();
    // Kafka answered: the queued sends (the refused batch's isolated callers first) wait for the new producer.
    else if (definite) this.reconnectKeepingQueue();
    else this.setState('unavailable');
  }

  private reconnectKeepingQueue(): void {
    this.setState('connecting');
    void this.attemptConnect();
  }

  private onBatchAcked(): void {
    if (this.stateValue === 'unavailable') {
      // The overdue batch went through: Kafka is back.
      this.lastError = undefined;
      this.setState('ready');
    }
  }

  // --- connection -------------------------------------------------------------------------

  private attemptConnect(): Promise<void> {
    if (this.connectPromise) return this.connectPromise;
    const producer = this.producer;
    const attempt = (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          this.trackConnect(producer),
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
        if (this.sendQueue.overdue()) {
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

  private trackConnect(producer: Producer): Promise<void> {
    const connect = producer.connect();
    const settled: Promise<void> = connect.then(
      () => undefined,
      () => this.replaceAfterFailedConnect(producer),
    );
    this.connecting.set(settled, producer);
    void settled.then(() => this.connecting.delete(settled));
    return connect;
  }

  /**
   * kafkajs keeps a broker connection whose ApiVersions request timed out (a broker too loaded
   * to answer) and counts it as connected, without the versions: every later connect of that
   * producer fails with "Broker not connected", for ever. So a producer whose connect failed is
   * not asked again; the next attempt starts on a new one, with new connections. An attempt
   * that only outlived `connectTimeoutMs` keeps its producer: its connect is still under way.
   */
  private replaceAfterFailedConnect(producer: Producer): void {
    if (producer === this.producer && this.stateValue !== 'closing' && this.stateValue !== 'closed') this.replaceProducer();
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
}
