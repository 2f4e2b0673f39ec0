/**
 * Configuration, validated once at start-up and typed. This is the only module that reads
 * `process.env`; everything else receives a typed config object.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { DEFAULT_TOPIC_PREFIX, assertValidTopicPrefix, type ServiceName } from '@mosaic/contracts';

/** What the shared start-up runs: the five pipeline services, and the console (a web app that consumes no topic). */
export type AppName = ServiceName | 'console';

export const DEFAULT_PORTS: Readonly<Record<AppName, number>> = Object.freeze({
  collector: 8080,
  identity: 8081,
  enrichment: 8082,
  segmentation: 8083,
  activation: 8084,
  console: 8090,
});

const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .refine((a) => a.length > 0, 'must list at least one host:port');
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
// Empty counts as unset: compose's `${VAR:-}` and optional Secret keys render as "".
const optional = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

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
  // How long start-up waits for its topics (creation and partition leaders). Above kafkajs' 30 s
  // request timeout, so that a creation request the broker did not answer is sent again once.
  KAFKA_PROVISION_TIMEOUT_MS: int(75_000, 1_000, 600_000),
  KAFKA_CONSUMER_MAX_RETRIES: int(5, 0, 100),
  KAFKA_CONSUMER_RETRY_BACKOFF_MS: int(200, 1),
  KAFKA_CONSUMER_SESSION_TIMEOUT_MS: int(30_000, 6_000),
  // Partitions of one topic an instance processes at once: one partition waiting to retry a
  // message must not hold up the others (default: the default partition count).
  KAFKA_CONSUMER_CONCURRENCY: int(6, 1, 1_000),
  KAFKA_PRODUCER_LINGER_MS: int(2, 0, 1_000),
  // How long a produce may go unacknowledged before the producer counts Kafka as unavailable and
  // fails sends fast until it recovers (the collector's own bound: COLLECTOR_ACK_TIMEOUT_MS).
  KAFKA_PRODUCER_ACK_TIMEOUT_MS: int(5_000, 100, 600_000),
  KAFKA_SSL: bool(false),
  KAFKA_SSL_CA_FILE: optional,
  KAFKA_SSL_CERT_FILE: optional,
  KAFKA_SSL_KEY_FILE: optional,
  KAFKA_SSL_REJECT_UNAUTHORIZED: bool(true),
  KAFKA_SASL_MECHANISM: optional.pipe(
    z
      .string()
      .transform((v) => v.toLowerCase())
      .pipe(z.enum(KAFKA_SASL_MECHANISMS, { errorMap: () => ({ message: `must be one of ${KAFKA_SASL_MECHANISMS.join(', ')}` }) }))
      .optional(),
  ),
  KAFKA_SASL_USERNAME: optional,
  KAFKA_SASL_PASSWORD: optional,
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URI')
    .default('mongodb://127.0.0.1:27017/mosaic'),
});

/** TLS to the brokers; the PEM material is read from the files once, at start-up. */
export interface KafkaSslConfig {
  /** CA certificate(s) to trust instead of Node's default store; absent: the default store. */
  ca?: string;
  /** Client certificate and its private key (mutual TLS), both or neither. */
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
}

export interface KafkaSaslConfig {
  mechanism: KafkaSaslMechanism;
  username: string;
  password: string;
}

export interface KafkaConfig {
  brokers: string[];
  /** Absent: plaintext. */
  ssl?: KafkaSslConfig;
  /** Absent: no authentication. */
  sasl?: KafkaSaslConfig;
  clientId: string;
  topicPrefix: string;
  partitions: number;
  replicationFactor: number;
  provisionTopics: boolean;
  /** How long provisioning waits for topic creation and partition leaders (retrying what may pass). */
  provisionTimeoutMs: number;
  producerLingerMs: number;
  producerAckTimeoutMs: number;
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
  service: AppName;
  instanceId: string;
  env: 'development' | 'production' | 'test';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  http: { host: string; port: number };
  adminToken: string;
  shutdownTimeoutMs: number;
  kafka: KafkaConfig;
  mongo: { uri: string };
  /** OpenTelemetry traces (see the tracing block below). */
  tracing: TracingConfig;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

type Env = Record<string, string | undefined>;
type CommonEnv = z.infer<typeof commonEnvSchema>;

/** Reads a PEM file named by `variable`, checking that it holds what it should. */
function readPem(variable: string, file: string, check: (pem: string) => void, problems: string[]): string | undefined {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`${variable}: cannot read ${file}: ${(err as Error).message}`);
    return undefined;
  }
  try {
    check(pem);
    return pem;
  } catch (err) {
    problems.push(`${variable}: ${file} ${(err as Error).message}`);
    return undefined;
  }
}

