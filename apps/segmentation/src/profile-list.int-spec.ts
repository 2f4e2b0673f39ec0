/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// The contact list (GET /v1/profiles) against the real MongoDB-wire server: 3,000 profiles
// written through segmentation's own write path, filters (segment, known, last seen), paging to
// the end with every profile once, a sparse filter answering partial pages within the scan
// budget, a forged cursor reading no more than the budget, cursor and parameter errors naming
// the parameter, a segment's member list walked the same way, profiles written before the list existed filed by the one-time job, and reads
// that are all indexed equalities.
import mongoose, { type Connection } from 'mongoose';
import type { CommandSucceededEvent } from 'mongodb';
import { DEFAULT_LIST_BUDGET, ListFieldsJob, ListProfiles } from '@mosaic/segmentation-application';
import { MIGRATIONS_COLLECTION, PROFILES_COLLECTION, ProfileListRepository, SegmentProfilesRepository } from '@mosaic/segmentation-data-access';
import { emptyState, parseProfileListQuery, type ProfileSegmentState } from '@mosaic/segmentation-domain';
import type { StartedService } from '@mosaic/shared-service';
import { adminRequest, dropTestDatabase, plannedFinds, startTestService, storePlansReadable, testInfra, wholeCollectionReads } from '@mosaic/shared-testing';
import { segmentationDefinition } from './segmentation.definition';
import { SegmentationService } from './segmentation.service';

jest.setTimeout(180_000);

const N = 3000;
const DAY = 86_400_000;
const NOW = Date.now();
const MAX_QUERIES = 8;
let svc: StartedService;
let conn: Connection;

const api = (path: string, auth = true) => adminRequest(svc.http.url, 'GET', path, undefined, { auth });

/** Profile i: known when i % 3 = 0 (email, userId), plan `vip` when i % 50 = 0, `rare` for 3 of them, last seen (i % 40) days ago (never for 39). */
function stateOf(i: number): ProfileSegmentState {
  const id = `p-${String(i).padStart(5, '0')}`;
  const identifiers = [
    { type: 'anonymousId', value: `a-${i}` },
    ...(i % 3 === 0
      ? [
          { type: 'email', value: `c${i}@example.com` },
          { type: 'userId', value: `u-${i}` },
        ]
      : []),
  ];
  const plan = i % 50 === 0 ? 'vip' : 'free';
  const computed = i % 40 === 39 ? {} : { lastSeen: new Date(NOW - (i % 40) * DAY - 3_600_000).toISOString() };
  const memberships: ProfileSegmentState['memberships'] = {};
  if (plan === 'vip') memberships['vip'] = { version: 1, since: new Date(NOW).toISOString() };
  if (i === 17 || i === 1500 || i === 2999) memberships['rare'] = { version: 1, since: new Date(NOW).toISOString() };
  return { ...emptyState(id), sourceVersion: 1, profile: { identifiers, traits: { plan, rare: memberships['rare'] !== undefined }, computed }, memberships };
}
const all = Array.from({ length: N }, (_, i) => stateOf(i));

