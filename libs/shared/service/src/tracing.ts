/**
 * OpenTelemetry set-up of a service: a tracer provider of its own (its service name on every
 * span, even when tests run several services in one process), parent-based ratio sampling,
 * batched OTLP/HTTP JSON export, and the SERVER span of each HTTP request. Without an
 * endpoint, tracing is off: no provider, no exporter, no span (the API's no-op path).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { SpanKind, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { CommonConfig } from '@mosaic/shared-config';
import { TRACING_OFF, extractTraceContext, withTraceScope, type Tracing } from '@mosaic/shared-kafka';

let contextManager: AsyncLocalStorageContextManager | undefined;

/** Context follows async work only with a context manager; one per process, shared by the services in it. */
function ensureContextManager(): void {
  if (contextManager) return;
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
}

/** The service's tracing; `exporter` replaces the OTLP one (tests). */
export function createTracing(config: CommonConfig, opts: { exporter?: SpanExporter } = {}): Tracing {
  const t = config.tracing;
  const exporter = opts.exporter ?? (t.exporter ? new OTLPTraceExporter({ url: t.exporter.url, headers: t.exporter.headers }) : undefined);
  if (!exporter) return TRACING_OFF;
  ensureContextManager();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: t.serviceName, [ATTR_SERVICE_NAMESPACE]: 'mosaic', [ATTR_SERVICE_INSTANCE_ID]: config.instanceId }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(t.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: t.scheduleDelayMs })],
  });
  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    tracer: provider.getTracer('mosaic'),
    shutdown: () => (stopping ??= provider.shutdown()),
  };
}

/** Probes and scrapes: a span per call would only bury the requests that matter. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics', '/openapi.json']);
const spans = new WeakMap<IncomingMessage, Span>();

function pathOf(url: string | undefined): string {
  const q = (url ?? '/').indexOf('?');
  return q < 0 ? (url ?? '/') : (url ?? '/').slice(0, q);
}

/**
 * Fastify `serverFactory`: a SERVER span per request (continuing a caller's `traceparent`),
 * active while Fastify handles it, so what the request produces joins its trace. The request
 * and response emitters are bound too: body chunks arrive in the socket's async context.
 */
export function tracedServerFactory(tracing: Tracing): (handler: RequestListener) => Server {
  return (handler) =>
    createServer((req: IncomingMessage, res: ServerResponse) => {
      const path = pathOf(req.url);
      if (UNTRACED_PATHS.has(path)) return handler(req, res);
      const method = req.method ?? 'GET';
      const span = tracing.tracer.startSpan(
        method,
        { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: path } },
        extractTraceContext(req.headers),
      );
      spans.set(req, span);
      res.once('close', () => {
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
        if (res.statusCode >= 500 || !res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      });
      const ctx = withTraceScope(tracing, trace.setSpan(context.active(), span));
      context.bind(ctx, req);
      context.bind(ctx, res);
      context.with(ctx, () => handler(req, res));
    });
}

/** Names the request's span after its route once Fastify matched it (low-cardinality names). */
export function nameServerSpan(req: IncomingMessage, method: string, route: string | undefined): void {
  const span = spans.get(req);
  if (!span || !route) return;
  span.updateName(`${method} ${route}`);
  span.setAttribute(ATTR_HTTP_ROUTE, route);
}
