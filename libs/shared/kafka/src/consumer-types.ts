/** The consumer host's public types: what a handler gets, how a topic is registered, options and health. */
import type { Kafka } from 'kafkajs';
import type { ServiceName, TopicKey } from '@mosaic/contracts';
import type { KafkaConfig } from '@mosaic/shared-config';
import type { Logger, Registry } from '@mosaic/shared-logging';
import type { FailureKind } from './failure-kind';
import type { InboundMessage } from './inbound-message';
import type { MessageSender } from './produce-message';
import type { Tracing } from './tracing';

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
   * kafkajs consumer retry (fetch loop, commits); when exhausted the consumer crashes and the host
   * restarts it (first after `initialRetryTime`, doubling up to `maxRetryTime`).
   * Default `{ retries: 5, initialRetryTime: 300, maxRetryTime: 30000 }`.
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
  /** The host restarts the consumer (a fresh one, after a back-off) when true. */
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
  /** The last crash (kept after the consumer restarted; `state` tells whether it is running again). */
  crash?: { error: string; restart: boolean; at: string };
}

/** What is still alive of the host's consumers, counted over its topics (all 0 once `stop()` resolved). */
export interface ConsumerHostActivity {
  /** Consumers connected. */
  connected: number;
  /** Restarts waiting for their back-off. */
  restartsPending: number;
  /** Starts or restarts connecting, subscribing or joining their group. */
  starting: number;
}

export interface ConsumerHostHealth {
  /** Every consumer is running, not crashed, and polled within `staleAfterMs`. */
  ok: boolean;
  /** The oldest of the consumers' last polls (ISO-8601), null if one never polled. */
  lastPollAt: string | null;
  topics: ConsumerHealth[];
}
