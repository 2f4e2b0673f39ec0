// The identity service against the real broker and MongoDB-wire server: raw events produced to
// events.raw, resolved messages read back from events.resolved with their keys, notices and
// profile ids; merge protection; replay; dead letters; split and the rest of the admin API.
import { Schemas, decodeMessage, type DeadLetter, type MergeNotice, type ResolvedEvent, type SplitNotice } from '@mosaic/contracts';
import { DEFAULT_IDENTITY_RULES, checkGraphInvariants, type ProfileRecord } from '@mosaic/identity-domain';
import type { StartedService } from '@mosaic/shared-service';
import { TEST_ADMIN_TOKEN, TopicTap, dropTestDatabase, startTestService, testInfra, waitFor } from '@mosaic/shared-testing';
import { identityDefinition } from './identity.definition';
import { IdentityService } from './identity.service';
import { decodedResolved, rawEvent, resolvedEvent, sendRaw, waitForMessageIds, withMessageId, type RawFields } from './identity-test-helpers';

jest.setTimeout(60_000);

let svc: StartedService;
let identity: IdentityService;
let tap: TopicTap;
let dlq: TopicTap;
let url: string;
// Profiles of the scenario, shared by the tests that follow it.
let ada: string;
let phoneProfile: string;
let bob: string;
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' };

beforeAll(async () => {
  svc = await startTestService(identityDefinition, {
    env: { MOSAIC_INSTANCE_ID: 'identity-it-1', IDENTITY_SWEEP_INTERVAL_SECONDS: '0', KAFKA_CONSUMER_MAX_RETRIES: '1', KAFKA_CONSUMER_RETRY_BACKOFF_MS: '20' },
  });
  url = svc.http.url;
  identity = svc.http.app.get(IdentityService);
  [tap, dlq] = await Promise.all([
    TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.eventsResolved),
    TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.dlqIdentity),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([tap?.stop(), dlq?.stop()]);
  await svc?.stop();
  await dropTestDatabase().catch(() => undefined);
});

/** Sends events (in order, each keyed as the collector would) and waits until all are resolved. */
async function resolve(...fields: RawFields[]): Promise<ReturnType<typeof resolvedEvent>[]> {
  const events = fields.map((f) => rawEvent(f));
  await sendRaw(svc.platform.producer, svc.platform.topics.eventsRaw, events);
  await waitForMessageIds(
    tap,
    events.map((e) => e.messageId),
  );
  return events.map((e) => resolvedEvent(tap, e.messageId));
}

