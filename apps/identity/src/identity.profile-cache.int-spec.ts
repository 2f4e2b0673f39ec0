// Two identity instances with their profile caches, against the real broker and store: the
// instance that resolved a visitor keeps the visitor's profile cached; a split through the other
// instance reaches it through identity.profile-writes, so its next event for a moved identifier
// goes to the new profile, not to the cached old one.
import type { ResolvedEvent } from '@mosaic/contracts';
import type { StartedService } from '@mosaic/shared-service';
import { TopicTap, startTestService, testInfra, waitFor } from '@mosaic/shared-testing';
import { identityDefinition } from './identity.definition';
import { IdentityService } from './identity.service';
import { decodedResolved, instanceEnv, rawEvent, sendRaw, stopTestInstances } from './identity-test-helpers';

jest.setTimeout(120_000);

let a: StartedService | undefined;
let b: StartedService | undefined;
let tap: TopicTap;

afterAll(() => stopTestInstances(tap, [a, b]));

const identity = (svc: StartedService) => svc.http.app.get(IdentityService);

/** Sends one event and waits for its resolution; returns the profile it went to. */
async function resolve(svc: StartedService, fields: Parameters<typeof rawEvent>[0]): Promise<string> {
  const event = rawEvent(fields, 'pc');
  await sendRaw(svc.platform.producer, svc.platform.topics.eventsRaw, [event]);
  await tap.waitFor((msgs) => msgs.some((m) => m.headers['messageId'] === event.messageId), 60_000);
  const resolved = decodedResolved(tap).find((r) => r.envelope.messageId === event.messageId && r.envelope.payload.kind === 'event');
  return (resolved?.envelope.payload as ResolvedEvent).profileId;
}

it('a profile changed through another instance is dropped from the resolving instance’s cache, and its next event follows the change', async () => {
  a = await startTestService(identityDefinition, { env: instanceEnv('identity-pc-a') });
  b = await startTestService(identityDefinition, { env: instanceEnv('identity-pc-b') });
  tap = await TopicTap.start(testInfra().kafkaBrokers, a.platform.topics.eventsResolved);
  const services = [a, b];
  await waitFor(
    () => services.every((s) => (s.platform.consumers().health().topics[0]?.assignedPartitions.length ?? 0) > 0 && identity(s).profileCache.stats().following),
    {
      timeoutMs: 60_000,
      message: 'both instances assigned and following identity.profile-writes',
    },
  );

  const owner = await resolve(a, { anonymousId: 'pc-laptop', userId: 'pc-user' });
  // Resolved again by the same instance (same key, same partition): now from its cache.
  expect(await resolve(a, { anonymousId: 'pc-laptop' })).toBe(owner);
  const holder = services.find((s) => identity(s).profileCache.get(owner) !== undefined);
  const other = services.find((s) => s !== holder);
  if (!holder || !other) throw new Error(`expected exactly one instance to cache ${owner}`);

  const split = await identity(other).splitProfile.execute({
    profileId: owner,
    identifiers: [{ type: 'anonymousId', value: 'pc-laptop' }],
    reason: 'a shared laptop',
  });
  if (!split.ok) throw new Error(`split refused: ${JSON.stringify(split)}`);
  await waitFor(() => identity(holder).profileCache.get(owner) === undefined, { timeoutMs: 60_000, message: 'the holder dropped the split profile' });

  expect(await resolve(a, { anonymousId: 'pc-laptop' })).toBe(split.plan.newProfileId);
});
