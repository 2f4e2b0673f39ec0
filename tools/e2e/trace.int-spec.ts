// One trace across every service: a tracked event sent to the collector's HTTP API, through
// identity, enrichment and segmentation, to the membership change and activation's webhook.
// Every service runs in this process with its own tracer provider exporting OTLP/HTTP JSON to
// a receiver on loopback, exactly as in production (nothing shared but the wire format); the
// chain is read back from what that receiver got, and the webhook receiver checks that the
// request carried the same trace in `traceparent`.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StartedService } from '@mosaic/shared-service';
import { TEST_ADMIN_TOKEN, adminRequest, dropTestDatabase, startTestService, waitFor } from '@mosaic/shared-testing';
import { activationDefinition } from '../../apps/activation/src/activation.definition';
import { collectorDefinition } from '../../apps/collector/src/collector.definition';
import { enrichmentDefinition } from '../../apps/enrichment/src/enrichment.definition';
import { identityDefinition } from '../../apps/identity/src/identity.definition';
import { segmentationDefinition } from '../../apps/segmentation/src/segmentation.definition';

jest.setTimeout(180_000);

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
}

/** OTLP SpanKind values (opentelemetry-proto trace.proto). */
const KIND = { SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

interface OtlpJson {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number }[] }[];
  }[];
}

const spans: ReceivedSpan[] = [];
const contentTypes = new Set<string>();
const hooks: { headers: IncomingMessage['headers']; body: string }[] = [];
const services: StartedService[] = [];
let otlp: Server;
let webhooks: Server;
let collector: StartedService;
let segmentation: StartedService;
let activation: StartedService;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** A minimal OTLP/HTTP JSON trace receiver. */
function collect(body: string): void {
  for (const rs of (JSON.parse(body) as OtlpJson).resourceSpans ?? []) {
    const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? [])
        spans.push({ service, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: s.kind });
    }
  }
}

