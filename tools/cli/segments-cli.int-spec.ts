/* eslint-disable @typescript-eslint/no-explicit-any -- API responses and the CLI summary are inspected as loose JSON */
// `npm run mosaic -- segments apply|list` as a child process against a real segmentation
// service (real broker and MongoDB-wire server): create, idempotent re-apply, update, enable,
// validation errors and cycles (nothing written), --dry-run, --prune, exit codes.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedService } from '@mosaic/shared-service';
import { TEST_ADMIN_TOKEN, dropTestDatabase, freePort, startTestService } from '@mosaic/shared-testing';
import { segmentationDefinition } from '../../apps/segmentation/src/segmentation.definition';

jest.setTimeout(120_000);

const CLI = join(__dirname, 'mosaic.mjs');

let svc: StartedService;
let dir: string;

beforeAll(async () => {
  svc = await startTestService(segmentationDefinition, { env: { MOSAIC_INSTANCE_ID: 'seg-cli-it', SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0' } });
  dir = mkdtempSync(join(tmpdir(), 'mosaic-segments-'));
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  await dropTestDatabase().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI (asynchronously: the service runs in this process); stdin ignored, not a terminal. */
function mosaic(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', CI: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

const common = (): string[] => ['--segmentation', svc.http.url, '--token', TEST_ADMIN_TOKEN];

async function apply(...extra: string[]): Promise<{ code: number; stdout: string; stderr: string; summary: any }> {
  const r = await mosaic(['segments', 'apply', dir, ...common(), '--json', ...extra]);
  let summary: any;
  try {
    summary = JSON.parse(r.stdout);
  } catch {
    summary = undefined;
  }
  return { ...r, summary };
}

async function server(): Promise<Record<string, { version: number; status: string; definition: any; updatedAt: string; backfill: any }>> {
  const res = await fetch(`${svc.http.url}/v1/segments`, { headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { segments: any[] };
  return Object.fromEntries(body.segments.map((s) => [s.key, s]));
}

const write = (name: string, content: string): void => writeFileSync(join(dir, name), content);
const versions = (s: Record<string, { version: number; status: string }>): Record<string, string> =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, `${v.version}:${v.status}`]));
const byKey = (summary: any): Record<string, any> => Object.fromEntries(summary.segments.map((s: any) => [s.key, s]));

// vip refers to high-ltv and is in a file read first: it must still be created second.
const vip = { key: 'vip', name: 'VIP', priority: 10, condition: { all: [{ segment: 'high-ltv' }, { trait: 'plan', op: 'in', value: ['pro', 'enterprise'] }] } };
const baseYaml = (ltv: number): string =>
  [
    'key: high-ltv',
    'name: High lifetime value',
    `condition: { attribute: orders.lifetimeValue, op: gt, value: ${ltv} }`,
    '---',
    'key: coffee-fans',
    'condition:',
    '  event: Product Viewed',
    '  where:',
    '    - { property: category, op: equals, value: coffee machines }',
    '  aggregate: { fn: count, op: gte, value: 3 }',
    '  within: { amount: 7, unit: days }',
    '',
  ].join('\n');

describe('mosaic segments apply', () => {
  it('creates every definition of the directory (references first) and waits for the backfills (exit 0)', async () => {
    write('a-vip.json', JSON.stringify(vip, null, 2));
    write('base.yaml', baseYaml(500));
    write('notes.txt', 'not a definition');
    const r = await apply();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({
      dryRun: false,
      created: 3,
      updated: 0,
      enabled: 0,
      disabled: 0,
      unchanged: 0,
      failed: 0,
      backfills: { done: 3, failed: 0, unfinished: 0 },
    });
    const keys = r.summary.segments.map((s: any) => s.key);
    expect(keys.indexOf('high-ltv')).toBeLessThan(keys.indexOf('vip'));
    expect(byKey(r.summary)['vip']).toMatchObject({
      action: 'create',
      outcome: 'ok',
      version: 1,
      file: 'a-vip.json',
      backfill: { status: 'done', version: 1 },
    });
    expect(byKey(r.summary)['coffee-fans']).toMatchObject({ file: 'base.yaml (document 2)' });
    const s = await server();
    expect(versions(s)).toEqual({ 'coffee-fans': '1:active', 'high-ltv': '1:active', vip: '1:active' });
    expect(s['vip']!.definition).toEqual(vip);
    expect(s['high-ltv']!.backfill).toMatchObject({ version: 1, status: 'done' });
  });

  it('is idempotent: a second run shows everything unchanged and writes nothing', async () => {
    const before = await server();
    const r = await apply();
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({
      created: 0,
      updated: 0,
      enabled: 0,
      disabled: 0,
      unchanged: 3,
      failed: 0,
      backfills: { done: 0, failed: 0, unfinished: 0 },
    });
    const after = await server();
    expect(versions(after)).toEqual(versions(before));
    for (const key of Object.keys(before)) expect(after[key]!.updatedAt).toBe(before[key]!.updatedAt);
    // The text form: one "=" line per segment.
    const text = await mosaic(['segments', 'apply', dir, ...common()]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('= high-ltv (unchanged)\n= vip (unchanged)\n');
    expect(text.stdout).toMatch(/0 created, 0 updated, 0 enabled, 0 disabled, 3 unchanged, 0 failed/);
    expect(versions(await server())).toEqual(versions(before));
  });

  it('--dry-run shows the plan and the diff and writes nothing', async () => {
    const before = await server();
    write('base.yaml', baseYaml(750));
    write('new-one.json', JSON.stringify({ key: 'new-one', condition: { trait: 'email', op: 'exists' } }));
    const text = await mosaic(['segments', 'apply', dir, ...common(), '--dry-run']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('~ high-ltv (v1 → v2)\n');
    expect(text.stdout).toMatch(/^ {4}- {4}"value": 500$/m);
    expect(text.stdout).toMatch(/^ {4}\+ {4}"value": 750$/m);
    expect(text.stdout).toContain('+ new-one (new)\n');
    expect(text.stdout).toContain('= coffee-fans (unchanged)\n');
    expect(text.stdout).toMatch(/Dry run \(nothing written\): would be 1 created, 1 updated/);
    const json = await apply('--dry-run');
    expect(json.code).toBe(0);
    expect(json.summary).toMatchObject({ dryRun: true, created: 1, updated: 1, unchanged: 2 });
    expect(byKey(json.summary)['high-ltv']).toMatchObject({
      action: 'update',
      outcome: 'planned',
      fromVersion: 1,
      version: 2,
      diff: expect.arrayContaining(['-    "value": 500', '+    "value": 750']),
    });
    expect(versions(await server())).toEqual(versions(before));
    unlinkSync(join(dir, 'new-one.json'));
  });

  it('updates the one segment whose file changed (version + 1, expectedVersion), the rest unchanged', async () => {
    const r = await apply();
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({ created: 0, updated: 1, unchanged: 2, failed: 0, backfills: { done: 1, failed: 0 } });
    expect(byKey(r.summary)['high-ltv']).toMatchObject({
      action: 'update',
      fromVersion: 1,
      version: 2,
      outcome: 'ok',
      backfill: { version: 2, status: 'done' },
    });
    const s = await server();
    expect(versions(s)).toEqual({ 'coffee-fans': '1:active', 'high-ltv': '2:active', vip: '1:active' });
    expect(s['high-ltv']!.definition.condition.value).toBe(750);
  });

  it('stops before writing anything on invalid definitions, naming the file, key and JSON path (exit 2)', async () => {
    const before = await server();
    write('c-new.json', JSON.stringify({ key: 'c-new', condition: { trait: 'plan', op: 'exists' } }));
    write(
      'd-broken.json',
      JSON.stringify([
        {
          key: 'broken',
          condition: {
            all: [
              { trait: 'plan', op: 'equals', value: 'pro' },
              { attribute: 'orders.count', op: 'biggerThan', value: 3 },
            ],
          },
        },
      ]),
    );
    write('e-broken.yaml', 'key: [oops');
    const r = await apply();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nothing was written/);
    expect(r.stderr).toMatch(/d-broken\.json\[0\]: broken: condition\.all\[1\]\.op: /);
    expect(r.stderr).toMatch(/e-broken\.yaml: not valid YAML/);
    expect(r.summary).toMatchObject({ ok: false, written: 0 });
    expect(r.summary.problems).toEqual(
      expect.arrayContaining([expect.objectContaining({ file: 'd-broken.json[0]', key: 'broken', path: 'condition.all[1].op' })]),
    );
    expect(versions(await server())).toEqual(versions(before));
    unlinkSync(join(dir, 'd-broken.json'));
    unlinkSync(join(dir, 'e-broken.yaml'));
    unlinkSync(join(dir, 'c-new.json'));
  });

  it('refuses reference cycles and unknown segments before writing anything (exit 2)', async () => {
    const before = await server();
    // high-ltv → vip → high-ltv
    write(
      'base.yaml',
      baseYaml(750).replace(
        'condition: { attribute: orders.lifetimeValue, op: gt, value: 750 }',
        'condition: { any: [ { attribute: orders.lifetimeValue, op: gt, value: 750 }, { segment: vip } ] }',
      ),
    );
    const cycle = await apply();
    expect(cycle.code).toBe(2);
    expect(cycle.stderr).toMatch(/reference cycle: high-ltv → vip → high-ltv/);
    write('base.yaml', baseYaml(750));
    write('z-orphan.json', JSON.stringify({ key: 'orphan', condition: { segment: 'nowhere' } }));
    const unknown = await apply();
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/z-orphan\.json: orphan: condition\.segment: unknown segment nowhere/);
    expect(versions(await server())).toEqual(versions(before));
    unlinkSync(join(dir, 'z-orphan.json'));
  });

  it('leaves segments missing from the directory alone; --prune disables them; their file back enables them', async () => {
    unlinkSync(join(dir, 'a-vip.json'));
    const keep = await apply();
    expect(keep.code).toBe(0);
    expect(keep.summary).toMatchObject({ disabled: 0, unchanged: 2 });
    expect((await server())['vip']).toMatchObject({ version: 1, status: 'active' });
    const pruned = await apply('--prune');
    expect(pruned.code).toBe(0);
    expect(pruned.summary).toMatchObject({ disabled: 1, unchanged: 2, failed: 0 });
    expect(byKey(pruned.summary)['vip']).toMatchObject({ action: 'disable', version: 2, outcome: 'ok' });
    expect((await server())['vip']).toMatchObject({ version: 2, status: 'disabled' });
    // Not deleted, and a second --prune changes nothing.
    expect((await apply('--prune')).summary).toMatchObject({ disabled: 0, unchanged: 2 });
    write('a-vip.json', JSON.stringify(vip));
    const back = await mosaic(['segments', 'apply', dir, ...common()]);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain('~ vip (v2 → v3, enable)\n');
    expect(back.stdout).toMatch(/0 created, 0 updated, 1 enabled, 0 disabled, 2 unchanged, 0 failed/);
    expect(back.stdout).toMatch(/Backfills: 1 done, 0 failed/);
    // backfill progress on stderr as plain lines (not a terminal)
    expect(back.stderr).toMatch(/^backfill vip v3: done {2}0 profiles, 0 changed in [\d.]+ s; 0 members$/m);
    expect((await server())['vip']).toMatchObject({ version: 3, status: 'active', definition: vip });
  });

  // Definitions allow ":" in keys; GET /v1/segments/{key} answers 404 for them (its route
  // pattern has no ":"), so the CLI reads the list instead while waiting for the backfill.
  it('handles keys with ":"', async () => {
    write('tier.json', JSON.stringify({ key: 'tier:gold', condition: { trait: 'tier', op: 'equals', value: 'gold' } }));
    const r = await apply();
    expect(r.code).toBe(0);
    expect(byKey(r.summary)['tier:gold']).toMatchObject({ action: 'create', outcome: 'ok', backfill: { status: 'done' } });
    expect((await apply()).summary).toMatchObject({ created: 0, unchanged: 4 });
    unlinkSync(join(dir, 'tier.json'));
    expect((await apply('--prune')).summary).toMatchObject({ disabled: 1, unchanged: 3 });
  });

  it('lists segments as a table or JSON', async () => {
    const table = await mosaic(['segments', 'list', ...common()]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^KEY +VERSION +STATUS +SIZE +BACKFILL$/m);
    expect(table.stdout).toMatch(/^high-ltv +2 +active +0 +done$/m);
    const json = await mosaic(['segments', 'list', ...common(), '--json']);
    expect(
      JSON.parse(json.stdout)
        .segments.map((s: any) => s.key)
        .sort(),
    ).toEqual(['coffee-fans', 'high-ltv', 'tier:gold', 'vip']);
  });

  it('exits 2 on usage errors, a refused token and an unreachable service', async () => {
    const usage = await mosaic(['segments', 'apply', ...common()]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/needs a directory/);
    expect((await mosaic(['segments', 'apply', join(dir, 'missing'), ...common()])).stderr).toMatch(/no such directory/);
    expect((await mosaic(['segments', 'frobnicate', ...common()])).code).toBe(2);
    expect((await mosaic(['segments', 'apply', dir, ...common(), '--source', 'x'])).stderr).toMatch(/--source: not an option of segments/);
    const token = await mosaic(['segments', 'apply', dir, '--segmentation', svc.http.url, '--token', 'wrong-token']);
    expect(token.code).toBe(2);
    expect(token.stderr).toMatch(/refused the admin token/);
    const down = await mosaic(['segments', 'list', '--segmentation', `http://127.0.0.1:${await freePort()}`, '--token', TEST_ADMIN_TOKEN]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/cannot reach/);
  });
});
