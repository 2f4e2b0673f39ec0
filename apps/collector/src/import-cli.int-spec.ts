// `npm run mosaic -- import` as a child process against a real collector (real broker and
// MongoDB-wire server): CSV and NDJSON files, progress and summary output, exit codes.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TopicTap, TEST_ADMIN_TOKEN, startTestService, testInfra } from '@mosaic/shared-testing';
import type { StartedService } from '@mosaic/shared-service';
import { collectorDefinition } from './collector.definition';

const CLI = join(__dirname, '..', '..', '..', 'tools', 'cli', 'mosaic.mjs');

let svc: StartedService;
let tap: TopicTap;
let dir: string;

type Payload = {
  messageId: string;
  type: string;
  event?: string;
  userId?: string;
  sourceId: string;
  timestamp: string;
  properties: Record<string, unknown>;
  traits: Record<string, unknown>;
  context: Record<string, unknown>;
};
const tagged = (tag: string): Payload[] => tap.payloads<Payload>((p) => p.properties?.['batch'] === tag || p.traits?.['batch'] === tag);

/** Runs the CLI (asynchronously: the collector runs in this process). */
function mosaic(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', MOSAIC_COLLECTOR_URL: svc.http.url, MOSAIC_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function barrier(source: string): Promise<void> {
  const tag = `barrier-${Math.random().toString(36).slice(2)}`;
  const r = await mosaic([
    'import',
    file(`${tag}.ndjson`, `${JSON.stringify({ type: 'track', userId: 'cli-user', event: 'Barrier', properties: { batch: tag } })}\n`),
    '--source',
    source,
    '--create-source',
    '--quiet',
  ]);
  expect(r.code).toBe(0);
  await tap.waitFor(() => tagged(tag).length === 1);
}

beforeAll(async () => {
  svc = await startTestService(collectorDefinition);
  tap = await TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.eventsRaw);
  dir = mkdtempSync(join(tmpdir(), 'mosaic-cli-'));
}, 120_000);

