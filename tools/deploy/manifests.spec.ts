/**
 * Static checks of the deployment files: docker/Dockerfile, docker/compose.yml and the
 * Kubernetes manifests in k8s/. Pure: it only reads files of this repository (no Docker, no
 * cluster). What it guards is what would otherwise only break at deploy time: a probe on the
 * wrong path or port, a consumer group or topic name that does not match what the services
 * derive from their configuration, a grace period shorter than the drain budget, a manifest
 * left out of kustomization.yaml, an image that would run as root or lack a runtime package.
 *
 * Names, ports, topics and consumer groups are derived from the code (libs/contracts,
 * libs/shared/config, libs/shared/kafka), never restated here, so a change there that the
 * manifests do not follow fails this test.
 */
import { builtinModules } from 'node:module';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { load, loadAll } from 'js-yaml';
import { TOPIC_SPECS, topicName, type ServiceName, type TopicKey } from '@mosaic/contracts';
import { hostname } from 'node:os';
import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { AdminAuthGuard } from '@mosaic/shared-service';
import { DEFAULT_PORTS, commonEnvSchema, loadConfig, loadDemoShopConfig, type AppName, type CommonConfig } from '@mosaic/shared-config';
import { topicConfigEntries } from '@mosaic/shared-kafka';
import { activationEnvSchema } from '../../apps/activation/src/activation.config';
import { ConsumerHost } from '@mosaic/shared-kafka';
import { createLogger } from '@mosaic/shared-logging';
import { collectorEnvSchema, trustProxySetting } from '../../apps/collector/src/collector.config';
import { consoleEnvSchema, spaSettings, upstreamUrls } from '../../apps/console/src/console.config';

const ROOT = join(__dirname, '..', '..');
const K8S = join(ROOT, 'k8s');
const SERVICES: readonly ServiceName[] = ['collector', 'identity', 'enrichment', 'segmentation', 'activation'];
/** What runs as a Deployment (and a compose service) from the one image: the services and the console. */
const APPS: readonly AppName[] = [...SERVICES, 'console'];
type ConsumerService = Exclude<ServiceName, 'collector'>;
const CONSUMER_SERVICES: readonly ConsumerService[] = ['identity', 'enrichment', 'segmentation', 'activation'];
/** The topic each consumer service's lag autoscaling must watch (DESIGN §2). */
const MAIN_INPUT: Readonly<Record<ConsumerService, TopicKey>> = {
  identity: 'eventsRaw',
  enrichment: 'eventsResolved',
  segmentation: 'profilesChanges',
  activation: 'segmentsMembership',
};
/** A well-formed admin token, standing in for the Secret's value when the config is validated. */
const TEST_TOKEN = 'test-admin-token-0123456789';

// ---------------------------------------------------------------------------------------------
// Minimal shapes of the Kubernetes objects the checks read (everything else is ignored).

type Labels = Record<string, string>;
interface Meta {
  name: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Record<string, string>;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec?: unknown;
  data?: Record<string, unknown>;
  stringData?: Record<string, unknown>;
  /** Where it came from, for messages. */
  file: string;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}
interface Probe {
  httpGet?: { path: string; port: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[] };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodTemplate {
  metadata?: { labels?: Labels; annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    securityContext?: SecurityContext;
    terminationGracePeriodSeconds?: number;
    enableServiceLinks?: boolean;
    restartPolicy?: string;
    topologySpreadConstraints?: { topologyKey: string; labelSelector?: { matchLabels?: Labels } }[];
    volumes?: { name: string; emptyDir?: unknown }[];
  };
}
interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Labels };
  template: PodTemplate;
}
interface ServiceSpec {
  selector: Labels;
  ports: { name?: string; port: number; targetPort?: number | string }[];
}
interface PdbSpec {
  selector: { matchLabels: Labels };
  minAvailable?: number | string;
  maxUnavailable?: number | string;
}
interface HpaSpec {
  scaleTargetRef: { apiVersion?: string; kind: string; name: string };
  minReplicas?: number;
  maxReplicas: number;
  metrics?: { type: string; resource?: { name: string } }[];
}
interface ScaledObjectSpec {
  scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  triggers: { type: string; metadata: Record<string, unknown> }[];
}
interface JobSpec {
  backoffLimit?: number;
  ttlSecondsAfterFinished?: number;
  template: PodTemplate;
}
interface IngressSpec {
  rules: { host?: string; http: { paths: { path: string; backend: { service: { name: string; port: { name?: string; number?: number } } } }[] } }[];
}

// ---------------------------------------------------------------------------------------------
// Helpers.

const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');

function loadManifests(rel: string): Manifest[] {
  const docs = loadAll(read(rel)).filter((d): d is Record<string, unknown> => d !== null && d !== undefined);
  return docs.map((d) => ({ ...(d as unknown as Omit<Manifest, 'file'>), file: rel }));
}

function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...yamlFilesUnder(p));
    else if (/\.ya?ml$/.test(entry)) out.push(relative(ROOT, p).split('\\').join('/'));
  }
  return out;
}

const specOf = <T>(m: Manifest): T => m.spec as T;

/** Kubernetes quantity to a number (bytes for memory, cores for CPU). */
function quantity(q: string | number | undefined): number {
  if (q === undefined) return NaN;
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/.exec(q);
  if (!m) return NaN;
  const units: Record<string, number> = { m: 1e-3, k: 1e3, Ki: 1024, M: 1e6, Mi: 1024 ** 2, G: 1e9, Gi: 1024 ** 3, T: 1e12, Ti: 1024 ** 4 };
  return Number(m[1]) * (m[2] ? (units[m[2]] as number) : 1);
}

/** True when every label of `selector` is on `labels` (a selector selects those pods). */
const selects = (selector: Labels | undefined, labels: Labels | undefined): boolean =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** Compose's interpolation, with every variable unset: `${X:-d}`/`${X-d}` give d, `${X}` gives ''. */
function interpolateUnset(s: string): string {
  return s.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g, (_all, def: string | undefined) => def ?? '').replace(/\$\$/g, '$');
}

function envValue(c: Container, name: string): EnvVar | undefined {
  return c.env?.find((e) => e.name === name);
}

/** The environment a container sees, with the pod's downward-API and secret values stood in. */
function effectiveEnv(c: Container, configMaps: Map<string, Record<string, unknown>>, podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) {
      const data = configMaps.get(from.configMapRef.name);
      if (!data) throw new Error(`${c.name}: envFrom names ConfigMap ${from.configMapRef.name}, which is not in the manifests`);
      for (const [k, v] of Object.entries(data)) env[k] = String(v);
    }
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
    else if (e.valueFrom?.secretKeyRef?.key === 'MOSAIC_ADMIN_TOKEN') env[e.name] = TEST_TOKEN;
    else if (e.valueFrom?.secretKeyRef?.key === 'MONGODB_URI') env[e.name] = 'mongodb://user:pass@mongo.example:27017/mosaic';
    else if (e.valueFrom?.secretKeyRef?.key === 'COLLECTOR_EMAIL_SIGNING_KEYS') env[e.name] = `k1:${'s'.repeat(40)}`;
    else if (e.valueFrom?.configMapKeyRef) env[e.name] = String(configMaps.get(e.valueFrom.configMapKeyRef.name)?.[e.valueFrom.configMapKeyRef.key] ?? '');
  }
  return env;
}

