/**
 * Structured JSON logs (pino). Message-processing logs carry topic, partition, offset and
 * correlation id (see {@link messageFields}).
 */
import { trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import { HEADER_TRACEPARENT } from '@mosaic/contracts';

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
      mixin: traceFields,
    },
    opts.destination ?? pino.destination({ sync: false }),
  );
}

/**
 * `trace_id`/`span_id` of the active span, on every line logged while one is active (an HTTP
 * request, a delivery). With tracing off there never is one: one context lookup per line.
 */
function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  // A fresh object each time: pino merges the line's own fields into the mixin's result.
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

export interface MessageCoordinates {
  topic: string;
  partition: number;
  offset: string;
  correlationId?: string;
  messageId?: string;
  /** The record's headers: `traceparent` gives the line its `trace_id`. */
  headers?: Readonly<Record<string, string>>;
}

/** The trace id in a W3C `traceparent` (`00-<32 hex trace id>-<16 hex span id>-<flags>`). */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const m = traceparent === undefined ? null : /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}/.exec(traceparent);
  return m?.[1];
}

/**
 * The fields every log line about a Kafka message carries; `trace_id` when the record carries
 * trace context (its consumer span is in the same trace, so the line is found from the trace).
 */
export function messageFields(m: MessageCoordinates): Record<string, unknown> {
  const traceId = traceIdOf(m.headers?.[HEADER_TRACEPARENT]);
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    correlationId: m.correlationId,
    messageId: m.messageId,
    ...(traceId ? { trace_id: traceId } : {}),
  };
}
