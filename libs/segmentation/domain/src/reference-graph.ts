/**
 * The order of a set of segments that refer to each other (`{ "segment": key }` conditions), and
 * the circles among them. One implementation for the service (`checkReferences`) and the CLI
 * (`segments apply`, which orders the files it writes and refuses a circle before sending anything).
 */

/** A reference from one segment's condition to another segment, with where it stands. */
export interface SegmentReference {
  segment: string;
  /** JSON path in the referring definition, e.g. `condition.all[1].segment`. */
  path: string;
}

/** A circle, reported once, at the reference that closes it. */
export interface ReferenceCycle {
  key: string;
  path: string;
  cycle: string[];
  message: string;
}

/**
 * Depth-first over `graph` (key → its references): `order` lists every key after the keys it
 * refers to (ties by key; references outside the graph are ignored); `cycles` names each
 * circle once (`a → b → a`).
 */
export function analyzeReferenceGraph(graph: ReadonlyMap<string, readonly SegmentReference[]>): { order: string[]; cycles: ReferenceCycle[] } {
  const order: string[] = [];
  const cycles: ReferenceCycle[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const seenCycles = new Set<string>();
  const visit = (key: string): void => {
    state.set(key, 'visiting');
    stack.push(key);
    for (const r of graph.get(key) ?? []) {
      if (!graph.has(r.segment)) continue;
      const s = state.get(r.segment);
      if (s === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(r.segment)), r.segment];
        const id = [...new Set(cycle)].sort().join('\u0000');
        if (!seenCycles.has(id)) {
          seenCycles.add(id);
          cycles.push({ key, path: r.path, cycle, message: `reference cycle: ${cycle.join(' → ')}` });
        }
      } else if (s === undefined) {
        visit(r.segment);
      }
    }
    stack.pop();
    state.set(key, 'done');
    order.push(key);
  };
  for (const key of [...graph.keys()].sort()) if (!state.has(key)) visit(key);
  return { order, cycles };
}

/**
 * The references of a definition as written (not yet validated: a file the CLI read, a stored
 * definition): every `segment` string under `condition`, at any depth.
 */
export function referencesOf(definition: unknown): SegmentReference[] {
  const out: SegmentReference[] = [];
  const walk = (v: unknown, path: string): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${path}[${i}]`));
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    if (typeof o['segment'] === 'string') out.push({ segment: o['segment'], path: `${path}.segment` });
    for (const [k, x] of Object.entries(o)) if (k !== 'segment') walk(x, `${path}.${k}`);
  };
  if (typeof definition === 'object' && definition !== null) walk((definition as Record<string, unknown>)['condition'], 'condition');
  return out;
}
