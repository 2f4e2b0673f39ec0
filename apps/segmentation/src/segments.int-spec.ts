/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// The segment definitions admin API against the real MongoDB-wire server: validation with
// errors naming the JSON path, versions, references and cycles, disable/enable, delete, sizes over time.
import type { StartedService } from '@mosaic/shared-service';
import { adminRequest, dropTestDatabase, startTestService } from '@mosaic/shared-testing';
import { segmentationDefinition } from './segmentation.definition';

jest.setTimeout(60_000);

let svc: StartedService;

beforeAll(async () => {
  svc = await startTestService(segmentationDefinition, { env: { MOSAIC_INSTANCE_ID: 'segmentation-it-1', SEGMENTATION_SIZE_HISTORY_INTERVAL_MS: '1000' } });
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  await dropTestDatabase().catch(() => undefined);
});

const api = (method: string, path: string, body?: unknown, auth = true) => adminRequest(svc.http.url, method, path, body, { auth });

const highLtv = { key: 'high-ltv', name: 'High lifetime value', condition: { attribute: 'orders.lifetimeValue', op: 'gt', value: 500 } };
const coffeeFans = {
  key: 'coffee-fans',
  priority: 2,
  condition: {
    all: [
      {
        event: 'Product Viewed',
        where: [
          { property: 'category', op: 'equals', value: 'coffee machines' },
          { property: 'price', op: 'gte', value: 500 },
        ],
        aggregate: { fn: 'count', op: 'gte', value: 3 },
        within: { amount: 7, unit: 'days' },
      },
      { segment: 'high-ltv' },
    ],
  },
};

it('creates a segment (version 1), lists and reads it; the key is unique', async () => {
  const created = await api('POST', '/v1/segments', highLtv);
  expect(created.status).toBe(201);
  expect(created.json).toMatchObject({ key: 'high-ltv', version: 1, status: 'active', definition: highLtv });
  expect((await api('POST', '/v1/segments', highLtv)).status).toBe(409);
  expect((await api('GET', '/v1/segments')).json['segments'].map((s: any) => s.key)).toEqual(['high-ltv']);
  expect((await api('GET', '/v1/segments/high-ltv')).json['definition']).toEqual(highLtv);
  expect((await api('GET', '/v1/segments/nope')).status).toBe(404);
  expect((await api('GET', '/v1/segments', undefined, false)).status).toBe(401);
});

it('rejects a bad definition with every problem named by its JSON path; validate answers the same without saving', async () => {
  const bad = {
    key: 'bad',
    condition: {
      all: [
        { trait: 'plan', op: 'equals', value: 'pro' },
        { attribute: 'orders.count', op: 'biggerThan', value: 3 },
      ],
      extra: 1,
    },
  };
  const r = await api('POST', '/v1/segments', bad);
  expect(r.status).toBe(400);
  expect(r.json['error'].code).toBe('invalid_definition');
  const paths = (r.json['error'].details as { path: string }[]).map((e) => e.path);
  expect(paths).toEqual(expect.arrayContaining(['condition.all[1].op']));
  expect(r.json['error'].message).toContain('condition.all[1].op');
  const v = await api('POST', '/v1/segments/validate', bad);
  expect(v.status).toBe(200);
  expect(v.json['ok']).toBe(false);
  expect((await api('POST', '/v1/segments/validate', coffeeFans)).json).toEqual({ ok: true });
  expect((await api('GET', '/v1/segments/bad')).status).toBe(404);
  // Code is never evaluated: an expression is just an unknown field.
  const expr = await api('POST', '/v1/segments', { key: 'x', condition: { expression: 'process.exit(1)' } });
  expect(expr.status).toBe(400);
});

it('references: unknown segments and cycles are refused, naming them', async () => {
  const unknownRef = await api('POST', '/v1/segments', { key: 'orphan', condition: { segment: 'does-not-exist' } });
  expect(unknownRef.status).toBe(400);
  expect(unknownRef.json['error'].message).toContain('does-not-exist');
  expect((await api('POST', '/v1/segments', coffeeFans)).status).toBe(201);
  // high-ltv → coffee-fans → high-ltv
  const cycle = await api('PUT', '/v1/segments/high-ltv', { ...highLtv, condition: { any: [highLtv.condition, { segment: 'coffee-fans' }] } });
  expect(cycle.status).toBe(400);
  expect(cycle.json['error'].message).toMatch(/cycle/i);
  // Deleting a referenced segment is refused.
  expect((await api('DELETE', '/v1/segments/high-ltv')).status).toBe(409);
});

