/**
 * OpenTelemetry across the Kafka hops: W3C Trace Context (`traceparent`, `tracestate`, see
 * @mosaic/contracts) in record headers, one consumer span per inbound message, one producer
 * span per outbound message. The provider is set up per service (@mosaic/shared-service);
 * with tracing off, nothing here starts a span or touches a header.
 *
 * Why one consumer span per message and not one span per batch: a batch mixes events of many
 * traces, and a span has one parent; a batch span could continue one trace and only link to
 * the others, so every other event's trace would stop at each hop. A span per message keeps
 * each event's trace one tree, while the handler still runs once per batch.
 *
 * How an output finds its input inside a batch: handlers take the whole batch and produce all
 * outputs in one call, so there is no per-message async scope to rely on. But every stage
 * already carries the inbound message's correlation id onto the messages it produces (the
 * envelope contract), so the batch's scope maps correlation id → consumer span and the producer
 * parents each outbound message on the span of the input with the same correlation id. The
 * scope itself travels in the async context (AsyncLocalStorage via the OpenTelemetry context),
 * which also isolates concurrent batches and several services in one process (tests).
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  createContextKey,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { HEADER_TRACEPARENT } from '@mosaic/contracts';
import type { InboundMessage } from './inbound-message';

export interface Tracing {
  /** False: no span is started and no trace header is read or written. */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** Exports the spans still queued, then stops (called last on shutdown). */
  shutdown(): Promise<void>;
}

export const TRACING_OFF: Tracing = Object.freeze({ enabled: false, tracer: trace.getTracer('mosaic'), shutdown: async () => undefined });

// --- pure header helpers ----------------------------------------------------------------------

type Carrier = Record<string, string | string[] | undefined>;
const propagator = new W3CTraceContextPropagator();
const setter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};
const getter: TextMapGetter<Carrier> = { keys: (c) => Object.keys(c), get: (c, key) => c[key] };

/** Writes the trace context of `ctx`'s span into `headers` (nothing when it has no valid span). */
export function injectTraceHeaders(ctx: Context, headers: Record<string, string> = {}): Record<string, string> {
  propagator.inject(ctx, headers, setter);
  return headers;
}

/** The trace headers of one span. */
export function traceHeadersOf(span: Span): Record<string, string> {
  return injectTraceHeaders(trace.setSpan(ROOT_CONTEXT, span));
}

/** The remote parent named by `traceparent`/`tracestate` in `headers`, on top of `base` (unchanged when absent or malformed). */
export function extractTraceContext(headers: Carrier, base: Context = ROOT_CONTEXT): Context {
  return propagator.extract(base, headers, getter);
}

// --- the scope a traced unit of work runs in ------------------------------------------------

interface TraceScope {
  tracing: Tracing;
  /** The consumer spans of the batch being handled (empty outside a batch). */
  batch: readonly Span[];
  byCorrelation: ReadonlyMap<string, Span>;
  byMessage: ReadonlyMap<InboundMessage, Span>;
}

const SCOPE = createContextKey('mosaic.trace-scope');
const NO_CORRELATIONS: ReadonlyMap<string, Span> = new Map();
const NO_MESSAGES: ReadonlyMap<InboundMessage, Span> = new Map();
/** More links than this on one span say nothing more to a reader. */
const MAX_LINKS = 32;

/** `base` with `tracing` as the scope the producer helpers below look for (an HTTP request's context). */
export function withTraceScope(tracing: Tracing, base: Context): Context {
  const scope: TraceScope = { tracing, batch: [], byCorrelation: NO_CORRELATIONS, byMessage: NO_MESSAGES };
  return base.setValue(SCOPE, scope);
}

function activeScope(): { scope: TraceScope; ctx: Context } | undefined {
  const ctx = context.active();
  const scope = ctx.getValue(SCOPE) as TraceScope | undefined;
  return scope?.tracing.enabled ? { scope, ctx } : undefined;
}

function endAll(spans: readonly Span[], err?: unknown): void {
  for (const s of spans) {
    if (err !== undefined) {
      const e = err instanceof Error ? err : new Error(String(err));
      s.recordException(e);
      s.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
    }
    s.end();
  }
}

// --- consumer side ----------------------------------------------------------------------------

export interface ConsumeAttributes {
  groupId: string;
  mode: 'batch' | 'single';
  attempt: number;
}