/** Resolves a probe's or Service's port (number or container port name) to a number. */
function resolvePort(c: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** Milliseconds a preStop hook delays SIGTERM (`sleep N` exec or the native sleep action). */
function preStopMs(c: Container): number {
  const hook = c.lifecycle?.preStop;
  if (!hook) return 0;
  if (hook.sleep) return hook.sleep.seconds * 1000;
  const cmd = hook.exec?.command ?? [];
  const i = cmd.findIndex((x) => x === 'sleep' || x.endsWith('/sleep'));
  return i >= 0 ? Number(cmd[i + 1]) * 1000 : 0;
}

// ---------------------------------------------------------------------------------------------
// Load everything once.

interface Kustomization {
  namespace?: string;
  resources: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}
const kustomization = load(read('k8s/kustomization.yaml')) as Kustomization;
const listed = kustomization.resources.map((r) => posix.join('k8s', r));
const manifests: Manifest[] = listed.filter((f) => existsSync(join(ROOT, f))).flatMap(loadManifests);
/** Kubernetes objects under optional/ (not kustomize files: kustomization.yaml and the JSON patches). */
const isKustomizeFile = (f: string): boolean => /(^|\/)(kustomization|patch-[^/]*)\.ya?ml$/.test(f);
const optionalManifests: Manifest[] = yamlFilesUnder(join(K8S, 'optional'))
  .filter((f) => !isKustomizeFile(f))
  .flatMap(loadManifests);
/** Strimzi's custom resources live where the Topic and User Operators watch: the Kafka cluster's namespace. */
const STRIMZI_KINDS = new Set(['KafkaTopic', 'KafkaUser']);

const find = (kind: string, name: string, from: Manifest[] = manifests): Manifest[] => from.filter((m) => m.kind === kind && m.metadata?.name === name);
function one(kind: string, name: string, from: Manifest[] = manifests): Manifest {
  const found = find(kind, name, from);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind} ${name}, found ${found.length}`);
  return found[0] as Manifest;
}

const configMap = one('ConfigMap', 'mosaic-config');
const configMaps = new Map(manifests.filter((m) => m.kind === 'ConfigMap').map((m) => [m.metadata.name, m.data ?? {}] as const));
/** A mosaic-config value (a non-string value fails the "only strings" test, not the load). */
const cm = (key: string): string => {
  const v = configMap.data?.[key];
  if (v === undefined || v === null) throw new Error(`mosaic-config has no ${key}`);
  return String(v);
};
const PREFIX = cm('MOSAIC_TOPIC_PREFIX');
const PARTITIONS = Number(cm('KAFKA_TOPIC_PARTITIONS'));
const SHUTDOWN_MS = Number(cm('MOSAIC_SHUTDOWN_TIMEOUT_MS'));
/** The public APIs' host: COLLECTOR_PUBLIC_URL's, which email links come back to. */
const PUBLIC_HOST = new URL(cm('COLLECTOR_PUBLIC_URL')).host;
/** The console's host: the one the Ingress rule sending /api/session to the console's Service names. */
const CONSOLE_HOST =
  manifests
    .filter((m) => m.kind === 'Ingress')
    .flatMap((i) => specOf<IngressSpec>(i).rules)
    .find((r) => r.http.paths.some((p) => p.backend.service.name === 'mosaic-console'))?.host ?? '(no Ingress rule routes to mosaic-console)';

function deploymentOf(service: AppName): { d: Manifest; spec: DeploymentSpec; c: Container } {
  const d = one('Deployment', `mosaic-${service}`);
  const spec = specOf<DeploymentSpec>(d);
  const containers = spec.template.spec.containers;
  if (containers.length !== 1) throw new Error(`mosaic-${service}: expected one container, found ${containers.length}`);
  return { d, spec, c: containers[0] as Container };
}

function configOf(service: AppName): CommonConfig {
  const { c } = deploymentOf(service);
  return loadConfig(service, undefined, effectiveEnv(c, configMaps, `mosaic-${service}-7d9f8-abcde`));
}

/** The consumer group the service's ConsumerHost uses for a topic (nothing is connected). */
function consumerGroupOf(service: ServiceName, topic: TopicKey): string {
  const host = new ConsumerHost({
    kafka: {} as never,
    producer: {} as never,
    config: configOf(service).kafka,
    service,
    logger: createLogger({ service, level: 'silent', destination: { write: () => undefined } }),
  });
  return host.groupIdFor(topic);
}

/** The topic key of a full topic name under the configured prefix. */
const topicKeyOf = (topic: unknown): TopicKey | undefined => (Object.keys(TOPIC_SPECS) as TopicKey[]).find((k) => topicName(PREFIX, k) === topic);

// =============================================================================================

describe('k8s/kustomization.yaml', () => {
  it('lists only files that exist, each once', () => {
    const missing = listed.filter((f) => !existsSync(join(ROOT, f)));
    expect(missing).toEqual([]);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('lists every manifest in k8s/ except optional/ (and itself)', () => {
    const onDisk = yamlFilesUnder(K8S).filter((f) => !f.startsWith('k8s/optional/') && f !== 'k8s/kustomization.yaml');
    expect(onDisk.filter((f) => !listed.includes(f))).toEqual([]);
  });

  it('does not list the optional alternatives', () => {
    expect(listed.filter((f) => f.startsWith('k8s/optional/'))).toEqual([]);
  });

  it('puts everything in the mosaic namespace', () => {
    expect(kustomization.namespace).toBe('mosaic');
    expect(one('Namespace', 'mosaic').kind).toBe('Namespace');
    const elsewhere = [...manifests, ...optionalManifests].filter(
      (m) => m.kind !== 'Namespace' && !STRIMZI_KINDS.has(m.kind) && m.metadata.namespace !== 'mosaic',
    );
    expect(elsewhere.map((m) => `${m.file}: ${m.kind} ${m.metadata.name}`)).toEqual([]);
  });

  it('has well-formed objects with unique kind/name', () => {
    for (const m of manifests) {
      expect(typeof m.apiVersion).toBe('string');
      expect(typeof m.kind).toBe('string');
      expect(typeof m.metadata?.name).toBe('string');
    }
    const ids = manifests.map((m) => `${m.kind}/${m.metadata.name}`);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('every container runs the one image `mosaic`, which the images entry retargets', () => {
    const images = kustomization.images ?? [];
    expect(images.map((i) => i.name)).toEqual(['mosaic']);
    const pods = manifests.flatMap((m) =>
      m.kind === 'Deployment' || m.kind === 'Job' ? specOf<DeploymentSpec | JobSpec>(m).template.spec.containers.map((c) => ({ m, c })) : [],
    );
    expect(pods.length).toBe(APPS.length + 1);
    for (const { c } of pods) expect(c.image).toBe('mosaic');
  });
});

describe('k8s config and secrets', () => {
  it('mosaic-config holds only strings (the API server rejects numbers) and only known variables', () => {
    const known = new Set([
      ...Object.keys(commonEnvSchema.shape),
      ...APPS.map((s) => `${s.toUpperCase()}_PORT`),
      ...Object.keys(collectorEnvSchema.shape),
      ...Object.keys(activationEnvSchema.shape),
    ]);
    for (const [k, v] of Object.entries(configMap.data ?? {})) {
      expect({ [k]: typeof v }).toEqual({ [k]: 'string' });
      expect({ [k]: known.has(k) }).toEqual({ [k]: true });
    }
  });

  it('mosaic-config passes the services’ own configuration schema', () => {
    const parsed = commonEnvSchema.safeParse({ ...configMap.data, MOSAIC_ADMIN_TOKEN: TEST_TOKEN });
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  });

  it('sets production partitions and leaves secrets out of the ConfigMap', () => {
    expect(PARTITIONS).toBe(12);
    expect(Number(cm('KAFKA_REPLICATION_FACTOR'))).toBeGreaterThanOrEqual(3);
    expect(cm('NODE_ENV')).toBe('production');
    expect(Object.keys(configMap.data ?? {})).not.toEqual(expect.arrayContaining(['MOSAIC_ADMIN_TOKEN']));
    expect(Object.keys(configMap.data ?? {})).not.toEqual(expect.arrayContaining(['MONGODB_URI']));
  });

  it('the example Secret has every key, and its token and password placeholders are unusable until replaced', () => {
    const secret = one('Secret', 'mosaic-secrets');
    const data = { ...(secret.stringData ?? {}) };
    expect(Object.keys(data).sort()).toEqual(['COLLECTOR_EMAIL_SIGNING_KEYS', 'CONSOLE_INITIAL_ADMIN_PASSWORD', 'MONGODB_URI', 'MOSAIC_ADMIN_TOKEN']);
    // Shorter than the 16 characters the services require: a forgotten placeholder stops the
    // pods at start-up instead of guarding the admin API with a published token.
    expect(String(data.MOSAIC_ADMIN_TOKEN).length).toBeLessThan(16);
    // Likewise the console's first admin: a published password fails its configuration check.
    expect(consoleEnvSchema.shape.CONSOLE_INITIAL_ADMIN_PASSWORD.safeParse(String(data.CONSOLE_INITIAL_ADMIN_PASSWORD)).success).toBe(false);
    expect(read('k8s/secret.yaml')).toMatch(/REPLACE/);
  });

  it('every secret reference names a key of mosaic-secrets', () => {
    const secret = one('Secret', 'mosaic-secrets');
    const keys = Object.keys({ ...(secret.stringData ?? {}), ...(secret.data ?? {}) });
    const refs = manifests
      .flatMap((m) => (m.kind === 'Deployment' || m.kind === 'Job' ? specOf<DeploymentSpec | JobSpec>(m).template.spec.containers : []))
      .flatMap((c) => c.env ?? [])
      .flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : []));
    expect(refs.length).toBeGreaterThan(0);
    for (const { name, key } of refs)
      expect({ name, key }).toEqual({ name: 'mosaic-secrets', key: expect.stringMatching(new RegExp(`^(${keys.join('|')})$`)) });
  });
});

describe.each(APPS)('k8s: %s', (service) => {
  const port = DEFAULT_PORTS[service];

  it('has a Deployment running this service, at least 2 replicas, selector matching its pods', () => {
    const { spec, c } = deploymentOf(service);
    expect(spec.replicas).toBeGreaterThanOrEqual(2);
    expect(selects(spec.selector.matchLabels, spec.template.metadata?.labels)).toBe(true);
    expect(spec.selector.matchLabels['app.kubernetes.io/component']).toBe(service);
    expect(envValue(c, 'MOSAIC_SERVICE')?.value).toBe(service);
    // The image's CMD starts the service named by MOSAIC_SERVICE; no override.
    expect(c.command).toBeUndefined();
    expect(c.args).toBeUndefined();
  });

  it('configures it as the service expects (real config loader)', () => {
    const { c } = deploymentOf(service);
    const config = configOf(service);
    expect(config.http.port).toBe(port);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.env).toBe('production');
    expect(config.kafka.provisionTopics).toBe(false);
    expect(envValue(c, 'KAFKA_PROVISION_TOPICS')?.value).toBe('false');
    expect(envValue(c, 'MOSAIC_INSTANCE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(config.instanceId).toMatch(new RegExp(`^mosaic-${service}-`));
    expect(envValue(c, 'MOSAIC_ADMIN_TOKEN')?.valueFrom?.secretKeyRef?.name).toBe('mosaic-secrets');
    expect(envValue(c, 'MONGODB_URI')?.valueFrom?.secretKeyRef?.name).toBe('mosaic-secrets');
    expect(c.envFrom).toEqual(expect.arrayContaining([{ configMapRef: { name: 'mosaic-config' } }]));
  });

  it(`exposes port ${port} and probes /health (liveness, start-up) and /ready (readiness) on it`, () => {
    const { c } = deploymentOf(service);
    expect(c.ports?.map((p) => p.containerPort)).toEqual([port]);
    const probe = (p: Probe | undefined): { path?: string; port?: number } => ({ path: p?.httpGet?.path, port: resolvePort(c, p?.httpGet?.port) });
    expect(probe(c.livenessProbe)).toEqual({ path: '/health', port });
    expect(probe(c.readinessProbe)).toEqual({ path: '/ready', port });
    expect(probe(c.startupProbe)).toEqual({ path: '/health', port });
    // The start-up probe, not a long initial delay, covers the slow start.
    expect((c.startupProbe?.periodSeconds ?? 10) * (c.startupProbe?.failureThreshold ?? 3)).toBeGreaterThanOrEqual(60);
  });

  it('has CPU and memory requests and limits, and a V8 heap below the memory limit', () => {
    const { c } = deploymentOf(service);
    const r = c.resources ?? {};
    for (const q of [r.requests?.cpu, r.requests?.memory, r.limits?.cpu, r.limits?.memory]) expect(quantity(q)).toBeGreaterThan(0);
    expect(quantity(r.limits?.memory)).toBeGreaterThanOrEqual(quantity(r.requests?.memory));
    expect(quantity(r.limits?.cpu)).toBeGreaterThanOrEqual(quantity(r.requests?.cpu));
    const heap = /--max-old-space-size=(\d+)/.exec(envValue(c, 'NODE_OPTIONS')?.value ?? '');
    if (heap) expect(Number(heap[1]) * 1024 ** 2).toBeLessThan(quantity(r.limits?.memory) * 0.9);
  });

  it('runs non-root, read-only, without privilege escalation or capabilities', () => {
    const { spec, c } = deploymentOf(service);
    const pod = spec.template.spec;
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).not.toBe(0);
    expect(c.securityContext?.runAsUser).not.toBe(0);
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    // A read-only root still needs a writable /tmp.
    const tmp = c.volumeMounts?.find((v) => v.mountPath === '/tmp');
    expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    // Service links would inject e.g. COLLECTOR_PORT=tcp://... next to the port variables.
    expect(pod.enableServiceLinks).toBe(false);
  });

  it('gives SIGTERM its drain budget: grace period > preStop + MOSAIC_SHUTDOWN_TIMEOUT_MS', () => {
    const { spec, c } = deploymentOf(service);
    const grace = spec.template.spec.terminationGracePeriodSeconds;
    expect(grace).toBe(40);
    expect(SHUTDOWN_MS).toBe(configOf(service).shutdownTimeoutMs);
    expect(preStopMs(c)).toBeGreaterThan(0);
    expect((grace as number) * 1000).toBeGreaterThan(SHUTDOWN_MS + preStopMs(c));
  });

  it('is scraped by Prometheus on its own port and spread across nodes and zones', () => {
    const { spec } = deploymentOf(service);
    expect(spec.template.metadata?.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(port),
      'prometheus.io/path': '/metrics',
    });
    const spread = spec.template.spec.topologySpreadConstraints ?? [];
    expect(spread.map((t) => t.topologyKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const t of spread) expect(selects(t.labelSelector?.matchLabels, spec.template.metadata?.labels)).toBe(true);
  });

  it(`has a Service on port ${port} selecting exactly these pods`, () => {
    const { spec: dep, c } = deploymentOf(service);
    const svc = specOf<ServiceSpec>(one('Service', `mosaic-${service}`));
    expect(svc.selector).toEqual(dep.selector.matchLabels);
    expect(svc.ports).toHaveLength(1);
    expect(svc.ports[0]?.port).toBe(port);
    expect(resolvePort(c, svc.ports[0]?.targetPort ?? svc.ports[0]?.port)).toBe(port);
    // No other Deployment's pods carry these labels.
    const others = APPS.filter((s) => s !== service).map((s) => deploymentOf(s).spec.template.metadata?.labels);
    expect(others.filter((l) => selects(svc.selector, l))).toEqual([]);
  });

  it('has a PodDisruptionBudget that covers its pods and still allows evictions', () => {
    const { spec: dep } = deploymentOf(service);
    const pdb = specOf<PdbSpec>(one('PodDisruptionBudget', `mosaic-${service}`));
    expect(selects(pdb.selector.matchLabels, dep.template.metadata?.labels)).toBe(true);
    if (pdb.maxUnavailable !== undefined) expect(pdb.maxUnavailable).not.toBe(0);
    else if (typeof pdb.minAvailable === 'number') expect(pdb.minAvailable).toBeLessThan(dep.replicas ?? 1);
    else expect(pdb.minAvailable).toBeDefined();
  });
});

describe('k8s: collector specifics', () => {
  it('sets only collector variables the collector knows, with valid values', () => {
    const { c } = deploymentOf('collector');
    const own = (c.env ?? []).map((e) => e.name).filter((n) => n.startsWith('COLLECTOR_') && n !== 'COLLECTOR_PORT');
    expect(own.filter((n) => !(n in collectorEnvSchema.shape))).toEqual([]);
    const config = loadConfig('collector', collectorEnvSchema, effectiveEnv(c, configMaps, 'mosaic-collector-7d9f8-abcde'));
    // Behind the ingress controller: exactly one proxy hop appends to X-Forwarded-For.
    expect(trustProxySetting(config.own.COLLECTOR_TRUST_PROXY)).toBe(1);
  });
});

describe('k8s: console specifics', () => {
  const own = () => loadConfig('console', consoleEnvSchema, effectiveEnv(deploymentOf('console').c, configMaps, 'mosaic-console-7d9f8-abcde')).own;

  it('sets only console variables the console knows, with valid values', () => {
    const { c } = deploymentOf('console');
    const names = (c.env ?? []).map((e) => e.name).filter((n) => n.startsWith('CONSOLE_') && n !== 'CONSOLE_PORT');
    expect(names.filter((n) => !(n in consoleEnvSchema.shape))).toEqual([]);
    expect(own().CONSOLE_COOKIE_SECURE).toBe(true);
  });

  it('reaches each service through its Service, on its port', () => {
    const urls = upstreamUrls(own());
    for (const service of SERVICES) {
      const url = new URL(urls[service]);
      const svc = specOf<ServiceSpec>(one('Service', `mosaic-${service}`));
      expect({ service, host: url.hostname.split('.')[0], port: Number(url.port) }).toEqual({ service, host: `mosaic-${service}`, port: svc.ports[0]?.port });
    }
  });

  it('takes the first admin’s password from mosaic-secrets, optionally (it is not needed once a user exists)', () => {
    const ref = envValue(deploymentOf('console').c, 'CONSOLE_INITIAL_ADMIN_PASSWORD')?.valueFrom?.secretKeyRef as {
      name: string;
      key: string;
      optional?: boolean;
    };
    expect(ref).toEqual({ name: 'mosaic-secrets', key: 'CONSOLE_INITIAL_ADMIN_PASSWORD', optional: true });
  });

  it('has no autoscaler: it consumes no topic, and replicas share the sessions in MongoDB', () => {
    expect(
      [...manifests, ...optionalManifests].filter((m) => /ScaledObject|HorizontalPodAutoscaler/.test(m.kind) && m.metadata.name === 'mosaic-console'),
    ).toEqual([]);
  });
});

/** KEDA Kafka triggers: each watches the group the service really commits to for its topic, with the brokers it uses. */
function expectLagTriggers(service: ServiceName, kafka: ScaledObjectSpec['triggers']): void {
  const config = configOf(service);
  expect(config.kafka.consumer.groupId).toBe(`${PREFIX}${service}`);
  for (const t of kafka) {
    const key = topicKeyOf(t.metadata.topic);
    expect({ topic: t.metadata.topic, known: key !== undefined }).toEqual({ topic: t.metadata.topic, known: true });
    // The group the service really commits to for that topic: <prefix><service>.<key>.
    expect(t.metadata.consumerGroup).toBe(consumerGroupOf(service, key as TopicKey));
    expect(String(t.metadata.consumerGroup).startsWith(`${PREFIX}${service}`)).toBe(true);
    // The brokers: the Deployment's own KAFKA_BROKERS, or the same list spelled out.
    if (t.metadata.bootstrapServersFromEnv !== undefined) {
      expect(t.metadata.bootstrapServersFromEnv).toBe('KAFKA_BROKERS');
      expect(config.kafka.brokers).toEqual(cm('KAFKA_BROKERS').split(','));
    } else expect(t.metadata.bootstrapServers).toBe(config.kafka.brokers.join(','));
    // KEDA reads trigger metadata as strings; a YAML number is rejected.
    expect(t.metadata.lagThreshold).toMatch(/^[1-9][0-9]*$/);
    expect(t.metadata.allowIdleConsumers ?? 'false').toBe('false');
    // The services start a new group at the earliest offset; so must the lag estimate.
    expect(t.metadata.offsetResetPolicy).toBe('earliest');
  }
}

describe('k8s autoscaling', () => {
  describe('collector', () => {
    it('scales on CPU and on the lag of its events.ingest group (KEDA): it consumes the topic by default', () => {
      const m = one('ScaledObject', 'mosaic-collector');
      expect(m.apiVersion).toBe('keda.sh/v1alpha1');
      const spec = specOf<ScaledObjectSpec>(m);
      expect(spec.scaleTargetRef.name).toBe('mosaic-collector');
      const cpu = spec.triggers.filter((t) => t.type === 'cpu') as (ScaledObjectSpec['triggers'][number] & { metricType?: string })[];
      expect(cpu.map((t) => [t.metricType, t.metadata.value])).toEqual([['Utilization', '70']]);
      const { c } = deploymentOf('collector');
      expect(loadConfig('collector', collectorEnvSchema, effectiveEnv(c, configMaps, 'mosaic-collector-7d9f8-abcde')).own.COLLECTOR_KAFKA_INGEST).toBe(true);
      const kafka = spec.triggers.filter((t) => t.type === 'kafka');
      expect(kafka.length + cpu.length).toBe(spec.triggers.length);
      expect(kafka.map((t) => t.metadata.topic)).toEqual([topicName(PREFIX, 'eventsIngest')]);
      expectLagTriggers('collector', kafka);
      expect(spec.minReplicaCount).toBeGreaterThanOrEqual(2);
      expect(spec.maxReplicaCount).toBeGreaterThan(spec.minReplicaCount as number);
    });

    it('has no second autoscaler in the default set, and a CPU fallback in optional/', () => {
      expect(find('HorizontalPodAutoscaler', 'mosaic-collector')).toEqual([]);
      const hpa = one('HorizontalPodAutoscaler', 'mosaic-collector', optionalManifests);
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      const spec = specOf<HpaSpec>(hpa);
      expect(spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'mosaic-collector' });
      expect(spec.metrics?.map((x) => x.resource?.name)).toContain('cpu');
      expect(spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(spec.maxReplicas).toBeGreaterThan(spec.minReplicas as number);
    });
  });

  describe.each(CONSUMER_SERVICES)('%s', (service) => {
    const so = (): { m: Manifest; spec: ScaledObjectSpec } => {
      const m = one('ScaledObject', `mosaic-${service}`);
      return { m, spec: specOf<ScaledObjectSpec>(m) };
    };

    it('scales on the lag of its own consumer groups on its input topics (KEDA)', () => {
      const { m, spec } = so();
      expect(m.apiVersion).toBe('keda.sh/v1alpha1');
      expect(spec.scaleTargetRef.name).toBe(`mosaic-${service}`);
      const kafka = spec.triggers.filter((t) => t.type === 'kafka');
      expect(kafka.length).toBe(spec.triggers.length);
      expect(kafka.map((t) => t.metadata.topic)).toContain(topicName(PREFIX, MAIN_INPUT[service]));
      expectLagTriggers(service, kafka);
    });

    it('never scales past the partition count, nor below 2', () => {
      const { spec } = so();
      expect(spec.maxReplicaCount).toBeDefined();
      expect(spec.maxReplicaCount).toBeLessThanOrEqual(PARTITIONS);
      expect(spec.minReplicaCount).toBeGreaterThanOrEqual(2);
      expect(spec.maxReplicaCount).toBeGreaterThan(spec.minReplicaCount as number);
    });

    it('has no second autoscaler in the default set, and a CPU fallback in optional/', () => {
      expect(find('HorizontalPodAutoscaler', `mosaic-${service}`)).toEqual([]);
      const hpa = specOf<HpaSpec>(one('HorizontalPodAutoscaler', `mosaic-${service}`, optionalManifests));
      expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: `mosaic-${service}` });
      expect(hpa.maxReplicas).toBeLessThanOrEqual(PARTITIONS);
      expect(hpa.metrics?.map((x) => x.resource?.name)).toContain('cpu');
    });
  });
});

describe('k8s topics Job and Ingress', () => {
  it('has the mosaic-topics Job running the provision script once, bounded and cleaned up', () => {
    const job = one('Job', 'mosaic-topics');
    const spec = specOf<JobSpec>(job);
    expect(spec.backoffLimit).toBeGreaterThan(0);
    expect(spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
    expect(['Never', 'OnFailure']).toContain(spec.template.spec.restartPolicy);
    const [c, ...more] = spec.template.spec.containers;
    expect(more).toEqual([]);
    expect(c?.command).toEqual(['node', 'dist/apps/collector/src/provision.js']);
    const env = effectiveEnv(c as Container, configMaps, 'mosaic-topics-abcde');
    const config = loadConfig('collector', undefined, env);
    expect(config.kafka.provisionTopics).toBe(true);
    expect(config.kafka.partitions).toBe(PARTITIONS);
    expect(spec.template.spec.securityContext?.runAsNonRoot).toBe(true);
    expect(c?.securityContext?.readOnlyRootFilesystem).toBe(true);
  });

  it('routes the Ingresses only to existing Services and their named ports: the public host to the APIs, the console host to the console', () => {
    const ingresses = manifests.filter((m) => m.kind === 'Ingress');
    expect(ingresses.length).toBeGreaterThan(0);
    const backends = ingresses.flatMap((i) =>
      specOf<IngressSpec>(i).rules.flatMap((r) => r.http.paths.map((p) => ({ host: r.host, path: p.path, ...p.backend.service }))),
    );
    expect(new Set(backends.map((b) => b.name))).toEqual(new Set(['mosaic-collector', 'mosaic-activation', 'mosaic-console']));
    for (const b of backends) {
      const svc = specOf<ServiceSpec>(one('Service', b.name));
      expect(svc.ports.some((p) => (b.port.name ? p.name === b.port.name : p.port === b.port.number))).toBe(true);
    }
    const api = backends.filter((b) => b.host === PUBLIC_HOST);
    const consoleHost = backends.filter((b) => b.host === CONSOLE_HOST);
    expect(api.length + consoleHost.length).toBe(backends.length);
    expect(new Set(consoleHost.map((b) => b.name))).toEqual(new Set(['mosaic-console']));
    expect(api.filter((b) => b.name === 'mosaic-collector').map((b) => b.path)).toContain('/v1/batch');
    // Admin and operational endpoints stay inside the cluster.
    expect(api.filter((b) => /\/(sources|metrics|ready|openapi\.json)\b/.test(b.path) || b.path === '/')).toEqual([]);
  });
});

// =============================================================================================

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  stop_grace_period?: string;
}
const composeText = read('docker/compose.yml');
const compose = load(composeText) as { services: Record<string, ComposeService> };

const composeService = (name: string): ComposeService => {
  const s = compose.services[name];
  if (!s) throw new Error(`compose.yml has no service ${name}`);
  return s;
};
/** Container environment with every host variable unset, as strings. */
const composeEnv = (name: string): Record<string, string> =>
  Object.fromEntries(
    Object.entries(composeService(name).environment ?? {})
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, interpolateUnset(String(v))]),
  );
/** A Compose duration (`40s`, `1m`, `500ms`) in seconds. */
function seconds(d: string | undefined): number {
  const m = /^(\d+)(ms|s|m)$/.exec(d ?? '');
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60 };
  return m ? Number(m[1]) * (unit[m[2] as string] as number) : NaN;
}

describe('docker/compose.yml', () => {
  it('runs Kafka 4.1.1 (KRaft) on loopback 9092, without automatic topic creation', () => {
    const kafka = composeService('kafka');
    expect(kafka.image).toBe('apache/kafka:4.1.1');
    expect(kafka.ports?.map(interpolateUnset)).toEqual(['127.0.0.1:9092:9092']);
    const env = composeEnv('kafka');
    expect(env.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(kafka.healthcheck?.test?.length).toBeGreaterThan(0);
  });

  it('advertises Kafka to the host as 127.0.0.1:9092 and to containers as kafka:19092', () => {
    const env = composeEnv('kafka');
    const listeners = Object.fromEntries((env.KAFKA_LISTENERS ?? '').split(',').map((l) => l.split('://') as [string, string]));
    const advertised = Object.fromEntries((env.KAFKA_ADVERTISED_LISTENERS ?? '').split(',').map((l) => l.split('://') as [string, string]));
    const hostListener = Object.keys(advertised).find((k) => advertised[k] === '127.0.0.1:9092');
    const internalListener = Object.keys(advertised).find((k) => advertised[k] === 'kafka:19092');
    expect(hostListener).toBeDefined();
    expect(internalListener).toBeDefined();
    expect(listeners[hostListener as string]).toMatch(/:9092$/);
    expect(listeners[internalListener as string]).toMatch(/:19092$/);
    expect(env.KAFKA_INTER_BROKER_LISTENER_NAME).toBe(internalListener);
  });

  it('runs MongoDB 8 on loopback 27017 with a health check', () => {
    const mongo = composeService('mongo');
    expect(mongo.image).toBe('mongo:8.0');
    expect(mongo.ports?.map(interpolateUnset)).toEqual(['127.0.0.1:27017:27017']);
    expect(mongo.healthcheck?.test?.length).toBeGreaterThan(0);
  });

  it('requires no variable, so `up -d kafka mongo` works without MOSAIC_ADMIN_TOKEN', () => {
    // Compose interpolates the whole file before selecting services: one ${X:?...} or ${X?...}
    // anywhere would make the infrastructure-only `up` (npm run infra) fail too.
    // (Checked on the parsed file, so comments may still mention the syntax.)
    expect(JSON.stringify(compose).match(/\$\{[A-Za-z_][A-Za-z0-9_]*:?\?/g) ?? []).toEqual([]);
  });

  it('provisions the topics with a one-shot service before the services start', () => {
    const topics = composeService('topics');
    expect(topics.command).toEqual(['node', 'dist/apps/collector/src/provision.js']);
    expect(topics.depends_on?.kafka?.condition).toBe('service_healthy');
    const config = loadConfig('collector', undefined, { ...composeEnv('topics'), MOSAIC_ADMIN_TOKEN: TEST_TOKEN });
    expect(config.kafka.provisionTopics).toBe(true);
    expect(config.kafka.brokers).toEqual(['kafka:19092']);
  });

  describe.each(APPS)('%s', (service) => {
    it('runs from the repository Dockerfile with the right MOSAIC_SERVICE, port and health check', () => {
      const s = composeService(service);
      expect(s.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile' });
      const env = composeEnv(service);
      expect(env.MOSAIC_SERVICE).toBe(service);
      expect(String(s.environment?.MOSAIC_ADMIN_TOKEN)).toMatch(/^\$\{MOSAIC_ADMIN_TOKEN(:?-)?\}$/);
      const config = loadConfig(service, undefined, { ...env, MOSAIC_ADMIN_TOKEN: TEST_TOKEN });
      expect(config.http.port).toBe(DEFAULT_PORTS[service]);
      expect(config.kafka.brokers).toEqual(['kafka:19092']);
      expect(config.mongo.uri).toMatch(/^mongodb:\/\/mongo:27017\//);
      // The collector also publishes the demo shop's port (the shop shares its network).
      const demoShopPort = service === 'collector' ? [String(loadDemoShopConfig(composeEnv('demo-shop')).http.port)] : [];
      expect(s.ports?.map((p) => interpolateUnset(p).split(':').slice(-1)[0])).toEqual([String(DEFAULT_PORTS[service]), ...demoShopPort]);
      expect(s.healthcheck?.disable).not.toBe(true);
      expect(s.healthcheck?.test?.join(' ')).toMatch(/healthcheck\.mjs/);
    });

    it('starts after Kafka and MongoDB are healthy and the topics exist, and drains on stop', () => {
      const s = composeService(service);
      expect(s.depends_on).toEqual({
        kafka: { condition: 'service_healthy' },
        mongo: { condition: 'service_healthy' },
        topics: { condition: 'service_completed_successfully' },
      });
      const shutdownMs = Number(composeEnv(service).MOSAIC_SHUTDOWN_TIMEOUT_MS ?? 25_000);
      expect(seconds(s.stop_grace_period) * 1000).toBeGreaterThan(shutdownMs);
    });
  });
});

// =============================================================================================

interface Instruction {
  op: string;
  args: string;
}
/** Dockerfile instructions, comments dropped and continuation lines joined. */
function dockerInstructions(text: string): Instruction[] {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const m = /^(\w+)\s+(.*)$/.exec(l);
      return { op: (m?.[1] ?? l).toUpperCase(), args: m?.[2] ?? '' };
    });
}
const dockerfile = dockerInstructions(read('docker/Dockerfile'));
const stages: Instruction[][] = [];
for (const ins of dockerfile) {
  if (ins.op === 'FROM') stages.push([ins]);
  else stages[stages.length - 1]?.push(ins);
}
const runtime = stages[stages.length - 1] ?? [];

describe('docker/Dockerfile', () => {
  it('is multi-stage on Node 20 bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const arg = dockerfile.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    const base = (from: Instruction): string => (from.args.split(/\s+/)[0] as string).replace('${NODE_IMAGE}', arg?.args.split('=')[1] ?? '');
    for (const s of stages) expect(base(s[0] as Instruction)).toMatch(/^node:20(\.[0-9.]+)?-bookworm-slim(@sha256:[0-9a-f]+)?$/);
  });

  it('installs production dependencies only in the runtime stage and copies the build in', () => {
    const runs = runtime.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm (ci|install)\b(?!.*--omit=dev)/.test(r))).toBe(false);
    expect(runtime.some((i) => i.op === 'COPY' && /--from=\S+\s+\S*\/dist\s/.test(i.args))).toBe(true);
    const build = stages.slice(0, -1).flatMap((s) => s.filter((i) => i.op === 'RUN').map((i) => i.args));
    expect(build.some((r) => r.includes('tools/scripts/build.mjs'))).toBe(true);
  });

  it('runs as a numeric non-root user (so Kubernetes can enforce runAsNonRoot)', () => {
    const users = runtime.filter((i) => i.op === 'USER').map((i) => i.args.trim());
    expect(users.length).toBeGreaterThan(0);
    const last = users[users.length - 1] as string;
    expect(last).toMatch(/^[0-9]+(:[0-9]+)?$/);
    expect(Number(last.split(':')[0])).toBeGreaterThan(0);
    const podUsers = manifests.flatMap((m) =>
      m.kind === 'Deployment' || m.kind === 'Job' ? [specOf<DeploymentSpec | JobSpec>(m).template.spec.securityContext?.runAsUser] : [],
    );
    for (const u of podUsers) expect(u).toBe(Number(last.split(':')[0]));
  });

  it('starts dist/apps/${MOSAIC_SERVICE}/src/main.js with exec (Node is PID 1 and gets SIGTERM)', () => {
    const cmd = runtime.filter((i) => i.op === 'CMD').pop();
    expect(cmd).toBeDefined();
    const argv = JSON.parse((cmd as Instruction).args) as string[];
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(argv[2]).toMatch(/^exec node "?dist\/apps\/\$\{MOSAIC_SERVICE(:\?[^}]*)?\}\/src\/main\.js"?$/);
    expect(runtime.some((i) => i.op === 'ENTRYPOINT')).toBe(false);
  });

  it('has a HEALTHCHECK on /health whose port table matches the services', () => {
    const hc = runtime.find((i) => i.op === 'HEALTHCHECK');
    expect(hc?.args).toMatch(/CMD \["node", "\/app\/docker\/healthcheck\.mjs"\]/);
    const script = read('docker/healthcheck.mjs');
    expect(script).toMatch(/fetch\(/);
    expect(script).toMatch(/\/health\b/);
    const table = /DEFAULT_PORTS = (\{[^}]*\})/.exec(script)?.[1];
    expect(table).toBeDefined();
    const ports = JSON.parse((table as string).replace(/(\w+):/g, '"$1":')) as Record<string, number>;
    expect(ports).toEqual(DEFAULT_PORTS);
  });

  it('only copies files that docker/Dockerfile.dockerignore lets into the context', () => {
    const ignore = read('docker/Dockerfile.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
    const sources = dockerfile
      .filter((i) => i.op === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => i.args.replace(/--\S+/g, '').trim().split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      expect({ src, exists: existsSync(join(ROOT, src)) }).toEqual({ src, exists: true });
      expect({ src, allowed: allowed.some((a) => src === a || src.startsWith(`${a}/`)) }).toEqual({ src, allowed: true });
    }
  });
});

// =============================================================================================
// The runtime stage installs `dependencies` only (npm ci --omit=dev): every package the
// services load at run time must be in the production install, as package-lock.json records it.

const tsPaths = (JSON.parse(read('tsconfig.base.json')) as { compilerOptions: { paths: Record<string, string[]> } }).compilerOptions.paths;
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
const builtins = new Set(builtinModules);

/** Runtime (not type-only) module specifiers of a TypeScript source. */
function runtimeImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  const fromRe = /(?:^|[;\n}])\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of code.matchAll(fromRe)) {
    if (m[2]) continue; // import type / export type
    // `import { type A, type B } from 'x'`: every name a type, so the import is erased.
    const names = /^\{([^}]*)\}$/.exec((m[3] as string).trim())?.[1];
    if (
      names !== undefined &&
      names
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean)
        .every((n) => n.startsWith('type '))
    )
      continue;
    out.push(m[4] as string);
  }
  for (const m of code.matchAll(/(?:^|[;\n])\s*import\s*['"]([^'"]+)['"]/g)) out.push(m[1] as string);
  for (const m of code.matchAll(/\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1] as string);
  return out;
}

function resolveLocal(fromFile: string, spec: string): string | undefined {
  const alias = tsPaths[spec]?.[0];
  const base = alias ? join(ROOT, alias) : spec.startsWith('.') ? join(dirname(fromFile), spec) : undefined;
  if (!base) return undefined;
  return [base, `${base}.ts`, join(base, 'index.ts')].find((p) => p.endsWith('.ts') && existsSync(p));
}

const packageOf = (spec: string): string => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));

describe('the image has every package the services load', () => {
  const entries = [...APPS.map((s) => `apps/${s}/src/main.ts`), 'apps/collector/src/provision.ts'];

  it('every entry point the image and manifests start exists', () => {
    expect(entries.filter((e) => !existsSync(join(ROOT, e)))).toEqual([]);
  });

  it('every package imported at run time from those entry points is in the production install', () => {
    const seen = new Set<string>();
    const queue = entries.map((e) => join(ROOT, e)).filter((e) => existsSync(e));
    const missing: string[] = [];
    while (queue.length) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('node:') || builtins.has(spec)) continue;
        const local = resolveLocal(file, spec);
        if (local) queue.push(local);
        else if (spec.startsWith('.') || tsPaths[spec]) missing.push(`${relative(ROOT, file)}: cannot resolve ${spec}`);
        else {
          const entry = lock.packages[`node_modules/${packageOf(spec)}`];
          if (!entry || entry.dev || entry.devOptional) missing.push(`${relative(ROOT, file)}: ${spec} is not a production dependency`);
        }
      }
    }
    expect(missing).toEqual([]);
    // The walk follows the aliases into the libraries (else it would check nothing).
    expect(seen.has(join(ROOT, 'libs/shared/config/src/config.ts'))).toBe(true);
  });
});

// =============================================================================================
// What following the manifests and docs literally needs in order to run: every required secret
// is created by the documented step, every public route is routed, the services find each
// other, and the NetworkPolicies let exactly that through.

const podSpecs = (from: Manifest[]): { m: Manifest; pod: PodTemplate }[] =>
  from.flatMap((m) => (m.kind === 'Deployment' || m.kind === 'Job' ? [{ m, pod: specOf<DeploymentSpec | JobSpec>(m).template }] : []));

/** Keys of `kubectl create secret generic <name> --from-literal=K=…|--from-file=K=…` commands in a text. */
function secretKeysCreatedBy(text: string, name: string): Set<string>[] {
  const commands = text
    .replace(/\\\n\s*#?\s*/g, ' ')
    .split('\n')
    .filter((l) => new RegExp(`create secret generic ${name}\\b`).test(l));
  return commands.map((c) => new Set([...c.matchAll(/--from-(?:literal|file)=([A-Za-z_][A-Za-z0-9_.]*)=/g)].map((x) => x[1] as string)));
}

describe('secrets: the documented step creates every key a pod requires', () => {
  const required = podSpecs(manifests)
    .flatMap(({ pod }) => pod.spec.containers.flatMap((c) => c.env ?? []))
    .flatMap((e) => (e.valueFrom?.secretKeyRef && !(e.valueFrom.secretKeyRef as { optional?: boolean }).optional ? [e.valueFrom.secretKeyRef] : []));
  const requiredKeys = [...new Set(required.filter((r) => r.name === 'mosaic-secrets').map((r) => r.key))].sort();

  it('the base references only mosaic-secrets, and at least the three keys the services need', () => {
    expect([...new Set(required.map((r) => r.name))]).toEqual(['mosaic-secrets']);
    expect(requiredKeys).toEqual(expect.arrayContaining(['COLLECTOR_EMAIL_SIGNING_KEYS', 'MONGODB_URI', 'MOSAIC_ADMIN_TOKEN']));
  });

  it.each([
    ['docs/deployment.md', read('docs/deployment.md')],
    ['k8s/secret.yaml (its comment)', read('k8s/secret.yaml')],
  ])('%s: `kubectl create secret generic mosaic-secrets` sets every required key', (_where, text) => {
    const commands = secretKeysCreatedBy(text, 'mosaic-secrets');
    expect(commands.length).toBeGreaterThan(0);
    for (const keys of commands) expect(requiredKeys.filter((k) => !keys.has(k))).toEqual([]);
  });

  it('the docs’ overlay secrets.env and key table name every required key', () => {
    const docs = read('docs/deployment.md');
    const envLine = /secrets\.env\s*#([^\n]*)/.exec(docs)?.[1] ?? '';
    for (const k of requiredKeys) {
      expect({ k, inSecretsEnv: envLine.includes(`${k}=`) }).toEqual({ k, inSecretsEnv: true });
      expect({ k, inTable: new RegExp(`^\\| \`${k}\` \\|`, 'm').test(docs) }).toEqual({ k, inTable: true });
    }
  });

  it('the optional components’ secrets are created by the commands their docs give', () => {
    const docs = read('docs/deployment.md');
    const refs = podSpecs(optionalManifests)
      .flatMap(({ pod }) => pod.spec.containers.flatMap((c) => c.env ?? []))
      .flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : []));
    const strimziPatch = read('k8s/optional/strimzi/patch-kafka-client.yaml');
    for (const m of strimziPatch.matchAll(/secretKeyRef:\s*\n\s*name: (\S+)\s*\n\s*key: (\S+)/g)) refs.push({ name: m[1] as string, key: m[2] as string });
    for (const m of strimziPatch.matchAll(/secretName: (\S+)[\s\S]*?- key: (\S+)/g)) refs.push({ name: m[1] as string, key: m[2] as string });
    const keda = optionalManifests.filter((m) => m.kind === 'TriggerAuthentication');
    for (const t of keda)
      for (const r of (t.spec as { secretTargetRef: { name: string; key: string }[] }).secretTargetRef) refs.push({ name: r.name, key: r.key });
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const commands = secretKeysCreatedBy(docs, ref.name);
      expect({ ref, documented: commands.some((keys) => keys.has(ref.key)) }).toEqual({ ref, documented: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------

interface Route {
  app: 'collector' | 'activation' | 'console';
  method: string;
  path: string;
  admin: boolean;
}

/** The HTTP routes of an app, read from its controllers' Nest decorators (every *.controller.ts). */
function routesOf(app: Route['app']): Route[] {
  const dir = join(ROOT, 'apps', app, 'src');
  const out: Route[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.controller.ts'))) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports = require(join(dir, file)) as Record<string, unknown>;
    for (const cls of Object.values(exports)) {
      if (typeof cls !== 'function' || Reflect.getMetadata(PATH_METADATA, cls) === undefined) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, cls));
      const classGuards = (Reflect.getMetadata(GUARDS_METADATA, cls) ?? []) as unknown[];
      const proto = (cls as { prototype: Record<string, unknown> }).prototype;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const handler = proto[name];
        if (typeof handler !== 'function' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
        const sub = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
        const guards = [...classGuards, ...((Reflect.getMetadata(GUARDS_METADATA, handler) ?? []) as unknown[])];
        const path = `/${[base, sub].join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
        out.push({
          app,
          method: RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number] as string,
          path,
          admin: guards.includes(AdminAuthGuard),
        });
      }
    }
  }
  return out;
}

/** A concrete request path for a route pattern (`:id` and `*` filled in). */
const samplePath = (pattern: string): string => pattern.replace(/:[A-Za-z]+/g, 'x-1').replace(/\*/g, 'sample-token.gif');

interface IngressPath {
  path: string;
  pathType: string;
  backend: { service: { name: string } };
}
/** The paths the Ingresses route on one host (Kubernetes matches the host first). */
const ingressPathsOf = (host: string): IngressPath[] =>
  manifests
    .filter((m) => m.kind === 'Ingress')
    .flatMap((i) =>
      specOf<{ rules: { host?: string; http: { paths: IngressPath[] } }[] }>(i)
        .rules.filter((r) => r.host === host)
        .flatMap((r) => r.http.paths),
    );
const ingressPaths: IngressPath[] = ingressPathsOf(PUBLIC_HOST);
const consolePaths: IngressPath[] = ingressPathsOf(CONSOLE_HOST);

/** The Service an Ingress sends a request path to (Exact, then the longest Prefix, element-wise as Kubernetes matches). */
function routedTo(path: string, paths: IngressPath[] = ingressPaths): string | undefined {
  const exact = paths.find((p) => p.pathType === 'Exact' && p.path === path);
  if (exact) return exact.backend.service.name;
  const elements = (p: string): string[] => p.split('/').filter(Boolean);
  const prefixes = paths
    .filter((p) => p.pathType === 'Prefix' && elements(p.path).every((e, i) => elements(path)[i] === e))
    .sort((a, b) => elements(b.path).length - elements(a.path).length);
  return prefixes[0]?.backend.service.name;
}

describe('the public Ingress routes exactly the public routes the controllers declare', () => {
  const routes = [...routesOf('collector'), ...routesOf('activation')];

  it('finds the routes (tracker, ingestion, short paths, email tracking, decide, admin APIs)', () => {
    const paths = routes.map((r) => r.path);
    expect(paths).toEqual(expect.arrayContaining(['/mosaic.js', '/v1/track', '/v1/t', '/v1/b', '/v1/e/o/*', '/v1/e/c/*', '/v1/decide', '/v1/sources']));
    expect(routes.filter((r) => r.admin).length).toBeGreaterThan(10);
  });

  it('routes every public route to the app that serves it', () => {
    const wrong = routes
      .filter((r) => !r.admin)
      .map((r) => ({ route: `${r.method} ${r.path}`, to: routedTo(samplePath(r.path)) ?? 'nothing', want: `mosaic-${r.app}` }))
      .filter((x) => x.to !== x.want);
    expect(wrong).toEqual([]);
  });

  it('routes no admin route and no operational endpoint', () => {
    const exposed = routes.filter((r) => r.admin && routedTo(samplePath(r.path)) !== undefined).map((r) => `${r.method} ${r.path}`);
    expect(exposed).toEqual([]);
    for (const p of ['/', '/health', '/ready', '/metrics', '/openapi.json', '/docs', '/v1/sources', '/v1/segments', '/v1/profiles/x-1']) {
      expect({ p, to: routedTo(p) }).toEqual({ p, to: undefined });
    }
  });

  it('serves the host of COLLECTOR_PUBLIC_URL, so that email links come back through it', () => {
    const hosts = manifests.filter((m) => m.kind === 'Ingress').flatMap((i) => specOf<{ rules: { host?: string }[] }>(i).rules.map((r) => r.host));
    expect(hosts).toContain(new URL(cm('COLLECTOR_PUBLIC_URL')).host);
    expect(new URL(cm('COLLECTOR_PUBLIC_URL')).protocol).toBe('https:');
    expect(read('k8s/ingress.yaml')).not.toMatch(/planned|placeholder/i);
  });
});

/** The single-page app's routes (`<Route path="/...">` in App.tsx), with a sample path for each. */
function spaRoutes(): string[] {
  const app = read('apps/console-web/src/app/App.tsx');
  return [...new Set([...app.matchAll(/\bpath=\{?["'](\/[^"']*)["']/g)].map((m) => samplePath(m[1] as string)))];
}

describe('the console Ingress routes the console’s API and pages on a host of its own, and nothing operational', () => {
  const routes = routesOf('console');
  const api = routes.filter((r) => r.path.startsWith('/api/'));

  it('finds the console’s routes (session, users, the proxy) and the app’s pages', () => {
    expect(api.map((r) => r.path)).toEqual(expect.arrayContaining(['/api/session', '/api/users', '/api/svc/:service/*']));
    expect(spaRoutes()).toEqual(expect.arrayContaining(['/', '/login', '/contacts', '/contacts/x-1', '/segments']));
  });

  it('is served on its own HTTPS host, not the public API host', () => {
    expect(consolePaths.length).toBeGreaterThan(0);
    expect(CONSOLE_HOST).not.toBe(PUBLIC_HOST);
    const tls = manifests.filter((m) => m.kind === 'Ingress').flatMap((i) => (i.spec as { tls?: { hosts: string[] }[] }).tls ?? []);
    expect(tls.flatMap((t) => t.hosts)).toContain(CONSOLE_HOST);
    // Behind that HTTPS, the session cookie is Secure.
    const { c } = deploymentOf('console');
    expect(loadConfig('console', consoleEnvSchema, effectiveEnv(c, configMaps, 'mosaic-console-7d9f8-abcde')).own.CONSOLE_COOKIE_SECURE).toBe(true);
  });

  it('routes every API route, the built files and every page of the app to the console', () => {
    const wanted = [...api.map((r) => samplePath(r.path)), '/api/svc/segmentation/v1/segments', '/assets/index-abc123.js', ...spaRoutes()];
    const wrong = wanted.map((p) => ({ p, to: routedTo(p, consolePaths) ?? 'nothing' })).filter((x) => x.to !== 'mosaic-console');
    expect(wrong).toEqual([]);
  });

  it('routes no operational endpoint of the console, and none of its routes on the public host', () => {
    for (const p of ['/health', '/ready', '/metrics', '/openapi.json', '/docs', '/docs/json'])
      expect({ p, to: routedTo(p, consolePaths) }).toEqual({ p, to: undefined });
    const onPublic = [...api.map((r) => samplePath(r.path)), '/assets/index-abc123.js', ...spaRoutes()].filter((p) => routedTo(p) !== undefined);
    expect(onPublic).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('the services find each other', () => {
  it('k8s: activation reaches the collector through its Service (email link rewriting)', () => {
    const { c } = deploymentOf('activation');
    const own = loadConfig('activation', activationEnvSchema, effectiveEnv(c, configMaps, 'mosaic-activation-7d9f8-abcde')).own;
    const url = new URL(own.ACTIVATION_COLLECTOR_URL);
    const svc = specOf<ServiceSpec>(one('Service', 'mosaic-collector'));
    expect(url.hostname.split('.')[0]).toBe('mosaic-collector');
    expect(Number(url.port)).toBe(svc.ports[0]?.port);
  });

  it('k8s: the collector writes email links with its public address', () => {
    const { c } = deploymentOf('collector');
    const own = loadConfig('collector', collectorEnvSchema, effectiveEnv(c, configMaps, 'mosaic-collector-7d9f8-abcde')).own;
    expect(own.COLLECTOR_PUBLIC_URL).toBe(cm('COLLECTOR_PUBLIC_URL'));
  });

  it('k8s and compose: the console’s tracker snippet points at the collector’s public address', () => {
    const { c } = deploymentOf('console');
    const k8s = loadConfig('console', consoleEnvSchema, effectiveEnv(c, configMaps, 'mosaic-console-7d9f8-abcde')).own;
    expect(spaSettings(k8s).collectorPublicUrl).toBe(cm('COLLECTOR_PUBLIC_URL'));
    const compose = loadConfig('console', consoleEnvSchema, { ...composeEnv('console'), MOSAIC_ADMIN_TOKEN: TEST_TOKEN }).own;
    const collector = loadConfig('collector', collectorEnvSchema, { ...composeEnv('collector'), MOSAIC_ADMIN_TOKEN: TEST_TOKEN }).own;
    expect(spaSettings(compose).collectorPublicUrl).toBe(collector.COLLECTOR_PUBLIC_URL);
  });

  it('compose: activation reaches the collector by its service name, links use the public address', () => {
    const own = loadConfig('activation', activationEnvSchema, { ...composeEnv('activation'), MOSAIC_ADMIN_TOKEN: TEST_TOKEN }).own;
    expect(own.ACTIVATION_COLLECTOR_URL).toBe(`http://collector:${DEFAULT_PORTS.collector}`);
    const collector = loadConfig('collector', collectorEnvSchema, { ...composeEnv('collector'), MOSAIC_ADMIN_TOKEN: TEST_TOKEN }).own;
    expect(collector.COLLECTOR_PUBLIC_URL).toBe(`http://127.0.0.1:${DEFAULT_PORTS.collector}`);
  });

  it('compose: the console reaches each service by its compose name, and its cookie is not Secure on plain HTTP', () => {
    const own = loadConfig('console', consoleEnvSchema, { ...composeEnv('console'), MOSAIC_ADMIN_TOKEN: TEST_TOKEN }).own;
    expect(upstreamUrls(own)).toEqual(Object.fromEntries(SERVICES.map((s) => [s, `http://${s}:${DEFAULT_PORTS[s]}`])));
    expect(own.CONSOLE_COOKIE_SECURE).toBe(false);
    // The first admin's password comes from the shell, as the admin token does.
    expect(String(composeService('console').environment?.CONSOLE_INITIAL_ADMIN_PASSWORD)).toMatch(/^\$\{CONSOLE_INITIAL_ADMIN_PASSWORD(:?-)?\}$/);
  });

  it('compose: no fixed MOSAIC_INSTANCE_ID, and the default differs between containers (hostname)', () => {
    for (const service of SERVICES) expect(composeEnv(service).MOSAIC_INSTANCE_ID).toBeUndefined();
    const config = loadConfig('identity', undefined, { ...composeEnv('identity'), MOSAIC_ADMIN_TOKEN: TEST_TOKEN });
    expect(config.instanceId).toBe(`identity-${hostname()}-${process.pid}`);
  });

  it('compose: the demo shop (profile demo) shares the collector’s network and its configuration is valid', () => {
    const shop = composeService('demo-shop') as ComposeService & { profiles?: string[]; network_mode?: string };
    expect(shop.profiles).toEqual(['demo']);
    expect(shop.network_mode).toBe('service:collector');
    const config = loadDemoShopConfig({ ...composeEnv('demo-shop'), MOSAIC_ADMIN_TOKEN: TEST_TOKEN });
    expect(config.collectorUrl).toBe(`http://127.0.0.1:${DEFAULT_PORTS.collector}`);
    expect(config.activationUrl).toBe(`http://127.0.0.1:${DEFAULT_PORTS.activation}`);
    expect(composeService('collector').ports?.map((p) => interpolateUnset(p).split(':').slice(-1)[0])).toContain(String(config.http.port));
  });

  it('k8s (optional): the demo shop’s configuration is valid and points at the public Ingress', () => {
    const d = one('Deployment', 'mosaic-demo-shop', optionalManifests);
    const c = specOf<DeploymentSpec>(d).template.spec.containers[0] as Container;
    const env = { ...effectiveEnv(c, configMaps, 'mosaic-demo-shop-1'), DEMO_SHOP_WRITE_KEY: 'wk_test' };
    const config = loadDemoShopConfig(env);
    expect(resolvePort(c, 'http')).toBe(config.http.port);
    expect(routedTo('/mosaic.js')).toBe('mosaic-collector');
    expect(new URL(config.collectorUrl).host).toBe(new URL(cm('COLLECTOR_PUBLIC_URL')).host);
    expect(new URL(config.activationUrl).host).toBe(new URL(cm('COLLECTOR_PUBLIC_URL')).host);
  });
});

