// Two identity instances (same topics, same database, different instance ids) consuming one
// events.raw whose events for the same people are keyed by different identifiers, so they land
// on different partitions and are resolved concurrently by different instances. The graph read
// back from MongoDB must satisfy the domain's invariants and match the generated truth
// (pairwise precision and recall 1.0); then a replay from the earliest offset (consumer group
// reset) must change nothing.
import { Kafka, logLevel } from 'kafkajs';
import type { MergeNotice, RawEvent, ResolvedEvent } from '@mosaic/contracts';
import { DEFAULT_IDENTITY_RULES, checkGraphInvariants, type IdentifierRecord, type ProfileRecord } from '@mosaic/identity-domain';
import type { StartedService } from '@mosaic/shared-service';
import { TopicTap, startTestService, testInfra, waitFor } from '@mosaic/shared-testing';
import { identityDefinition } from './identity.definition';
import { IdentityService } from './identity.service';
import { decodedResolved, instanceEnv, rawEvent, sendRaw, stopTestInstances } from './identity-test-helpers';

jest.setTimeout(90_000);

let a: StartedService | undefined;
let b: StartedService | undefined;
let tap: TopicTap;

afterAll(() => stopTestInstances(tap, [a, b]));

interface Person {
  userId: string;
  email: string;
  cookies: string[];
}

/** People × devices × logins, an email click, a POS purchase by email; person 0 and 1 share a family laptop. */
function population(n: number): { people: Person[]; events: { event: RawEvent; key: string }[]; laptop: string } {
  const people: Person[] = [];
  const byPerson: { event: RawEvent; key: string }[][] = [];
  const laptop = 'family-laptop';
  for (let i = 0; i < n; i += 1) {
    const p: Person = { userId: `user-${i}`, email: `person${i}@example.com`, cookies: [`desk-${i}`, `phone-${i}`, `mail-${i}`, `pos-${i}`] };
    people.push(p);
    const ev = (fields: Parameters<typeof rawEvent>[0], key: string) => ({ event: rawEvent(fields, `tw${i}`), key });
    byPerson.push([
      ev({ anonymousId: `desk-${i}`, event: 'Product Viewed' }, `desk-${i}`),
      ev({ anonymousId: `phone-${i}` }, `phone-${i}`),
      ev({ anonymousId: `desk-${i}`, userId: p.userId, traits: { email: p.email } }, `desk-${i}`),
      ev({ anonymousId: `phone-${i}`, userId: p.userId }, p.userId),
      ev({ anonymousId: `mail-${i}`, event: 'Email Link Clicked', properties: { email: p.email.toUpperCase() } }, p.email),
      ev({ anonymousId: `pos-${i}`, event: 'Order Completed', properties: { email: p.email, total: 42 } }, `pos-${i}`),
      ev({ anonymousId: `phone-${i}`, event: 'Product Viewed' }, `phone-${i}`),
    ]);
  }
  // The family laptop: person 0 logs in, then person 1 (same key, so in this order).
  byPerson[0]!.push({ event: rawEvent({ anonymousId: laptop, userId: people[0]!.userId }, 'tw-laptop'), key: laptop });
  byPerson[1]!.push({ event: rawEvent({ anonymousId: laptop, userId: people[1]!.userId }, 'tw-laptop'), key: laptop });
  // Interleave people round-robin so each instance works on everyone at once.
  const events: { event: RawEvent; key: string }[] = [];
  for (let step = 0; byPerson.some((list) => list.length > step); step += 1) for (const list of byPerson) if (list[step]) events.push(list[step]!);
  return { people, events, laptop };
}

function liveEnd(profiles: Map<string, ProfileRecord>, id: string): string | undefined {
  let current = profiles.get(id);
  for (let hops = 0; current && current.status === 'merged' && hops < 40; hops += 1)
    current = current.mergedInto ? profiles.get(current.mergedInto) : undefined;
  return current?.status === 'active' ? current._id : undefined;
}

function ownerOf(graph: { identifiers: IdentifierRecord[]; profiles: ProfileRecord[] }, key: string): string | undefined {
  const profiles = new Map(graph.profiles.map((p) => [p._id, p]));
  const record = graph.identifiers.find((r) => r._id === key);
  return record ? liveEnd(profiles, record.profileId) : undefined;
}