beforeAll(async () => {
  otlp = createServer((req, res) => {
    contentTypes.add(String(req.headers['content-type']));
    void readBody(req).then((body) => {
      if (req.url === '/v1/traces') collect(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  webhooks = createServer((req, res) => {
    void readBody(req).then((body) => {
      hooks.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  const otlpUrl = await listen(otlp);
  const hookUrl = await listen(webhooks);
  // Quick exports so the test need not wait for the default 5 s schedule.
  const env = (id: string, own: Record<string, string> = {}) => ({
    env: { MOSAIC_INSTANCE_ID: `trace-${id}`, OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_BSP_SCHEDULE_DELAY: '200', ...own },
  });
  collector = await startTestService(collectorDefinition, env('collector'));
  services.push(collector);
  services.push(await startTestService(identityDefinition, env('identity')));
  services.push(await startTestService(enrichmentDefinition, env('enrichment')));
  segmentation = await startTestService(segmentationDefinition, env('segmentation', { SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0' }));
  services.push(segmentation);
  activation = await startTestService(
    activationDefinition,
    env('activation', {
      ACTIVATION_COLLECTOR_URL: collector.http.url,
      ACTIVATION_DISPATCH_INTERVAL_MS: '50',
      ACTIVATION_CONFIG_REFRESH_MS: '200',
      ACTIVATION_OUTBOUND_ALLOW: '127.0.0.1/32',
    }),
  );
  services.push(activation);
  expect(
    (
      await adminRequest(segmentation.http.url, 'POST', '/v1/segments', {
        key: 'trace-probe',
        condition: { event: 'Trace Probe', within: { amount: 1, unit: 'days' } },
      })
    ).status,
  ).toBe(201);
  const dest = await adminRequest(activation.http.url, 'POST', '/v1/destinations', { kind: 'webhook', name: 'trace receiver', url: `${hookUrl}/hook` });
  expect(dest.status).toBe(201);
  expect(
    (await adminRequest(activation.http.url, 'POST', '/v1/triggers', { segmentKey: 'trace-probe', on: 'entered', destinationId: dest.json['id'] })).status,
  ).toBe(201);
}, 180_000);

afterAll(async () => {
  for (const s of services.reverse()) await s.stop();
  await new Promise((r) => webhooks?.close(r));
  await new Promise((r) => otlp?.close(r));
  await dropTestDatabase().catch(() => undefined);
});

async function writeKey(): Promise<string> {
  const res = await fetch(`${collector.http.url}/v1/sources`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'trace' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { writeKey: string }).writeKey;
}

/** The hops one event takes, in order: [service, span kind, span name (topic names end with their suffix)]. */
const HOPS: [string, number, RegExp][] = [
  ['collector', KIND.SERVER, /^POST \/v1\/track$/],
  ['collector', KIND.PRODUCER, /^send \S+events\.raw$/],
  ['identity', KIND.CONSUMER, /^process \S+events\.raw$/],
  ['identity', KIND.PRODUCER, /^send \S+events\.resolved$/],
  ['enrichment', KIND.CONSUMER, /^process \S+events\.resolved$/],
  ['enrichment', KIND.PRODUCER, /^send \S+profiles\.changes$/],
  ['segmentation', KIND.CONSUMER, /^process \S+profiles\.changes$/],
  ['segmentation', KIND.PRODUCER, /^send \S+segments\.membership$/],
  ['activation', KIND.CONSUMER, /^process \S+segments\.membership$/],
  ['activation', KIND.CLIENT, /^deliver webhook$/],
];

/** The chain of HOPS in `traceId`, each span the child of the one before; null while incomplete. */
function chain(traceId: string): ReceivedSpan[] | null {
  const inTrace = spans.filter((s) => s.traceId === traceId);
  const out: ReceivedSpan[] = [];
  for (const [service, kind, name] of HOPS) {
    const parent = out[out.length - 1];
    const next = inTrace.find(
      (s) => s.service === service && s.kind === kind && name.test(s.name) && (parent ? s.parentSpanId === parent.spanId : s.parentSpanId === ''),
    );
    if (!next) return null;
    out.push(next);
  }
  return out;
}

it('one tracked event is one trace: HTTP request → every Kafka hop → membership change → webhook with traceparent', async () => {
  const key = await writeKey();
  const messageId = randomUUID();
  const res = await fetch(`${collector.http.url}/v1/track`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` },
    body: JSON.stringify({ messageId, userId: `tracer-${messageId}`, event: 'Trace Probe', properties: {}, timestamp: new Date().toISOString() }),
  });
  expect(res.status).toBe(200);

  const hook = await waitFor(() => hooks.find((h) => h.body.includes(`tracer-${messageId}`)) ?? null, {
    timeoutMs: 120_000,
    intervalMs: 100,
    message: 'the webhook',
  });
  const traceparent = String(hook.headers['traceparent'] ?? '');
  expect(traceparent).toMatch(/^00-[\da-f]{32}-[\da-f]{16}-01$/);
  const [, traceId, deliverySpanId] = traceparent.split('-') as [string, string, string, string];

  const found = await waitFor(() => chain(traceId), { timeoutMs: 30_000, intervalMs: 100, message: `the chain of spans of trace ${traceId}` }).catch(
    (err: unknown) => {
      const got = spans.filter((s) => s.traceId === traceId).map((s) => `${s.service} ${s.kind} ${s.name} ${s.spanId}<-${s.parentSpanId}`);
      throw new Error(`${(err as Error).message}; spans of the trace: ${JSON.stringify(got, null, 1)}; ${spans.length} spans in all`);
    },
  );
  expect(found.map((s) => s.service)).toEqual(HOPS.map(([service]) => service));
  // The webhook's traceparent names the delivery span: the receiver can continue the same trace.
  expect((found[found.length - 1] as ReceivedSpan).spanId).toBe(deliverySpanId);
  expect([...contentTypes]).toEqual(['application/json']);
});
