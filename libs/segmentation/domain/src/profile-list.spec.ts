import { emptyState } from './engine-state';
import {
  LIST_SHARDS,
  MIN_CURSOR_DENSITY,
  SHARDS_PER_BLOCK,
  decodeListCursor,
  densityOf,
  encodeListCursor,
  filterNarrowsRead,
  filterFingerprint,
  listFieldsOf,
  listShardOf,
  nextSpan,
  nextSpans,
  seenDaysToRead,
  takeFromSpan,
  type ListPosition,
  type ListSpan,
  type ListedDoc,
  type ProfileListFilter,
  type SpanLimits,
} from './profile-list';
import { parseProfileListQuery } from './profile-list-query';

const T = Date.parse('2026-12-01T12:00:00Z');

describe('listShardOf', () => {
  it('is stable (fixed values) and spreads ids over every shard', () => {
    expect(listShardOf('p-1')).toBe(listShardOf('p-1'));
    expect([listShardOf(''), listShardOf('p-1'), listShardOf('p_01HZX')]).toEqual([3525, 1781, 363]); // FNV-1a of "" is 0x811c9dc5: its low 12 bits are 0xdc5
    const counts = new Array<number>(LIST_SHARDS).fill(0);
    for (let i = 0; i < 409_600; i += 1) counts[listShardOf(`p-${i}`)]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(50); // 100 expected in each
    expect(Math.max(...counts)).toBeLessThan(150);
  });
});

describe('listFieldsOf', () => {
  const state = (identifiers: { type: string; value: string }[], computed: Record<string, unknown> = {}) => ({
    ...emptyState('p-1'),
    profile: { identifiers, traits: {}, computed },
  });

  it('files a known profile with its shard, block, last seen time and display identifiers', () => {
    const f = listFieldsOf(
      state(
        [
          { type: 'anonymousId', value: 'a-1' },
          { type: 'email', value: 'ada@example.com' },
          { type: 'userId', value: 'u-1' },
        ],
        { lastSeen: '2026-12-01T10:00:00.000Z' },
      ),
    );
    expect(f).toEqual({
      listShard: listShardOf('p-1'),
      listBlock: Math.floor(listShardOf('p-1') / SHARDS_PER_BLOCK),
      known: true,
      lastSeenAt: new Date('2026-12-01T10:00:00.000Z'),
      seenDay: Math.floor(Date.parse('2026-12-01T10:00:00.000Z') / 86_400_000),
      email: 'ada@example.com',
      userId: 'u-1',
    });
  });

  it('an anonymous profile is not known; a profile never seen has no time; a merged one is not listed', () => {
    expect(listFieldsOf(state([{ type: 'anonymousId', value: 'a-1' }]))).toMatchObject({
      known: false,
      lastSeenAt: null,
      seenDay: null,
      email: null,
      userId: null,
    });
    expect(listFieldsOf(state([{ type: 'phone', value: '+4930123' }])).known).toBe(true);
    expect(listFieldsOf(emptyState('p-2'))).toMatchObject({ known: false, listShard: listShardOf('p-2') });
    expect(listFieldsOf({ ...emptyState('p-3'), mergedInto: 'p-4' })).toMatchObject({ listShard: null, listBlock: null });
  });
});

describe('seenDaysToRead', () => {
  const day = (iso: string) => Math.floor(Date.parse(iso) / 86_400_000);

  it('reads a short range by its UTC days (an open range up to a day past now), a long or unbounded one in memory', () => {
    expect(seenDaysToRead({ seenAfter: T - 86_400_000 }, T)).toEqual([day('2026-11-30'), day('2026-12-01'), day('2026-12-02')]);
    expect(seenDaysToRead({ seenAfter: Date.parse('2026-11-25T00:00:00Z'), seenBefore: Date.parse('2026-11-27T00:00:00Z') }, T)).toEqual([
      day('2026-11-25'),
      day('2026-11-26'),
    ]);
    expect(seenDaysToRead({ seenAfter: T - 7 * 86_400_000 }, T)).toHaveLength(9); // the console's "within 7 days"
    expect(seenDaysToRead({ seenAfter: T - 9 * 86_400_000 }, T)).toBeUndefined();
    expect(seenDaysToRead({ seenBefore: T }, T)).toBeUndefined();
    expect(seenDaysToRead({}, T)).toBeUndefined();
  });
});

