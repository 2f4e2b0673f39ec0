/**
 * Offline schema validation of what a user applies: k8s/ rendered by the pinned kustomize
 * (v5.7.1, tools/scripts/ensure-kustomize.mjs), every kustomization and plain manifest under
 * it, each object validated against the OpenAPI schema of its apiVersion/kind from the npm
 * `kubernetes-models` packages (KEDA and Strimzi CRDs included). A kind without a model is an
 * error, not a skip. And docker/compose.yml's basic structure.
 */
import { DEFAULT_PORTS } from '@mosaic/shared-config';
import { composeEnv, loadCompose, parsePort, renderAll, validateObjects, type Validation } from './deploy-files';

// The five services and the console: each has a Deployment and a compose service.
const SERVICES = Object.keys(DEFAULT_PORTS);

let validations: Validation[] = [];
let renderFailures: string[] = [];
let renderError: Error | undefined;
try {
  const rendered = renderAll();
  renderFailures = rendered.failures;
  validations = validateObjects(rendered.items);
} catch (err) {
  renderError = err as Error;
}

describe('k8s/ rendered with kustomize, validated offline', () => {
  it('every kustomization renders (kustomize installed) and k8s/ has objects', () => {
    if (renderError) throw renderError;
    if (renderFailures.length) throw new Error(renderFailures.join('\n'));
    expect(validations.length).toBeGreaterThan(0);
    expect(validations.some((v) => v.source === 'kustomize build k8s')).toBe(true);
  });

  const cases = validations.map((v) => [`${v.source}: ${v.apiVersion} ${v.kind} ${v.name}`, v] as const);
  if (cases.length) {
    it.each(cases)('%s is valid', (_title, v) => {
      if (v.error) throw new Error(`${v.source}: ${v.apiVersion} ${v.kind} ${v.name}: ${v.error}`);
    });
  }

  it('every Mosaic service and the console have a Deployment in the main kustomization', () => {
    const deployments = validations.filter((v) => v.source === 'kustomize build k8s' && v.kind === 'Deployment').map((v) => v.name);
    for (const s of SERVICES) expect(deployments).toContain(`mosaic-${s}`);
  });
});

describe('docker/compose.yml', () => {
  const compose = loadCompose();
  const vars = { MOSAIC_ADMIN_TOKEN: 'x'.repeat(24) };
  const services = compose.services ?? {};

  it('has a services map with an image or build for each', () => {
    expect(typeof services).toBe('object');
    for (const [name, svc] of Object.entries(services)) {
      if (!svc.image && !svc.build) throw new Error(`service ${name} has neither image nor build`);
    }
  });

  it('runs each of the five Mosaic services and the console once, on its own port', () => {
    const byService = new Map<string, string>();
    for (const [name, svc] of Object.entries(services)) {
      const env = composeEnv(svc, vars);
      // One-shot jobs run another entry point; services behind a profile (the demo shop) are opt-in.
      if (!env['MOSAIC_SERVICE'] || svc.command || svc['profiles']) continue;
      expect(SERVICES).toContain(env['MOSAIC_SERVICE']);
      expect(byService.has(env['MOSAIC_SERVICE'])).toBe(false);
      byService.set(env['MOSAIC_SERVICE'], name);
      const port = env[`${env['MOSAIC_SERVICE'].toUpperCase()}_PORT`];
      const published = (svc.ports ?? []).map((p) => parsePort(p, vars));
      expect(published.map((p) => String(p.container))).toContain(port ?? String(DEFAULT_PORTS[env['MOSAIC_SERVICE'] as keyof typeof DEFAULT_PORTS]));
    }
    expect([...byService.keys()].sort()).toEqual([...SERVICES].sort());
  });

  it('depends only on services it defines; named volumes are declared', () => {
    for (const [name, svc] of Object.entries(services)) {
      const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
      for (const d of deps) if (!services[d]) throw new Error(`service ${name} depends on undefined service ${d}`);
      for (const v of svc.volumes ?? []) {
        const src = typeof v === 'string' ? v.split(':')[0]! : String(v['source'] ?? '');
        if (src && !src.startsWith('.') && !src.startsWith('/') && !(compose.volumes && src in compose.volumes))
          throw new Error(`service ${name} mounts undeclared volume ${src}`);
      }
    }
  });

  it('every published port and health check is well formed', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const p of svc.ports ?? []) {
        const { container, published } = parsePort(p, vars);
        if (!Number.isInteger(container) || (published !== undefined && !Number.isInteger(published)))
          throw new Error(`service ${name}: bad port ${JSON.stringify(p)}`);
      }
      const test = svc.healthcheck?.test;
      if (test !== undefined && !svc.healthcheck?.disable) {
        expect(Array.isArray(test) ? ['CMD', 'CMD-SHELL', 'NONE'] : []).toContain(Array.isArray(test) ? test[0] : '');
      }
    }
  });
});
