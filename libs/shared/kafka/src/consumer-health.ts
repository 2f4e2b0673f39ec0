/** Health of the consumer host's consumers (readiness and the `/health` output). */
import type { Runtime } from './consumer-runtime';
import type { ConsumerHealth, ConsumerHostHealth } from './consumer-types';

export function consumerHealth(rt: Runtime, staleAfterMs: number, now: number): ConsumerHealth {
  const reference = rt.lastPollAt ?? (rt.startedAt || null);
  const fresh = reference !== null && now - reference <= staleAfterMs;
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
}

export function consumerHostHealth(runtimes: readonly Runtime[], staleAfterMs: number, now: number): ConsumerHostHealth {
  const topics = runtimes.map((rt) => consumerHealth(rt, staleAfterMs, now));
  const polls = runtimes.map((r) => r.lastPollAt);
  const oldest = polls.some((p) => p === null) ? null : polls.length ? Math.min(...(polls as number[])) : null;
  return { ok: topics.every((t) => t.ok), lastPollAt: oldest === null ? null : new Date(oldest).toISOString(), topics };
}