it('two instances converge to one profile per person (invariants hold, precision and recall 1.0); a replay from the earliest offset changes nothing', async () => {
  a = await startTestService(identityDefinition, { env: instanceEnv('identity-a') });
  b = await startTestService(identityDefinition, { env: instanceEnv('identity-b') });
  const topics = a.platform.topics;
  tap = await TopicTap.start(testInfra().kafkaBrokers, topics.eventsResolved);
  // Both instances own partitions before anything is produced.
  await waitFor(() => [a!, b!].every((s) => (s.platform.consumers().health().topics[0]?.assignedPartitions.length ?? 0) > 0), {
    timeoutMs: 30_000,
    message: 'both instances assigned',
  });

  const { people, events, laptop } = population(24);
  for (let i = 0; i < events.length; i += 20) {
    const chunk = events.slice(i, i + 20);
    const keys = new Map(chunk.map((c) => [c.event.messageId, c.key]));
    await sendRaw(
      a.platform.producer,
      topics.eventsRaw,
      chunk.map((c) => c.event),
      (e) => keys.get(e.messageId) as string,
    );
  }
  const ids = events.map((e) => e.event.messageId);
  await tap.waitFor((msgs) => {
    const seen = new Set(msgs.map((m) => m.headers['messageId']));
    return ids.every((id) => seen.has(id));
  }, 60_000);
  const partitionsOf = (svc: StartedService) => svc.platform.consumers().health().topics[0]?.assignedPartitions ?? [];
  expect(partitionsOf(a).length + partitionsOf(b).length).toBe(3);

  // Both instances resolved events (and raced on the same people). A batch delivered again (its
  // output's produce was retried, or a rebalance came before its commit) counts its events again
  // as duplicates; with a store that does not fail, every event counts once as resolved or unresolvable.
  const resolvedBy = async (svc: StartedService) =>
    (await svc.http.app.get(IdentityService).metrics.events.get()).values
      .filter((v) => v.labels['outcome'] !== 'duplicate')
      .reduce((sum, v) => sum + v.value, 0);
  expect(await resolvedBy(a)).toBeGreaterThan(0);
  expect(await resolvedBy(b)).toBeGreaterThan(0);
  expect((await resolvedBy(a)) + (await resolvedBy(b))).toBe(events.length);

  const identityA = a.http.app.get(IdentityService);
  const graph = await identityA.repository.readGraph();
  expect(checkGraphInvariants(graph, DEFAULT_IDENTITY_RULES, { quiescent: true, strictRedirects: true })).toEqual([]);

  // Ground truth: every identifier of a person leads to one live profile, a different one per person.
  const finalProfile = people.map((p, i) => {
    const keys = [`userId:${p.userId}`, `email:${p.email}`, ...p.cookies.map((c) => `anonymousId:${c}`), ...(i === 1 ? [`anonymousId:${laptop}`] : [])];
    const owners = new Set(keys.map((k) => ownerOf(graph, k)));
    expect({ person: i, owners: [...owners] }).toEqual({ person: i, owners: [expect.stringMatching(/^p_/)] });
    return [...owners][0] as string;
  });
  expect(new Set(finalProfile).size).toBe(people.length);
  // Pairwise precision and recall over all identifiers, against the truth.
  const truth = new Map<string, number>();
  people.forEach((p, i) => {
    for (const k of [`userId:${p.userId}`, `email:${p.email}`, ...p.cookies.map((c) => `anonymousId:${c}`)]) truth.set(k, i);
  });
  truth.set(`anonymousId:${laptop}`, 1);
  const keys = [...truth.keys()];
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let x = 0; x < keys.length; x += 1) {
    for (let y = x + 1; y < keys.length; y += 1) {
      const same = truth.get(keys[x]!) === truth.get(keys[y]!);
      const together = ownerOf(graph, keys[x]!) === ownerOf(graph, keys[y]!);
      if (same && together) tp += 1;
      else if (together) fp += 1;
      else if (same) fn += 1;
    }
  }
  expect({ precision: tp / (tp + fp), recall: tp / (tp + fn) }).toEqual({ precision: 1, recall: 1 });

  // Every resolved event's profile leads (through redirects) to its person's profile.
  const profiles = new Map(graph.profiles.map((p) => [p._id, p]));
  const personOfMessage = new Map<string, number>();
  events.forEach((e) =>
    personOfMessage.set(e.event.messageId, Number(/^tw(\d+)-/.exec(e.event.messageId)?.[1] ?? (e.event.userId === people[1]!.userId ? 1 : 0))),
  );
  const resolvedBefore = decodedResolved(tap);
  for (const r of resolvedBefore) {
    if (r.envelope.payload.kind !== 'event') continue;
    const payload = r.envelope.payload as ResolvedEvent;
    expect(r.msg.key).toBe(payload.profileId);
    expect(liveEnd(profiles, payload.profileId)).toBe(finalProfile[personOfMessage.get(r.envelope.messageId)!]);
  }
  // Merge notices: keyed by their survivor, each before the event that caused it on that partition.
  const notices = resolvedBefore.filter((r) => r.envelope.payload.kind === 'merge');
  expect(notices.length).toBeGreaterThan(people.length - 1);
  for (const n of notices) {
    const notice = n.envelope.payload as MergeNotice;
    expect(n.msg.key).toBe(notice.survivorId);
    const event = resolvedBefore.find((r) => r.envelope.messageId === notice.triggeringMessageId && r.envelope.payload.kind === 'event')!;
    expect(event.msg.partition).toBe(n.msg.partition);
    expect(Number(n.msg.offset)).toBeLessThan(Number(event.msg.offset));
  }

  // ---- Replay: stop both, reset the group to the earliest offset, resolve everything again.
  await Promise.all([a.stop(), b.stop()]);
  b = undefined;
  const kafka = new Kafka({ clientId: 'it-reset', brokers: testInfra().kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${testInfra().topicPrefix}identity.eventsRaw`;
  await admin.resetOffsets({ groupId, topic: topics.eventsRaw, earliest: true });
  await admin.disconnect();
  const before = tap.messages.length;
  a = await startTestService(identityDefinition, { env: instanceEnv('identity-c') });
  await tap.waitFor((msgs) => msgs.length >= before * 2, 60_000);
  await new Promise((r) => setTimeout(r, 500));
  const all = decodedResolved(tap);
  expect(all.length).toBe(before * 2);
  const byId = new Map<string, typeof all>();
  for (const r of all) byId.set(r.envelope.messageId, [...(byId.get(r.envelope.messageId) ?? []), r]);
  for (const [id, copies] of byId) {
    // Each message (event or notice) exactly twice: same key, same payload.
    expect({ id, copies: copies.length }).toEqual({ id, copies: 2 });
    expect(copies[1]!.msg.key).toBe(copies[0]!.msg.key);
    expect(copies[1]!.envelope.payload).toEqual(copies[0]!.envelope.payload);
  }
  const after = await a.http.app.get(IdentityService).repository.readGraph();
  expect(after).toEqual(graph);
});