function consumerSpan(tracer: Tracer, m: InboundMessage, a: ConsumeAttributes): Span {
  const attributes: Attributes = {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': m.topic,
    'messaging.destination.partition.id': String(m.partition),
    'messaging.kafka.offset': Number(m.offset),
    'messaging.consumer.group.name': a.groupId,
    'mosaic.consumer.mode': a.mode,
    'mosaic.consumer.attempt': a.attempt,
  };
  if (m.messageId !== undefined) attributes['messaging.message.id'] = m.messageId;
  if (m.correlationId !== undefined) attributes['mosaic.correlation_id'] = m.correlationId;
  if (m.key !== null) attributes['messaging.kafka.message.key'] = m.key;
  return tracer.startSpan(`process ${m.topic}`, { kind: SpanKind.CONSUMER, attributes }, extractTraceContext(m.headers));
}

/**
 * Runs a batch handler with one consumer span per message (each a child of the context its
 * record's headers carry) and the batch's scope active, so the messages it produces continue
 * their input's trace. Spans end when the handler settles (errored when it rejects).
 */
export async function traceConsume<T>(tracing: Tracing, messages: readonly InboundMessage[], a: ConsumeAttributes, fn: () => Promise<T>): Promise<T> {
  if (!tracing.enabled) return fn();
  const spans = messages.map((m) => consumerSpan(tracing.tracer, m, a));
  const byCorrelation = new Map<string, Span>();
  const byMessage = new Map<InboundMessage, Span>();
  messages.forEach((m, i) => {
    const span = spans[i] as Span;
    byMessage.set(m, span);
    if (m.correlationId !== undefined) byCorrelation.set(m.correlationId, span);
  });
  const scope: TraceScope = { tracing, batch: spans, byCorrelation, byMessage };
  try {
    const result = await context.with(ROOT_CONTEXT.setValue(SCOPE, scope), fn);
    endAll(spans);
    return result;
  } catch (err) {
    endAll(spans, err);
    throw err;
  }
}

/**
 * The `traceparent` of the consumer span of `msg` while its batch is handled (work it leaves
 * for later, such as a delivery, continues the trace from there); undefined when not traced.
 */
export function messageTraceparent(msg: InboundMessage): string | undefined {
  const span = activeScope()?.scope.byMessage.get(msg);
  return span ? traceHeadersOf(span)[HEADER_TRACEPARENT] : undefined;
}

// --- producer side ----------------------------------------------------------------------------

export interface TracedOutbound {
  /** The record's headers; the span's trace context is written into them. */
  headers: Record<string, string>;
  key: string | null;
  correlationId?: string;
  messageId?: string;
}

/**
 * The parent of an outbound message: the consumer span of the input with its correlation id,
 * else the batch's only message, else the active span (an HTTP request). Otherwise a new trace,
 * linked to the batch's spans.
 */
function parentOf(scope: TraceScope, active: Context, correlationId: string | undefined): { ctx: Context; links?: Link[] } {
  const input = (correlationId !== undefined ? scope.byCorrelation.get(correlationId) : undefined) ?? (scope.batch.length === 1 ? scope.batch[0] : undefined);
  if (input) return { ctx: trace.setSpan(ROOT_CONTEXT, input) };
  if (trace.getSpan(active)) return { ctx: active };
  return { ctx: ROOT_CONTEXT, links: scope.batch.slice(0, MAX_LINKS).map((s) => ({ context: s.spanContext() })) };
}

/**
 * Starts one producer span per outbound message and writes its trace context into the
 * message's headers. Returns the function that ends them once the send settled; undefined
 * (and no header written) outside a traced scope.
 */
export function traceProduce(topic: string, messages: readonly TracedOutbound[]): ((err?: unknown) => void) | undefined {
  const active = activeScope();
  if (!active) return undefined;
  const { scope, ctx } = active;
  const spans = messages.map((m) => {
    const attributes: Attributes = {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': topic,
    };
    if (m.messageId !== undefined) attributes['messaging.message.id'] = m.messageId;
    if (m.correlationId !== undefined) attributes['mosaic.correlation_id'] = m.correlationId;
    if (m.key !== null) attributes['messaging.kafka.message.key'] = m.key;
    const parent = parentOf(scope, ctx, m.correlationId);
    const span = scope.tracing.tracer.startSpan(
      `send ${topic}`,
      { kind: SpanKind.PRODUCER, attributes, ...(parent.links ? { links: parent.links } : {}) },
      parent.ctx,
    );
    injectTraceHeaders(trace.setSpan(ROOT_CONTEXT, span), m.headers);
    return span;
  });
  return (err) => endAll(spans, err);
}
