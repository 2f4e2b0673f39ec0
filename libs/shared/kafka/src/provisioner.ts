/**
 * Creates Mosaic's topics explicitly from `TOPIC_SPECS` (the broker runs with
 * `auto.create.topics.enable=false`). Idempotent and safe when several services race.
 */
import { ConfigResourceTypes, KafkaJSRequestTimeoutError, type Admin, type ITopicConfig, type Kafka } from 'kafkajs';
import { TOPIC_SPECS, topicName, type TopicKey } from '@mosaic/contracts';
import type { KafkaConfig } from '@mosaic/shared-config';
import type { Logger } from '@mosaic/shared-logging';
import { retryTransient } from './backoff';

export interface ProvisionOptions {
  /** How long to wait for creation and partition leaders; default: the config's `provisionTimeoutMs`. */
  timeoutMs?: number;
}

export interface TopicReport {
  key: TopicKey;
  name: string;
  /** `created` by this call, or already `existing` (created earlier or by a concurrent caller). */
  status: 'created' | 'existing';
  partitions: number;
  /** Problems found on an existing topic (fewer partitions than configured, other cleanup policy). */
  warnings: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The topic configuration a spec asks for. */
export function topicConfigEntries(key: TopicKey, replicationFactor: number): { name: string; value: string }[] {
  const spec = TOPIC_SPECS[key];
  return [
    { name: 'cleanup.policy', value: spec.cleanupPolicy },
    // With cleanup.policy=compact the log cleaner ignores retention.ms; the spec's -1 documents "forever".
    { name: 'retention.ms', value: String(spec.retentionMs) },
    { name: 'min.insync.replicas', value: String(Math.min(2, replicationFactor)) },
    ...(spec.segmentMs === undefined ? [] : [{ name: 'segment.ms', value: String(spec.segmentMs) }]),
  ];
}

export class TopicProvisioner {
  private readonly log: Logger;

