// Reading the deployment files as a platform would: k8s/ rendered by the pinned kustomize
// (tools/scripts/ensure-kustomize.mjs), docker/compose.yml, and the Dockerfile's runtime stage.
// Shared by validate-manifests.spec.ts and manifest-run.int-spec.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadAll, load } from 'js-yaml';
import { parseDockerfile, stageRuntime } from './image-context';

export const ROOT = join(__dirname, '..', '..');
export const K8S = join(ROOT, 'k8s');
export const COMPOSE_FILE = join(ROOT, 'docker', 'compose.yml');
export const DOCKERFILE = join(ROOT, 'docker', 'Dockerfile');

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes objects are read as loose JSON
  [key: string]: any;
};

/** The pinned kustomize's path; throws with the install command when it is missing (e.g. Jest run directly). */
export function kustomizeBin(): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'tools', 'scripts', 'ensure-kustomize.mjs'), '--check'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${r.stderr.trim()}\n(\`npm test\` installs it before Jest runs)`);
  return r.stdout.trim();
}

/** `kustomize build <dir>`: the rendered objects. */
export function kustomizeBuild(dir: string): K8sObject[] {
  const r = spawnSync(kustomizeBin(), ['build', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kustomize build ${relative(ROOT, dir)} failed: ${r.stderr.trim()}`);
  return (loadAll(r.stdout) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null);
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const isKustomization = (dir: string) => KUSTOMIZATION_FILES.some((f) => existsSync(join(dir, f)));
const isComponent = (dir: string) => {
  const file = KUSTOMIZATION_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
  return !!file && (load(readFileSync(file, 'utf8')) as { kind?: string } | null)?.kind === 'Component';
};

/** A kustomize Component is not built alone: it is rendered as an overlay would use it, on top of k8s/. */
function buildComponent(dir: string): K8sObject[] {
  mkdirSync(join(ROOT, '.mosaic'), { recursive: true });
  const overlay = mkdtempSync(join(ROOT, '.mosaic', 'kustomize-overlay-'));
  try {
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${relative(overlay, K8S)}\ncomponents:\n  - ${relative(overlay, dir)}\n`,
    );
    return kustomizeBuild(overlay);
  } finally {
    rmSync(overlay, { recursive: true, force: true });
  }
}

/**
 * Everything under k8s/ a user may apply: k8s/ itself, every kustomization below it, and the
 * plain manifests of folders that have no kustomization (the optional alternatives).
 */
export function renderAll(): { items: { source: string; object: K8sObject }[]; failures: string[] } {
  kustomizeBin();
  const out: { source: string; object: K8sObject }[] = [];
  const failures: string[] = [];
  const visit = (dir: string) => {
    if (isKustomization(dir)) {
      try {
        const component = isComponent(dir);
        const source = component ? `kustomize build k8s + component ${relative(ROOT, dir)}` : `kustomize build ${relative(ROOT, dir)}`;
        for (const object of component ? buildComponent(dir) : kustomizeBuild(dir)) out.push({ source, object });
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    for (const entry of readdirSync(dir).sort()) {
      const p = join(dir, entry);
      if (statSync(p).isDirectory()) visit(p);
      else if (!isKustomization(dir) && /\.ya?ml$/.test(entry)) {
        for (const object of loadAll(readFileSync(p, 'utf8')) as (K8sObject | null)[]) if (object) out.push({ source: relative(ROOT, p), object });
      }
    }
  };
  visit(K8S);
  return { items: out, failures };
}

export interface Validation {
  source: string;
  apiVersion: string;
  kind: string;
  name: string;
  error?: string;
}

/** Schema validation of each object (tools/deploy/validate-objects.mjs, in a child process: the model packages are ES modules only). */
export function validateObjects(items: { source: string; object: K8sObject }[]): Validation[] {
  const r = spawnSync(process.execPath, [join(__dirname, 'validate-objects.mjs')], {
    cwd: ROOT,
    input: JSON.stringify(items),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`validate-objects.mjs failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Validation[];
}

// ---------------------------------------------------------------------------------------------
// docker/compose.yml

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | Record<string, unknown>)[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  volumes?: (string | Record<string, unknown>)[];
  [key: string]: unknown;
}
export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

/** docker/compose.yml as YAML (merge keys `<<` resolved; variables not yet interpolated). */
export function loadCompose(): ComposeFile {
  return load(readFileSync(COMPOSE_FILE, 'utf8')) as ComposeFile;
}

/** Compose's interpolation of `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `$$`. */
export function interpolate(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (m, name?: string, op?: string, arg?: string, bare?: string) => {
      if (m === '$$') return '$';
      if (bare) return vars[bare] ?? '';
      const v = vars[name!];
      const unset = op?.startsWith(':') ? v === undefined || v === '' : v === undefined;
      if (op?.endsWith('-')) return unset ? arg! : v!;
      if (op?.endsWith('?')) {
        if (unset) throw new Error(`compose: required variable ${name} is missing: ${arg}`);
        return v!;
      }
      return v ?? '';
    },
  );
}

/** A service's environment after interpolation; entries without a value are taken from `vars` (unset: left out), as Compose does. */
export function composeEnv(svc: ComposeService, vars: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  const entries: [string, unknown][] = Array.isArray(svc.environment)
    ? svc.environment.map((e) => (e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, null]))
    : Object.entries(svc.environment ?? {});
  for (const [k, v] of entries) {
    if (v === null || v === undefined) {
      if (vars[k] !== undefined) env[k] = vars[k]!;
    } else env[k] = interpolate(String(v), vars);
  }
  return env;
}

/** "[host:]published:container[/proto]" → its parts (interpolated). */
export function parsePort(
  spec: string | Record<string, unknown>,
  vars: Record<string, string | undefined>,
): { host?: string; published?: number; container: number } {
  if (typeof spec !== 'string') return { host: spec['host_ip'] as string | undefined, published: Number(spec['published']), container: Number(spec['target']) };
  const parts = interpolate(spec, vars)
    .replace(/\/(tcp|udp)$/, '')
    .split(':');
  const container = Number(parts.pop());
  const published = parts.length ? Number(parts.pop()) : undefined;
  return { host: parts.length ? parts.join(':') : undefined, published, container };
}

// ---------------------------------------------------------------------------------------------
// docker/Dockerfile: what a container of the image runs when the manifest does not say.

export interface ImageRuntime {
  workdir: string;
  env: Record<string, string>;
  /** CMD, exec form */
  cmd: string[];
}

/** WORKDIR, ENV and CMD of the Dockerfile's last stage (the runtime image). */
export function imageRuntime(): ImageRuntime {
  const stages = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
  const runtime = stages[stages.length - 1];
  if (!runtime) throw new Error(`${DOCKERFILE}: no FROM`);
  return stageRuntime(runtime);
}
