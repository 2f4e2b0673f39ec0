#!/usr/bin/env node
// Validates Kubernetes objects offline against the OpenAPI schemas of the npm
// `kubernetes-models` packages (the API server's built-in kinds) and their CRD companions
// (KEDA, Strimzi). Reads a JSON array of {source, object} on stdin and prints a JSON array of
// {source, apiVersion, kind, name, error?} on stdout: one entry per object, `error` set when
// the object is invalid or no model exists for its apiVersion/kind (never skipped).
// A plain ES module run as a child process: these packages are ES modules only, which the
// Jest runtime (CommonJS) cannot load on Node 20.

/** Which package models an API group (the core group is ""). */
const PACKAGES = [
  { package: '@kubernetes-models/keda', groups: (g) => g === 'keda.sh' || g === 'eventing.keda.sh' },
  { package: '@kubernetes-models/strimzi-kafka-operator', groups: (g) => g.endsWith('.strimzi.io') },
  // The built-in groups: "" (core, folder v1), apps, batch, policy, autoscaling, *.k8s.io.
  { package: 'kubernetes-models', groups: (g) => g === '' || !g.includes('.') || g.endsWith('.k8s.io') },
];

async function modelClass(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const pkg = PACKAGES.find((p) => p.groups(group));
  if (!pkg) return { error: `no model package for API group ${JSON.stringify(group)} (kind ${kind}); add its @kubernetes-models package` };
  const specifier = `${pkg.package}/${group === '' ? '' : `${group}/`}${version}/${kind}`;
  try {
    const mod = await import(specifier);
    const cls = mod[kind];
    return cls ? { cls } : { error: `${specifier} exports no ${kind}` };
  } catch (err) {
    return { error: `no model for ${apiVersion} ${kind} in ${pkg.package} (${err.code ?? err.message})` };
  }
}

function describe(err) {
  const details = Array.isArray(err?.errors)
    ? err.errors.map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`)
    : [];
  return details.length ? details.join('; ') : String(err?.message ?? err);
}

async function validateOne({ source, object }) {
  const apiVersion = object?.apiVersion ?? '';
  const kind = object?.kind ?? '';
  const entry = { source, apiVersion, kind, name: object?.metadata?.name ?? '' };
  if (!apiVersion || !kind) return { ...entry, error: 'apiVersion or kind missing' };
  const { cls, error } = await modelClass(apiVersion, kind);
  if (error) return { ...entry, error };
  try {
    new cls(object).validate();
    return entry;
  } catch (err) {
    return { ...entry, error: describe(err) };
  }
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const results = [];
for (const item of input) results.push(await validateOne(item));
process.stdout.write(JSON.stringify(results));
