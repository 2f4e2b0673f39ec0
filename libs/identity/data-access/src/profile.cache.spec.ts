// The profile cache's rules (pure, no I/O): it serves only while following, drops everything when
// following stops, entries expire, and a read an invalidation overtook is not cached.
import { newProfileRecord, type ProfileRecord } from '@mosaic/identity-domain';
import { ProfileCache } from './profile.cache';

const profile = (id: string, version = 1): ProfileRecord => newProfileRecord(id, '2025-01-01T00:00:00.000Z', 'm1', { version });

function following(opts: { ttlMs?: number; now?: () => number } = {}): { cache: ProfileCache; follow: { on: boolean } } {
  const follow = { on: true };
  const cache = new ProfileCache({ maxEntries: 10, ttlMs: opts.ttlMs ?? 60_000, ...(opts.now ? { now: opts.now } : {}) });
  cache.followWhile(() => follow.on);
  return { cache, follow };
}

/** A read whose answer the test releases. */
function pendingRead(found: ProfileRecord[]): { read: () => Promise<ProfileRecord[]>; release: () => void } {
  let release = () => undefined as void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return { read: () => gate.then(() => found), release: () => release() };
}

describe('ProfileCache', () => {
  it('serves what a read filled, and nothing before it follows', async () => {
    const idle = new ProfileCache({ maxEntries: 10, ttlMs: 60_000 });
    await idle.fill(async () => [profile('p1')]);
    expect(idle.get('p1')).toBeUndefined();
    const { cache } = following();
    await cache.fill(async () => [profile('p1')]);
    expect(cache.get('p1')?.version).toBe(1);
  });

  it('drops everything once following stops, and stays empty after it resumes', async () => {
    const { cache, follow } = following();
    cache.set(profile('p1'));
    follow.on = false;
    expect(cache.get('p1')).toBeUndefined();
    follow.on = true;
    expect(cache.get('p1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('an entry older than ttlMs is not served', () => {
    let now = 1_000;
    const { cache } = following({ ttlMs: 500, now: () => now });
    cache.set(profile('p1'));
    now += 500;
    expect(cache.get('p1')).toBeDefined();
    now += 1;
    expect(cache.get('p1')).toBeUndefined();
  });

  it('an invalidation drops the entry', () => {
    const { cache } = following();
    cache.set(profile('p1'));
    cache.set(profile('p2'));
    cache.invalidate(['p1']);
    expect(cache.get('p1')).toBeUndefined();
    expect(cache.get('p2')).toBeDefined();
  });

  it('a read that an invalidation of its profile overtook is returned but not cached; other profiles of it are', async () => {
    const { cache } = following();
    const slow = pendingRead([profile('p1'), profile('p2')]);
    const filled = cache.fill(slow.read);
    cache.invalidate(['p1']);
    slow.release();
    expect((await filled).map((p) => p._id)).toEqual(['p1', 'p2']);
    expect(cache.get('p1')).toBeUndefined();
    expect(cache.get('p2')).toBeDefined();
  });

  it('an invalidation received before a read began does not stop the read from caching, even while another read runs', async () => {
    const { cache } = following();
    const long = pendingRead([]);
    const first = cache.fill(long.read);
    cache.invalidate(['p1']);
    await cache.fill(async () => [profile('p1', 2)]);
    expect(cache.get('p1')?.version).toBe(2);
    long.release();
    await first;
  });
});
