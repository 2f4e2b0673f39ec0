// The batch resolver and its identifier and profile caches over the domain's in-memory store (pure, no I/O):
// same results as resolving one message at a time; a warm cache reads nothing but the profiles;
// stale cache entries after another instance moved, merged or split are detected; conflicts
// re-read; random concurrent interleavings of two instances keep the graph's invariants.
import fc from 'fast-check';
import {
  DEFAULT_IDENTITY_RULES,
  InMemoryIdentityStore,
  checkGraphInvariants,
  newProfileRecord,
  resolveEvent,
  type GraphWrite,
  type IdentityEventInput,
  type WriteResult,
} from '@mosaic/identity-domain';
import { BatchResolver } from './batch-resolver';
import { ProfileWritesAnnouncer } from './profile-writes.announcer';
import { IdentifierCache, ProfileCache, withBatchOperations, type BatchIdentityStore } from '@mosaic/identity-data-access';
import { runSplitOperation } from './split-operation';

const rules = DEFAULT_IDENTITY_RULES;
const T0 = Date.UTC(2025, 0, 1);
let seq = 0;
const ids = (prefix: string) => () => `${prefix}${String((seq += 1)).padStart(5, '0')}`;
const clock = () => new Date(T0 + seq * 1000);

function ev(messageId: string, fields: { anonymousId?: string; userId?: string; email?: string; type?: string }): IdentityEventInput {
  return {
    type: fields.type ?? (fields.userId ? 'identify' : 'page'),
    messageId,
    ...(fields.anonymousId ? { anonymousId: fields.anonymousId } : {}),
    ...(fields.userId ? { userId: fields.userId } : {}),
    properties: {},
    traits: fields.email ? { email: fields.email } : {},
    context: {},
  };
}

/** Its profile cache never serves (it follows no invalidations): profiles are read every batch. */
function resolver(store: BatchIdentityStore, prefix = 'a', cacheSize = 1000): BatchResolver {
  const profileCache = new ProfileCache({ maxEntries: 0, ttlMs: 0 });
  return new BatchResolver({ store, cache: new IdentifierCache(cacheSize), profileCache, newProfileId: ids(prefix), now: clock });
}

/** The store, except that inserting a pointer for the identifier `value` fails ("store down"). */
function failingOnIdentifier(base: BatchIdentityStore, value: string): BatchIdentityStore {
  return {
    ...base,
    applyWrite: async (write) => {
      if (write.op === 'insertIdentifier' && write.identifier.value === value) throw new Error('store down');
      return base.applyWrite(write);
    },
  };
}

/** A resolver whose profile cache serves (as while its instance follows identity.profile-writes); the test delivers the invalidations. */
function cachingResolver(store: BatchIdentityStore, prefix: string): { r: BatchResolver; profiles: ProfileCache } {
  const profiles = new ProfileCache({ maxEntries: 1000, ttlMs: 60_000 });
  profiles.followWhile(() => true);
  return { r: new BatchResolver({ store, cache: new IdentifierCache(1000), profileCache: profiles, newProfileId: ids(prefix), now: clock }), profiles };
}

function liveOwner(store: InMemoryIdentityStore, key: string): string | undefined {
  const view = store.view();
  let id = view.identifiers.get(key)?.profileId;
  for (let i = 0; id !== undefined && i < 40; i += 1) {
    const p = view.profiles.get(id);
    if (!p) return undefined;
    if (p.status === 'active') return id;
    id = p.mergedInto;
  }
  return undefined;
}