const isCertificate = (pem: string): void => {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  new X509Certificate(pem);
};
const isPrivateKey = (pem: string): void => {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new Error('holds no PEM private key');
  // There is no passphrase variable: the key is kept decrypted, in a Secret.
  if (pem.includes('ENCRYPTED')) throw new Error('holds an encrypted private key; store it decrypted (e.g. openssl pkey -in key.pem -out key.pem)');
  try {
    createPrivateKey(pem);
  } catch (err) {
    throw new Error(`holds no readable private key: ${(err as Error).message}`);
  }
};

function kafkaSsl(e: CommonEnv, problems: string[]): KafkaSslConfig | undefined {
  const files = { KAFKA_SSL_CA_FILE: e.KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE: e.KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE: e.KAFKA_SSL_KEY_FILE };
  if (!e.KAFKA_SSL) {
    // A file without KAFKA_SSL=true would silently connect in plaintext.
    for (const [name, value] of Object.entries(files)) {
      if (value) problems.push(`${name}: set, but KAFKA_SSL is not true (set KAFKA_SSL=true to connect with TLS)`);
    }
    return undefined;
  }
  if (Boolean(e.KAFKA_SSL_CERT_FILE) !== Boolean(e.KAFKA_SSL_KEY_FILE)) {
    const [missing, present] = e.KAFKA_SSL_CERT_FILE ? ['KAFKA_SSL_KEY_FILE', 'KAFKA_SSL_CERT_FILE'] : ['KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'];
    problems.push(`${missing}: required when ${present} is set (a client certificate and its key go together)`);
    return undefined;
  }
  const before = problems.length;
  const ca = e.KAFKA_SSL_CA_FILE ? readPem('KAFKA_SSL_CA_FILE', e.KAFKA_SSL_CA_FILE, isCertificate, problems) : undefined;
  const cert = e.KAFKA_SSL_CERT_FILE ? readPem('KAFKA_SSL_CERT_FILE', e.KAFKA_SSL_CERT_FILE, isCertificate, problems) : undefined;
  const key = e.KAFKA_SSL_KEY_FILE ? readPem('KAFKA_SSL_KEY_FILE', e.KAFKA_SSL_KEY_FILE, isPrivateKey, problems) : undefined;
  if (cert && key && !new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
    problems.push(`KAFKA_SSL_KEY_FILE: ${e.KAFKA_SSL_KEY_FILE} is not the private key of the certificate in KAFKA_SSL_CERT_FILE`);
  }
  if (problems.length > before) return undefined;
  return { ca, cert, key, rejectUnauthorized: e.KAFKA_SSL_REJECT_UNAUTHORIZED };
}

function kafkaSasl(e: CommonEnv, problems: string[]): KafkaSaslConfig | undefined {
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = e;
  if (!mechanism) {
    if (username || password) {
      problems.push(`KAFKA_SASL_MECHANISM: required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set (one of ${KAFKA_SASL_MECHANISMS.join(', ')})`);
    }
    return undefined;
  }
  if (!username) problems.push(`KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set`);
  if (!password) problems.push(`KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set`);
  return username && password ? { mechanism, username, password } : undefined;
}

/**
 * Settings that work but that an operator should know about; the Kafka client logs them
 * (config loads before there is a logger).
 */
