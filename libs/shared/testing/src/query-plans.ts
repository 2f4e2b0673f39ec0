/**
 * What the store does with the queries a piece of code sends: the filter of every `find`,
 * `delete`, `update` and `count` a connection sends while `run` runs, with FerretDB's answer to
 * `explain` for a find by it (whether the filter was pushed down to PostgreSQL, and PostgreSQL's
 * plan; FerretDB compiles the filters of deletes and updates the same way, dotted paths aside). Tests of hot paths assert that none of their
 * queries reads a whole collection (`wholeCollectionReads`), so no change brings such a scan
 * back silently. FerretDB 1.24 on PostgreSQL only: `storePlansReadable()` says whether this
 * run's store is it (on MongoDB the plans have another shape and `$in` is served from indexes).
 */
import type { Connection } from 'mongoose';
import type { CommandStartedEvent, Document } from 'mongodb';
import { testInfra } from './test-infra';

export interface PlannedFind {
  collection: string;
  filter: Document;
  /** FerretDB compiled (part of) the filter into the SQL query. */
  pushedDown: boolean;
  /** PostgreSQL's plan nodes, outermost first (e.g. `Bitmap Heap Scan`, `Bitmap Index Scan`). */
  nodes: string[];
}

interface PlanNode {
  'Node Type': string;
  Plans?: PlanNode[];
}

function nodeTypes(node: PlanNode): string[] {
  return [node['Node Type'], ...(node.Plans ?? []).flatMap(nodeTypes)];
}

/** The store of this test run is FerretDB on PostgreSQL, whose plans `plannedFinds` reads. */
export function storePlansReadable(): boolean {
  return /^FerretDB .*\(PostgreSQL backend\)$/.test(testInfra().mongoServer);
}

/** The finds `conn` sends while `run` runs, each explained (the connection needs `monitorCommands: true`). */
export async function plannedFinds(conn: Connection, run: () => Promise<unknown>): Promise<PlannedFind[]> {
  const sent: Array<{ collection: string; filter: Document }> = [];
  const client = conn.getClient();
  const record = (e: CommandStartedEvent) => {
    for (const filter of filtersOf(e.commandName, e.command)) sent.push({ collection: String(e.command[e.commandName]), filter });
  };
  client.on('commandStarted', record);
  try {
    await run();
  } finally {
    client.off('commandStarted', record);
  }
  const db = conn.db;
  if (!db) throw new Error('plannedFinds: the connection is not open');
  const planned: PlannedFind[] = [];
  for (const f of sent) {
    const r = await db.command({ explain: { find: f.collection, filter: f.filter }, verbosity: 'queryPlanner' });
    planned.push({ ...f, pushedDown: r['filterPushdown'] === true, nodes: nodeTypes((r['queryPlanner'] as { Plan: PlanNode }).Plan) });
  }
  return planned;
}

/** The filters a command selects documents by. */
function filtersOf(name: string, command: Document): Document[] {
  const statements = (key: string, field: string) => ((command[key] as Document[] | undefined) ?? []).map((d) => (d[field] as Document | undefined) ?? {});
  if (name === 'find') return [(command['filter'] as Document | undefined) ?? {}];
  if (name === 'count') return [(command['query'] as Document | undefined) ?? {}];
  if (name === 'delete') return statements('deletes', 'q');
  if (name === 'update') return statements('updates', 'q');
  return [];
}

/** The finds that read every row of their collection: nothing pushed down, or a sequential scan. */
export function wholeCollectionReads(finds: readonly PlannedFind[]): PlannedFind[] {
  return finds.filter((f) => !f.pushedDown || f.nodes.includes('Seq Scan'));
}