  constructor(
    private readonly kafka: Kafka,
    private readonly cfg: KafkaConfig,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'topic-provisioner' });
  }

  /**
   * Makes sure the topics exist with the configured prefix, partitions and replication factor
   * and the spec's `cleanup.policy` / `retention.ms` (`min.insync.replicas` = min(2, RF)), and
   * waits until every partition has a leader. Existing topics are never recreated or altered:
   * one with fewer partitions than configured is reported (warning), not repartitioned, because
   * adding partitions moves keys and breaks per-key ordering.
   */
  async ensure(topicKeys: readonly TopicKey[], opts: ProvisionOptions = {}): Promise<TopicReport[]> {
    const timeoutMs = opts.timeoutMs ?? this.cfg.provisionTimeoutMs;
    const keys = [...new Set(topicKeys)];
    if (keys.length === 0) return [];
    const names = new Map(keys.map((k) => [k, topicName(this.cfg.topicPrefix, k)] as const));
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = keys.filter((k) => !existing.has(names.get(k) as string));
      const created = new Set<TopicKey>();
      if (missing.length > 0) {
        const topics: ITopicConfig[] = missing.map((k) => ({
          topic: names.get(k) as string,
          numPartitions: this.cfg.partitions,
          replicationFactor: this.cfg.replicationFactor,
          configEntries: topicConfigEntries(k, this.cfg.replicationFactor),
        }));
        for (const k of await this.create(admin, topics, missing, Date.now() + timeoutMs)) created.add(k);
      }
      const partitions = await this.waitForLeaders(admin, [...names.values()], timeoutMs);
      const reports: TopicReport[] = [];
      const toInspect = keys.filter((k) => !created.has(k));
      const policies = await this.cleanupPolicies(
        admin,
        toInspect.map((k) => names.get(k) as string),
      );
      for (const k of keys) {
        const name = names.get(k) as string;
        const count = partitions.get(name) ?? 0;
        const warnings: string[] = [];
        if (!created.has(k)) {
          if (count < this.cfg.partitions) {
            warnings.push(
              `has ${count} partitions, fewer than the configured ${this.cfg.partitions}; not repartitioning (it would break per-key ordering) — add partitions deliberately with a migration`,
            );
          }
          const policy = policies.get(name);
          if (policy !== undefined && policy !== TOPIC_SPECS[k].cleanupPolicy) {
            warnings.push(`has cleanup.policy=${policy}, the spec says ${TOPIC_SPECS[k].cleanupPolicy}`);
          }
        }
        for (const w of warnings) this.log.warn({ topic: name }, `topic ${name} ${w}`);
        reports.push({ key: k, name, status: created.has(k) ? 'created' : 'existing', partitions: count, warnings });
      }
      const createdNames = reports.filter((r) => r.status === 'created').map((r) => r.name);
      if (createdNames.length) this.log.info({ topics: createdNames }, 'created Kafka topics');
      return reports;
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Creates topics, one request each so the outcome is known per topic; TOPIC_ALREADY_EXISTS
   * (a racing creator) is fine — kafkajs then resolves `false`. Refusals that pass (the broker
   * fenced for a moment, a slow controller) are retried until `deadline`. Returns the keys this call created.
   */
  private async create(admin: Admin, topics: ITopicConfig[], keys: TopicKey[], deadline: number): Promise<TopicKey[]> {
    const results = await Promise.all(topics.map((t) => this.createOne(admin, t, deadline)));
    return keys.filter((_, i) => results[i] === true);
  }

  private async createOne(admin: Admin, topic: ITopicConfig, deadline: number): Promise<boolean> {
    try {
      return await retryTransient(() => admin.createTopics({ topics: [topic], waitForLeaders: false }), {
        withinMs: deadline - Date.now(),
        backoff: { baseMs: 200, maxMs: 2_000 },
        isTransient: isTransientCreateFailure,
        onRetry: (err, delayMs) =>
          this.log.warn({ topic: topic.topic, errors: errorTypes(err) }, `creating topic ${topic.topic} failed for now; retrying in ${delayMs} ms`),
      });
    } catch (err) {
      const types = errorTypes(err);
      if (types.length > 0 && types.every((t) => t === 'TOPIC_ALREADY_EXISTS')) return false;
      throw err;
    }
  }

  /** Polls metadata until every partition of every topic has a leader; returns partition counts. */
  private async waitForLeaders(admin: Admin, names: string[], timeoutMs: number): Promise<Map<string, number>> {
    const deadline = Date.now() + timeoutMs;
    let lastProblem = '';
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: names });
        const counts = new Map<string, number>();
        const leaderless: string[] = [];
        for (const t of topics) {
          counts.set(t.name, t.partitions.length);
          if (t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0)) leaderless.push(t.name);
        }
        const absent = names.filter((n) => !counts.has(n));
        if (leaderless.length === 0 && absent.length === 0) return counts;
        lastProblem = `no leader yet for ${[...leaderless, ...absent].join(', ')}`;
      } catch (err) {
        lastProblem = (err as Error).message;
      }
      if (Date.now() + delay > deadline) throw new Error(`topics not ready within ${timeoutMs} ms: ${lastProblem}`);
      await sleep(delay);
    }
  }

  private async cleanupPolicies(admin: Admin, names: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (names.length === 0) return out;
    try {
      const res = await admin.describeConfigs({
        includeSynonyms: false,
        resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })),
      });
      for (const r of res.resources) {
        const entry = r.configEntries.find((e) => e.configName === 'cleanup.policy');
        if (entry) out.set(r.resourceName, entry.configValue);
      }
    } catch (err) {
      this.log.warn({ err }, 'could not read the configuration of existing topics');
    }
    return out;
  }
}

/** What a broker answers while it cannot create a topic for now: no unfenced broker (a single node that missed heartbeats), a slow or moving controller. */
const TRANSIENT_CREATE_ERRORS: ReadonlySet<string> = new Set(['INVALID_REPLICATION_FACTOR', 'REQUEST_TIMED_OUT', 'NOT_CONTROLLER']);

/**
 * A topic creation failed for causes that pass: every cause is a transient refusal, or the broker
 * did not answer within the request timeout (it may have created the topic; the retry then finds
 * it). Seen beside CPU hogs: one unanswered CreateTopics failed a service's start-up.
 */
export function isTransientCreateFailure(err: unknown): boolean {
  const types = errorTypes(err);
  return types.length > 0 && types.every((t) => TRANSIENT_CREATE_ERRORS.has(t));
}

/** The error types of a kafkajs error: its own, or those of the errors it aggregates; a request timeout (kafkajs gives it no type) as REQUEST_TIMED_OUT. */
function errorTypes(err: unknown): string[] {
  if (err instanceof KafkaJSRequestTimeoutError) return ['REQUEST_TIMED_OUT'];
  const own = (err as { type?: unknown }).type;
  if (typeof own === 'string') return [own];
  const inner = (err as { errors?: { type?: unknown }[] }).errors;
  return Array.isArray(inner) ? inner.map((e) => e.type).filter((t): t is string => typeof t === 'string') : [];
}
