/**
 * Delivery: a bounded queue of messages, sent in batches to `/v1/batch`, retried with
 * exponential back-off and jitter, persisted (by the caller's `save`) so that it survives
 * reloads, and handed to `sendBeacon` when the page goes away. Every message keeps the
 * `messageId` it was created with, so a retry can never become a second event: the collector
 * acknowledges a repeated id without storing it twice.
 *
 * Pure: the transport, timers, clock, randomness and persistence are injected.
 */
import type { Message } from './types';

/** Segment's per-message limit: a larger message would be refused, so it is dropped here. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
/** One request: under the 64 KB that browsers allow for `sendBeacon` and keep-alive fetches. */
export const MAX_REQUEST_BYTES = 60 * 1024;
/** Most messages in one request. */
export const MAX_BATCH_MESSAGES = 100;

export interface QueueItem {
  /** the message */
  m: Message;
  /** failed delivery attempts so far */
  a: number;
}

export interface Transport {
  /** POSTs a batch body; resolves with the HTTP status, 0 when the network failed. */
  send(body: string): Promise<number>;
  /** `navigator.sendBeacon`: true when the browser accepted the body for sending. */
  beacon(body: string): boolean;
}

export interface OutboxDeps {
  transport: Transport;
  /** The request body for these messages (write key, `sentAt`, `batch`). */
  body(messages: Message[]): string;
  /** Persists the queue (localStorage); a no-op while storing is not allowed. */
  save(items: QueueItem[]): void;
  /** false while the browser says it is offline: nothing is handed to sendBeacon then. */
  online(): boolean;
  now(): number;
  random(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export interface OutboxOptions {
  flushInterval: number;
  flushAt: number;
  maxQueue: number;
  retryBase: number;
  retryMax: number;
}

export type Verdict = 'ok' | 'retry' | 'drop';

/**
 * What to do with a batch after an answer: 2xx delivered (a 200 may list rejected messages;
 * retrying would not change that); network failure, 408, 429 and 5xx retry; any other 4xx
 * (bad write key, malformed) would fail the same way again, so the batch is dropped.
 */
export function verdict(status: number): Verdict {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 0 || status === 408 || status === 429 || status >= 500) return 'retry';
  return 'drop';
}

/** Delay before retry number `attempt` (1, 2, …): base·2^(attempt−1), at most max, ±25 % jitter (random in [0,1)). */
export function backoff(attempt: number, base: number, max: number, random: number): number {
  const d = Math.min(max, base * Math.pow(2, Math.max(0, Math.min(attempt, 30) - 1)));
  return Math.round(d * (0.75 + random * 0.5));
}

/** UTF-8 size, never under-estimated (surrogate pairs count 6 bytes). */
export function byteLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) n += c > 0x7ff ? 2 : 1;
  }
  return n;
}

/** How many of the first items fit one request (at least one). */
export function batchSize(items: readonly QueueItem[], maxBytes = MAX_REQUEST_BYTES, maxCount = MAX_BATCH_MESSAGES): number {
  let bytes = 200; // envelope: writeKey, sentAt, brackets
  let n = 0;
  while (n < items.length && n < maxCount) {
    bytes += byteLength(JSON.stringify((items[n] as QueueItem).m)) + 1;
    if (n > 0 && bytes > maxBytes) break;
    n++;
  }
  return n;
}

/** Adds items not already queued (by messageId), keeping at most `max`: the oldest are dropped. */
export function mergeQueue(queue: readonly QueueItem[], more: readonly QueueItem[], max: number): QueueItem[] {
  const seen: Record<string, 1> = {};
  const out: QueueItem[] = [];
  for (const i of queue.concat(more)) {
    if (!i || !i.m || typeof i.m.messageId !== 'string' || seen[i.m.messageId]) continue;
    seen[i.m.messageId] = 1;
    out.push(i);
  }
  return out.length > max ? out.slice(out.length - max) : out;
}

export class Outbox {
  items: QueueItem[] = [];
  private sending: QueueItem[] = [];
  private inflight: Promise<void> | undefined;
  private timer: unknown;
  private due = 0;
  /** After a failed send, nothing is tried before this time (except an explicit flush). */
  private until = 0;