/** Every row of the list with these filters, following `next` to the end; also the pages. */
async function walk(query: string): Promise<{ ids: string[]; pages: any[] }> {
  const ids: string[] = [];
  const pages: any[] = [];
  let cursor: string | null = null;
  do {
    const r = await api(`/v1/profiles?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status).toBe(200);
    pages.push(r.json);
    ids.push(...r.json['profiles'].map((p: any) => p.profileId));
    cursor = r.json['next'];
  } while (cursor && pages.length < 1000);
  return { ids, pages };
}

/** The documents the store returned to `conn`'s finds while `run` ran (the connection monitors its commands). */
async function documentsReturned(run: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const count = (e: CommandSucceededEvent) => {
    const cursor = (e.reply as { cursor?: { firstBatch?: unknown[]; nextBatch?: unknown[] } }).cursor;
    n += (cursor?.firstBatch ?? cursor?.nextBatch ?? []).length;
  };
  conn.getClient().on('commandSucceeded', count);
  try {
    await run();
  } finally {
    conn.getClient().off('commandSucceeded', count);
  }
  return n;
}

const expected = (keep: (s: ProfileSegmentState, i: number) => boolean) => all.filter((s, i) => keep(s, i)).map((s) => s.profileId);
const sorted = (ids: string[]) => [...ids].sort();

beforeAll(async () => {
  svc = await startTestService(segmentationDefinition, {
    env: { MOSAIC_INSTANCE_ID: 'segmentation-list-1', SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0', SEGMENTATION_LIST_MAX_QUERIES: String(MAX_QUERIES) },
  });
  for (const [key, value] of [
    ['vip', 'vip'],
    ['rare', true],
  ] as const) {
    const r = await adminRequest(svc.http.url, 'POST', '/v1/segments', { key, condition: { trait: key === 'vip' ? 'plan' : 'rare', op: 'equals', value } });
    expect(r.status).toBe(201);
  }
  const profiles = svc.http.app.get(SegmentationService).profiles;
  for (let i = 0; i < N; i += 500) {
    const writes = all
      .slice(i, i + 500)
      .map((state, k) => ({ loaded: SegmentProfilesRepository.parse(null, state.profileId), state, entries: [], partition: (i + k) % 6 }));
    const { results } = await profiles.write(writes, new Date(NOW));
    expect([...results.values()].every((r) => r === 'applied')).toBe(true);
  }
  conn = await mongoose.createConnection(testInfra().mongoUri, { monitorCommands: true }).asPromise();
}, 180_000);

afterAll(async () => {
  await svc?.stop();
  await conn?.close();
  await dropTestDatabase().catch(() => undefined);
});

it('lists every profile once, paging to the end, with the fields a row needs', async () => {
  const { ids, pages } = await walk('limit=97');
  expect(ids).toHaveLength(N);
  expect(sorted(ids)).toEqual(sorted(all.map((s) => s.profileId)));
  expect(pages.every((p) => p.partial === false)).toBe(true); // dense: every page full but the last
  expect(pages.slice(0, -1).every((p) => p.profiles.length === 97)).toBe(true);
  expect(pages.at(-1).progress).toBe(1);
  // A deep page costs what the first costs: a few indexed reads, never the list so far.
  const reads = pages.map((p) => p.scanned.queries);
  expect(Math.max(...reads)).toBeLessThanOrEqual(6);
  expect(pages.flatMap((p) => p.profiles).find((p: any) => p.profileId === 'p-00000')).toEqual({
    profileId: 'p-00000',
    email: 'c0@example.com',
    userId: 'u-0',
    known: true,
    lastSeenAt: new Date(NOW - 3_600_000).toISOString(),
    segments: ['vip'],
  });
});

it('filters by segment, known and last seen (each and together)', async () => {
  const known = (s: ProfileSegmentState) => s.profile!.identifiers.length > 1;
  const seen = (s: ProfileSegmentState, from: number, to = Infinity) => {
    const t = Date.parse(String(s.profile!.computed['lastSeen'] ?? 'x'));
    return t >= from && t < to;
  };
  const weekAgo = NOW - 7 * DAY;
  const iso = (t: number) => new Date(t).toISOString();
  expect(sorted((await walk('segment=vip&limit=25')).ids)).toEqual(expected((s) => 'vip' in s.memberships));
  expect(sorted((await walk('known=false&limit=200')).ids)).toEqual(expected((s) => !known(s)));
  expect(sorted((await walk(`seenAfter=${iso(weekAgo)}&limit=200`)).ids)).toEqual(expected((s) => seen(s, weekAgo)));
  expect(sorted((await walk(`seenBefore=${iso(weekAgo)}&limit=200`)).ids)).toEqual(expected((s) => seen(s, -Infinity, weekAgo)));
  const both = await walk(`segment=vip&known=true&seenAfter=${iso(NOW - 20 * DAY)}&seenBefore=${iso(weekAgo)}&limit=5`);
  expect(sorted(both.ids)).toEqual(expected((s) => 'vip' in s.memberships && known(s) && seen(s, NOW - 20 * DAY, weekAgo)));
  expect(both.ids.length).toBeGreaterThan(0);
});

it('a short last-seen range is read by day: it reads its own profiles, not every profile', async () => {
  const since = NOW - DAY;
  const { ids, pages } = await walk(`seenAfter=${new Date(since).toISOString()}&limit=50`);
  expect(sorted(ids)).toEqual(expected((s) => Date.parse(String(s.profile!.computed['lastSeen'] ?? 'x')) >= since));
  expect(ids.length).toBeGreaterThan(0);
  const read = pages.reduce((n, p) => n + p.scanned.documents, 0);
  expect(read).toBeLessThan(N / 4); // the profiles seen in those 3 days (re-read by each page), not all 3,000 (in memory it read them all)
});

it('a sparse filter the store cannot narrow answers partial pages within the scan budget, and its cursor continues to every match', async () => {
  // known and a range before a date are applied in memory: the walk goes shard by shard, then block by block
  const before = NOW - 37 * DAY - 12 * 3_600_000; // only those last seen 38 days ago (39: never)
  const { ids, pages } = await walk(`known=true&seenBefore=${new Date(before).toISOString()}&limit=10`);
  expect(sorted(ids)).toEqual(expected((s, i) => i % 3 === 0 && i % 40 === 38));
  expect(pages.length).toBeGreaterThan(1);
  expect(pages[0].partial).toBe(true);
  expect(pages[0].profiles.length).toBeLessThan(10);
  expect(pages[0].next).toEqual(expect.any(String));
  expect(pages[0].progress).toBeGreaterThan(0);
  expect(pages[0].progress).toBeLessThan(1);
  expect(pages.every((p) => p.scanned.queries <= MAX_QUERIES)).toBe(true);
  expect(pages.at(-1).next).toBeNull();
  expect(pages.at(-1).partial).toBe(false);
});

it('a sparse segment is read in one go once the walk sees how few it has (its members, not every profile)', async () => {
  const { ids, pages } = await walk('segment=rare&limit=10');
  expect(sorted(ids)).toEqual(['p-00017', 'p-01500', 'p-02999']);
  expect(pages).toHaveLength(1);
  expect(pages[0].next).toBeNull();
  expect(pages[0].scanned.queries).toBeLessThanOrEqual(MAX_QUERIES);
});

it('refuses a bad cursor or parameter with a 400 naming it; an unknown segment is a 404', async () => {
  const page = await api('/v1/profiles?known=true&limit=5');
  const problem = async (query: string) => {
    const r = await api(`/v1/profiles?${query}`);
    expect(r.status).toBe(400);
    return r.json['error'].message as string;
  };
  expect(await problem('cursor=not-a-cursor')).toMatch(/^cursor: not a cursor/);
  expect(await problem(`known=false&cursor=${page.json['next']}`)).toMatch(/^cursor: it was made for other filters/);
  expect(await problem(`cursor=${Buffer.from(JSON.stringify({ v: 1, s: 99999, d: 1, f: 'x' })).toString('base64url')}`)).toMatch(/^cursor: its shard/);
  expect(await problem('known=maybe')).toMatch(/^known: /);
  expect(await problem('seenAfter=last-week')).toMatch(/^seenAfter: /);
  expect(await problem('seenAfter=2026-12-01T10:00:00')).toMatch(/^seenAfter: .*with Z or an offset/); // no zone: the server's local time
  expect((await api('/v1/profiles?seenAfter=2026-12-01T10:00:00%2B01:00&limit=1')).status).toBe(200);
  expect(await problem('limit=1000')).toMatch(/^limit: /);
  expect((await api(`/v1/profiles?known=true&limit=5&cursor=${page.json['next']}`)).status).toBe(200);
  expect((await api('/v1/profiles?segment=nope')).status).toBe(404);
  expect((await api('/v1/profiles', false)).status).toBe(401);
  expect(Object.keys((await api('/openapi.json', false)).json['paths'])).toContain('/v1/profiles');
});

it("a segment's members (GET /v1/segments/{key}/members) are the same walk: every member once, in pages", async () => {
  const ids: string[] = [];
  const pages: any[] = [];
  let cursor: string | null = null;
  do {
    const r = await api(`/v1/segments/vip/members?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status).toBe(200);
    expect(r.json['key']).toBe('vip');
    pages.push(r.json);
    ids.push(...r.json['profileIds']);
    cursor = r.json['next'];
  } while (cursor && pages.length < 1000);
  expect(sorted(ids)).toEqual(expected((s) => 'vip' in s.memberships));
  expect(ids).toHaveLength(new Set(ids).size);
  expect(pages.length).toBeGreaterThan(2);
  const members = async (query: string) => api(`/v1/segments/vip/members?${query}`);
  expect((await members('after=p-00000')).json['error'].message).toMatch(/^after: no longer accepted; page with cursor/);
  expect((await members('limit=201')).status).toBe(400);
  expect((await members(`cursor=${(await api('/v1/profiles?known=true&limit=5')).json['next']}`)).json['error'].message).toMatch(
    /^cursor: it was made for other filters/,
  );
  expect((await api('/v1/segments/nope/members')).status).toBe(404);
});