afterAll(async () => {
  await tap?.stop();
  await svc?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('mosaic import', () => {
  it('imports a CSV file into a source it creates by name, in chunks, reporting bad rows by line (exit 1)', async () => {
    const rows = ['userId,email,timestamp,order_id,properties.revenue,context.externalIds.pos_id,Note,batch'];
    for (let i = 1; i <= 300; i++)
      rows.push(`cli-user,Ada@Example.com,2020-01-${String((i % 28) + 1).padStart(2, '0')}T10:00:00Z,ord-${i},${i}.5,P-${i},"plain note ${i}",csv`);
    rows.splice(10, 0, 'cli-user,,2020-01-01T00:00:00Z,ord-x,12,P-x,"a note with a\nline break and ""quotes""",csv'); // lines 11-12: one record
    rows.splice(50, 0, 'cli-user,,not a date,ord-bad-date,1,P-y,x,csv'); // line 52
    rows.splice(100, 0, 'cli-user,too,few,fields'); // line 102
    rows.splice(200, 0, 'cli-user,,2020-01-01T00:00:00Z,ord-z,1,P-z,"unterminated,csv'); // line 202 swallows the rest
    const csv = file('orders.csv', `${rows.slice(0, 200).join('\r\n')}\r\n`);
    const res = await mosaic([
      'import',
      csv,
      '--source',
      'cli-pos',
      '--create-source',
      '--event',
      'Order Completed',
      '--map',
      'Note=properties.note',
      '--chunk-bytes',
      '8000',
    ]);
    expect(res.code).toBe(1);
    // progress on stderr as plain lines (not a terminal), ending at 100 %
    expect(res.stderr).toMatch(/import orders\.csv: 100%/);
    expect(res.stdout).toMatch(/into source "cli-pos" \(src_/);
    expect(res.stdout).toMatch(/accepted\s+197\b/);
    expect(res.stdout).toMatch(/rejected\s+2\b/);
    expect(res.stdout).toMatch(/line 52: timestamp must be an ISO-8601 date/);
    expect(res.stdout).toMatch(/line 102: expected 8 fields \(as in the header\), found 4/);
    await tap.waitFor(() => tagged('csv').length === 197);
    const multi = tagged('csv').find((e) => e.properties['order_id'] === 'ord-x')!;
    expect(multi.properties['note']).toBe('a note with a\nline break and "quotes"');
    const first = tagged('csv').find((e) => e.properties['order_id'] === 'ord-1')!;
    expect(first).toMatchObject({
      type: 'track',
      event: 'Order Completed',
      userId: 'cli-user',
      timestamp: '2020-01-02T10:00:00.000Z',
      properties: { order_id: 'ord-1', revenue: 1.5, note: 'plain note 1', batch: 'csv' },
      context: { traits: { email: 'Ada@Example.com' }, externalIds: [{ id: 'P-1', type: 'pos_id', collection: 'users', encoding: 'none' }] },
    });
  });

  it('reports the unterminated quote at the line where the record starts', async () => {
    const csv = file('broken.csv', 'userId,note,batch\ncli-user,ok,broken\ncli-user,"never closed,broken\ncli-user,lost,broken\n');
    const res = await mosaic(['import', csv, '--source', 'cli-pos', '--create-source', '--event', 'E']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/line 3: unterminated quoted field/);
    expect(res.stdout).toMatch(/accepted\s+1\b/);
  });

  it('imports NDJSON (exit 0), and a second run of the same file adds nothing to Kafka', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) =>
      JSON.stringify({
        type: i % 10 === 0 ? 'identify' : 'track',
        userId: 'cli-user',
        event: 'Product Viewed',
        traits: { batch: 'nd' },
        properties: { batch: 'nd', i },
        timestamp: new Date(Date.UTC(2021, 0, 1, 0, i)).toISOString(),
      }),
    );
    const nd = file('events.ndjson', `${lines.join('\n')}\n`);
    const first = await mosaic(['import', nd, '--source', 'cli-pos', '--create-source', '--chunk-bytes', '20000', '--concurrency', '3']);
    expect(first.stderr).toMatch(/100%/);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/1,000 rows/);
    expect(first.stdout).toMatch(/accepted\s+1,000\b/);
    await tap.waitFor(() => tagged('nd').length === 1000);
    const second = await mosaic(['import', nd, '--source', 'cli-pos', '--create-source', '--json', '--gzip']);
    expect(second.code).toBe(0);
    const summary = JSON.parse(second.stdout) as { accepted: number; duplicates: number; rejected: number; rows: number };
    expect(summary).toMatchObject({ rows: 1000, accepted: 0, duplicates: 1000, rejected: 0 });
    await barrier('cli-pos');
    expect(tagged('nd')).toHaveLength(1000);
  });

  it('reads gzip-compressed NDJSON with file line numbers across chunks (lineOffset)', async () => {
    const lines = Array.from({ length: 400 }, (_, i) =>
      JSON.stringify({ type: 'track', userId: 'cli-user', event: 'E', properties: { batch: 'gz', i, pad: 'p'.repeat(100) } }),
    );
    lines[349] = JSON.stringify({ type: 'track', userId: 'cli-user', properties: { batch: 'gz' } }); // line 350: no event
    lines[9] = ''; // blank line 10
    lines[346] = ''; // blank line 347, in the same request as line 350
    const gz = file('events.ndjson.gz', gzipSync(Buffer.from(`${lines.join('\n')}\n`)));
    const res = await mosaic(['import', gz, '--source', 'cli-pos', '--create-source', '--chunk-bytes', '10000', '--json']);
    expect(res.code).toBe(1);
    const summary = JSON.parse(res.stdout) as { accepted: number; rejected: number; requests: number; rejectedRows: { line: number; reason: string }[] };
    expect(summary.requests).toBeGreaterThan(3);
    expect(summary.accepted).toBe(397);
    expect(summary.rejectedRows).toEqual([{ line: 350, reason: 'event must be a non-empty string' }]);
  });

  it('fails with exit 2 and a reason for an unknown source, a wrong token, bad usage or an unreachable collector', async () => {
    const nd = file('one.ndjson', `${JSON.stringify({ type: 'track', userId: 'u', event: 'E' })}\n`);
    const unknown = await mosaic(['import', nd, '--source', 'no-such-source']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no active source named "no-such-source".*--create-source/);
    const token = await mosaic(['import', nd, '--source', 'cli-pos', '--create-source', '--token', 'wrong-token-wrong-token']);
    expect(token.code).toBe(2);
    expect(token.stderr).toMatch(/refused the admin token/);
    expect((await mosaic(['import', nd])).code).toBe(2);
    expect((await mosaic(['import', join(dir, 'missing.csv'), '--source', 'x'])).stderr).toMatch(/no such file/);
    expect((await mosaic(['import', nd, '--source', 'x', '--bogus'])).code).toBe(2);
    const down = await mosaic(['import', nd, '--source', 'x', '--collector', 'http://127.0.0.1:9']);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/cannot reach/);
  });

  it('authenticates with a write key instead of the admin token', async () => {
    const created = (await (
      await fetch(`${svc.http.url}/v1/sources`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
        body: '{"name":"cli-wk"}',
      })
    ).json()) as { id: string; writeKey: string };
    const nd = file('wk.ndjson', `${JSON.stringify({ type: 'track', userId: 'cli-user', event: 'E', properties: { batch: 'wk' } })}\n`);
    const res = await mosaic(['import', nd, '--write-key', created.writeKey], { MOSAIC_ADMIN_TOKEN: '' });
    expect(res.code).toBe(0);
    await tap.waitFor(() => tagged('wk').length === 1);
    expect(tagged('wk')[0]!.sourceId).toBe(created.id);
  });
});
