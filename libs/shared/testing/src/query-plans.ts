/**
 * What the store does with the queries a piece of code sends: every `find` a connection sends
 * while `run` runs, with FerretDB's answer to `explain` for it (whether the filter was pushed
 * down to PostgreSQL, and PostgreSQL's plan). Tests of hot paths assert that none of their
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
    if (e.commandName === 'find') sent.push({ collection: String(e.command['find']), filter: (e.command['filter'] as Document | undefined) ?? {} });
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

/** The finds that read every row of their collection: nothing pushed down, or a sequential scan. */
export function wholeCollectionReads(finds: readonly PlannedFind[]): PlannedFind[] {
  return finds.filter((f) => !f.pushedDown || f.nodes.includes('Seq Scan'));
}