describe('BatchResolver', () => {
  it('resolves a batch exactly as resolving each message alone would', async () => {
    const events = [
      ev('m1', { anonymousId: 'c1' }),
      ev('m2', { anonymousId: 'c2', email: 'x@y.io' }),
      ev('m3', { anonymousId: 'c1', userId: 'u1', email: 'x@y.io' }),
      ev('m4', { anonymousId: 'c1', userId: 'u2' }),
      ev('m3', { anonymousId: 'c1', userId: 'u1', email: 'x@y.io' }),
      ev('m5', { anonymousId: 'c2' }),
    ];
    seq = 0;
    const single = new InMemoryIdentityStore();
    const expected = [];
    for (const e of events) expected.push(await resolveEvent(single, e, { rules, now: clock, newProfileId: ids('p') }));
    seq = 0;
    const batched = new InMemoryIdentityStore();
    const { items, stats } = await resolver(withBatchOperations(batched), 'p').resolveBatch(events, rules);
    expect(items.map((i) => [i.outcome.status, i.outcome.profileId, i.outcome.notices])).toEqual(expected.map((o) => [o.status, o.profileId, o.notices]));
    expect(items[4]?.outcome.status).toBe('duplicate');
    expect(batched.snapshot()).toEqual(single.snapshot());
    expect(
      batched
        .processedRecords()
        .map((r) => r._id)
        .sort(),
    ).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(
      batched
        .auditRecords()
        .map((a) => a.id)
        .sort(),
    ).toEqual(
      single
        .auditRecords()
        .map((a) => a.id)
        .sort(),
    );
    expect(stats.messages).toBe(6);
  });

  it('with a warm cache, a read-only batch costs two reads (processed records, profiles) and no graph write', async () => {
    const store = new InMemoryIdentityStore();
    const r = resolver(withBatchOperations(store));
    await r.resolveBatch([ev('w1', { anonymousId: 'k1' }), ev('w2', { anonymousId: 'k2', userId: 'ku2' })], rules);
    const { items, stats } = await r.resolveBatch(
      [ev('w3', { anonymousId: 'k1' }), ev('w4', { anonymousId: 'k2', userId: 'ku2' }), ev('w5', { anonymousId: 'k1' })],
      rules,
    );
    expect(items.every((i) => i.outcome.status === 'resolved' && i.outcome.attempts === 1)).toBe(true);
    expect(stats).toMatchObject({ cacheHits: 3, cacheMisses: 0, cacheStale: 0, reads: 2, writes: { applied: 0, conflict: 0, skipped: 0 } });
    // A cold instance reads the identity documents once per batch.
    const cold = await resolver(withBatchOperations(store)).resolveBatch([ev('w6', { anonymousId: 'k1' }), ev('w7', { anonymousId: 'k2' })], rules);
    expect(cold.stats).toMatchObject({ cacheHits: 0, cacheMisses: 2, reads: 3 });
  });

  describe('with a profile cache', () => {
    it('a read-only batch of returning visitors reads only its checkpoint, no profile', async () => {
      const store = withBatchOperations(new InMemoryIdentityStore());
      const { r } = cachingResolver(store, 'a');
      const source = (offsets: number[]) => ({ source: { topic: 'events.raw', partition: 0, offsets } });
      await r.resolveBatch([ev('p1', { anonymousId: 'k1' }), ev('p2', { anonymousId: 'k2', userId: 'ku2' })], rules, source([0, 1]));
      const { items, stats } = await r.resolveBatch([ev('p3', { anonymousId: 'k1' }), ev('p4', { anonymousId: 'k2' })], rules, source([2, 3]));
      expect(items.every((i) => i.outcome.status === 'resolved' && i.outcome.attempts === 1)).toBe(true);
      expect(stats).toMatchObject({ cacheHits: 2, profileCacheHits: 2, profileCacheMisses: 0, reads: 0, writes: { applied: 0, conflict: 0, skipped: 0 } });
    });

    it('a profile another instance changed is read fresh once its invalidation arrives: the moved cookie resolves to its new owner', async () => {
      const store = withBatchOperations(new InMemoryIdentityStore());
      const a = cachingResolver(store, 'a');
      const b = cachingResolver(store, 'b');
      const alice = (await a.r.resolveBatch([ev('i1', { anonymousId: 'laptop', userId: 'alice' })], rules)).items[0]?.outcome.profileId;
      const moved = await b.r.resolveBatch([ev('i2', { anonymousId: 'laptop', userId: 'bob' })], rules);
      const bob = moved.items[0]?.outcome.profileId;
      expect(bob).not.toBe(alice);
      expect(moved.writtenProfiles).toContain(alice);
      a.profiles.invalidate(moved.writtenProfiles);
      const { items } = await a.r.resolveBatch([ev('i3', { anonymousId: 'laptop' })], rules);
      expect(items[0]?.outcome.profileId).toBe(bob);
    });

    it('what batches changed stays to be announced until announced, also of a batch that failed after changing it', async () => {
      const inner = new InMemoryIdentityStore();
      const base = withBatchOperations(inner);
      const failing = failingOnIdentifier(base, 'boom');
      const announcer = new ProfileWritesAnnouncer({
        producer: { send: async () => undefined },
        topics: { identityProfileWrites: 'identity.profile-writes' },
        instanceId: 'a',
      });
      const profiles = new ProfileCache({ maxEntries: 1000, ttlMs: 60_000 });
      profiles.followWhile(() => true);
      const r = new BatchResolver({ store: failing, cache: new IdentifierCache(1000), profileCache: profiles, announcer, newProfileId: ids('a'), now: clock });
      const alice = (await r.resolveBatch([ev('n1', { anonymousId: 'laptop', userId: 'alice' })], rules)).items[0]?.outcome.profileId as string;
      await announcer.announce();
      // The laptop moves off alice's profile (a change of it), then the batch fails.
      const moving = r.resolveBatch([ev('n2', { anonymousId: 'laptop', userId: 'bob' }), ev('n3', { anonymousId: 'boom' })], rules);
      await expect(moving).rejects.toThrow('store down');
      expect(announcer.toAnnounce()).toContain(alice);
      await r.resolveBatch([ev('n4', { anonymousId: 'laptop' })], rules);
      const toAnnounce = announcer.toAnnounce();
      expect(toAnnounce).toContain(alice);
      await announcer.announce();
      expect(announcer.toAnnounce()).toEqual([]);
    });

    it('a cached profile that does not list a fresh pointer is read again before planning: no conflicting write', async () => {
      const store = withBatchOperations(new InMemoryIdentityStore());
      const a = cachingResolver(store, 'a');
      const b = cachingResolver(store, 'b');
      const owner = (await a.r.resolveBatch([ev('f1', { anonymousId: 'k9' })], rules)).items[0]?.outcome.profileId;
      await b.r.resolveBatch([ev('f2', { anonymousId: 'k9', email: 'k9@x.io', type: 'identify' })], rules);
      // a's cached profile predates the email (its invalidation has not arrived); the email's pointer is read fresh
      const { items, stats } = await a.r.resolveBatch([ev('f3', { anonymousId: 'k9', email: 'k9@x.io', type: 'identify' })], rules);
      expect(items[0]?.outcome.profileId).toBe(owner);
      expect(items[0]?.outcome.identifiers).toHaveLength(2);
      expect(stats.writes.conflict).toBe(0);
    });
  });

  it('a cookie that another instance moved (shared laptop) is re-read, not resolved to its old owner', async () => {
    const store = withBatchOperations(new InMemoryIdentityStore());
    const a = resolver(store, 'a');
    const b = resolver(store, 'b');
    const [first] = (await a.resolveBatch([ev('s1', { anonymousId: 'laptop', userId: 'alice' })], rules)).items;
    const alice = first?.outcome.profileId;
    expect(a.cache.get('anonymousId:laptop')?.profileId).toBe(alice);
    const [moved] = (await b.resolveBatch([ev('s2', { anonymousId: 'laptop', userId: 'bob' })], rules)).items;
    const bob = moved?.outcome.profileId;
    expect(bob).not.toBe(alice);
    const { items, stats } = await a.resolveBatch([ev('s3', { anonymousId: 'laptop' })], rules);
    expect(items[0]?.outcome.profileId).toBe(bob);
    expect(stats.cacheStale).toBe(1);
    expect(a.cache.get('anonymousId:laptop')?.profileId).toBe(bob);
  });

  it('a profile that another instance merged is followed to the survivor (the cached pointer stays valid through the redirect)', async () => {
    const inner = new InMemoryIdentityStore();
    const store = withBatchOperations(inner);
    const a = resolver(store, 'a');
    const b = resolver(store, 'b');
    const anon = (await a.resolveBatch([ev('g1', { anonymousId: 'phone-cookie' })], rules)).items[0]?.outcome.profileId;
    const known = (await b.resolveBatch([ev('g2', { anonymousId: 'desk-cookie', userId: 'carol' })], rules)).items[0]?.outcome.profileId;
    const merged = (await b.resolveBatch([ev('g3', { anonymousId: 'phone-cookie', userId: 'carol' })], rules)).items[0]?.outcome;
    expect(merged?.profileId).toBe(known);
    expect(merged?.notices).toEqual([expect.objectContaining({ survivorId: known, loserId: anon })]);
    const { items, stats } = await a.resolveBatch([ev('g4', { anonymousId: 'phone-cookie' })], rules);
    expect(items[0]?.outcome.profileId).toBe(known);
    expect(stats.cacheStale + stats.cacheHits).toBe(1);
    expect(checkGraphInvariants(inner.snapshot(), rules, { quiescent: true })).toEqual([]);
  });

  it('an identifier split off elsewhere is re-read and resolves to the new profile', async () => {
    const inner = new InMemoryIdentityStore();
    const store = withBatchOperations(inner);
    const a = resolver(store, 'a');
    const profile = (await a.resolveBatch([ev('x1', { anonymousId: 'tablet', userId: 'dan' }), ev('x2', { anonymousId: 'tv', userId: 'dan' })], rules)).items[0]
      ?.outcome.profileId as string;
    const announced: string[] = [];
    const split = await runSplitOperation(
      store,
      { profileId: profile, identifiers: [{ type: 'anonymousId', value: 'tv' }], reason: 'family tv', operationId: 'split:t1' },
      {
        rules,
        now: clock,
        newProfileId: ids('s'),
        announce: async (plan) => {
          announced.push(plan.newProfileId);
          // When the announcement is made, nothing resolves to the new profile yet.
          expect(liveOwner(inner, 'anonymousId:tv')).toBe(profile);
        },
      },
    );
    expect(split.ok).toBe(true);
    const created = split.ok ? split.plan.newProfileId : '';
    expect(announced).toEqual([created]);
    const { items, stats } = await a.resolveBatch([ev('x3', { anonymousId: 'tv' }), ev('x4', { anonymousId: 'tablet' })], rules);
    expect(items.map((i) => i.outcome.profileId)).toEqual([created, profile]);
    expect(stats.cacheStale).toBe(1);
    // Re-sent with the same operation id: nothing written, the same answer.
    const again = await runSplitOperation(
      store,
      { profileId: profile, identifiers: [{ type: 'anonymousId', value: 'tv' }], reason: 'family tv', operationId: 'split:t1' },
      { rules, now: clock, newProfileId: ids('s'), announce: async () => undefined },
    );
    expect(again.ok && again.plan.alreadyApplied && again.plan.newProfileId).toBe(created);
  });

  it('a write that conflicts drops what the message read and re-plans on fresh documents', async () => {
    const inner = new InMemoryIdentityStore();
    const base = withBatchOperations(inner);
    const b = resolver(base, 'b');
    let interfered = false;
    const interfering: BatchIdentityStore = {
      ...base,
      applyWrite: async (write: GraphWrite): Promise<WriteResult> => {
        if (!interfered) {
          interfered = true;
          // Another instance links the same cookie to a user between our read and our first write.
          await b.resolveBatch([ev('i2', { anonymousId: 'shared', userId: 'erin' })], rules);
        }
        return base.applyWrite(write);
      },
    };
    const a = resolver(interfering, 'a');
    await resolver(base, 'c').resolveBatch([ev('i0', { anonymousId: 'shared' })], rules);
    const { items, stats } = await a.resolveBatch([ev('i1', { anonymousId: 'shared', email: 'erin@x.io', type: 'identify' })], rules);
    expect(stats.writes.conflict).toBeGreaterThan(0);
    expect(items[0]?.outcome.attempts).toBeGreaterThan(1);
    expect(items[0]?.outcome.profileId).toBe(liveOwner(inner, 'anonymousId:shared'));
    expect(liveOwner(inner, 'email:erin@x.io')).toBe(liveOwner(inner, 'userId:erin'));
    expect(checkGraphInvariants(inner.snapshot(), rules, { quiescent: true })).toEqual([]);
  });

  it('when a message fails, the messages before it are recorded as processed before the error propagates', async () => {
    const inner = new InMemoryIdentityStore();
    const base = withBatchOperations(inner);
    const failing = failingOnIdentifier(base, 'boom');
    await expect(resolver(failing).resolveBatch([ev('f1', { anonymousId: 'fine' }), ev('f2', { anonymousId: 'boom' })], rules)).rejects.toThrow('store down');
    expect(inner.processedRecords().map((r) => r._id)).toEqual(['f1']);
  });

  describe("a partition's checkpoint (processedUpTo)", () => {
    const source = (offsets: number[]) => ({ topic: 'events.raw', partition: 2, offsets });

    it('past the checkpoint (or with none yet), only messages whose plans will likely write read their processed records, in one go; first events of new visitors read none', async () => {
      const base = withBatchOperations(new InMemoryIdentityStore());
      const asked: string[][] = [];
      const store: BatchIdentityStore = {
        ...base,
        getProcessedMany: (ids) => (asked.push([...ids]), base.getProcessedMany(ids)),
        getProcessed: (id) => (asked.push([id]), base.getProcessed(id)),
      };
      const r = resolver(store);
      const first = await r.resolveBatch(
        [ev('c1', { anonymousId: 'k1' }), ev('c2', { anonymousId: 'k2', userId: 'ku2' }), ev('c2b', { anonymousId: 'k1', email: 'k1@x.io' })],
        rules,
        {
          source: source([10, 11, 12]),
        },
      );
      // none of their identifiers had a pointer when the batch began: never resolved before, no record to read
      expect(asked).toEqual([]);
      expect(first.stats.writes.applied).toBeGreaterThan(0);
      expect(await store.processedUpTo('events.raw', 2)).toBe(12);
      const next = await r.resolveBatch(
        [
          ev('c3', { anonymousId: 'k1' }),
          ev('c4', { anonymousId: 'k2', userId: 'ku2' }),
          ev('c5', { anonymousId: 'k3' }),
          ev('c6', { anonymousId: 'k2', userId: 'ku6' }),
        ],
        rules,
        { source: source([13, 14, 15, 16]) },
      );
      expect(next.items.map((i) => i.outcome.status)).toEqual(['resolved', 'resolved', 'resolved', 'resolved']);
      // the returning visitors write nothing and read no record; the new one (c5) reads none either; c6 adds a user id to a known profile
      expect(asked).toEqual([['c6']]);
      expect(await store.processedUpTo('events.raw', 2)).toBe(16);
      expect(await store.processedUpTo('events.raw', 1)).toBeNull();
    });

    it('a presumed-new message whose plan writes unexpectedly (a pointer to a redirect, repointed) reads its record just before writing', async () => {
      const at = new Date(T0).toISOString();
      const inner = new InMemoryIdentityStore();
      await inner.applyWrite({
        op: 'insertProfile',
        profile: newProfileRecord('k1', at, 'seed', { status: 'merged', mergedInto: 's', identifiers: [{ type: 'anonymousId', value: 'old' }] }),
      });
      await inner.applyWrite({ op: 'insertProfile', profile: newProfileRecord('s', at, 'seed', { identifiers: [{ type: 'anonymousId', value: 'old' }] }) });
      const pointer = {
        _id: 'anonymousId:old',
        type: 'anonymousId',
        value: 'old',
        profileId: 'k1',
        version: 1,
        createdAt: at,
        updatedAt: at,
        updatedBy: 'seed',
      };
      await inner.applyWrite({ op: 'insertIdentifier', identifier: pointer });
      const base = withBatchOperations(inner);
      const asked: string[][] = [];
      const store: BatchIdentityStore = {
        ...base,
        getProcessedMany: (ids) => (asked.push([...ids]), base.getProcessedMany(ids)),
        getProcessed: (id) => (asked.push([id]), base.getProcessed(id)),
      };
      const { items, stats } = await resolver(store).resolveBatch([ev('late-1', { anonymousId: 'old' })], rules, { source: source([0]) });
      expect(items[0]?.outcome).toMatchObject({ status: 'resolved', profileId: 's' });
      expect(stats.writes.applied).toBeGreaterThan(0); // the pointer now leads to the survivor
      expect(asked).toEqual([['late-1']]); // not predicted in the prefetch: read once, before the first write
    });

    it('is read from the store once per partition, then remembered; a re-delivery below it on this instance still replays from its record', async () => {
      const base = withBatchOperations(new InMemoryIdentityStore());
      const reads: number[] = [];
      const store: BatchIdentityStore = { ...base, processedUpTo: (topic, partition) => (reads.push(partition), base.processedUpTo(topic, partition)) };
      const r = resolver(store);
      await r.resolveBatch([ev('p1', { anonymousId: 'pk1' })], rules, { source: source([5]) });
      await r.resolveBatch([ev('p2', { anonymousId: 'pk2' })], rules, { source: source([6]) });
      await r.resolveBatch([ev('q1', { anonymousId: 'qk1' })], rules, { source: { topic: 'events.raw', partition: 3, offsets: [40] } });
      await r.resolveBatch([ev('q2', { anonymousId: 'qk2' })], rules, { source: { topic: 'events.raw', partition: 3, offsets: [41] } });
      expect(reads).toEqual([2, 3]); // each partition's first batch reads it (none yet); this instance's mark is remembered
      const again = await r.resolveBatch([ev('p1', { anonymousId: 'pk1' })], rules, { source: source([5]) });
      expect(again.items[0]?.outcome.status).toBe('duplicate');
      expect(reads).toEqual([2, 3]);
    });

    it('remembered lower than the store after another instance raised it: messages in between are presumed new and still resolve once', async () => {
      const inner = new InMemoryIdentityStore();
      const base = withBatchOperations(inner);
      const mine = resolver(base, 'm');
      await mine.resolveBatch([ev('o1', { anonymousId: 'ok1' })], rules, { source: source([20]) });
      // another instance owned the partition meanwhile and processed offsets 21-22
      const theirs = resolver(base, 't');
      const created = await theirs.resolveBatch([ev('o2', { anonymousId: 'ok2' }), ev('o3', { anonymousId: 'ok1', userId: 'ou3' })], rules, {
        source: source([21, 22]),
      });
      expect(await base.processedUpTo('events.raw', 2)).toBe(22);
      // they died before committing: both come back to this instance, which remembers 20
      const again = await mine.resolveBatch([ev('o2', { anonymousId: 'ok2' }), ev('o3', { anonymousId: 'ok1', userId: 'ou3' })], rules, {
        source: source([21, 22]),
      });
      expect(again.items.map((i) => i.outcome.profileId)).toEqual(created.items.map((i) => i.outcome.profileId));
      expect(again.stats.writes.applied).toBe(0);
      expect(checkGraphInvariants(inner.snapshot(), rules, { quiescent: true })).toEqual([]);
    });

    it('a re-delivery at or below the checkpoint replays from the processed records, even after a later merge', async () => {
      const inner = new InMemoryIdentityStore();
      const store = withBatchOperations(inner);
      const r = resolver(store);
      const anon = await r.resolveBatch([ev('r1', { anonymousId: 'rk' })], rules, { source: source([0]) });
      const known = await r.resolveBatch([ev('r2', { anonymousId: 'other', userId: 'ru' })], rules, { source: source([1]) });
      const login = await r.resolveBatch([ev('r3', { anonymousId: 'rk', userId: 'ru' })], rules, { source: source([2]) });
      expect(login.items[0]?.outcome.notices).toHaveLength(1); // the anonymous profile merged into the known one
      const again = await r.resolveBatch([ev('r1', { anonymousId: 'rk' })], rules, { source: source([0]) });
      expect(again.items[0]?.outcome).toMatchObject({ status: 'duplicate', profileId: anon.items[0]?.outcome.profileId });
      expect(known.items[0]?.outcome.profileId).not.toBe(anon.items[0]?.outcome.profileId);
    });

    it('past the checkpoint, a message whose plan would write reads its processed record first: sent twice, it changes the graph once', async () => {
      const inner = new InMemoryIdentityStore();
      const store = withBatchOperations(inner);
      const r = resolver(store);
      await r.resolveBatch([ev('s1', { anonymousId: 's-k1' })], rules, { source: source([0]) });
      // x1 was resolved before (by an instance that died before its checkpoint), but what it wrote is not in this graph
      // (its record is forged: a real one leaves a pointer, here s-k1's)
      await inner.putProcessed({
        _id: 'x1',
        status: 'resolved',
        profileId: 'p-elsewhere',
        identifiers: [],
        notices: [],
        auditIds: [],
        at: '2025-01-01T00:00:00Z',
        expiresAt: '2099-01-01T00:00:00Z',
      });
      const before = inner.snapshot();
      const { items, stats } = await r.resolveBatch([ev('x1', { anonymousId: 's-k1', userId: 's-new' })], rules, { source: source([1]) });
      expect(items[0]?.outcome).toMatchObject({ status: 'duplicate', profileId: 'p-elsewhere' });
      expect(stats.writes.applied).toBe(0);
      expect(inner.snapshot()).toEqual(before);
      // and a new message that writes: one read of its record, then its writes
      const fresh = await r.resolveBatch([ev('x2', { anonymousId: 's-k1', userId: 's-new' })], rules, { source: source([2]) });
      expect(fresh.items[0]?.outcome.status).toBe('resolved');
      expect(fresh.stats.writes.applied).toBeGreaterThan(0);
    });
  });

  it('the LRU keeps at most maxEntries pointers', async () => {
    const store = withBatchOperations(new InMemoryIdentityStore());
    const r = resolver(store, 'a', 3);
    await r.resolveBatch(
      ['l1', 'l2', 'l3', 'l4', 'l5'].map((c) => ev(`lru-${c}`, { anonymousId: c })),
      rules,
    );
    expect(r.cache.size).toBe(3);
    expect(r.cache.stats().evictions).toBe(2);
    expect(r.cache.get('anonymousId:l1')).toBeUndefined();
    expect(r.cache.get('anonymousId:l5')?.profileId).toBeDefined();
  });

  it.each([
    ['identifier caches', false],
    ['identifier and profile caches, invalidations delivered after each batch', true],
  ])('two instances with their own %s, random events and batches, interleaved at every await: the graph stays consistent', async (_name, profileCaches) => {
    const person = fc.record({
      cookie: fc.constantFrom('c1', 'c2', 'c3', 'c4'),
      user: fc.option(fc.constantFrom('u1', 'u2', 'u3'), { nil: undefined }),
      email: fc.option(fc.constantFrom('e1@x.io', 'e2@x.io'), { nil: undefined }),
    });
    const batch = fc.array(person, { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 4 }), fc.array(batch, { minLength: 1, maxLength: 4 }), async (batchesA, batchesB) => {
        const inner = new InMemoryIdentityStore();
        const store = withBatchOperations(inner);
        let n = 0;
        const toEvents = (b: { cookie: string; user: string | undefined; email: string | undefined }[]) =>
          b.map((p) => ev(`r${(n += 1)}`, { anonymousId: p.cookie, ...(p.user ? { userId: p.user } : {}), ...(p.email ? { email: p.email } : {}) }));
        const [a, b] = profileCaches
          ? [cachingResolver(store, 'a'), cachingResolver(store, 'b')]
          : [
              { r: resolver(store, 'a'), profiles: undefined },
              { r: resolver(store, 'b'), profiles: undefined },
            ];
        const other = (r: BatchResolver) => (r === a.r ? b : a);
        // each instance reads its own partition, so messages past its checkpoint are presumed new (and first events of new visitors known new)
        const offsets = new Map<BatchResolver, number>();
        const run = async (r: BatchResolver, batches: ReturnType<typeof toEvents>[]) => {
          for (const events of batches) {
            const from = offsets.get(r) ?? 0;
            offsets.set(r, from + events.length);
            const source = { topic: 'events.raw', partition: r === a.r ? 0 : 1, offsets: events.map((_, i) => from + i) };
            const { writtenProfiles } = await r.resolveBatch(events, rules, { source });
            other(r).profiles?.invalidate(writtenProfiles);
          }
        };
        await Promise.all([run(a.r, batchesA.map(toEvents)), run(b.r, batchesB.map(toEvents))]);
        // A second round, with warm (possibly stale) caches on both sides.
        await Promise.all([run(a.r, batchesB.map(toEvents)), run(b.r, batchesA.map(toEvents))]);
        expect(checkGraphInvariants(inner.snapshot(), rules, { quiescent: true, strictRedirects: false })).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