describe('cursor', () => {
  const f = filterFingerprint({ segment: 'vip' });

  it('round-trips and is bound to its filters', () => {
    const c = { position: { shard: 17, after: 'p-9' }, density: 0.25, filter: f };
    expect(decodeListCursor(encodeListCursor(c), f)).toEqual({ ok: true, cursor: c });
    const start = { position: { shard: 0 }, density: 24.5, filter: f };
    expect(decodeListCursor(encodeListCursor(start), f)).toEqual({ ok: true, cursor: start });
    expect(decodeListCursor(encodeListCursor(c), filterFingerprint({ segment: 'other' }))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/other filters/),
    });
  });

  it('names what is wrong with a bad cursor', () => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    expect(decodeListCursor('not a cursor!', f)).toMatchObject({ ok: false, message: expect.stringMatching(/^not a cursor/) });
    expect(decodeListCursor(enc({ v: 2, s: 0, d: 1, f }), f)).toMatchObject({ ok: false, message: expect.stringMatching(/^not a cursor/) });
    expect(decodeListCursor(enc({ v: 1, s: LIST_SHARDS, d: 1, f }), f)).toMatchObject({ ok: false, message: expect.stringMatching(/shard/) });
    expect(decodeListCursor(enc({ v: 1, s: 1.5, d: 1, f }), f)).toMatchObject({ ok: false, message: expect.stringMatching(/shard/) });
    expect(decodeListCursor(enc({ v: 1, s: 1, a: 7, d: 1, f }), f)).toMatchObject({ ok: false, message: expect.stringMatching(/last id/) });
    expect(decodeListCursor(enc({ v: 1, s: 1, d: -1, f }), f)).toMatchObject({ ok: false, message: expect.stringMatching(/density/) });
  });

  it('takes a density below the floor (forged, or a sparse walk rounded to 0) as the floor: a first read is never the whole list', () => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    for (const d of [0, 0.0001, 0.02]) {
      const decoded = decodeListCursor(enc({ v: 1, s: 5, d, f }), f);
      expect(decoded).toMatchObject({ ok: true, cursor: { density: MIN_CURSOR_DENSITY } });
      const density = decoded.ok ? decoded.cursor.density : undefined;
      // the largest readMax the walk plans with (128 × √10 days) and a whole budget
      const limits = { need: 200, readMax: 128 * Math.sqrt(10), maxSpans: 4, documents: 1e6, coarsest: 'all' as const };
      expect(nextSpans({ shard: 5 }, density, limits)[0]!.field).toBe('listBlock');
    }
    expect(decodeListCursor(enc({ v: 1, s: 5, d: 24.5, f }), f)).toMatchObject({ ok: true, cursor: { density: 24.5 } });
  });
});

describe('nextSpan', () => {
  const limits: SpanLimits = { need: 50, readMax: 128, maxSpans: 4, documents: 800, coarsest: 'listBlock' };

  it('reads a shard while documents are dense or unknown, the whole block when sparse', () => {
    expect(nextSpan({ shard: 70 }, undefined, 400)).toEqual({ field: 'listShard', value: 70, firstShard: 70, endShard: 71 });
    expect(nextSpan({ shard: 70, after: 'x' }, 24, 400)).toEqual({ field: 'listShard', value: 70, firstShard: 70, endShard: 71 });
    expect(nextSpan({ shard: 70 }, 0.5, 400)).toEqual({ field: 'listBlock', value: 1, firstShard: 64, endShard: 128 });
    expect(nextSpan({ shard: 70 }, 400 / 64, 400).field).toBe('listBlock');
    expect(nextSpan({ shard: 70 }, 400 / 64 + 0.01, 400).field).toBe('listShard');
  });

  it('reads the rest of the list at once when the filter narrows it by itself and few documents are expected', () => {
    expect(nextSpan({ shard: 100, after: 'x' }, 0.01, 128, 'all')).toEqual({ field: 'all', value: 0, firstShard: 100, endShard: LIST_SHARDS });
    expect(nextSpan({ shard: 100 }, 0.01, 128, 'listBlock').field).toBe('listBlock'); // no segment and no day: never every profile
    expect(nextSpan({ shard: 100 }, 0.01, 128, 'listShard').field).toBe('listShard'); // after a block read reached its cap
    expect(nextSpan({ shard: 100 }, 0.5, 128, 'all').field).toBe('listBlock');
    expect(nextSpan({ shard: 4090 }, 0.5, 128, 'all').field).toBe('listBlock'); // little of the list left, but the read would return all of it
    expect(nextSpans({ shard: 100 }, 0.01, { ...limits, coarsest: 'all' })).toHaveLength(1);
    expect(filterNarrowsRead({ segment: 'vip' }, undefined)).toBe(true);
    expect(filterNarrowsRead({ seenAfter: T }, [1, 2])).toBe(true);
    expect(filterNarrowsRead({ known: true, seenAfter: T - 30 * 86_400_000 }, undefined)).toBe(false);
    const docs = [
      { _id: 'a', listShard: 5 },
      { _id: 'b', listShard: 100 },
      { _id: 'c', listShard: 4000 },
    ];
    expect(takeFromSpan(docs, nextSpan({ shard: 100, after: 'a' }, 0.01, 128, 'all'), { shard: 100, after: 'a' }, 10, {})).toEqual({
      rows: [docs[1], docs[2]],
      position: { shard: LIST_SHARDS },
    });
  });

  it('plans as many consecutive spans as should fill the page, within the bound and the list', () => {
    const wide: SpanLimits = { ...limits, readMax: 400, maxSpans: 8 };
    expect(nextSpans({ shard: 10 }, undefined, wide)).toEqual([{ field: 'listShard', value: 10, firstShard: 10, endShard: 11 }]);
    expect(nextSpans({ shard: 10, after: 'x' }, 24.5, wide).map((s) => s.value)).toEqual([10, 11, 12]);
    expect(nextSpans({ shard: 10 }, 100, wide).map((s) => s.value)).toEqual([10]);
    const sparse = nextSpans({ shard: 70 }, 0.05, wide);
    expect(sparse.map((s) => [s.field, s.value, s.firstShard, s.endShard])).toEqual(
      Array.from({ length: 8 }, (_, k) => ['listBlock', 1 + k, 64 * (1 + k), 64 * (2 + k)]),
    );
    expect(nextSpans({ shard: LIST_SHARDS - 2 }, 1000, { ...wide, need: 5000, documents: 1e6 }).map((s) => s.value)).toEqual([
      LIST_SHARDS - 2,
      LIST_SHARDS - 1,
    ]);
    expect(nextSpans({ shard: LIST_SHARDS - 64 }, 0.01, wide)).toHaveLength(1); // the last block
  });

  it('plans a round expected to read at most half the documents left (each read capped at its share)', () => {
    // 24 a shard: 8 shards would fill the page, 4 are half of 200 documents
    expect(nextSpans({ shard: 10 }, 24, { ...limits, need: 200, maxSpans: 8, documents: 200 }).map((s) => s.value)).toEqual([10, 11, 12, 13]);
    // a block expected to hold 64: a block while 128 documents are left, shards below
    expect(nextSpans({ shard: 0 }, 1, { ...limits, documents: 128 })[0]!.field).toBe('listBlock');
    expect(nextSpans({ shard: 0 }, 1, { ...limits, documents: 127 })[0]!.field).toBe('listShard');
    expect(nextSpans({ shard: 0 }, 100, { ...limits, documents: 10 })).toHaveLength(1); // at least one span
  });

  it('never estimates a density of 0', () => {
    expect(densityOf(0, 64)).toBeGreaterThan(0);
    expect(densityOf(24, 1)).toBe(24.5);
  });
});

