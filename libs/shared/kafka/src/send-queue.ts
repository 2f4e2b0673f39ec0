/**
 * The EventProducer's coalescing queue: `send()` calls within `lingerMs` (and while a batch is in
 * flight) are merged into one `sendBatch`; one batch is in flight at a time; each caller and each
 * batch has an acknowledgement deadline of `ackTimeoutMs`. When Kafka refuses a batch shared by
 * several callers, each of them is sent again on its own (see `isolate`).
 */
import type { Producer } from 'kafkajs';
import type { Logger } from '@mosaic/shared-logging';
import { groupByTopic, splitIntoChunks, takeBatch, type BatchLimits, type Chunk, type OutboundMessage } from './batching';
import { isDefiniteRejection } from './definite-rejection';
import { ProducerSendError, ProducerUnavailableError } from './errors';
import type { ProducerMetrics } from './metrics';
import type { ProducerState, ProducerStats } from './producer-types';

/** One `send()` call waiting for the acknowledgement of its messages. */
export interface Caller {
  topic: string;
  startedAt: number;
  remaining: number;
  settled: boolean;
  /** Was in a batch Kafka refused with other callers: goes out in batches of its own from now on. */
  alone: boolean;
  timer: NodeJS.Timeout;
  resolve: () => void;
  reject: (e: Error) => void;
}

export interface QueuedChunk extends Chunk {
  topic: string;
  caller: Caller;
}

interface InFlight {
  chunks: QueuedChunk[];
  startedAt: number;
  overdue: boolean;
  timer: NodeJS.Timeout;
}

/** What the queue needs from the producer that owns it (the producer owns the state and the connection). */
export interface SendQueueOwner {
  readonly log: Logger;
  readonly metrics: ProducerMetrics;
  readonly counters: ProducerStats;
  readonly ackTimeoutMs: number;
  readonly lingerMs: number;
  readonly limits: BatchLimits;
  state(): ProducerState;
  /** Set by disconnect() when it drains the queue (it was ready). */
  flushOnClose(): boolean;
  /** The current kafkajs producer (replaced after a failure with an unknown outcome). */
  producer(): Producer;
  lastError(): Error | undefined;
  /** The batch in flight has gone unacknowledged for `ackTimeoutMs`. */
  onAckOverdue(): void;
  /**
   * The batch in flight failed; `definite`: Kafka refused it (see definite-rejection.ts). Either
   * way the kafkajs producer must not send again (see EventProducer.replaceProducer); after a
   * definite rejection the queue keeps its chunks for the next one.
   */
  onBatchFailed(err: Error, definite: boolean, messages: number): void;
  /** The batch in flight was acknowledged. */
  onBatchAcked(): void;
}

export class SendQueue {
  private readonly queue: QueuedChunk[] = [];
  private inFlight: InFlight | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(private readonly owner: SendQueueOwner) {}

  /** A caller for one `send()`, with its acknowledgement deadline running. */
  newCaller(topic: string, resolve: () => void, reject: (e: Error) => void): Caller {
    const caller: Caller = {
      topic,
      startedAt: Date.now(),
      remaining: 0,
      settled: false,
      alone: false,
      resolve,
      reject,
      timer: setTimeout(() => this.onCallerTimeout(caller), this.owner.ackTimeoutMs),
    };
    return caller;
  }

  /** `messages` cut into chunks that fit a batch, each waited for by `caller`. */
  chunksOf(caller: Caller, messages: OutboundMessage[]): QueuedChunk[] {
    const chunks = splitIntoChunks(messages, this.owner.limits).map((c) => ({ ...c, topic: caller.topic, caller }));
    caller.remaining = chunks.length;
    return chunks;
  }

  /** Chunks are queued or a batch is in flight. */
  busy(): boolean {
    return this.queue.length > 0 || this.inFlight !== undefined;
  }

  /** The batch in flight went unacknowledged for `ackTimeoutMs` and has not gone through since. */
  overdue(): boolean {
    return this.inFlight?.overdue === true;
  }

  /** Fails every caller still waiting in the queue (not the batch in flight) with `error()`. */
  failQueued(error: () => Error): void {
    for (const c of this.queue.splice(0)) this.settle(c.caller, 'unavailable', error());
  }

  stopLinger(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
  }

  settle(caller: Caller, reason: string, err?: Error): void {
    if (caller.settled) return;
    caller.settled = true;
    clearTimeout(caller.timer);
    if (err) {
      this.owner.counters.failures++;
      this.owner.metrics.failures.inc({ topic: caller.topic, reason });
      caller.reject(err);
    } else {
      this.owner.metrics.ackLatency.observe({ topic: caller.topic }, (Date.now() - caller.startedAt) / 1000);
      caller.resolve();
    }
  }

  enqueue(chunks: QueuedChunk[]): void {
    const state = this.owner.state();
    if (state === 'unavailable' || state === 'closed' || (state === 'closing' && !this.owner.flushOnClose())) {
      const caller = chunks[0]?.caller;
      if (caller) this.settle(caller, 'unavailable', new ProducerUnavailableError('Kafka is unavailable', { cause: this.owner.lastError() }));
      return;
    }
    this.queue.push(...chunks);
    this.schedule();
  }