it('updates make new versions (conditional with expectedVersion); disable/enable are versions too; history is kept; delete', async () => {
  const v2 = await api('PUT', '/v1/segments/high-ltv?expectedVersion=1', {
    ...highLtv,
    condition: { attribute: 'orders.lifetimeValue', op: 'gte', value: 1000 },
  });
  expect(v2.status).toBe(200);
  expect(v2.json['version']).toBe(2);
  expect((await api('PUT', '/v1/segments/high-ltv?expectedVersion=1', highLtv)).status).toBe(409);
  expect((await api('PUT', '/v1/segments/high-ltv', { ...highLtv, key: 'other' })).status).toBe(400);
  expect((await api('POST', '/v1/segments/high-ltv/disable')).json).toMatchObject({ version: 3, status: 'disabled' });
  expect((await api('POST', '/v1/segments/high-ltv/enable')).json).toMatchObject({ version: 4, status: 'active' });
  const history = (await api('GET', '/v1/segments/high-ltv/versions')).json['versions'] as { version: number }[];
  expect(history.map((h) => h.version)).toEqual([4, 3, 2, 1]);
  expect((await api('DELETE', '/v1/segments/coffee-fans')).status).toBe(204);
  expect((await api('GET', '/v1/segments/coffee-fans')).status).toBe(404);
  // A deleted key created again continues its version numbers.
  expect((await api('POST', '/v1/segments', coffeeFans)).json['version']).toBe(2);
});

it('serves the JSON Schema and its OpenAPI document', async () => {
  const schema = await api('GET', '/v1/segments/schema');
  expect(schema.json['schema']['$schema']).toContain('2020-12');
  expect(schema.json['examples'].length).toBeGreaterThan(0);
  const doc = await api('GET', '/openapi.json', undefined, false);
  expect(Object.keys(doc.json['paths'])).toEqual(expect.arrayContaining(['/v1/segments', '/v1/segments/{key}', '/v1/segments/validate']));
});

it('answers the sampled sizes of a segment in time order; a bad parameter is a 400 naming it', async () => {
  let points: { at: string; size: number }[] = [];
  for (let round = 0; round < 100 && points.length < 3; round += 1) {
    await new Promise((r) => setTimeout(r, 200));
    const r = await api('GET', '/v1/segments/high-ltv/sizes');
    expect(r.status).toBe(200);
    expect(r.json['key']).toBe('high-ltv');
    points = r.json['points'];
  }
  expect(points.length).toBeGreaterThanOrEqual(3);
  const times = points.map((p) => Date.parse(p.at));
  expect(times).toEqual([...times].sort((x, y) => x - y));
  expect(new Set(times).size).toBe(times.length); // one point per interval
  expect(times.every((t) => t % 1000 === 0)).toBe(true);
  expect(points.every((p) => p.size === 0)).toBe(true);
  const from = new Date(times[1]!).toISOString();
  const to = new Date(times[2]!).toISOString();
  expect((await api('GET', `/v1/segments/high-ltv/sizes?from=${from}&to=${to}`)).json['points']).toEqual(points.slice(1, 3));
  expect((await api('GET', `/v1/segments/high-ltv/sizes?from=${from}&to=${to}&step=3600`)).json['points']).toEqual(
    Math.floor(times[1]! / 3_600_000) === Math.floor(times[2]! / 3_600_000) ? [points[2]] : points.slice(1, 3), // one hour step, unless an hour began between them
  );

  const problem = async (query: string) => {
    const r = await api('GET', `/v1/segments/high-ltv/sizes?${query}`);
    expect(r.status).toBe(400);
    return r.json['error'].message as string;
  };
  expect(await problem('from=yesterday')).toMatch(/^from: /);
  expect(await problem('to=2026-13-45')).toMatch(/^to: /);
  expect(await problem('step=0')).toMatch(/^step: /);
  expect(await problem('from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z')).toMatch(/^from: must not be after to/);
  expect(await problem('from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z')).toMatch(/^from: at most 92 days/);
  expect((await api('GET', '/v1/segments/nope/sizes')).status).toBe(404);
  expect((await api('GET', '/v1/segments/high-ltv/sizes', undefined, false)).status).toBe(401);
});