export function kafkaSecurityWarnings(cfg: Pick<KafkaConfig, 'ssl' | 'sasl'>): string[] {
  const warnings: string[] = [];
  if (cfg.sasl?.mechanism === 'plain' && !cfg.ssl) {
    warnings.push('KAFKA_SASL_MECHANISM=plain without KAFKA_SSL=true sends the Kafka password in cleartext');
  }
  if (cfg.ssl && !cfg.ssl.rejectUnauthorized) {
    warnings.push("KAFKA_SSL_REJECT_UNAUTHORIZED=false: the brokers' certificates are not verified");
  }
  return warnings;
}

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
  service: AppName,
  extra?: z.ZodObject<E>,
  env: Env = process.env,
): CommonConfig & { own: z.infer<z.ZodObject<E>> } {
  const portVar = `${service.toUpperCase()}_PORT`;
  const portSchema = z.object({ [portVar]: int(DEFAULT_PORTS[service], 0, 65_535) });
  const problems: string[] = [];
  let common: z.infer<typeof commonEnvSchema> | undefined;
  let port = DEFAULT_PORTS[service];
  let own: z.infer<z.ZodObject<E>> = {} as z.infer<z.ZodObject<E>>;
  let tracing: TracingConfig | undefined;
  try {
    tracing = tracingConfig(service, parse(tracingEnvSchema, env));
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems);
    else throw err;
  }
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
  const ssl = common ? kafkaSsl(common, problems) : undefined;
  const sasl = common ? kafkaSasl(common, problems) : undefined;
  if (problems.length || !common || !tracing) throw new ConfigError(problems);
  // The host name tells containers apart: Node is PID 1 in each, so the pid alone repeats.
  const instanceId = common.MOSAIC_INSTANCE_ID ?? `${service}-${hostname()}-${process.pid}`;
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
      ...(ssl ? { ssl } : {}),
      ...(sasl ? { sasl } : {}),
      clientId: `mosaic-${service}`,
      topicPrefix: common.MOSAIC_TOPIC_PREFIX,
      partitions: common.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: common.KAFKA_REPLICATION_FACTOR,
      provisionTopics: common.KAFKA_PROVISION_TOPICS,
      provisionTimeoutMs: common.KAFKA_PROVISION_TIMEOUT_MS,
      producerLingerMs: common.KAFKA_PRODUCER_LINGER_MS,
      producerAckTimeoutMs: common.KAFKA_PRODUCER_ACK_TIMEOUT_MS,
      consumer: {
        groupId: `${common.MOSAIC_TOPIC_PREFIX}${service}`,
        maxRetries: common.KAFKA_CONSUMER_MAX_RETRIES,
        retryBackoffMs: common.KAFKA_CONSUMER_RETRY_BACKOFF_MS,
        sessionTimeoutMs: common.KAFKA_CONSUMER_SESSION_TIMEOUT_MS,
        concurrency: common.KAFKA_CONSUMER_CONCURRENCY,
      },
    },
    mongo: { uri: common.MONGODB_URI },
    tracing,
    own,
  };
}

// --- OpenTelemetry traces -----------------------------------------------------------------
// The standard OTEL_* names, so platform teams can set them as for any other service. No
// endpoint: tracing is off (no exporter, no spans, no trace headers read or written).

const optionalUrl = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .string()
    .regex(/^https?:\/\/[^/]/, 'must be an http(s) URL')
    .pipe(z.string().url('must be an http(s) URL'))
    .optional(),
);

export const tracingEnvSchema = z.object({
  /** Base URL of an OTLP/HTTP receiver; traces go to `<url>/v1/traces`. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  /** Full URL for traces (takes precedence over the base URL). */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalUrl,
  /** `key=value,key2=value2` sent with every export (e.g. an API key), values URL-encoded. */
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_SERVICE_NAME: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).optional()),
  /** Share of new traces recorded (0..1); a trace started upstream follows its parent's decision. */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  /** Longest wait before queued spans are exported, ms. */
  OTEL_BSP_SCHEDULE_DELAY: int(5_000, 1, 600_000),
});

export interface TracingConfig {
  /** Where spans are exported (OTLP/HTTP JSON); absent = tracing off. */
  exporter?: { url: string; headers: Record<string, string> };
  serviceName: string;
  sampleRatio: number;
  scheduleDelayMs: number;
}

function otlpHeaders(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) {
      if (pair.trim()) throw new ConfigError([`OTEL_EXPORTER_OTLP_HEADERS: "${pair.trim()}" is not key=value`]);
      continue;
    }
    out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return out;
}

export function tracingConfig(service: AppName, env: z.infer<typeof tracingEnvSchema>): TracingConfig {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  return {
    ...(url ? { exporter: { url, headers: otlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS) } } : {}),
    serviceName: env.OTEL_SERVICE_NAME ?? service,
    sampleRatio: env.OTEL_TRACES_SAMPLER_ARG,
    scheduleDelayMs: env.OTEL_BSP_SCHEDULE_DELAY,
  };
}

export { z, int as intVar, bool as boolVar, csv as csvVar };