  constructor(
    private readonly d: OutboxDeps,
    private readonly o: OutboxOptions,
  ) {}

  /** Queues a message; sends at once when `flushAt` are waiting, else within `flushInterval`. */
  add(m: Message): void {
    if (byteLength(JSON.stringify(m)) > MAX_MESSAGE_BYTES) return;
    this.items = mergeQueue(this.items, [{ m, a: 0 }], this.o.maxQueue);
    this.d.save(this.items);
    this.schedule(this.items.length >= this.o.flushAt ? 0 : this.o.flushInterval);
  }

  /** Takes over messages persisted by earlier pages (the offline queue) and sends them soon. */
  adopt(items: readonly QueueItem[]): void {
    if (!items.length) return;
    this.items = mergeQueue(items, this.items, this.o.maxQueue);
    this.d.save(this.items);
    this.schedule(0);
  }

  /** Sends the next batch now. Resolves when its answer (or failure) has been handled. */
  flush(): Promise<void> {
    if (this.inflight) return this.inflight;
    this.cancel();
    if (!this.items.length) return Promise.resolve();
    const batch = this.items.slice(0, batchSize(this.items));
    this.sending = batch;
    let sent: Promise<number>;
    try {
      sent = this.d.transport.send(this.d.body(batch.map((i) => i.m)));
    } catch {
      sent = Promise.resolve(0);
    }
    this.inflight = sent.then(
      (status) => this.done(batch, verdict(status)),
      () => this.done(batch, 'retry'),
    );
    return this.inflight;
  }

  /**
   * The page is going away (pagehide, or hidden): everything not already in a request goes to
   * sendBeacon. Messages that never failed are trusted to it (and to the keep-alive request in
   * flight); those that already failed, and all of them while sends are failing, stay in the
   * persisted queue too, for the next page to send again, since a beacon's fate is unknown
   * (the collector acknowledges a repeated messageId without storing it twice).
   */
  unload(): void {
    this.cancel();
    const rest = this.items.filter((i) => this.sending.indexOf(i) < 0);
    const keep: QueueItem[] = [];
    for (let i = 0; i < rest.length;) {
      const chunk = rest.slice(i, i + batchSize(rest.slice(i)));
      i += chunk.length;
      let ok = false;
      try {
        ok = this.d.online() && this.d.transport.beacon(this.d.body(chunk.map((x) => x.m)));
      } catch {
        ok = false;
      }
      // While the collector is failing (in back-off), nothing is trusted to a beacon.
      for (const x of chunk) if (!ok || x.a > 0 || this.until) keep.push(x);
    }
    this.items = this.sending.concat(keep);
    this.d.save(keep.concat(this.sending.filter((x) => x.a > 0)));
    // If the page lives on (a hidden tab, the back-forward cache), what is left is retried.
    if (keep.length) this.schedule(this.o.retryBase);
  }

  private done(batch: QueueItem[], v: Verdict): void {
    this.inflight = undefined;
    this.sending = [];
    if (v === 'retry') {
      let attempts = 0;
      for (const i of batch) attempts = Math.max(attempts, ++i.a);
      this.d.save(this.items);
      this.cancel();
      this.until = this.d.now() + backoff(attempts, this.o.retryBase, this.o.retryMax, this.d.random());
      this.schedule(0);
      return;
    }
    this.until = 0;
    this.items = this.items.filter((i) => batch.indexOf(i) < 0);
    this.d.save(this.items);
    if (this.items.length) this.schedule(this.items.length >= this.o.flushAt || v === 'ok' ? 0 : this.o.flushInterval);
  }

  private schedule(ms: number): void {
    const now = this.d.now();
    const due = Math.max(now + ms, this.until);
    if (this.timer !== undefined && this.due <= due) return;
    this.cancel();
    this.due = due;
    this.timer = this.d.setTimer(() => {
      this.timer = undefined;
      void this.flush();
    }, due - now);
  }

  private cancel(): void {
    if (this.timer !== undefined) this.d.clearTimer(this.timer);
    this.timer = undefined;
  }
}