// ---------------------------------------------------------------------------------------------

interface PolicyPeer {
  podSelector?: { matchLabels?: Labels; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  namespaceSelector?: { matchLabels?: Labels };
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyRule {
  to?: PolicyPeer[];
  from?: PolicyPeer[];
  ports?: { protocol?: string; port?: number | string }[];
}
interface NetworkPolicySpec {
  podSelector: PolicyPeer['podSelector'];
  policyTypes: string[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

/** A label selector (matchLabels and In/NotIn/Exists expressions) applied to pod labels; {} selects all. */
function selectorMatches(sel: PolicyPeer['podSelector'], labels: Labels | undefined): boolean {
  if (!sel) return true;
  const byLabels = Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);
  const byExpr = (sel.matchExpressions ?? []).every((e) => {
    const v = labels?.[e.key];
    if (e.operator === 'In') return v !== undefined && (e.values ?? []).includes(v);
    if (e.operator === 'NotIn') return v === undefined || !(e.values ?? []).includes(v);
    if (e.operator === 'Exists') return v !== undefined;
    return v === undefined;
  });
  return byLabels && byExpr;
}

describe('NetworkPolicies', () => {
  const policies = [...manifests, ...optionalManifests].filter((m) => m.kind === 'NetworkPolicy').map((m) => ({ m, spec: specOf<NetworkPolicySpec>(m) }));
  const workloads = [...podSpecs(manifests), ...podSpecs(optionalManifests)].map(({ m, pod }) => ({
    name: `${m.kind}/${m.metadata.name}`,
    labels: pod.metadata?.labels ?? {},
    pod,
  }));
  const selecting = (labels: Labels, type: 'Ingress' | 'Egress') =>
    policies.filter((p) => p.spec.policyTypes.includes(type) && selectorMatches(p.spec.podSelector, labels));
  const egressPorts = (labels: Labels, peer: (p: PolicyPeer) => boolean): (number | string)[] =>
    selecting(labels, 'Egress').flatMap((p) =>
      (p.spec.egress ?? []).filter((r) => (r.to ?? []).some(peer)).flatMap((r) => (r.ports ?? []).map((x) => x.port as number | string)),
    );
  const inNamespace = (ns: string) => (p: PolicyPeer) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === ns;
  const portOf = (hostPort: string): number => Number(/:(\d+)$/.exec(hostPort)?.[1]);

  it('deny all ingress and egress by default in the namespace', () => {
    const deny = policies.filter((p) => Object.keys(p.spec.podSelector ?? {}).length === 0 && !p.spec.ingress && !p.spec.egress);
    expect(deny.flatMap((p) => p.spec.policyTypes).sort()).toEqual(['Egress', 'Ingress']);
  });

  it('select every Deployment and Job, each with DNS egress', () => {
    expect(workloads.length).toBeGreaterThanOrEqual(SERVICES.length + 2);
    for (const w of workloads) {
      expect({ w: w.name, dns: egressPorts(w.labels, (p) => p.podSelector?.matchLabels?.['k8s-app'] === 'kube-dns') }).toEqual({
        w: w.name,
        dns: expect.arrayContaining([53]),
      });
    }
  });

  it('let every service and the topics Job reach Kafka on the ports of KAFKA_BROKERS, and the services MongoDB', () => {
    const kafkaPorts = cm('KAFKA_BROKERS').split(',').map(portOf);
    const mongoPort = Number(new URL(String(one('Secret', 'mosaic-secrets').stringData?.MONGODB_URI).replace(/^mongodb(\+srv)?:/, 'http:')).port || 27017);
    for (const w of workloads.filter((x) => x.pod.spec.containers[0]?.image === 'mosaic' && x.labels['app.kubernetes.io/component'] !== 'demo-shop')) {
      expect({ w: w.name, kafka: egressPorts(w.labels, inNamespace('kafka')) }).toEqual({ w: w.name, kafka: expect.arrayContaining(kafkaPorts) });
      if (w.name.startsWith('Deployment/'))
        expect({ w: w.name, mongo: egressPorts(w.labels, inNamespace('mongodb')) }).toEqual({ w: w.name, mongo: expect.arrayContaining([mongoPort]) });
    }
    // The Strimzi component's TLS listener is allowed too.
    expect(egressPorts(deploymentOf('identity').spec.template.metadata?.labels ?? {}, inNamespace('kafka'))).toContain(
      portOf(/KAFKA_BROKERS=(\S+)/.exec(read('k8s/optional/strimzi/kustomization.yaml'))?.[1] ?? ''),
    );
  });

  it('admit the ingress controller to every Ingress backend, and Prometheus to every scraped pod', () => {
    const ingressFrom = (labels: Labels, ns: string): (number | string)[] =>
      selecting(labels, 'Ingress').flatMap((p) =>
        (p.spec.ingress ?? []).filter((r) => (r.from ?? []).some(inNamespace(ns))).flatMap((r) => (r.ports ?? []).map((x) => x.port as number | string)),
      );
    const backends = [...manifests, ...optionalManifests]
      .filter((m) => m.kind === 'Ingress')
      .flatMap((i) => specOf<{ rules: { http: { paths: IngressPath[] } }[] }>(i).rules.flatMap((r) => r.http.paths.map((p) => p.backend.service.name)));
    for (const name of new Set(backends)) {
      const d = one('Deployment', name, [...manifests, ...optionalManifests]);
      expect({ name, from: ingressFrom(specOf<DeploymentSpec>(d).template.metadata?.labels ?? {}, 'ingress-nginx') }).toEqual({ name, from: ['http'] });
    }
    for (const service of APPS) {
      const { spec, c } = deploymentOf(service);
      const ports = ingressFrom(spec.template.metadata?.labels ?? {}, 'monitoring').map((p) => resolvePort(c, p));
      expect({ service, ports }).toEqual({ service, ports: [Number(spec.template.metadata?.annotations?.['prometheus.io/port'])] });
    }
  });

  it('let the console call each service on its port, on both sides', () => {
    const con = deploymentOf('console').spec.template.metadata?.labels ?? {};
    for (const service of SERVICES) {
      const labels = deploymentOf(service).spec.template.metadata?.labels ?? {};
      const out = egressPorts(con, (p) => !!p.podSelector && selectorMatches(p.podSelector, labels));
      const admitted = selecting(labels, 'Ingress').some((p) =>
        (p.spec.ingress ?? []).some((r) => (r.from ?? []).some((f) => !!f.podSelector && selectorMatches(f.podSelector, con))),
      );
      expect({ service, out, admitted }).toEqual({ service, out: expect.arrayContaining([DEFAULT_PORTS[service]]), admitted: true });
    }
  });

  it('let activation call the collector (email rewriting) and public addresses (webhooks, SMTP), and nothing private', () => {
    const act = deploymentOf('activation').spec.template.metadata?.labels ?? {};
    const col = deploymentOf('collector').spec.template.metadata?.labels ?? {};
    expect(egressPorts(act, (p) => selectorMatches(p.podSelector, col) && !!p.podSelector)).toContain(DEFAULT_PORTS.collector);
    const admitted = selecting(col, 'Ingress').some((p) =>
      (p.spec.ingress ?? []).some((r) => (r.from ?? []).some((f) => !!f.podSelector && selectorMatches(f.podSelector, act))),
    );
    expect(admitted).toBe(true);
    const blocks = selecting(act, 'Egress').flatMap((p) => (p.spec.egress ?? []).flatMap((r) => (r.to ?? []).flatMap((t) => (t.ipBlock ? [t.ipBlock] : []))));
    expect(blocks.map((b) => b.cidr).sort()).toEqual(['0.0.0.0/0', '::/0']);
    expect(blocks.find((b) => b.cidr === '0.0.0.0/0')?.except).toEqual(
      expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '127.0.0.0/8']),
    );
    // No other workload gets the internet.
    for (const w of workloads.filter((x) => x.labels['app.kubernetes.io/component'] !== 'activation')) {
      const any = selecting(w.labels, 'Egress').some((p) => (p.spec.egress ?? []).some((r) => (r.to ?? []).some((t) => !!t.ipBlock)));
      expect({ w: w.name, internet: any }).toEqual({ w: w.name, internet: false });
    }
  });
});

// ---------------------------------------------------------------------------------------------

interface KafkaTopicSpec {
  topicName: string;
  partitions: number;
  replicas: number;
  config: Record<string, string>;
}
interface AclRule {
  resource: { type: string; name?: string; patternType?: string };
  operations: string[];
}

describe('k8s/optional/strimzi', () => {
  const topics = optionalManifests.filter((m) => m.kind === 'KafkaTopic');
  const user = one('KafkaUser', 'mosaic', optionalManifests);
  const component = load(read('k8s/optional/strimzi/kustomization.yaml')) as {
    kind: string;
    resources: string[];
    configMapGenerator: { literals: string[] }[];
  };

  it('declares every topic of libs/contracts with the provisioner’s settings and mosaic-config’s counts', () => {
    const rf = Number(cm('KAFKA_REPLICATION_FACTOR'));
    const want = (Object.keys(TOPIC_SPECS) as TopicKey[]).map((k) => ({
      topicName: topicName(PREFIX, k),
      partitions: PARTITIONS,
      replicas: rf,
      config: Object.fromEntries(topicConfigEntries(k, rf).map((e) => [e.name, e.value])),
    }));
    const got = topics.map((t) => specOf<KafkaTopicSpec>(t));
    expect([...got].sort((a, b) => a.topicName.localeCompare(b.topicName))).toEqual([...want].sort((a, b) => a.topicName.localeCompare(b.topicName)));
    for (const t of [...topics, user]) expect(t.metadata.labels?.['strimzi.io/cluster']).toBe('my-cluster');
  });

  it('the KafkaUser authenticates with SCRAM-SHA-512 and may use every topic and group the services use', () => {
    const spec = user.spec as { authentication: { type: string }; authorization: { type: string; acls: AclRule[] } };
    expect(spec.authentication.type).toBe('scram-sha-512');
    const acl = (type: string): AclRule | undefined =>
      spec.authorization.acls.find((a) => a.resource.type === type && a.resource.name === PREFIX && a.resource.patternType === 'prefix');
    expect(acl('topic')?.operations).toEqual(expect.arrayContaining(['Describe', 'Read', 'Write', 'Create']));
    expect(acl('group')?.operations).toEqual(expect.arrayContaining(['Read']));
    for (const k of Object.keys(TOPIC_SPECS) as TopicKey[]) expect(topicName(PREFIX, k).startsWith(PREFIX)).toBe(true);
    for (const service of CONSUMER_SERVICES) expect(consumerGroupOf(service, MAIN_INPUT[service]).startsWith(PREFIX)).toBe(true);
  });

  it('configures the clients with variables the configuration knows, and the password from a Secret', () => {
    expect(component.kind).toBe('Component');
    const literals = Object.fromEntries(component.configMapGenerator.flatMap((g) => g.literals).map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
    for (const k of Object.keys(literals)) expect({ k, known: k in commonEnvSchema.shape }).toEqual({ k, known: true });
    expect(literals).toMatchObject({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: user.metadata.name as string });
    expect(literals.KAFKA_SASL_PASSWORD).toBeUndefined();
    const patch = read('k8s/optional/strimzi/patch-kafka-client.yaml');
    expect(patch).toMatch(/name: KAFKA_SASL_PASSWORD\s*\n\s*valueFrom:\s*\n\s*secretKeyRef:/);
    const mount = /mountPath: (\S+)/.exec(patch)?.[1] as string;
    const item = /path: (\S+)\s*$/.exec(patch.trim())?.[1] as string;
    expect(literals.KAFKA_SSL_CA_FILE).toBe(posix.join(mount, item));
  });
});