describe("a cursor's density (client-supplied) never sizes a read: d = 0 reads at most the budget", () => {
  const budget = { ...DEFAULT_LIST_BUDGET, maxDocuments: 20 };
  const parsed = (input: Record<string, string>) => {
    const r = parseProfileListQuery(input);
    if (!r.ok) throw new Error(r.message);
    return r.query;
  };
  const forged = (filter: Record<string, string>) =>
    parsed({ ...filter, cursor: Buffer.from(JSON.stringify({ v: 1, s: 0, d: 0, f: parsed(filter).fingerprint })).toString('base64url') });

  it.each([
    ['every profile (blocks of about 47: the reads reach their caps)', {}],
    ['segment vip (60 members: it was one read of them all)', { segment: 'vip' }],
  ])('%s', async (_, filter: Record<string, string>) => {
    const use = new ListProfiles(new ProfileListRepository(conn), budget);
    let page: Awaited<ReturnType<ListProfiles['execute']>> | undefined;
    const returned = await documentsReturned(async () => (page = await use.execute(forged({ ...filter, limit: '50' }))));
    expect(returned).toBeLessThanOrEqual(budget.maxDocuments);
    expect(page!.scanned.documents).toBe(returned);
  });

  it('and the walk from there lists every member once, each page within the budget', async () => {
    const use = new ListProfiles(new ProfileListRepository(conn), budget);
    let page = await use.execute(forged({ segment: 'vip', limit: '50' }));
    const ids = page.profiles.map((p) => p.profileId);
    for (let pages = 0; page.next !== null && pages < 500; pages += 1) {
      page = await use.execute(parsed({ segment: 'vip', limit: '50', cursor: page.next }));
      expect(page.scanned.documents).toBeLessThanOrEqual(budget.maxDocuments);
      ids.push(...page.profiles.map((r) => r.profileId));
    }
    expect(sorted(ids)).toEqual(expected((s) => 'vip' in s.memberships));
  });
});

