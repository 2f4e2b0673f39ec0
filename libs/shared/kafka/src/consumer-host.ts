/**
 * Batch consumption for every stage: one kafkajs consumer per topic, commit only after the
 * handler's promise resolved, per-message retries by failure kind (see failure-kind.ts),
 * dead-letter topic, health, metrics and a graceful drain on stop.
 *
 * The parts: consumer-setup.ts (the kafkajs consumer and its events), consumer-supervisor.ts
 * (restarts after a crash, and a stop that cancels them), partition-batch.ts (batch mode and commits), message-retry.ts (single-message mode, retries), consumer-dead-letter.ts,
 * consumer-health.ts.
 */
import type { Consumer } from 'kafkajs';
import { DLQ_TOPIC_OF, TOPIC_SPECS, topicName, type TopicKey } from '@mosaic/contracts';
import { Registry } from '@mosaic/shared-logging';
import { consumerHostHealth } from './consumer-health';
import { applyPause, newRuntime, type ConsumerHostContext, type Runtime } from './consumer-runtime';
import { createConsumer, onCrash, watchConsumer } from './consumer-setup';
import { ConsumerSupervisor } from './consumer-supervisor';
import type { ConsumerCrashInfo, ConsumerHostActivity, ConsumerHostHealth, ConsumerHostOptions, ConsumerRegistration } from './consumer-types';
import { toError } from './errors';
import { classifyFailure } from './failure-kind';
import { consumerMetrics } from './metrics';
import { onBatch } from './partition-batch';

export type { InboundMessage } from './inbound-message';
export type {
  BatchContext,
  BatchHandler,
  ConsumerCrashInfo,
  ConsumerHealth,
  ConsumerHostActivity,
  ConsumerHostHealth,
  ConsumerHostOptions,
  ConsumerRegistration,
  ConsumerState,
} from './consumer-types';
export { decodeHeaders, toInboundMessage } from './inbound-decode';
export { isGroupMembershipError } from './consumer-runtime';

/**
 * Hosts the service's consumers: `register()` one handler per topic, `start()`, `stop()` on
 * SIGTERM. Each topic gets its own kafkajs consumer and group (`<groupId>.<topicKey>`): kafkajs
 * assigns all subscribed topics to every member of a group, so members subscribing to different
 * topics must not share one.
 */
export class ConsumerHost {
  private readonly host: ConsumerHostContext;
  private readonly runtimes = new Map<TopicKey, Runtime>();
  private readonly crashListeners = new Set<(info: ConsumerCrashInfo) => void>();
  private readonly staleAfterMs: number;
  private started = false;
  private stopping: Promise<void> | undefined;
  /** Set by `pause()`: every consumer, including one restarted after a crash, stays paused. */
  private paused = false;

  constructor(private readonly opts: ConsumerHostOptions) {
    const sessionTimeoutMs = opts.sessionTimeoutMs ?? opts.config.consumer.sessionTimeoutMs;
    this.host = {
      opts,
      log: opts.logger.child({ component: 'consumer-host' }),
      metrics: consumerMetrics(opts.registry ?? new Registry()),
      dlqTopic: topicName(opts.config.topicPrefix, DLQ_TOPIC_OF[opts.service]),
      sessionTimeoutMs,
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? Math.max(100, Math.min(3_000, Math.floor(sessionTimeoutMs / 3))),
      classify: opts.classifyFailure ?? classifyFailure,
      crashListeners: this.crashListeners,
      isPaused: () => this.paused,
    };
    this.staleAfterMs = opts.staleAfterMs ?? 30_000;
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
    this.runtimes.set(reg.topic, newRuntime(reg, topicName(this.opts.config.topicPrefix, reg.topic), this.groupIdFor(reg.topic)));
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
    for (const rt of this.runtimes.values()) applyPause(this.host, rt);
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
        this.host.log.debug({ err, topic: rt.topic }, 'could not resume a consumer');
      }
    }
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Called on every consumer crash and failed restart (the host restarts the consumer when `restart`). */
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
   * then closes connections). A restart after a crash is cancelled, or waited for and
   * disconnected, so nothing of the host is left once this resolves. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all([...this.runtimes.values()].map((rt) => this.stopOne(rt)));
      this.host.log.info({ topics: [...this.runtimes.values()].map((r) => r.topic) }, 'consumers stopped');
    })();
    return this.stopping;
  }

  health(now: number = Date.now()): ConsumerHostHealth {
    return consumerHostHealth([...this.runtimes.values()], this.staleAfterMs, now);
  }

  activity(): ConsumerHostActivity {
    const all = [...this.runtimes.values()].map((rt) => rt.supervisor?.activity());
    const count = (f: 'connected' | 'restartPending' | 'starting') => all.filter((a) => a?.[f]).length;
    return { connected: count('connected'), restartsPending: count('restartPending'), starting: count('starting') };
  }

  // ---------------------------------------------------------------------------------------

  private async startOne(rt: Runtime): Promise<void> {
    const retry = this.opts.consumerRetry;
    const supervisor = new ConsumerSupervisor({
      log: this.host.log.child({ topic: rt.topic, groupId: rt.groupId }),
      restartDelayMs: retry?.initialRetryTime,
      maxRestartDelayMs: retry?.maxRetryTime,
      create: (restartOnFailure) => {
        const consumer = createConsumer(this.host, rt, restartOnFailure);
        rt.consumer = consumer;
        watchConsumer(this.host, rt, consumer);
        return consumer;
      },
      run: (consumer, stillWanted) => this.runConsumer(rt, consumer, stillWanted),
      onCrash: (error, restart) => onCrash(this.host, rt, error, restart),
    });
    rt.supervisor = supervisor;
    rt.state = 'starting';
    rt.startedAt = Date.now();
    try {
      await supervisor.start();
    } catch (err) {
      rt.state = 'stopped';
      throw err;
    }
  }

  /** One start of `consumer` (the first, or a restart after a crash). */
  private async runConsumer(rt: Runtime, consumer: Consumer, stillWanted: () => boolean): Promise<void> {
    const o = this.opts;
    try {
      await consumer.connect();
      if (!stillWanted()) return;
      await consumer.subscribe({ topics: [rt.topic], fromBeginning: rt.reg.fromBeginning ?? true });
    } catch (err) {
      const e = toError(err);
      const hint = (err as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION' ? ' (the topic does not exist: provision it)' : '';
      throw new Error(`cannot start the consumer of ${rt.topic}${hint}: ${e.message}`, { cause: err });
    }
    if (!stillWanted()) return;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? o.config.consumer.concurrency,
      eachBatch: (payload) => onBatch(this.host, rt, payload),
    });
  }

  private async stopOne(rt: Runtime): Promise<void> {
    if (!rt.supervisor) {
      rt.state = 'stopped';
      return;
    }
    rt.state = 'stopping';
    clearResumeTimers(rt);
    await rt.supervisor.stop();
    // A batch that failed during the drain may have set a retry's timer meanwhile.
    clearResumeTimers(rt);
    rt.state = 'stopped';
    for (const p of rt.assigned) this.host.metrics.lag.remove({ topic: rt.topic, partition: String(p) });
    rt.assigned = [];
  }
}

function clearResumeTimers(rt: Runtime): void {
  for (const t of rt.resumeTimers.values()) clearTimeout(t);
  rt.resumeTimers.clear();
}