  schedule(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const state = this.owner.state();
    if (state !== 'ready' && state !== 'closing') return;
    const { messages, bytes } = this.queuedTotals();
    const { maxMessages, maxBytes } = this.owner.limits;
    if (messages >= maxMessages || bytes >= maxBytes || state === 'closing') {
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      this.flush();
      return;
    }
    if (!this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        this.flush();
      }, this.owner.lingerMs);
    }
  }

  flush(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const state = this.owner.state();
    if (state !== 'ready' && state !== 'closing') return;
    const chunks = takeBatch(this.queue, this.owner.limits, mayShareBatch).filter((c) => !c.caller.settled);
    if (chunks.length === 0) {
      this.schedule();
      return;
    }
    const inFlight: InFlight = {
      chunks,
      startedAt: Date.now(),
      overdue: false,
      timer: setTimeout(() => this.onBatchOverdue(inFlight), this.owner.ackTimeoutMs),
    };
    this.inFlight = inFlight;
    this.owner.counters.batches++;
    this.owner.metrics.batches.inc();
    const size = chunks.reduce((n, c) => n + c.messages.length, 0);
    this.owner.metrics.batchSize.observe(size);
    this.owner
      .producer()
      .sendBatch({
        acks: -1,
        timeout: Math.max(this.owner.ackTimeoutMs, 1_000),
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

  private queuedTotals(): { messages: number; bytes: number } {
    let messages = 0;
    let bytes = 0;
    for (const c of this.queue) {
      messages += c.messages.length;
      bytes += c.bytes;
    }
    return { messages, bytes };
  }

  private onCallerTimeout(caller: Caller): void {
    // Drop its chunks that have not been sent yet; chunks already in flight may still land.
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]?.caller === caller) this.queue.splice(i, 1);
    // Its batch left after the send, so it is overdue within lingerMs anyway. Declaring that first
    // means whoever sees this rejection also sees 'unavailable' (the next send fails at once),
    // instead of a window, however short, in which sends are still queued behind the lost batch.
    const inFlight = this.inFlight;
    if (inFlight?.chunks.some((c) => c.caller === caller)) this.onBatchOverdue(inFlight);
    this.settle(
      caller,
      'timeout',
      new ProducerUnavailableError(`no acknowledgement from Kafka within ${this.owner.ackTimeoutMs} ms`, { cause: this.owner.lastError() }),
    );
  }

  private onBatchOverdue(inFlight: InFlight): void {
    if (this.inFlight !== inFlight) return;
    inFlight.overdue = true;
    this.owner.onAckOverdue();
  }

  private onBatchDone(inFlight: InFlight, err?: Error): void {
    clearTimeout(inFlight.timer);
    if (this.inFlight === inFlight) this.inFlight = undefined;
    if (err) this.onBatchFailed(inFlight, err);
    else this.onBatchAcked(inFlight);
    this.schedule();
  }

  private onBatchAcked(inFlight: InFlight): void {
    for (const chunk of inFlight.chunks) {
      const caller = chunk.caller;
      if (caller.settled) continue;
      this.owner.counters.acked += chunk.messages.length;
      this.owner.metrics.produced.inc({ topic: chunk.topic }, chunk.messages.length);
      if (--caller.remaining === 0) this.settle(caller, 'ok');
    }
    this.owner.onBatchAcked();
  }

  /**
   * A refused batch of one caller is that caller's fault (ProducerSendError: permanent). A refused
   * batch of several may be any one's, so none of them gets that verdict: they are isolated.
   */
  private onBatchFailed(inFlight: InFlight, err: Error): void {
    const definite = isDefiniteRejection(err);
    const pending = inFlight.chunks.filter((c) => !c.caller.settled);
    const shared = new Set(inFlight.chunks.map((c) => c.caller)).size > 1;
    if (definite && shared) this.isolate(pending);
    else if (definite)
      for (const c of pending) this.settle(c.caller, 'error', new ProducerSendError(`Kafka refused the records: ${err.message}`, { cause: err }));
    else
      for (const c of pending) this.settle(c.caller, 'unavailable', new ProducerUnavailableError(`Kafka did not acknowledge: ${err.message}`, { cause: err }));
    this.owner.onBatchFailed(
      err,
      definite,
      inFlight.chunks.reduce((n, c) => n + c.messages.length, 0),
    );
  }

  /**
   * Kafka refused a batch shared by several callers. kafkajs reports only the first partition
   * error of the produce response, without its partition, so whose record was refused is
   * unknown: each caller's chunks go back to the head of the queue (in order) to be sent in
   * batches of their own, and each caller gets its own verdict. Kafka appends per partition, so
   * the records of the other partitions may already be written: sending them again writes them
   * twice (the producer is replaced first, so the broker cannot take them for duplicates and,
   * worse, take a later batch for one). That is the at-least-once every stage already absorbs:
   * identity, enrichment, segmentation and activation de-duplicate by `messageId` (DESIGN §8,
   * docs/decisions.md) and dead letters carry a deterministic one (dead-letter.ts).
   */
  private isolate(pending: QueuedChunk[]): void {
    for (const c of pending) c.caller.alone = true;
    this.queue.unshift(...pending);
  }
}

/** A caller refused in a shared batch goes out alone until it has its own verdict; the others coalesce. */
function mayShareBatch(first: QueuedChunk, entry: QueuedChunk): boolean {
  return first.caller === entry.caller || (!first.caller.alone && !entry.caller.alone);
}
