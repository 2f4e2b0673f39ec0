/**
 * Configuration, validated once at start-up and typed. This is the only module that reads
 * `process.env`; everything else receives a typed config object.
 */
import { z } from 'zod';
import { DEFAULT_TOPIC_PREFIX, assertValidTopicPrefix, type ServiceName } from '@mosaic/contracts';

export const DEFAULT_PORTS: Readonly<Record<ServiceName, number>> = Object.freeze({
  collector: 8080,
  identity: 8081,
  enrichment: 8082,
  segmentation: 8083,
  activation: 8084,
});

const csv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .refine((a) => a.length > 0, 'must list at least one host:port');
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const commonEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MOSAIC_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  MOSAIC_INSTANCE_ID: z.string().min(1).optional(),
  MOSAIC_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  MOSAIC_SHUTDOWN_TIMEOUT_MS: int(25_000, 1_000),
  KAFKA_BROKERS: csv.default('127.0.0.1:9092'),
  MOSAIC_TOPIC_PREFIX: z
    .string()
    .default(DEFAULT_TOPIC_PREFIX)
    .superRefine((p, ctx) => {
      try {
        assertValidTopicPrefix(p);
      } catch (err) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
      }
    }),
  KAFKA_TOPIC_PARTITIONS: int(6, 1, 10_000),
  KAFKA_REPLICATION_FACTOR: int(1, 1, 10),
  KAFKA_PROVISION_TOPICS: bool(true),
  KAFKA_CONSUMER_MAX_RETRIES: int(5, 0, 100),
  KAFKA_CONSUMER_RETRY_BACKOFF_MS: int(200, 1),
  KAFKA_CONSUMER_SESSION_TIMEOUT_MS: int(30_000, 6_000),
  // Partitions of one topic an instance processes at once: one partition waiting to retry a
  // message must not hold up the others (default: the default partition count).
  KAFKA_CONSUMER_CONCURRENCY: int(6, 1, 1_000),
  KAFKA_PRODUCER_LINGER_MS: int(2, 0, 1_000),
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URI').default('mongodb://127.0.0.1:27017/mosaic'),
});

export interface KafkaConfig {
  brokers: string[];
  clientId: string;
  topicPrefix: string;
  partitions: number;
  replicationFactor: number;
  provisionTopics: boolean;
  producerLingerMs: number;
  consumer: {
    groupId: string;
    /** Retries of a message failing for an unknown reason before the dead-letter topic (transient failures retry without limit). */
    maxRetries: number;
    retryBackoffMs: number;
    sessionTimeoutMs: number;
    /** Partitions of one topic processed concurrently by one instance. */
    concurrency: number;
  };
}

export interface CommonConfig {
  service: ServiceName;
  instanceId: string;
  env: 'development' | 'production' | 'test';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  http: { host: string; port: number };
  adminToken: string;
  shutdownTimeoutMs: number;
  kafka: KafkaConfig;
  mongo: { uri: string };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

type Env = Record<string, string | undefined>;

function parse<S extends z.ZodTypeAny>(schema: S, env: Env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return result.data;
}

/**
 * Loads the configuration every service shares, plus a service's own variables described
 * by `extra` (a zod object schema over environment variable names).
 */
export function loadConfig<E extends z.ZodRawShape = Record<string, never>>(
  service: ServiceName,
  extra?: z.ZodObject<E>,
  env: Env = process.env,
): CommonConfig & { own: z.infer<z.ZodObject<E>> } {
  const portVar = `${service.toUpperCase()}_PORT`;
  const portSchema = z.object({ [portVar]: int(DEFAULT_PORTS[service], 0, 65_535) });
  const problems: string[] = [];
  let common: z.infer<typeof commonEnvSchema> | undefined;
  let port = DEFAULT_PORTS[service];
  let own: z.infer<z.ZodObject<E>> = {} as z.infer<z.ZodObject<E>>;
  try {
    common = parse(commonEnvSchema, env);
    port = (parse(portSchema, env) as Record<string, number>)[portVar] as number;
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems);
    else throw err;
  }
  if (extra) {
    try {
      own = parse(extra, env);
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (problems.length || !common) throw new ConfigError(problems);
  const instanceId = common.MOSAIC_INSTANCE_ID ?? `${service}-${process.pid}`;
  return {
    service,
    instanceId,
    env: common.NODE_ENV,
    logLevel: common.LOG_LEVEL,
    http: { host: common.MOSAIC_HTTP_HOST, port },
    adminToken: common.MOSAIC_ADMIN_TOKEN,
    shutdownTimeoutMs: common.MOSAIC_SHUTDOWN_TIMEOUT_MS,
    kafka: {
      brokers: common.KAFKA_BROKERS,
      clientId: `mosaic-${service}`,
      topicPrefix: common.MOSAIC_TOPIC_PREFIX,
      partitions: common.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: common.KAFKA_REPLICATION_FACTOR,
      provisionTopics: common.KAFKA_PROVISION_TOPICS,
      producerLingerMs: common.KAFKA_PRODUCER_LINGER_MS,
      consumer: {
        groupId: `${common.MOSAIC_TOPIC_PREFIX}${service}`,
        maxRetries: common.KAFKA_CONSUMER_MAX_RETRIES,
        retryBackoffMs: common.KAFKA_CONSUMER_RETRY_BACKOFF_MS,
        sessionTimeoutMs: common.KAFKA_CONSUMER_SESSION_TIMEOUT_MS,
        concurrency: common.KAFKA_CONSUMER_CONCURRENCY,
      },
    },
    mongo: { uri: common.MONGODB_URI },
    own,
  };
}

export { z, int as intVar, bool as boolVar, csv as csvVar };
