// Container health check used by the image's HEALTHCHECK and by docker/compose.yml:
// GET /health on the port of the service this container runs (MOSAIC_SERVICE), with Node's
// built-in fetch. Exits 0 when the service answers 2xx, 1 otherwise. Plain Node, no imports.
const DEFAULT_PORTS = { collector: 8080, identity: 8081, enrichment: 8082, segmentation: 8083, activation: 8084, console: 8090 };
// [port variable, default port] of each MOSAIC_SERVICE; the demo shop runs from the same image.
const PORTS = {
  ...Object.fromEntries(Object.entries(DEFAULT_PORTS).map(([s, p]) => [s, [`${s.toUpperCase()}_PORT`, p]])),
  'demo-shop': ['DEMO_SHOP_PORT', 8091],
};

const service = process.env.MOSAIC_SERVICE ?? '';
if (!Object.hasOwn(PORTS, service)) {
  console.error(`healthcheck: unknown MOSAIC_SERVICE ${JSON.stringify(service)}`);
  process.exit(1);
}
const [portVar, defaultPort] = PORTS[service];
const port = process.env[portVar] || String(defaultPort);
// A wildcard bind address is reached on loopback; a specific one is called as it is.
const bind = process.env.MOSAIC_HTTP_HOST || '0.0.0.0';
const host = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind;

try {
  const res = await fetch(`http://${host}:${port}/health`, { signal: AbortSignal.timeout(4000) });
  if (!res.ok) console.error(`healthcheck: /health answered ${res.status}`);
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`healthcheck: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
