/** Creating one topic's kafkajs consumer and following its events (polls, group joins, crashes). */
import { PartitionAssigners, type Consumer, type ConsumerGroupJoinEvent, type RetryOptions } from 'kafkajs';
import { applyPause, type ConsumerHostContext, type Runtime } from './consumer-runtime';
import type { ConsumerCrashInfo } from './consumer-types';
import { createStickyAssigner } from './sticky-assigner';

/** `restartOnFailure` comes from the runtime's ConsumerSupervisor, which does the restarts. */
export function createConsumer(host: ConsumerHostContext, rt: Runtime, restartOnFailure: NonNullable<RetryOptions['restartOnFailure']>): Consumer {
  const o = host.opts;
  return o.kafka.consumer({
    groupId: rt.groupId,
    sessionTimeout: host.sessionTimeoutMs,
    rebalanceTimeout: o.rebalanceTimeoutMs ?? 60_000,
    heartbeatInterval: host.heartbeatIntervalMs,
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
      restartOnFailure,
    },
  });
}

/** Keeps `rt` (last poll, assignment, state, crash) up to date from the consumer's events. */
export function watchConsumer(host: ConsumerHostContext, rt: Runtime, consumer: Consumer): void {
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
    onGroupJoin(host, rt, e);
  });
}

function onGroupJoin(host: ConsumerHostContext, rt: Runtime, e: ConsumerGroupJoinEvent): void {
  const assigned = e.payload.memberAssignment[rt.topic] ?? [];
  for (const p of rt.assigned) if (!assigned.includes(p)) host.metrics.lag.remove({ topic: rt.topic, partition: String(p) });
  rt.assigned = [...assigned].sort((a, b) => a - b);
  for (const p of rt.retrying.keys()) if (!assigned.includes(p)) rt.retrying.delete(p);
  if (rt.state === 'starting' || rt.state === 'crashed') rt.state = 'running';
  // A consumer kafkajs restarted is a new consumer group object without the pause; this event
  // comes (synchronously) after the join and before the first fetch, so nothing slips through.
  applyPause(host, rt);
  host.log.info({ topic: rt.topic, groupId: rt.groupId, partitions: rt.assigned, joinMs: e.payload.duration }, 'joined consumer group');
}

/** A crash of the consumer, or a failed restart (reported by the runtime's ConsumerSupervisor). */
export function onCrash(host: ConsumerHostContext, rt: Runtime, error: Error, restart: boolean): void {
  const info: ConsumerCrashInfo = { topic: rt.topic, groupId: rt.groupId, error, restart, at: new Date() };
  rt.crash = info;
  if (rt.state !== 'stopping' && rt.state !== 'stopped') rt.state = 'crashed';
  host.metrics.crashes.inc({ topic: rt.topic });
  host.log.error({ err: error, topic: rt.topic, groupId: rt.groupId, restart }, 'Kafka consumer crashed');
  for (const l of host.crashListeners) {
    try {
      l(info);
    } catch (err) {
      host.log.warn({ err }, 'crash listener threw');
    }
  }
}
