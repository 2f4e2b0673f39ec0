// The contact list's walk over an in-memory store that answers as FerretDB does (equalities on
// the span's field, the segment and the day; unsorted; at most the read's limit): what a request
// reads is bounded by its budget whatever the cursor claims, and `known` costs what it reads.
import type { ListedProfile, ProfileListRepository, SpanRead } from '@mosaic/segmentation-data-access';
import { SHARDS_PER_BLOCK, encodeListCursor, listShardOf, parseProfileListQuery, type ListSpan, type ProfileListQueryInput } from '@mosaic/segmentation-domain';
import { ListProfiles, type ListBudget, type ProfilePage } from './list-profiles.use-case';

type Stored = ListedProfile & { seenDay?: number };

class FakeStore {
  /** Documents returned by every read so far. */
  returned = 0;
  /** The filters each read sent. */
  readonly filters: object[] = [];
  /** Each read: its span's kind and whether it reached its limit. */
  readonly reads: { field: string; capped: boolean }[] = [];

  constructor(private readonly docs: readonly Stored[]) {}

  async span(span: ListSpan, filter: { segment?: string }, limit: number, seenDay?: number): Promise<SpanRead> {
    this.filters.push(filter);
    const inSpan = (d: Stored) =>
      span.field === 'all' || (span.field === 'listShard' ? d.listShard === span.value : Math.floor(d.listShard / SHARDS_PER_BLOCK) === span.value);
    const match = this.docs.filter(
      (d) => inSpan(d) && (filter.segment === undefined || (d.segments ?? []).includes(filter.segment)) && (seenDay === undefined || d.seenDay === seenDay),
    );
    const read = match.reverse().slice(0, limit); // not in the list's order
    this.returned += read.length;
    this.reads.push({ field: span.field, capped: read.length >= limit });
    return { docs: read, documents: read.length, capped: read.length >= limit };
  }
}

/** n profiles, every one in segment `big`, one in three known. */
function profiles(n: number): Stored[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `p-${i}`;
    return { _id: id, listShard: listShardOf(id), known: i % 3 === 0, segments: ['big'] };
  });
}

const budget: ListBudget = { maxQueries: 100, maxDocuments: 100, blockReadMax: 128, parallelReads: 4 };

function query(input: ProfileListQueryInput) {
  const parsed = parseProfileListQuery(input);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.query;
}

/** A cursor as a client may forge it (or an old one from when the segment was small: `d` rounded to 0). */
function forged(filter: ProfileListQueryInput, shard: number, d: number): string {
  const parsed = query(filter);
  return Buffer.from(JSON.stringify({ v: 1, s: shard, d, f: parsed.fingerprint })).toString('base64url');
}

/** Pages from `first` on, following `next` (at most 500 pages). */
async function walk(use: ListProfiles, filter: ProfileListQueryInput, first?: string): Promise<ProfilePage[]> {
  const pages: ProfilePage[] = [];
  let cursor = first;
  do {
    const page = await use.execute(query({ ...filter, ...(cursor ? { cursor } : {}) }));
    pages.push(page);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined && pages.length < 500);
  return pages;
}

describe('ListProfiles: what a request reads', () => {
  const docs = profiles(20_000); // about 5 a shard, 312 a block: far more than the budget of 100

  it("a cursor's density of 0 (forged, or a sparse walk rounded) reads at most the budget, and the walk from it still lists every profile once", async () => {
    const store = new FakeStore(docs);
    const use = new ListProfiles(store as unknown as ProfileListRepository, budget);
    const filter = { segment: 'big', limit: '50' };
    const before = store.returned;
    const page = await use.execute(query({ ...filter, cursor: forged(filter, 5, 0) }));
    expect(store.returned - before).toBeLessThanOrEqual(budget.maxDocuments); // it was all 20,000 (one read of the whole segment)
    expect(page.scanned.documents).toBe(store.returned - before);
    const pages = [page, ...(await walk(use, filter, page.next ?? undefined))];
    expect(pages.every((p) => p.scanned.documents <= budget.maxDocuments)).toBe(true);
    const ids = pages.flatMap((p) => p.profiles.map((r) => r.profileId));
    const expected = docs.filter((d) => d.listShard >= 5).map((d) => d._id);
    expect(ids).toHaveLength(expected.length);
    expect(new Set(ids)).toEqual(new Set(expected));
  });

  it('a read that reaches its cap is read again in smaller spans within the same request', async () => {
    const store = new FakeStore(docs);
    const use = new ListProfiles(store as unknown as ProfileListRepository, { ...budget, maxDocuments: 800 });
    const filter = { segment: 'big', limit: '10' };
    // d = 0.5: the whole segment is expected to hold 2,048 (not read whole), a block 32: the blocks (312) reach their caps
    const page = await use.execute(query({ ...filter, cursor: encodeListCursor({ position: { shard: 0 }, density: 0.5, filter: query(filter).fingerprint }) }));
    expect(store.reads[0]).toEqual({ field: 'listBlock', capped: true }); // 312 where 32 were expected: capped at 128
    expect(store.reads[1]).toEqual({ field: 'listShard', capped: false });
    expect(page).toMatchObject({ partial: false, scanned: { documents: expect.any(Number) } });
    expect(page.profiles).toHaveLength(10);
    expect(page.scanned.documents).toBeLessThan(200);
    expect(page.profiles.map((r) => r.profileId)).toEqual(
      docs
        .filter((d) => d.listShard === 0 || d.listShard === 1 || d.listShard === 2 || d.listShard === 3)
        .sort((a, b) => a.listShard - b.listShard || (a._id < b._id ? -1 : 1))
        .slice(0, 10)
        .map((d) => d._id),
    );
  });

  it('known is applied in memory: the store is not asked for it, and the budget counts every document read', async () => {
    const store = new FakeStore(docs);
    const use = new ListProfiles(store as unknown as ProfileListRepository, budget);
    const pages = await walk(use, { known: 'true', limit: '50' });
    expect(store.filters.every((f) => !('known' in f))).toBe(true);
    expect(pages.every((p) => p.scanned.documents <= budget.maxDocuments)).toBe(true);
    expect(pages.reduce((n, p) => n + p.scanned.documents, 0)).toBe(store.returned);
    const ids = pages.flatMap((p) => p.profiles.map((r) => r.profileId));
    expect(new Set(ids)).toEqual(new Set(docs.filter((d) => d.known).map((d) => d._id)));
    expect(ids).toHaveLength(new Set(ids).size);
    expect(pages.at(-1)!.progress).toBe(1);
  });

  it('a shard holding more than a whole budget is an error naming the setting, not a list that never moves', async () => {
    const crowded = Array.from({ length: 150 }, (_, i) => ({ _id: `c-${i}`, listShard: 0, known: false, segments: [] }));
    const use = new ListProfiles(new FakeStore(crowded) as unknown as ProfileListRepository, budget);
    await expect(use.execute(query({}))).rejects.toThrow(
      expect.objectContaining({ name: 'ListBudgetTooSmallError', message: expect.stringMatching(/shard 0 .*SEGMENTATION_LIST_MAX_DOCUMENTS 100/) }),
    );
  });
});
