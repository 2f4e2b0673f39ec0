/**
 * An instance's own reader of topics every instance must see whole — an in-memory view fed by a
 * topic (the sources directory, the decision cache). Its consumer group (`<groupPrefix>.<uuid>`)
 * belongs to this instance alone and commits nothing, so it disappears when the instance leaves
 * and every instance gets every record. With `fromBeginning` it first reads what the topics
 * retain; `caughtUp` turns true once it has read up to where each partition ended at start-up
 * (a readiness condition for views that must be complete before they answer).
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '@mosaic/shared-logging';
import { retryTransient } from './backoff';
import { ConsumerSupervisor, type ConsumerActivity } from './consumer-supervisor';
import { classifyFailure } from './failure-kind';

export interface TopicFollowerOptions {
  topics: readonly string[];
  /** The group id is `<groupPrefix>.<random uuid>` (keep the topic prefix in it: tests and operators find it by that). */
  groupPrefix: string;
  /** Read what the topics retain first (true), or only records produced from now on (false). */
  fromBeginning: boolean;
  /** Applies one record; a throw is reported to `onError` and the record skipped (a view must not stall on one bad record). */
  onRecord: (topic: string, message: KafkaMessage, partition: number) => void;
  onError: (err: unknown, topic: string, message: KafkaMessage) => void;
  /** Restarts after a crash are logged here; default: kafkajs' own log only. */
  logger?: Logger;
  /**
   * How long the broker may hold a fetch to gather records (ms; default 0: answer with the first
   * record). A view of a busy topic trades this much staleness for one fetch per wait instead of
   * one per record.
   */
  gatherMs?: number;
}

/** What a gathering fetch waits for besides its time: more than any wait gathers at these rates. */
const GATHER_MIN_BYTES = 1_048_576;
const IDLE_WAIT_MS = 100;
/** How long start-up retries a transient failure to read where the topics end. */
const START_RETRY_MS = 60_000;

export class TopicFollower {
  private supervisor: ConsumerSupervisor | undefined;
  /** Set by `stop()`: a start still reading where the topics end starts no consumer after it. */
  private stopping = false;
  private startUpRead: Promise<void> | undefined;
  /** Per topic and partition: the offset the start-up read must reach. */
  private readonly pending = new Map<string, bigint>();
  private loaded = false;
  private consumersRun = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: TopicFollowerOptions,
  ) {}

  /** Whether the start-up read has reached where every partition ended (always true without `fromBeginning`). */
  get caughtUp(): boolean {
    return this.loaded;
  }

  /** Starts following; resolves without a consumer when `stop()` came during the start-up read. */
  async start(): Promise<void> {
    if (!(await this.readStartUpEnds())) return;
    this.loaded = this.pending.size === 0;
    const groupId = `${this.opts.groupPrefix}.${randomUUID()}`;
    this.supervisor = new ConsumerSupervisor({
      log: this.opts.logger,
      // retries: kafkajs' default when no retry is given
      create: (restartOnFailure) => this.kafka.consumer({ groupId, ...this.fetchWait(), sessionTimeout: 30_000, retry: { retries: 5, restartOnFailure } }),
      run: (consumer, stillWanted) => this.run(consumer, stillWanted),
    });
    await this.supervisor.start();
  }

  /** With `fromBeginning`, notes where the topics end; false when `stop()` came first or meanwhile. */
  private async readStartUpEnds(): Promise<boolean> {
    if (this.stopping) return false;
    if (this.opts.fromBeginning) {
      this.startUpRead = this.noteEndOffsets();
      try {
        await this.startUpRead;
      } catch (err) {
        if (!this.stopping) throw err;
      }
    }
    return !this.stopping;
  }

  private fetchWait(): { maxWaitTimeInMs: number; minBytes?: number } {
    const gatherMs = this.opts.gatherMs ?? 0;
    return gatherMs > 0 ? { maxWaitTimeInMs: gatherMs, minBytes: GATHER_MIN_BYTES } : { maxWaitTimeInMs: IDLE_WAIT_MS };
  }

  /**
   * Cancels a restart after a crash (or waits for one under way), then disconnects; a start
   * still reading where the topics end stops retrying and starts no consumer. Final: a stopped
   * follower does not start again.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.startUpRead?.catch(() => undefined);
    await this.supervisor?.stop();
  }

  /**
   * How many consumers the follower has run (one per start or restart after a crash). A view that
   * must not miss a record sees a restart here: the new consumer reads again from where its start
   * says, and what it missed while down comes after that.
   */
  get consumerRuns(): number {
    return this.consumersRun;
  }

  /** What is left of the follower's consumer (all false once `stop()` resolved). */
  activity(): ConsumerActivity {
    return this.supervisor?.activity() ?? { connected: false, restartPending: false, starting: false };
  }

  private async run(consumer: Consumer, stillWanted: () => boolean): Promise<void> {
    this.consumersRun += 1;
    await consumer.connect();
    if (!stillWanted()) return;
    await consumer.subscribe({ topics: [...this.opts.topics], fromBeginning: this.opts.fromBeginning });
    if (!stillWanted()) return;
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) this.apply(batch.topic, message, batch.partition);
        this.reached(batch.topic, batch.partition, BigInt(batch.lastOffset()));
      },
    });
  }

  private apply(topic: string, message: KafkaMessage, partition: number): void {
    try {
      this.opts.onRecord(topic, message, partition);
    } catch (err) {
      this.opts.onError(err, topic, message);
    }
  }

  /**
   * Where each partition ends now. Retried while Kafka fails transiently (for up to
   * START_RETRY_MS): under load a broker can answer a start-up's offset request with "not the
   * leader" while it refreshes, which must not stop the service from starting.
   */
  private noteEndOffsets(): Promise<void> {
    return retryTransient(() => this.readEndOffsets(), {
      withinMs: START_RETRY_MS,
      isTransient: (err) => !this.stopping && classifyFailure(err) === 'transient',
      onRetry: (err, delayMs) =>
        this.opts.logger?.warn({ err, topics: this.opts.topics, delayMs }, 'reading where the followed topics end failed for now; retrying'),
    });
  }

  private async readEndOffsets(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      this.pending.clear();
      for (const topic of this.opts.topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) {
          if (BigInt(p.high) > BigInt(p.low)) this.pending.set(`${topic}|${p.partition}`, BigInt(p.high) - 1n);
        }
      }
    } finally {
      await admin.disconnect();
    }
  }

  private reached(topic: string, partition: number, offset: bigint): void {
    const key = `${topic}|${partition}`;
    const target = this.pending.get(key);
    if (target === undefined || offset < target) return;
    this.pending.delete(key);
    if (this.pending.size === 0) this.loaded = true;
  }
}
