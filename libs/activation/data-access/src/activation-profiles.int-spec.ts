// Activation's copy of a profile against the real MongoDB-wire server. Its two consumers
// (profiles.changes and segments.membership) write a new visitor's profile and segments at
// about the same moment; FerretDB rewrites a whole document on every update, so when both
// wrote one document one of the two updates was lost (the decision API then never knew the
// visitor, or forgot its segments). Each now writes its own document.
import { useTestConnection } from '@mosaic/shared-testing';
import { ActivationProfilesRepository } from './activation-profiles.repository';
import { ACTIVATION_COLLECTIONS, ensureActivationIndexes } from './documents';

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