it('files profiles written before the list existed (one-time job), and a merged profile is not listed', async () => {
  const col = conn.db!.collection(PROFILES_COLLECTION);
  const legacy = Array.from({ length: 30 }, (_, k) => ({ ...stateOf(k), profileId: `legacy-${k}` }));
  await col.insertMany(
    legacy.map((s) => ({
      _id: s.profileId,
      partition: 0,
      version: 1,
      writeId: `w-${s.profileId}`,
      state: JSON.stringify(s),
      segments: Object.keys(s.memberships),
      timerAt: null,
      outbox: null,
      updatedAt: new Date(NOW),
    })) as never[],
  );
  const merged = { ...stateOf(3), profileId: 'merged-1', mergedInto: 'p-00003' };
  await svc.http.app
    .get(SegmentationService)
    .profiles.write([{ loaded: SegmentProfilesRepository.parse(null, 'merged-1'), state: merged, entries: [], partition: 0 }]);
  const listedLegacy = async () => (await walk('limit=200')).ids.filter((id) => id.startsWith('legacy-') || id === 'merged-1');
  expect(await listedLegacy()).toEqual([]);

  const list = new ProfileListRepository(conn);
  expect(await list.filled()).toBe(true); // the service's start found nothing to file
  await conn.db!.collection(MIGRATIONS_COLLECTION).deleteMany({});
  const job = new ListFieldsJob({ store: new SegmentProfilesRepository(conn), list, pageSize: 400 });
  expect(await job.runOnce()).toEqual({ ran: true, scanned: N + 31, filled: 30 });
  expect(await job.runOnce()).toEqual({ ran: false, scanned: 0, filled: 0 });
  expect(sorted(await listedLegacy())).toEqual(sorted(legacy.map((s) => s.profileId)));
  const row = (await walk('known=true&limit=200')).pages.flatMap((p) => p.profiles).find((p: any) => p.profileId === 'legacy-0');
  expect(row).toMatchObject({ email: 'c0@example.com', known: true, segments: ['vip'] });
});

it('reads only by indexed equalities (no read of a whole collection)', async () => {
  const use = new ListProfiles(new ProfileListRepository(conn));
  const parsed = parseProfileListQuery({ segment: 'vip', known: 'true', limit: '50' });
  if (!parsed.ok) throw new Error(parsed.message);
  let page: Awaited<ReturnType<ListProfiles['execute']>> | undefined;
  const finds = await plannedFinds(conn, async () => {
    page = await use.execute(parsed.query);
    for (const more of [
      { limit: '50' },
      { segment: 'rare' },
      { seenAfter: new Date(NOW - DAY).toISOString() },
      { known: 'true', seenBefore: new Date(NOW - 37.5 * DAY).toISOString() },
    ]) {
      const other = parseProfileListQuery(more);
      if (other.ok) await use.execute(other.query);
    }
  });
  expect(page!.profiles.length).toBeGreaterThan(0);
  expect(finds.length).toBeGreaterThan(1);
  if (storePlansReadable()) expect(wholeCollectionReads(finds)).toEqual([]);
});
