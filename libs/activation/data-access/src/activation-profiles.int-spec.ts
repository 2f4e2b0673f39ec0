// Activation's copy of a profile against the real MongoDB-wire server. Its two consumers
// (profiles.changes and segments.membership) write a new visitor's profile and segments at
// about the same moment; FerretDB rewrites a whole document on every update, so when both
// wrote one document one of the two updates was lost (the decision API then never knew the
// visitor, or forgot its segments). Each now writes its own document.
import { useTestConnection } from '@mosaic/shared-testing';
import { ActivationProfilesRepository } from './activation-profiles.repository';
import { ACTIVATION_COLLECTIONS, type ActivationMembershipDocument, ensureActivationIndexes } from './documents';

jest.setTimeout(60_000);

const db = useTestConnection();
let repo: ActivationProfilesRepository;

const put = (id: string, version: number, traits: Record<string, unknown> = {}) =>
  repo.putProfiles([{ profileId: id, profile: { identifiers: [{ type: 'anonymousId', value: `anon-${id}` }], traits, computed: {} }, version }]);

beforeAll(async () => {
  await ensureActivationIndexes(db.conn);
  repo = new ActivationProfilesRepository(db.conn, true);
});

it('keeps both the profile and its segments when the two consumers write one profile at the same moment', async () => {
  const ids = Array.from({ length: 30 }, (_, i) => `race-${i}`);
  for (const [i, id] of ids.entries()) {
    await Promise.all([put(id, 1, { n: -1 }), repo.putMembership(id, 'new', true, 1)]); // created by either
    await Promise.all([put(id, 2, { n: i }), repo.putMembership(id, 'vip', true, 2)]); // then both update it
  }
  for (const [i, id] of ids.entries()) {
    expect(await repo.findByIdKeys([`anonymousId:anon-${id}`])).toMatchObject({ profileId: id, segments: ['new', 'vip'], traits: { n: i } });
  }
  const round = await repo.findByIds(ids);
  expect([...round.values()].filter((p) => p.profile === null || p.segments.join() !== 'new,vip')).toEqual([]);
});

it('serves the segments of a profile whose memberships arrived before its first change', async () => {
  await repo.putMembership('early', 'vip', true, 1);
  expect(await repo.findByIds(['early'])).toEqual(new Map([['early', { profile: null, segments: ['vip'] }]]));
  expect(await repo.findByIdKeys(['anonymousId:anon-early'])).toBeNull();
  await put('early', 1, { plan: 'gold' });
  expect(await repo.findByIdKeys(['anonymousId:anon-early'])).toMatchObject({ profileId: 'early', segments: ['vip'], traits: { plan: 'gold' } });
});

it('moves the segments an older version kept on profile documents to membership documents once, then ignores older membership versions', async () => {
  await db.conn.db!.collection(ACTIVATION_COLLECTIONS.profiles).insertOne({
    _id: 'legacy',
    profile: JSON.stringify({ identifiers: [{ type: 'anonymousId', value: 'anon-legacy' }], traits: {}, computed: {} }),
    profileVersion: 1,
    segments: ['old', 'kept'],
    membershipVersion: 4,
    idKeys: ['anonymousId:anon-legacy'],
    updatedAt: new Date(),
  } as never);
  const segments = async () => (await repo.findByIdKeys(['anonymousId:anon-legacy']))?.segments;
  expect(await segments()).toEqual(['old', 'kept']); // read from the legacy document until moved
  expect(await repo.moveLegacyMemberships()).toBe(1);
  expect(await repo.moveLegacyMemberships()).toBe(0); // once per database
  expect(await segments()).toEqual(['old', 'kept']);
  await repo.putMembership('legacy', 'stale', true, 3); // older than what the legacy document holds
  expect(await segments()).toEqual(['old', 'kept']);
  await repo.putMembership('legacy', 'new', true, 5);
  await repo.putMembership('legacy', 'old', false, 6);
  await repo.putMembership('legacy', 'stale', true, 5);
  expect(await segments()).toEqual(['kept', 'new']);
  expect((await repo.findByIds(['legacy'])).get('legacy')?.segments).toEqual(['kept', 'new']);
});

