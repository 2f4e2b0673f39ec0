/**
 * Structured JSON logs (pino). Message-processing logs carry topic, partition, offset and
 * correlation id (see {@link messageFields}).
 */
import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  service: string;
  instanceId?: string;
  level?: string;
  /** Defaults to stdout; tests may pass a stream. */
  destination?: pino.DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.service, instance: opts.instanceId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      messageKey: 'msg',
    },
    opts.destination ?? pino.destination({ sync: false }),
  );
}

export interface MessageCoordinates {
  topic: string;
  partition: number;
  offset: string;
  correlationId?: string;
  messageId?: string;
}

/** The fields every log line about a Kafka message carries. */
export function messageFields(m: MessageCoordinates): Record<string, unknown> {
  return { topic: m.topic, partition: m.partition, offset: m.offset, correlationId: m.correlationId, messageId: m.messageId };
}
