// SplitProfile over the domain's in-memory store and a recording sender (pure, no I/O): the
// profiles a split wrote are dropped from the instance's profile cache and announced on
// identity.profile-writes, also when the split fails half-way; a split refused before it writes
// announces nothing.
import { Schemas, decodeMessage, type ProfileWrites } from '@mosaic/contracts';
import { DEFAULT_IDENTITY_RULES, InMemoryIdentityStore, type ProfileRecord } from '@mosaic/identity-domain';
import { IdentifierCache, ProfileCache, withBatchOperations } from '@mosaic/identity-data-access';
import type { MessageSender, OutboundMessage } from '@mosaic/shared-kafka';
import { BatchResolver } from './batch-resolver';
import { ProfileWritesAnnouncer } from './profile-writes.announcer';
import { SplitProfile } from './split-profile.use-case';

const TOPICS = { eventsResolved: 'events.resolved', identityProfileWrites: 'identity.profile-writes' };
const T0 = Date.UTC(2025, 0, 1);

/** Keeps what was sent; `failOn` names a topic whose sends fail ("broker down"). */
class RecordingSender implements MessageSender {
  readonly sent: { topic: string; messages: OutboundMessage[] }[] = [];
  failOn: string | undefined;

  async send(topic: string, messages: OutboundMessage[]): Promise<void> {
    if (topic === this.failOn) throw new Error(`${topic}: broker down`);
    this.sent.push({ topic, messages });
  }

  /** The profile ids of every identity.profile-writes record, one list per record. */
  announcements(): string[][] {
    return this.sent
      .filter((s) => s.topic === TOPICS.identityProfileWrites)
      .flatMap((s) => s.messages.map((m) => (decodeMessage(Schemas.profileWrites, m.value).payload as ProfileWrites).profileIds));
  }
}

/** A store holding one profile with a laptop's and a tv's anonymous ids and a user id; the profile cached. */
async function setUp(): Promise<{
  split: SplitProfile;
  sender: RecordingSender;
  announcer: ProfileWritesAnnouncer;
  profiles: ProfileCache;
  profileId: string;
}> {
  let seq = 0;
  const next = (prefix: string) => () => `${prefix}${(seq += 1)}`;
  const now = () => new Date(T0 + seq * 1000);
  const inner = new InMemoryIdentityStore();
  const store = withBatchOperations(inner);
  const profiles = new ProfileCache({ maxEntries: 100, ttlMs: 60_000 });
  profiles.followWhile(() => true);
  const resolver = new BatchResolver({ store, cache: new IdentifierCache(100), profileCache: profiles, newProfileId: next('p'), now });
  const event = (messageId: string, anonymousId: string) => ({
    type: 'identify',
    messageId,
    anonymousId,
    userId: 'dan',
    properties: {},
    traits: {},
    context: {},
  });
  const { items } = await resolver.resolveBatch([event('m1', 'laptop'), event('m2', 'tv')], DEFAULT_IDENTITY_RULES);
  const profileId = items[0]?.outcome.profileId as string;
  profiles.set(inner.view().profiles.get(profileId) as ProfileRecord);
  const sender = new RecordingSender();
  const announcer = new ProfileWritesAnnouncer({ producer: sender, topics: TOPICS, instanceId: 'identity-test' });
  const split = new SplitProfile({
    repository: inner,
    cache: resolver.cache,
    profileCache: profiles,
    rules: { current: () => ({ rules: DEFAULT_IDENTITY_RULES, version: 1 }) },
    producer: sender,
    topics: TOPICS,
    announcer,
    newProfileId: next('s'),
    maxAttempts: 3,
    onSplit: () => undefined,
    now,
  });
  return { split, sender, announcer, profiles, profileId };
}

const tv = [{ type: 'anonymousId', value: 'tv' }];

describe('SplitProfile and the profile cache', () => {
  it('a split drops both profiles from the cache and announces them once', async () => {
    const { split, sender, profiles, profileId } = await setUp();
    const result = await split.execute({ profileId, identifiers: tv, reason: 'family tv' });
    if (!result.ok) throw new Error(`split refused: ${JSON.stringify(result)}`);
    expect(profiles.get(profileId)).toBeUndefined();
    expect(sender.announcements()).toEqual([[profileId, result.plan.newProfileId]]);
  });

  it('a split refused before it writes announces nothing and keeps the cache', async () => {
    const { split, sender, profiles, profileId } = await setUp();
    expect(await split.execute({ profileId: 'p-none', identifiers: tv, reason: 'no such profile' })).toMatchObject({ ok: false, reason: 'not_found' });
    expect(await split.execute({ profileId, identifiers: [{ type: 'anonymousId', value: 'not-its' }], reason: 'not its' })).toMatchObject({ ok: false });
    expect(sender.sent).toEqual([]);
    expect(profiles.get(profileId)?._id).toBe(profileId);
  });

  it('a split that fails half-way (its notice cannot be produced) still drops and announces what it wrote', async () => {
    const { split, sender, profiles, profileId } = await setUp();
    sender.failOn = TOPICS.eventsResolved;
    await expect(split.execute({ profileId, identifiers: tv, reason: 'family tv', idempotencyKey: 'k1' })).rejects.toThrow('broker down');
    expect(profiles.get(profileId)).toBeUndefined();
    const [announced, ...more] = sender.announcements();
    expect(more).toEqual([]);
    expect(announced?.[0]).toBe(profileId);
    expect(announced).toHaveLength(2);

    // The retry with the same key completes the split into the same new profile, and announces it again.
    sender.failOn = undefined;
    const retried = await split.execute({ profileId, identifiers: tv, reason: 'family tv', idempotencyKey: 'k1' });
    if (!retried.ok) throw new Error(`retry refused: ${JSON.stringify(retried)}`);
    expect(retried.plan.newProfileId).toBe(announced?.[1]);
    expect(sender.announcements()).toEqual([announced, announced]);
  });

  it('a split whose announcement Kafka refused leaves its profiles to the next announcement', async () => {
    const { split, sender, announcer, profileId } = await setUp();
    sender.failOn = TOPICS.identityProfileWrites;
    await expect(split.execute({ profileId, identifiers: tv, reason: 'family tv' })).rejects.toThrow('broker down');
    const pending = announcer.toAnnounce();
    expect(pending[0]).toBe(profileId);
    expect(pending).toHaveLength(2);
    sender.failOn = undefined;
    await announcer.announce();
    expect(sender.announcements()).toEqual([pending]);
    expect(announcer.toAnnounce()).toEqual([]);
  });
});