it('serves no segments, not a missing list, for a profile whose first membership change was an exit', async () => {
  await put('exit-first', 1);
  await repo.putMembership('exit-first', 'vip', false, 1);
  expect(await repo.findByIdKeys(['anonymousId:anon-exit-first'])).toMatchObject({ profileId: 'exit-first', segments: [] });
  // stored as an empty list, as a batch's write stores it: no reader has to default it
  expect(await db.conn.db!.collection(ACTIVATION_COLLECTIONS.memberships).findOne({ _id: 'exit-first' as never })).toMatchObject({
    segments: [],
    membershipVersion: 1,
  });
  await repo.putMembership('exit-first', 'vip', true, 3);
  await repo.putMembership('exit-first', 'old', true, 2); // older than what is held: ignored
  expect((await repo.findByIds(['exit-first'])).get('exit-first')?.segments).toEqual(['vip']);
});

describe('a batch of membership changes', () => {
  const change = (profileId: string, segmentKey: string, entered: boolean, profileVersion: number) => ({
    profileId,
    segmentKey,
    change: entered ? ('entered' as const) : ('exited' as const),
    profileVersion,
  });
  const held = async (id: string) => {
    const d = await db.conn.db!.collection(ACTIVATION_COLLECTIONS.memberships).findOne({ _id: id as never });
    return d && { segments: [...(d['segments'] as string[])].sort(), version: d['membershipVersion'] as number };
  };

  it('leaves each profile as applying its changes one at a time would, also when its first change is an exit', async () => {
    await repo.putMembership('b-4', 'a', true, 1);
    const batch = [
      change('b-4', 'a', false, 2),
      change('b-4', 'c', true, 3),
      change('b-1', 'a', true, 1),
      change('b-2', 'x', false, 1),
      change('b-1', 'b', true, 2),
      change('b-3', 'a', true, 1),
      change('b-1', 'a', false, 3),
      change('b-3', 'a', false, 2),
      change('b-3', 'a', true, 3),
    ];
    await repo.putMemberships(batch);
    const expected = {
      'b-1': { segments: ['b'], version: 3 },
      'b-2': { segments: [], version: 1 },
      'b-3': { segments: ['a'], version: 3 },
      'b-4': { segments: ['c'], version: 3 },
    };
    const all = async () => ({ 'b-1': await held('b-1'), 'b-2': await held('b-2'), 'b-3': await held('b-3'), 'b-4': await held('b-4') });
    expect(await all()).toEqual(expected);
    expect((await repo.findByIds(['b-2'])).get('b-2')).toEqual({ profile: null, segments: [] });

    await repo.putMemberships(batch); // redelivered
    await repo.putMemberships([change('b-1', 'b', false, 2), change('b-1', 'c', true, 3)]); // older than what is held
    expect(await all()).toEqual(expected);
  });

  it('applies only the changes newer than what is held when a batch was partly applied before', async () => {
    await repo.putMembership('part', 'a', true, 1);
    await repo.putMembership('part', 'b', true, 2);
    await repo.putMemberships([
      change('fresh', 'a', true, 1),
      change('part', 'a', true, 1),
      change('part', 'b', true, 2),
      change('part', 'a', false, 3),
      change('part', 'c', true, 4),
      change('fresh', 'b', true, 2),
    ]);
    expect(await held('part')).toEqual({ segments: ['b', 'c'], version: 4 });
    expect(await held('fresh')).toEqual({ segments: ['a', 'b'], version: 2 });
  });

  // One process sends one bulk write at a time (limitBulkUpdates), so here the second call's
  // one-at-a-time fallback runs while the first call's chunks are written.
  it('ends the same when a second instance applies the same batch meanwhile (a rebalance)', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `twice-${i}`);
    const batch = ids.flatMap((id) => [change(id, 'a', true, 1), change(id, 'b', true, 2), change(id, 'a', false, 3)]);
    await Promise.all([repo.putMemberships(batch), repo.putMemberships(batch)]);
    for (const id of ids) expect({ id, held: await held(id) }).toEqual({ id, held: { segments: ['b'], version: 3 } });
  });

  it("ends the same when the batch is delivered again after a crash between a profile's exits and its entries", async () => {
    await repo.putMembership('cut', 'a', true, 1);
    await repo.putMembership('cut', 'b', true, 2);
    const batch = [change('cut', 'a', false, 3), change('cut', 'c', true, 4)];
    // what the exits' update leaves before the entries' update runs: `a` gone, the version still 2
    const memberships = db.conn.db!.collection<ActivationMembershipDocument>(ACTIVATION_COLLECTIONS.memberships);
    await memberships.updateOne({ _id: 'cut' }, { $pullAll: { segments: ['a'] } });
    await repo.putMemberships(batch);
    expect(await held('cut')).toEqual({ segments: ['b', 'c'], version: 4 });
  });
});