describe('takeFromSpan', () => {
  const doc = (listShard: number, _id: string, lastSeen?: number): ListedDoc => ({
    _id,
    listShard,
    lastSeenAt: lastSeen === undefined ? null : new Date(lastSeen),
  });
  const block: ListSpan = { field: 'listBlock', value: 0, firstShard: 0, endShard: 64 };
  const docs = [doc(5, 'b'), doc(3, 'z'), doc(5, 'a'), doc(9, 'c')];
  const ids = (r: { rows: ListedDoc[] }) => r.rows.map((d) => `${d.listShard}/${d._id}`);
  const none: ProfileListFilter = {};

  it('takes rows in (shard, id) order after the position, and stops inside the span when the page is full', () => {
    const first = takeFromSpan(docs, block, { shard: 0 }, 2, none);
    expect(ids(first)).toEqual(['3/z', '5/a']);
    expect(first.position).toEqual({ shard: 5, after: 'a' });
    const rest = takeFromSpan(docs, block, first.position, 2, none);
    expect(ids(rest)).toEqual(['5/b', '9/c']);
    expect(rest.position).toEqual({ shard: 64 }); // nothing after it in the block: the next read starts after the block
  });

  it('a page filled by the last row of the span moves past the span', () => {
    expect(takeFromSpan(docs, block, { shard: 5, after: 'a' }, 2, none).position).toEqual({ shard: 64 });
  });

  it('applies known in memory (the store returns every document of the span)', () => {
    const mixed: ListedDoc[] = [
      { _id: 'k', listShard: 1, known: true },
      { _id: 'a', listShard: 2, known: false },
      { _id: 'u', listShard: 3 },
    ];
    expect(ids(takeFromSpan(mixed, block, { shard: 0 }, 10, { known: true }))).toEqual(['1/k']);
    expect(ids(takeFromSpan(mixed, block, { shard: 0 }, 10, { known: false }))).toEqual(['2/a', '3/u']);
    expect(ids(takeFromSpan(mixed, block, { shard: 0 }, 10, none))).toEqual(['1/k', '2/a', '3/u']);
  });

  it('applies the last-seen range, and ignores documents outside the span', () => {
    const seen = [doc(1, 'old', T - 10 * 86_400_000), doc(2, 'new', T - 3_600_000), doc(2, 'never'), doc(64, 'next-block', T)];
    const r = takeFromSpan(seen, block, { shard: 0 }, 10, { seenAfter: T - 86_400_000 });
    expect(ids(r)).toEqual(['2/new']);
    expect(ids(takeFromSpan(seen, block, { shard: 0 }, 10, { seenBefore: T - 86_400_000 }))).toEqual(['1/old']);
  });

  it('pages to the end with every document once, whatever the page size', () => {
    const all = Array.from({ length: 300 }, (_, i) => doc(i % 64, `p-${i}`));
    for (const size of [1, 7, 50, 300]) {
      const seen: string[] = [];
      let position: ListPosition = { shard: 0 };
      while (position.shard < 64) {
        const shardSpan: ListSpan = { field: 'listShard', value: position.shard, firstShard: position.shard, endShard: position.shard + 1 };
        const r = takeFromSpan(all, size % 2 === 0 ? block : shardSpan, position, size, none);
        seen.push(...r.rows.map((d) => d._id));
        position = r.position;
      }
      expect(seen).toHaveLength(300);
      expect(new Set(seen).size).toBe(300);
    }
  });
});

