/**
 * One kafkajs consumer kept running across crashes, and stopped for good by `stop()`.
 *
 * kafkajs' own restart after a crash (`retry.restartOnFailure`) is switched off: its restart
 * runs on a timer and then connects and joins the group, and `consumer.disconnect()` does not
 * cancel a restart that is already connecting or joining. After a broker outage such a restart
 * failed after `disconnect()`, scheduled the next one, and went on for ever: the process never
 * exited (a SIGTERM drain that hung until the force timer). Here every restart is a fresh
 * consumer, on a timer and a start-up that `stop()` cancels and waits for.
 */
import type { Consumer, RetryOptions } from 'kafkajs';
import type { Logger } from '@mosaic/shared-logging';
import { computeBackoffMs } from './backoff';
import { toError } from './errors';

export interface ConsumerSupervisorOptions {
  /** A new kafkajs consumer, its `retry.restartOnFailure` set to the one given. */
  create(restartOnFailure: NonNullable<RetryOptions['restartOnFailure']>): Consumer;
  /** Connects, subscribes and runs `consumer`; a throw means this start failed. */
  run(consumer: Consumer, stillWanted: () => boolean): Promise<void>;
  /** A crash, or a failed restart; `restart` tells whether another start is scheduled. */
  onCrash?(error: Error, restart: boolean): void;
  /** Restarts and failed disconnects are logged here (kafkajs logs the crashes). */
  log?: Logger;
  /** First restart delay, doubled per failed restart up to `maxRestartDelayMs`; default 300. */
  restartDelayMs?: number;
  /** Default 30000. */
  maxRestartDelayMs?: number;
}

/** What is still alive of a supervised consumer (all false once `stop()` resolved). */
export interface ConsumerActivity {
  /** Its current consumer is connected (between kafkajs' CONNECT and DISCONNECT events). */
  connected: boolean;
  /** A restart is waiting for its delay. */
  restartPending: boolean;
  /** A start or restart is connecting, subscribing or joining the group. */
  starting: boolean;
}

export class ConsumerSupervisor {
  private current: Consumer | undefined;
  private connected = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  /** Failed restarts in a row (the back-off grows with it). */
  private failures = 0;
  /** kafkajs asked whether to restart (it does so only for retriable errors) since the last crash. */
  private restartWanted = false;

  constructor(private readonly opts: ConsumerSupervisorOptions) {}

  get consumer(): Consumer | undefined {
    return this.current;
  }

  activity(): ConsumerActivity {
    return { connected: this.connected, restartPending: this.restartTimer !== undefined, starting: this.starting !== undefined };
  }

  /** The first start; throws when it fails (no restart follows). */
  start(): Promise<void> {
    return this.track(this.launch());
  }

  /**
   * Cancels a pending restart, disconnects the consumer, waits for a start under way and
   * disconnects what it started. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.clearRestart();
      await this.disconnectCurrent();
      while (this.starting) {
        await this.starting.catch(() => undefined);
        this.clearRestart();
        await this.disconnectCurrent();
      }
    })();
    return this.stopped;
  }

  // ---------------------------------------------------------------------------------------

  private isStopping(): boolean {
    return this.stopped !== undefined;
  }

  private track(start: Promise<void>): Promise<void> {
    const tracked = start.finally(() => {
      if (this.starting === tracked) this.starting = undefined;
    });
    this.starting = tracked;
    return tracked;
  }

  private async launch(): Promise<void> {
    const consumer = this.opts.create(async () => {
      this.restartWanted = true;
      return false;
    });
    this.current = consumer;
    this.watch(consumer);
    try {
      await this.opts.run(consumer, () => !this.isStopping());
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
  }

  private watch(consumer: Consumer): void {
    const ev = consumer.events;
    consumer.on(ev.CONNECT, () => {
      if (consumer === this.current) this.connected = true;
    });
    consumer.on(ev.DISCONNECT, () => {
      if (consumer === this.current) this.connected = false;
    });
    consumer.on(ev.GROUP_JOIN, () => {
      if (consumer === this.current) this.failures = 0;
    });
    // kafkajs emits CRASH after it disconnected the crashed consumer.
    consumer.on(ev.CRASH, (e) => {
      if (consumer !== this.current) return;
      const restart = this.restartWanted && !this.isStopping();
      this.restartWanted = false;
      this.opts.onCrash?.(e.payload.error, restart);
      if (restart) this.scheduleRestart(e.payload.error);
    });
  }

  private scheduleRestart(err: Error): void {
    if (this.isStopping() || this.restartTimer) return;
    this.failures++;
    const delay = computeBackoffMs(this.failures, { baseMs: this.opts.restartDelayMs ?? 300, maxMs: this.opts.maxRestartDelayMs ?? 30_000 });
    this.opts.log?.warn({ err, retryInMs: delay }, 'restarting the Kafka consumer');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.isStopping()) return;
      void this.track(this.restart());
    }, delay);
  }

  private async restart(): Promise<void> {
    try {
      await this.launch();
    } catch (err) {
      const e = toError(err);
      const again = !this.isStopping();
      this.opts.onCrash?.(e, again);
      if (again) this.scheduleRestart(e);
    }
  }

  private clearRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private async disconnectCurrent(): Promise<void> {
    try {
      await this.current?.disconnect();
    } catch (err) {
      this.opts.log?.warn({ err }, 'error while disconnecting a Kafka consumer');
    }
  }
}
