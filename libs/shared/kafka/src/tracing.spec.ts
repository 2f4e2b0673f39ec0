import { ROOT_CONTEXT, SpanKind, context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { HEADER_TRACEPARENT, HEADER_TRACESTATE } from '@mosaic/contracts';
import { messageFields } from '@mosaic/shared-logging';
import type { InboundMessage } from './consumer-host';
import {
  TRACING_OFF,
  extractTraceContext,
  injectTraceHeaders,
  messageTraceparent,
  traceConsume,
  traceHeadersOf,
  traceProduce,
  withTraceScope,
  type Tracing,
} from './tracing';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracing: Tracing = { enabled: true, tracer: provider.getTracer('test'), shutdown: () => provider.shutdown() };
const manager = new AsyncLocalStorageContextManager().enable();

beforeAll(() => context.setGlobalContextManager(manager));
afterAll(() => {
  context.disable();
});
beforeEach(() => exporter.reset());

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

function inbound(offset: number, headers: Record<string, string>, correlationId?: string): InboundMessage {
  return {
    topic: 'mosaic.events.raw',
    topicKey: 'eventsRaw',
    partition: 0,
    offset: String(offset),
    key: 'k',
    value: Buffer.from('{}'),
    headers,
    timestamp: 0,
    ...(correlationId ? { correlationId } : {}),
  };
}

const finished = (name: RegExp) => exporter.getFinishedSpans().filter((s) => name.test(s.name));

describe('trace headers', () => {
  it('round-trips traceparent and tracestate', () => {
    const ctx = extractTraceContext({ [HEADER_TRACEPARENT]: `00-${TRACE}-${PARENT}-01`, [HEADER_TRACESTATE]: 'vendor=x' });
    expect(trace.getSpanContext(ctx)).toMatchObject({ traceId: TRACE, spanId: PARENT, traceFlags: 1, isRemote: true });
    expect(injectTraceHeaders(ctx)).toEqual({ [HEADER_TRACEPARENT]: `00-${TRACE}-${PARENT}-01`, [HEADER_TRACESTATE]: 'vendor=x' });
  });

  it('ignores a missing or malformed traceparent, and writes nothing without a valid span', () => {
    expect(trace.getSpanContext(extractTraceContext({}))).toBeUndefined();
    expect(trace.getSpanContext(extractTraceContext({ [HEADER_TRACEPARENT]: 'garbage' }))).toBeUndefined();
    expect(trace.getSpanContext(extractTraceContext({ [HEADER_TRACEPARENT]: `00-${'0'.repeat(32)}-${PARENT}-01` }))).toBeUndefined();
    expect(injectTraceHeaders(ROOT_CONTEXT, { keep: 'me' })).toEqual({ keep: 'me' });
  });

  it('keeps the headers other than trace context untouched', () => {
    const span = tracing.tracer.startSpan('x');
    const headers = injectTraceHeaders(trace.setSpan(ROOT_CONTEXT, span), { messageId: 'm-1' });
    expect(headers).toEqual({ messageId: 'm-1', [HEADER_TRACEPARENT]: `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01` });
    span.end();
  });

  it('gives log lines about a message the trace id of its traceparent', () => {
    expect(messageFields(inbound(1, { [HEADER_TRACEPARENT]: `00-${TRACE}-${PARENT}-01` }))).toMatchObject({ trace_id: TRACE, offset: '1' });
    expect(messageFields(inbound(1, {}))).not.toHaveProperty('trace_id');
  });
});

describe('a traced batch', () => {
  it('gives each message a consumer span continuing its own trace, and each output the span of the input with its correlation id', async () => {
    const a = inbound(10, { [HEADER_TRACEPARENT]: `00-${TRACE}-${PARENT}-01` }, 'corr-a');
    const b = inbound(11, {}, 'corr-b');
    const out = { a: { headers: { messageId: 'o-a' } as Record<string, string> }, b: { headers: {} as Record<string, string> } };
    let tpOfA: string | undefined;
    await traceConsume(tracing, [a, b], { groupId: 'g', mode: 'batch', attempt: 1 }, async () => {
      await Promise.resolve(); // across an await, as handlers do
      tpOfA = messageTraceparent(a);
      const end = traceProduce('mosaic.events.resolved', [
        { headers: out.b.headers, key: 'k', correlationId: 'corr-b' },
        { headers: out.a.headers, key: 'k', correlationId: 'corr-a' },
      ]);
      end?.();
    });
    const [consumeA, consumeB] = [
      finished(/^process/).find((s) => s.attributes['mosaic.correlation_id'] === 'corr-a'),
      finished(/^process/).find((s) => s.attributes['mosaic.correlation_id'] === 'corr-b'),
    ];
    expect(consumeA).toMatchObject({ kind: SpanKind.CONSUMER, name: 'process mosaic.events.raw', parentSpanContext: { traceId: TRACE, spanId: PARENT } });
    expect(consumeB?.parentSpanContext).toBeUndefined(); // no trace context in: a new trace
    const sends = finished(/^send/);
    expect(sends).toHaveLength(2);
    const sendA = sends.find((s) => s.attributes['mosaic.correlation_id'] === 'corr-a');
    const sendB = sends.find((s) => s.attributes['mosaic.correlation_id'] === 'corr-b');
    expect(sendA).toMatchObject({
      kind: SpanKind.PRODUCER,
      name: 'send mosaic.events.resolved',
      parentSpanContext: { spanId: consumeA?.spanContext().spanId },
    });
    expect(sendB?.parentSpanContext?.spanId).toBe(consumeB?.spanContext().spanId);
    expect(out.a.headers).toEqual({ messageId: 'o-a', [HEADER_TRACEPARENT]: `00-${TRACE}-${sendA?.spanContext().spanId}-01` });
    expect(tpOfA).toBe(`00-${TRACE}-${consumeA?.spanContext().spanId}-01`);
  });

  it('starts a new trace linked to the batch for an output no input explains, and marks the spans failed when the handler throws', async () => {
    const msgs = [inbound(1, {}, 'c-1'), inbound(2, {}, 'c-2')];
    const headers: Record<string, string> = {};
    await expect(
      traceConsume(tracing, msgs, { groupId: 'g', mode: 'batch', attempt: 1 }, async () => {
        traceProduce('mosaic.events.resolved', [{ headers, key: null, correlationId: 'other' }])?.();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const [send] = finished(/^send/);
    expect(send?.parentSpanContext).toBeUndefined();
    expect(send?.links.map((l) => l.context.spanId).sort()).toEqual(
      finished(/^process/)
        .map((s) => s.spanContext().spanId)
        .sort(),
    );
    expect(finished(/^process/).every((s) => s.status.code === 2)).toBe(true);
    expect(headers[HEADER_TRACEPARENT]).toBeDefined();
  });

  it('parents outputs on the active span of an HTTP request', () => {
    const server: Span = tracing.tracer.startSpan('POST /v1/track', { kind: SpanKind.SERVER });
    const headers: Record<string, string> = {};
    context.with(withTraceScope(tracing, trace.setSpan(ROOT_CONTEXT, server)), () => traceProduce('mosaic.events.raw', [{ headers, key: null }])?.());
    server.end();
    expect(finished(/^send/)[0]?.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(headers[HEADER_TRACEPARENT]).toContain(server.spanContext().traceId);
    expect(traceHeadersOf(server)[HEADER_TRACEPARENT]).toBe(`00-${server.spanContext().traceId}-${server.spanContext().spanId}-01`);
  });

  it('does nothing with tracing off or outside a traced scope: no span, no header', async () => {
    const headers: Record<string, string> = {};
    const m = inbound(1, { [HEADER_TRACEPARENT]: `00-${TRACE}-${PARENT}-01` }, 'c');
    let inside: unknown = 'unset';
    await traceConsume(TRACING_OFF, [m], { groupId: 'g', mode: 'single', attempt: 1 }, async () => {
      inside = traceProduce('mosaic.events.resolved', [{ headers, key: null, correlationId: 'c' }]);
    });
    expect(inside).toBeUndefined();
    expect(traceProduce('mosaic.events.resolved', [{ headers, key: null }])).toBeUndefined();
    expect(headers).toEqual({});
    expect(messageTraceparent(m)).toBeUndefined();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});