describe('parseProfileListQuery', () => {
  const problem = (q: Record<string, string>) => {
    const r = parseProfileListQuery(q);
    return r.ok ? 'ok' : r.message;
  };

  it('reads the filters, the limit and a cursor', () => {
    const r = parseProfileListQuery({ segment: 'vip', known: 'false', seenAfter: '2026-11-01T00:00:00Z', limit: '20' });
    expect(r).toEqual({
      ok: true,
      query: {
        filter: { segment: 'vip', known: false, seenAfter: Date.parse('2026-11-01T00:00:00Z') },
        limit: 20,
        fingerprint: filterFingerprint({ segment: 'vip', known: false, seenAfter: Date.parse('2026-11-01T00:00:00Z') }),
      },
    });
    expect(parseProfileListQuery({ known: '', segment: '' })).toMatchObject({ ok: true, query: { filter: {}, limit: 50 } });
    const cursor = encodeListCursor({ position: { shard: 3 }, density: 1, filter: filterFingerprint({ known: true }) });
    expect(parseProfileListQuery({ known: 'true', cursor })).toMatchObject({ ok: true, query: { cursor: { position: { shard: 3 } } } });
  });

  it("takes a last-seen time with Z or an offset, never one without a zone (it would be read in the server's time zone)", () => {
    const after = (v: string) => {
      const r = parseProfileListQuery({ seenAfter: v });
      return r.ok ? r.query.filter.seenAfter : r.message;
    };
    expect(after('2026-12-01T10:00:00Z')).toBe(Date.parse('2026-12-01T10:00:00Z'));
    expect(after('2026-12-01T11:00:00+01:00')).toBe(Date.parse('2026-12-01T10:00:00Z'));
    expect(after('2026-12-01T05:00-0500')).toBe(Date.parse('2026-12-01T10:00:00Z'));
    for (const local of ['2026-12-01T10:00:00', '2026-12-01T10:00', '2026-12-01T10:00:00.000', '2026-12-01T10:00:00 01:00']) {
      expect(after(local)).toMatch(/^seenAfter: must be an ISO 8601 date-time with Z or an offset/);
    }
    expect(problem({ seenBefore: '2026-12-01T10:00:00' })).toMatch(/^seenBefore: /);
  });

  it('names the parameter of each problem', () => {
    expect(problem({ segment: 'bad key!' })).toMatch(/^segment: /);
    expect(problem({ known: 'yes' })).toMatch(/^known: /);
    expect(problem({ seenAfter: 'yesterday' })).toMatch(/^seenAfter: /);
    expect(problem({ seenBefore: '2026-12-01' })).toMatch(/^seenBefore: /);
    expect(problem({ seenAfter: '2026-12-02T00:00:00Z', seenBefore: '2026-12-01T00:00:00Z' })).toMatch(/^seenAfter: must be before seenBefore/);
    expect(problem({ limit: '0' })).toMatch(/^limit: /);
    expect(problem({ limit: '201' })).toMatch(/^limit: /);
    expect(problem({ limit: '2.5' })).toMatch(/^limit: /);
    expect(problem({ cursor: 'garbage!' })).toMatch(/^cursor: not a cursor/);
    expect(problem({ segment: 'k'.repeat(64) })).toBe('ok');
    expect(problem({ segment: 'k'.repeat(65) })).toMatch(/^segment: not a segment key .*at most 64/); // no segment key is longer
    expect(problem({ segment: '-vip' })).toMatch(/^segment: /);
    const cursor = encodeListCursor({ position: { shard: 3 }, density: 1, filter: filterFingerprint({ known: true }) });
    expect(problem({ known: 'false', cursor })).toMatch(/^cursor: it was made for other filters/);
  });
});
