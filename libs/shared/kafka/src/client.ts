/**
 * The kafkajs client every service uses: one `Kafka` instance per process, its logs forwarded
 * to the service's pino logger as JSON, TLS and SASL from the typed config. Everything that
 * talks to the configured brokers creates its client here, so that security settings apply
 * to all of them.
 */
import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type LogEntry, type RetryOptions, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { kafkaSecurityWarnings, type KafkaConfig } from '@mosaic/shared-config';
import type { Logger } from '@mosaic/shared-logging';

export interface KafkaClientOptions {
  /** TCP connect timeout per broker, ms (kafkajs default 1000 is tight on a loaded machine). */
  connectionTimeoutMs?: number;
  /** Request timeout, ms, enforced client-side. */
  requestTimeoutMs?: number;
  /** Client-wide retry (connections, metadata, admin); producer and consumers set their own. */
  retry?: RetryOptions;
  /** Overrides the client id from the config (tests). */
  clientId?: string;
}

export const DEFAULT_CLIENT_RETRY: Readonly<RetryOptions> = Object.freeze({ initialRetryTime: 200, maxRetryTime: 5_000, retries: 5 });

/** kafkajs log level matching a pino level name. */
export function kafkaLogLevelFor(pinoLevel: string): logLevel {
  switch (pinoLevel) {
    case 'trace':
    case 'debug':
      return logLevel.DEBUG;
    case 'info':
      return logLevel.INFO;
    case 'warn':
      return logLevel.WARN;
    case 'error':
    case 'fatal':
      return logLevel.ERROR;
    default:
      return logLevel.NOTHING;
  }
}

/** A kafkajs `logCreator` that writes every kafkajs log entry through the pino logger. */
export function pinoLogCreator(logger: Logger): () => (entry: LogEntry) => void {
  const base = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _ts, logger: _name, ...extra } = log;
      const fields = { namespace, ...extra };
      switch (level) {
        case logLevel.ERROR:
          base.error(fields, message);
          break;
        case logLevel.WARN:
          base.warn(fields, message);
          break;
        case logLevel.INFO:
          base.info(fields, message);
          break;
        default:
          base.debug(fields, message);
      }
    };
}

/** kafkajs's `ssl` and `sasl` options for the config's security settings (absent: plaintext, no authentication). */
export function kafkaJsSecurity(cfg: Pick<KafkaConfig, 'ssl' | 'sasl'>): { ssl?: ConnectionOptions; sasl?: SASLOptions } {
  const out: { ssl?: ConnectionOptions; sasl?: SASLOptions } = {};
  if (cfg.ssl) {
    const { ca, cert, key, rejectUnauthorized } = cfg.ssl;
    // Omitting `ca` keeps Node's default store (public CAs, e.g. managed Kafka services).
    out.ssl = { rejectUnauthorized, ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
  }
  if (cfg.sasl) {
    const { mechanism, username, password } = cfg.sasl;
    out.sasl = { mechanism, username, password };
  }
  return out;
}

/** Creates the process's kafkajs client from the typed config. */
export function createKafkaClient(cfg: KafkaConfig, logger: Logger, opts: KafkaClientOptions = {}): Kafka {
  for (const warning of kafkaSecurityWarnings(cfg)) logger.warn({ component: 'kafka' }, warning);
  const config: KafkaJsConfig = {
    clientId: opts.clientId ?? cfg.clientId,
    brokers: cfg.brokers,
    ...kafkaJsSecurity(cfg),
    connectionTimeout: opts.connectionTimeoutMs ?? 3_000,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    enforceRequestTimeout: true,
    retry: { ...DEFAULT_CLIENT_RETRY, ...opts.retry },
    logLevel: kafkaLogLevelFor(logger.level),
    logCreator: pinoLogCreator(logger),
  };
  return new Kafka(config);
}
