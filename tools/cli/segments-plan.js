'use strict';
// The plan of `mosaic segments apply` (segments-lib.js): references between segments (write
// order, cycles) and what to create, update, enable or disable.

const { isObject, sameDefinition } = require('./segments-json.js');

/**
 * References between segments (which are in a definition, write order, cycles) are the
 * segmentation domain's (libs/segmentation/domain/src/reference-graph.ts): one implementation
 * for the service and the CLI. This file is plain CommonJS that runs without a build, so the
 * compiled module is handed in once (`useReferenceGraph`): the CLI loads it from dist/, the
 * tests import the TypeScript.
 */
let referenceGraph;

function useReferenceGraph(mod) {
  referenceGraph = mod;
}

function graphModule() {
  if (!referenceGraph) throw new Error('segments-lib: useReferenceGraph(...) was not called (the segmentation domain reference graph)');
  return referenceGraph;
}

/**
 * The `{ "segment": "<key>" }` references anywhere under `condition`, with their JSON paths
 * (`condition.all[1].segment`), in document order.
 */
function segmentReferences(definition) {
  return graphModule().referencesOf(definition);
}

/** `order` puts every key after the keys it refers to; `cycles` names each cycle once. */
function analyze(graph) {
  return graphModule().analyzeReferenceGraph(graph);
}

/**
 * The order in which to write `definitions` (`[{key, definition}]`): referenced segments
 * first (ties by key). Throws naming the cycle if they refer to each other in a circle.
 */
function referenceOrder(definitions) {
  const graph = new Map(definitions.map((d) => [d.key, segmentReferences(d.definition)]));
  const { order, cycles } = analyze(graph);
  if (cycles.length) throw new Error(cycles.map((c) => `${c.key}: ${c.path}: ${c.message}`).join('; '));
  return order;
}

/**
 * Whether a server segment is kept by the service itself rather than by people: the clustering
 * job's `cluster.<job>.<i>` segments (condition `{ "cluster": job, "index": i }`, written by
 * `clustering:<job>`). `--prune` leaves them alone.
 */
function isManagedSegment(s) {
  return (
    (typeof s.updatedBy === 'string' && s.updatedBy.startsWith('clustering:')) ||
    (isObject(s.definition) && isObject(s.definition.condition) && typeof s.definition.condition.cluster === 'string')
  );
}

/**
 * What `segments apply` does to reach the directory's state from the server's:
 * - a key not on the server → `create`;
 * - on the server, active, deep-equal definition → `unchanged`;
 * - definition differs → `update` (with `expectedVersion` = the version read; `enables` when
 *   the segment is disabled too);
 * - disabled with an equal definition → `enable`;
 * - with `prune`, an active server segment that is not in the directory → `disable` (never
 *   delete), except the clustering job's segments (isManagedSegment).
 * Writes come in reference order (referenced segments first), disables last. `errors` holds
 * references to segments that exist neither in the directory nor on the server, and cycles
 * of the resulting set (checked before anything is written); `warnings` references to
 * segments that are or will be disabled (the referring segment is then not evaluated).
 */
function computePlan(entries, server, options = {}) {
  const prune = Boolean(options.prune);
  const local = new Map();
  for (const e of entries) if (!local.has(e.key)) local.set(e.key, e);
  const remote = new Map(server.map((s) => [s.key, s]));
  const errors = [];
  const warnings = [];

  // The set as it will be: the directory's definitions plus the server's other segments.
  const finalGraph = new Map();
  for (const s of server) if (!local.has(s.key)) finalGraph.set(s.key, segmentReferences(s.definition));
  for (const [key, e] of local) finalGraph.set(key, segmentReferences(e.definition));
  const willBeDisabled = (key) => !local.has(key) && remote.has(key) && (remote.get(key).status === 'disabled' || prune);
  for (const [key, e] of local) {
    for (const r of finalGraph.get(key)) {
      if (!finalGraph.has(r.segment))
        errors.push({ file: e.where, key, path: r.path, message: `unknown segment ${r.segment} (neither in the directory nor on the server)` });
      else if (willBeDisabled(r.segment))
        warnings.push({
          file: e.where,
          key,
          path: r.path,
          message: `refers to ${r.segment}, which ${remote.get(r.segment).status === 'disabled' ? 'is disabled' : '--prune disables'}: ${key} is not evaluated while it is`,
        });
    }
  }
  for (const c of analyze(finalGraph).cycles) {
    const e = local.get(c.key);
    errors.push({ file: e ? e.where : `(server segment ${c.key})`, key: c.key, path: c.path, message: c.message });
  }

  const localGraph = new Map([...local].map(([key, e]) => [key, segmentReferences(e.definition)]));
  const order = analyze(localGraph).order;
  const actions = [];
  for (const key of order) {
    const e = local.get(key);
    const s = remote.get(key);
    if (!s) {
      actions.push({ key, action: 'create', file: e.where, definition: e.definition, changesDefinition: true, enables: false, newVersion: null });
      continue;
    }
    const changesDefinition = !sameDefinition(e.definition, s.definition);
    const enables = s.status !== 'active';
    const action = changesDefinition ? 'update' : enables ? 'enable' : 'unchanged';
    const writes = (changesDefinition ? 1 : 0) + (enables ? 1 : 0);
    actions.push({
      key,
      action,
      file: e.where,
      definition: e.definition,
      current: s.definition,
      version: s.version,
      status: s.status,
      changesDefinition,
      enables,
      newVersion: writes ? s.version + writes : s.version,
    });
  }
  const extra = [];
  for (const s of [...server].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    if (local.has(s.key) || isManagedSegment(s)) continue;
    if (prune && s.status === 'active')
      actions.push({
        key: s.key,
        action: 'disable',
        file: null,
        current: s.definition,
        version: s.version,
        status: s.status,
        changesDefinition: false,
        enables: false,
        newVersion: s.version + 1,
      });
    else if (!prune && s.status === 'active') extra.push(s.key);
  }
  return { actions, errors, warnings, extra };
}

module.exports = { useReferenceGraph, segmentReferences, referenceOrder, isManagedSegment, computePlan };