async function api(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = admin,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const errorOf = (r: { json: Record<string, unknown> }) => r.json['error'] as { code: string; message: string; details?: { path: string; message: string }[] };

describe('resolution', () => {
  it('an anonymous visitor gets a profile; the resolved event is keyed by it, keeps the raw messageId and correlation id, and is contract-valid', async () => {
    const [first, second] = await resolve({ anonymousId: 'visitor-1' }, { anonymousId: 'visitor-1', event: 'Product Viewed', properties: { sku: 'CM-900' } });
    expect(first!.profileId).toMatch(/^p_[0-9a-z]{21}$/);
    expect(first!.key).toBe(first!.profileId);
    expect(second!.profileId).toBe(first!.profileId);
    const env = second!.envelope;
    const raw = withMessageId(tap, env.messageId)[0]!;
    expect(raw.msg.headers['correlationId']).toBe(`corr-${env.messageId}`);
    expect(raw.msg.headers['schema']).toBe('events.resolved@1');
    expect(env.producer).toBe('identity');
    const payload = env.payload as ResolvedEvent;
    expect(payload).toMatchObject({ kind: 'event', profileId: first!.profileId, identifiers: [{ type: 'anonymousId', value: 'visitor-1' }] });
    expect(payload.event).toMatchObject({ type: 'track', event: 'Product Viewed', messageId: env.messageId, properties: { sku: 'CM-900' } });
  });

  it('logging in with a new userId makes the anonymous profile known (nothing to merge)', async () => {
    const [anon, login] = await resolve(
      { anonymousId: 'visitor-2' },
      { anonymousId: 'visitor-2', userId: 'user-new', traits: { email: 'New.User@Example.com' } },
    );
    expect(login!.profileId).toBe(anon!.profileId);
    expect(withMessageId(tap, login!.envelope.messageId)).toHaveLength(1);
    expect((login!.envelope.payload as ResolvedEvent).identifiers).toEqual([
      { type: 'userId', value: 'user-new' },
      { type: 'email', value: 'new.user@example.com' },
      { type: 'anonymousId', value: 'visitor-2' },
    ]);
  });

  it('logging in on a second device merges the anonymous profile into the known one: notice first, same key, then the event; later events of the old cookie reach the survivor', async () => {
    ada = (await resolve({ anonymousId: 'ada-desk', userId: 'ada', traits: { email: 'ada@example.com' } }))[0]!.profileId;
    phoneProfile = (await resolve({ anonymousId: 'ada-phone', event: 'Product Viewed' }))[0]!.profileId;
    expect(phoneProfile).not.toBe(ada);
    const [login] = await resolve({ anonymousId: 'ada-phone', userId: 'ada' });
    expect(login!.profileId).toBe(ada);
    const notices = decodedResolved(tap).filter(
      (r) => r.envelope.payload.kind === 'merge' && (r.envelope.payload as MergeNotice).triggeringMessageId === login!.envelope.messageId,
    );
    expect(notices).toHaveLength(1);
    const notice = notices[0]!;
    expect(notice.envelope.payload).toMatchObject({
      kind: 'merge',
      survivorId: ada,
      loserId: phoneProfile,
      movedIdentifiers: [{ type: 'anonymousId', value: 'ada-phone' }],
    });
    expect(notice.envelope.messageId).toBe(`merge:${login!.envelope.messageId}:${phoneProfile}`);
    expect(notice.msg.key).toBe(ada);
    expect(notice.msg.headers['correlationId']).toBe(`corr-${login!.envelope.messageId}`);
    expect(notice.msg.partition).toBe(login!.partition);
    expect(Number(notice.msg.offset)).toBeLessThan(login!.offset);

    const [later] = await resolve({ anonymousId: 'ada-phone' });
    expect(later!.profileId).toBe(ada);
    const merged = await api('GET', `/v1/profiles/${phoneProfile}`);
    expect(merged.status).toBe(200);
    expect(merged.json).toMatchObject({
      requestedId: phoneProfile,
      profileId: ada,
      redirected: true,
      path: [phoneProfile, ada],
      requested: { status: 'merged', mergedInto: ada },
    });
    const survivor = await api('GET', `/v1/profiles/${ada}`);
    expect((survivor.json['profile'] as { mergeHistory: { profileId: string }[] }).mergeHistory).toEqual([
      expect.objectContaining({ profileId: phoneProfile, messageId: login!.envelope.messageId }),
    ]);
    const audit = await api('GET', `/v1/profiles/${phoneProfile}/audit`);
    expect((audit.json['records'] as { kind: string; rule: string }[]).map((r) => r.kind)).toEqual(['merge', 'created']);
  });

  it('shared laptop: a second person logging in on the same cookie gets the cookie moved to them, nobody is merged, and the audit says why', async () => {
    const [second] = await resolve({ anonymousId: 'ada-desk', userId: 'bob' });
    bob = second!.profileId;
    expect(bob).not.toBe(ada);
    expect(
      decodedResolved(tap).filter(
        (r) => r.envelope.payload.kind === 'merge' && (r.envelope.payload as MergeNotice).triggeringMessageId === second!.envelope.messageId,
      ),
    ).toHaveLength(0);
    expect((second!.envelope.payload as ResolvedEvent).identifiers).toEqual([
      { type: 'userId', value: 'bob' },
      { type: 'anonymousId', value: 'ada-desk' },
    ]);
    const lookup = await api('GET', '/v1/identities/anonymousId/ada-desk');
    expect(lookup.json).toMatchObject({ profileId: bob, record: { movedFrom: ada, movedBy: second!.envelope.messageId } });
    expect((await api('GET', '/v1/identities/userId/ada')).json['profileId']).toBe(ada);
    const audit = (await api('GET', `/v1/profiles/${bob}/audit`)).json['records'] as {
      kind: string;
      rule: string;
      triggeringMessageId: string;
      details: Record<string, unknown>;
    }[];
    const moved = audit.find((r) => r.kind === 'moved');
    expect(moved).toMatchObject({
      rule: 'limit:userId',
      triggeringMessageId: second!.envelope.messageId,
      details: { fromProfileId: ada, toProfileId: bob, identifier: { type: 'anonymousId', value: 'ada-desk' } },
    });
    expect(audit.some((r) => r.kind === 'refused' && r.rule === 'limit:userId')).toBe(true);
    // Ada's own audit names the move too (her cookie left).
    expect(((await api('GET', `/v1/profiles/${ada}/audit`)).json['records'] as { kind: string }[]).some((r) => r.kind === 'moved')).toBe(true);
    const [next] = await resolve({ anonymousId: 'ada-desk' });
    expect(next!.profileId).toBe(bob);
  });

  it('copies sent again (new offsets) change nothing in the graph, name the profile the graph names now and no new merge', async () => {
    const before = await identity.repository.readGraph();
    const noticesBefore = decodedResolved(tap).filter((r) => r.envelope.payload.kind === 'merge');
    const originals = tap.messages
      .map((m) => decodeMessage(Schemas.resolved, m.value))
      .filter((e) => e.payload.kind === 'event')
      .map((e) => (e.payload as ResolvedEvent).event);
    const count = tap.messages.length;
    await sendRaw(svc.platform.producer, svc.platform.topics.eventsRaw, originals);
    await tap.waitFor((msgs) => msgs.length >= count + originals.length);
    const all = decodedResolved(tap);
    const live = liveProfiles(before.profiles);
    for (const event of originals) {
      const copies = all.filter((r) => r.envelope.messageId === event.messageId && r.envelope.payload.kind === 'event');
      expect(copies).toHaveLength(2);
      const [first, again] = copies.map((c) => c.envelope.payload as ResolvedEvent);
      // past the partition's checkpoint a copy is resolved again (its processed record is read only
      // when its plan would write): to the same profile, or to the survivor of a later merge
      expect({ messageId: event.messageId, profileId: again!.profileId }).toEqual({ messageId: event.messageId, profileId: live(first!.profileId) });
      expect(again!.identifiers).toEqual(first!.identifiers);
      expect(copies[1]!.msg.key).toBe(again!.profileId);
    }
    // a merge the copy's message made is re-derived from the graph (planner.ts), under the same id
    const noticeIds = (list: typeof all) => new Set(list.filter((r) => r.envelope.payload.kind === 'merge').map((n) => n.envelope.messageId));
    expect(noticeIds(all)).toEqual(noticeIds(noticesBefore));
    expect(await identity.repository.readGraph()).toEqual(before);
    expect(checkGraphInvariants(before, DEFAULT_IDENTITY_RULES, { quiescent: true, strictRedirects: true })).toEqual([]);
  });

  it('an event with no usable identifier goes to the dead-letter topic with the reasons; bad input never stops the partition', async () => {
    const blocked = rawEvent({ anonymousId: 'anonymous', userId: 'undefined' });
    const garbage = { key: 'garbage', value: Buffer.from('{"not":"an envelope"'), headers: { messageId: 'garbage-1' } };
    await sendRaw(svc.platform.producer, svc.platform.topics.eventsRaw, [blocked]);
    await svc.platform.producer.send(svc.platform.topics.eventsRaw, [garbage]);
    const [after] = await resolve({ anonymousId: 'visitor-after-bad-input' });
    expect(after!.profileId).toMatch(/^p_/);
    await dlq.waitFor((msgs) => msgs.length >= 2);
    const letters = dlq.messages.map((m) => decodeMessage(Schemas.deadLetter, m.value).payload as DeadLetter);
    const unresolvable = letters.find((l) => l.error.name === 'UnresolvableEventError')!;
    expect(unresolvable.error.message).toMatch(/anonymousId "anonymous": blocked/);
    expect(unresolvable.error.message).toMatch(/userId "undefined": blocked/);
    expect(unresolvable).toMatchObject({ service: 'identity', sourceTopic: svc.platform.topics.eventsRaw, key: 'anonymous' });
    expect(dlq.messages.find((m) => decodeMessage(Schemas.deadLetter, m.value).payload.error.name === 'UnresolvableEventError')!.headers['correlationId']).toBe(
      `corr-${blocked.messageId}`,
    );
    expect(letters.find((l) => l.error.name === 'ContractViolationError')).toMatchObject({ key: 'garbage' });
    expect(withMessageId(tap, blocked.messageId)).toHaveLength(0);
  });
});

describe('admin API', () => {
  it('requires the admin token', async () => {
    expect((await api('GET', '/v1/rules', undefined, {})).status).toBe(401);
    expect((await api('GET', '/v1/profiles/x', undefined, { Authorization: 'Bearer wrong-token-0000000' })).status).toBe(401);
  });

  it('looks identifiers up (normalising email and phone) and answers 400/404 clearly', async () => {
    const email = await api('GET', `/v1/identities/email/${encodeURIComponent('  ADA@Example.COM ')}`);
    expect(email.status).toBe(200);
    expect(email.json).toMatchObject({
      identifier: { type: 'email', value: 'ada@example.com' },
      profileId: ada,
      record: { profileId: ada, version: expect.any(Number) },
    });
    const unknown = await api('GET', '/v1/identities/userId/nobody');
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown).message).toBe('identifier userId:nobody is not known');
    const badType = await api('GET', '/v1/identities/cookie/x');
    expect(badType.status).toBe(400);
    expect(errorOf(badType).message).toMatch(/unknown identifier type/);
    const badEmail = await api('GET', '/v1/identities/email/not-an-email');
    expect(badEmail.status).toBe(400);
    expect(errorOf(badEmail).message).toMatch(/exactly one @/);
    const badPhone = await api('GET', '/v1/identities/phone/0612345678');
    expect(errorOf(badPhone).message).toMatch(/international prefix/);
  });

  it('looks up named external ids (type external:<name> in the path)', async () => {
    const [event] = await resolve({
      anonymousId: 'visitor-crm',
      context: {
        externalIds: [
          { id: 'CRM-77', type: 'crm_id', collection: 'users', encoding: 'none' },
          { id: 'acme', type: 'account', collection: 'accounts', encoding: 'none' },
        ],
      },
    });
    expect((event!.envelope.payload as ResolvedEvent).identifiers).toEqual([
      { type: 'external:crm_id', value: 'CRM-77' },
      { type: 'anonymousId', value: 'visitor-crm' },
    ]);
    const found = await api('GET', `/v1/identities/external:crm_id/CRM-77`);
    expect(found.status).toBe(200);
    expect(found.json['profileId']).toBe(event!.profileId);
    expect((await api('GET', '/v1/identities/external:account/acme')).status).toBe(404);
  });

  it('profiles: 404 for unknown ids; a live profile answers itself', async () => {
    const missing = await api('GET', '/v1/profiles/p_nope');
    expect(missing.status).toBe(404);
    expect(errorOf(missing).message).toBe('profile p_nope not found');
    expect((await api('GET', '/v1/profiles/p_nope/audit')).status).toBe(404);
    expect((await api('GET', `/v1/profiles/${ada}/audit?limit=0`)).status).toBe(400);
    expect((await api('GET', `/v1/profiles/${ada}/audit?before=yesterday`)).status).toBe(400);
    const live = await api('GET', `/v1/profiles/${ada}`);
    expect(live.json).toMatchObject({ requestedId: ada, profileId: ada, redirected: false, path: [ada], profile: { status: 'active', known: true } });
    expect((live.json['profile'] as { identifiers: unknown[] }).identifiers).toEqual(
      expect.arrayContaining([
        { type: 'userId', value: 'ada' },
        { type: 'anonymousId', value: 'ada-phone' },
      ]),
    );
    const page = await api('GET', `/v1/profiles/${ada}/audit?limit=1`);
    expect((page.json['records'] as unknown[]).length).toBe(1);
    expect(typeof page.json['next']).toBe('string');
  });

  it('split: the new profile takes the identifiers and their future events; notices keyed by both profiles; idempotent per key; audit keeps the lineage', async () => {
    const res = await api(
      'POST',
      `/v1/profiles/${ada}/split`,
      { identifiers: [{ type: 'anonymousId', value: 'ada-phone' }], reason: 'the phone is her son’s' },
      { ...admin, 'Idempotency-Key': 'split-it-1' },
    );
    expect(res.status).toBe(201);
    const created = res.json['newProfileId'] as string;
    expect(res.json).toMatchObject({
      operationId: 'split:split-it-1',
      fromProfileId: ada,
      identifiers: [{ type: 'anonymousId', value: 'ada-phone' }],
      alreadyApplied: false,
    });
    expect(created).toMatch(/^p_/);
    await waitForMessageIds(tap, ['split:split-it-1:new', 'split:split-it-1:from']);
    const [toNew] = withMessageId(tap, 'split:split-it-1:new');
    const [toFrom] = withMessageId(tap, 'split:split-it-1:from');
    expect(toNew!.msg.key).toBe(created);
    expect(toFrom!.msg.key).toBe(ada);
    expect(toFrom!.envelope.payload).toEqual(toNew!.envelope.payload);
    expect(toFrom!.envelope.payload as SplitNotice).toMatchObject({
      kind: 'split',
      fromProfileId: ada,
      newProfileId: created,
      identifiers: [{ type: 'anonymousId', value: 'ada-phone' }],
      reason: 'the phone is her son’s',
    });

    expect((await api('GET', '/v1/identities/anonymousId/ada-phone')).json['profileId']).toBe(created);
    const [next] = await resolve({ anonymousId: 'ada-phone' });
    expect(next!.profileId).toBe(created);
    const [stillAda] = await resolve({ userId: 'ada' });
    expect(stillAda!.profileId).toBe(ada);

    const again = await api(
      'POST',
      `/v1/profiles/${ada}/split`,
      { identifiers: [{ type: 'anonymousId', value: 'ada-phone' }], reason: 'the phone is her son’s' },
      { ...admin, 'Idempotency-Key': 'split-it-1' },
    );
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ newProfileId: created, alreadyApplied: true });
    const newProfile = await api('GET', `/v1/profiles/${created}`);
    expect(newProfile.json['profile']).toMatchObject({ splitFrom: { profileId: ada, operationId: 'split:split-it-1' } });
    const audit = (await api('GET', `/v1/profiles/${created}/audit`)).json['records'] as { kind: string }[];
    expect(audit.map((r) => r.kind).sort()).toEqual(['created', 'split']);
    expect(checkGraphInvariants(await identity.repository.readGraph(), DEFAULT_IDENTITY_RULES, { quiescent: true })).toEqual([]);
  });

  it('split errors: 404 unknown profile, 409 merged profile, 400 naming the path for the rest', async () => {
    const post = (id: string, body: unknown, headers: Record<string, string> = admin) => api('POST', `/v1/profiles/${id}/split`, body, headers);
    expect((await post('p_nope', { identifiers: [{ type: 'anonymousId', value: 'x' }] })).status).toBe(404);
    const merged = await post(phoneProfile, { identifiers: [{ type: 'anonymousId', value: 'ada-phone' }] });
    expect(merged.status).toBe(409);
    expect(errorOf(merged).message).toMatch(new RegExp(`merged into ${ada}`));
    const foreign = await post(ada, { identifiers: [{ type: 'userId', value: 'bob' }] });
    expect(foreign.status).toBe(400);
    expect(errorOf(foreign).details).toEqual([{ path: 'identifiers[0]', message: `userId:bob does not belong to profile ${ada}` }]);
    const everything = await post(bob, {
      identifiers: [
        { type: 'userId', value: 'bob' },
        { type: 'anonymousId', value: 'ada-desk' },
      ],
    });
    expect(everything.status).toBe(400);
    expect(errorOf(everything).message).toMatch(/at least one must stay/);
    const empty = await post(ada, { identifiers: [] });
    expect(errorOf(empty).details).toEqual([{ path: 'identifiers', message: expect.stringMatching(/at least one/) }]);
    const badEntry = await post(ada, {
      identifiers: [
        { type: 'cookie', value: 'x' },
        { type: 'email', value: 'nope' },
      ],
      extra: 1,
    });
    expect(badEntry.status).toBe(400);
    expect(errorOf(badEntry).details!.map((d) => d.path)).toEqual(['extra', 'identifiers[0].type', 'identifiers[1]']);
    expect((await post(ada, [1, 2])).status).toBe(400);
    expect((await post(ada, '{not json')).status).toBe(400);
    expect((await post(ada, { identifiers: [{ type: 'userId', value: 'ada' }] }, { ...admin, 'Idempotency-Key': 'bad key!' })).status).toBe(400);
  });

  it('rules: GET the effective rules; PUT validates (400 naming each path), applies at once, and is used by resolution', async () => {
    const initial = await api('GET', '/v1/rules');
    expect(initial.json).toMatchObject({ version: 0, source: 'default', rules: { types: { userId: { limit: 1, priority: 1 } } } });
    const bad = await api('PUT', '/v1/rules', { types: { email: { limit: 0 }, fax: {} }, blocked: { patterns: ['(a+)+$'] } });
    expect(bad.status).toBe(400);
    expect(
      errorOf(bad)
        .details!.map((d) => d.path)
        .sort(),
    ).toEqual(['blocked.patterns[0]', 'types.email.limit', 'types.fax']);
    expect(errorOf(bad).message).toMatch(/types\.email\.limit: must be between 1 and 10000/);
    expect((await api('PUT', '/v1/rules', [1])).status).toBe(400);
    const ok = await api('PUT', '/v1/rules', { blocked: { values: ['', 'anonymous', 'null', 'undefined', 'test-user'] } });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({
      version: 1,
      source: 'stored',
      updatedBy: 'admin-api',
      rules: { blocked: { values: ['', 'anonymous', 'null', 'undefined', 'test-user'] } },
    });
    expect((await api('GET', '/v1/rules')).json['version']).toBe(1);
    const [event] = await resolve({ anonymousId: 'visitor-rules', userId: 'test-user' });
    expect((event!.envelope.payload as ResolvedEvent).identifiers).toEqual([{ type: 'anonymousId', value: 'visitor-rules' }]);
    expect((await api('PUT', '/v1/rules', {})).json).toMatchObject({ version: 2, rules: { blocked: { values: DEFAULT_IDENTITY_RULES.blocked.values } } });
  });

  it('serves OpenAPI, readiness (consumer included) and the identity metrics', async () => {
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/identities/{type}/{value}', '/v1/profiles/{id}', '/v1/profiles/{id}/audit', '/v1/profiles/{id}/split', '/v1/rules']),
    );
    const ready = await waitFor(async () => {
      const r = await fetch(`${url}/ready`);
      return r.status === 200 ? ((await r.json()) as { checks: { name: string; ok: boolean }[] }) : null;
    });
    expect(ready.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['mongodb', 'kafka-producer', 'kafka-consumers']));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/mosaic_identity_events_total\{outcome="resolved"[^}]*\} \d+/);
    expect(metrics).toMatch(/mosaic_identity_merges_total\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(/mosaic_identity_moves_total\{rule="limit:userId"/);
    expect(metrics).toMatch(/mosaic_identity_cache_lookups_total\{result="hit"/);
    expect(metrics).toMatch(/mosaic_identity_resolution_seconds_bucket/);
  });
});

/** Follows merge redirects: the live profile a profile id stands for now. */
function liveProfiles(profiles: readonly ProfileRecord[]): (id: string) => string {
  const byId = new Map(profiles.map((p) => [p._id, p]));
  return (id) => {
    let current = byId.get(id);
    while (current?.status === 'merged' && current.mergedInto) current = byId.get(current.mergedInto);
    return current?._id ?? id;
  };
}
