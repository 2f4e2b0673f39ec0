// psql against the PostgreSQL cluster behind the tests' FerretDB (tools/infra started it), for
// the specs that read what FerretDB made of their collections: one statement at a time, or a
// session kept open (a transaction holding a row lock while the test drives FerretDB).
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '@mosaic/shared-testing';

// tools/infra is plain CommonJS (index.d.ts gives its types).
type Infra = typeof import('./index.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
const infra: Infra = require('./index.js');

async function psqlArgs(): Promise<{ bin: string; args: string[] }> {
  const command = await infra.storePsqlCommand();
  if (!command) throw new Error('infra status() names no running PostgreSQL cluster, although the store is FerretDB on PostgreSQL');
  return command;
}

/** Runs one SQL text in FerretDB's database; its output, trimmed. */
export async function psql(sql: string): Promise<string> {
  const { bin, args } = await psqlArgs();
  const { stdout } = await promisify(execFile)(bin, [...args, '-c', sql]);
  return stdout.trim();
}

/** FerretDB's table of a collection of database `db` (its metadata table maps names to tables), quoted. */
export async function ferretTable(db: string, collection: string): Promise<string> {
  const name = await psql(`SELECT _jsonb->>'table' FROM "${db}"._ferretdb_database_metadata WHERE _jsonb->>'_id' = '${collection}'`);
  if (!name) throw new Error(`no table for ${db}.${collection}`);
  return `"${db}"."${name}"`;
}

/** An open psql session: `run` sends statements and resolves once they all ran (a marker echoed after them). */
export class PsqlSession {
  private out = '';
  private marks = 0;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (chunk: Buffer) => (this.out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (this.out += chunk.toString()));
  }

  static async open(): Promise<PsqlSession> {
    const { bin, args } = await psqlArgs();
    return new PsqlSession(spawn(bin, args));
  }

  async run(sql: string): Promise<void> {
    this.marks += 1;
    const mark = `-- done ${this.marks} --`;
    this.child.stdin.write(`${sql}\n\\echo '${mark}'\n`);
    await waitFor(
      () => {
        if (this.child.exitCode !== null) throw new Error(`psql ended: ${this.out}`);
        return this.out.includes(mark) || null;
      },
      { timeoutMs: 60_000, intervalMs: 10, message: `psql to run ${sql}` },
    );
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    if (this.child.exitCode === null) await new Promise((resolve) => this.child.once('exit', resolve));
  }
}
