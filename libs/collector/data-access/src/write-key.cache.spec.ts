import type { SourceView } from './sources.repository';
import { WriteKeyCache, type WriteKeyLookup } from './write-key.cache';

const source = (id: string, revokedAt: string | null = null): SourceView => ({
  id,
  name: id,
  writeKeyPrefix: 'wk',
  serverKeyPrefix: null,
  identityVerification: false,
  allowedOrigins: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  revokedAt,
});

/**
 * A store of sources that counts its reads. A read sees the store when it starts; `hold()` makes
 * the answers of the reads that start from then on wait until `release()`, as a slow query would.
 */
function store(sources: Record<string, SourceView>, keys: Record<string, string>) {
  const reads = { byKey: 0, byId: 0 };
  let gate: Promise<void> = Promise.resolve();
  let release = (): void => undefined;
  const lookup: WriteKeyLookup = {
    findActiveByWriteKey: async (key) => {
      reads.byKey++;
      const s = keys[key] ? sources[keys[key]] : undefined;
      const answer = s && s.revokedAt === null ? s : null;
      await gate;
      return answer;
    },
    get: async (id) => {
      reads.byId++;
      const answer = sources[id] ?? null;
      await gate;
      return answer;
    },
  };
  const hold = (): void => {
    gate = new Promise((r) => (release = r));
  };
  return { lookup, reads, sources, hold, release: () => release() };
}

describe('WriteKeyCache', () => {
  it('answers write keys and ids from memory until they expire', async () => {
    let now = 0;
    const s = store({ a: source('a') }, { k: 'a' });
    const cache = new WriteKeyCache(s.lookup, 30_000, 5_000, 100, () => now);
    expect((await cache.resolve('k'))?.id).toBe('a');
    expect((await cache.active('a'))?.id).toBe('a');
    expect((await cache.resolve('k'))?.id).toBe('a');
    expect((await cache.active('a'))?.id).toBe('a');
    expect(s.reads).toEqual({ byKey: 1, byId: 1 });
    now = 30_001;
    await cache.resolve('k');
    await cache.active('a');
    expect(s.reads).toEqual({ byKey: 2, byId: 2 });
  });

  it('answers a revoked or unknown id as null, remembered for the shorter time', async () => {
    let now = 0;
    const s = store({ r: source('r', '2026-01-02T00:00:00.000Z') }, {});
    const cache = new WriteKeyCache(s.lookup, 30_000, 5_000, 100, () => now);
    expect(await cache.active('r')).toBeNull();
    expect(await cache.active('nope')).toBeNull();
    now = 4_000;
    await cache.active('r');
    expect(s.reads.byId).toBe(2);
    now = 5_001;
    await cache.active('r');
    expect(s.reads.byId).toBe(3);
  });

  it('drops a source by key and by id at once when it changes (a revocation on any instance)', async () => {
    const s = store({ a: source('a') }, { k: 'a' });
    const cache = new WriteKeyCache(s.lookup, 30_000, 5_000, 100, () => 0);
    await cache.resolve('k');
    await cache.active('a');
    s.sources['a'] = source('a', '2026-01-02T00:00:00.000Z');
    cache.invalidateSource('a');
    expect(await cache.resolve('k')).toBeNull();
    expect(await cache.active('a')).toBeNull();
  });

  it('does not keep what a lookup read before a revocation that came while it ran', async () => {
    const s = store({ a: source('a') }, { k: 'a' });
    const cache = new WriteKeyCache(s.lookup, 30_000, 5_000, 100, () => 0);
    s.hold();
    const byKey = cache.resolve('k');
    const byId = cache.active('a');
    // Both reads saw the source active; now it is revoked, before they answer.
    s.sources['a'] = source('a', '2026-01-02T00:00:00.000Z');
    cache.invalidateSource('a');
    s.release();
    expect((await byKey)?.id).toBe('a');
    expect((await byId)?.id).toBe('a');
    expect(await cache.resolve('k')).toBeNull();
    expect(await cache.active('a')).toBeNull();
    expect(s.reads).toEqual({ byKey: 2, byId: 2 });
    // Lookups that started after the revocation are kept as usual.
    await cache.resolve('k');
    await cache.active('a');
    expect(s.reads).toEqual({ byKey: 2, byId: 2 });
  });
});
