import { applyPlan } from './apply';
import { extractIdentifiers, extractionKeys } from './extract';
import { InMemoryIdentityStore } from './in-memory-store';
import { findOrphanProfiles } from './invariants';
import { loadResolutionView } from './loader';
import { newProfileRecord, type GraphWrite, type IdentifierRecord, type ProfileRecord } from './model';
import { NoIdentifiersError, planResolution } from './planner';
import { resolveEvent } from './resolve';
import { DEFAULT_IDENTITY_RULES, identityRules } from './rules';
import { alias, emailClick, identify, makeBed, page, T0 } from './test-helpers';

const QUIESCENT = { quiescent: true, strictRedirects: true };

describe('new visitor', () => {
  it('creates a profile with all identifiers and resolves the event to it', async () => {
    const bed = makeBed();
    const out = await bed.send(page({ anonymousId: 'a1', email: 'ada@x.io' }));
    expect(out.status).toBe('resolved');
    expect(out.profileId).toBe('p0001');
    expect(out.identifiers).toEqual([
      { type: 'email', value: 'ada@x.io' },
      { type: 'anonymousId', value: 'a1' },
    ]);
    expect(out.plan?.creates).toEqual([{ profileId: 'p0001', identifiers: out.plan?.identifiers.slice().reverse() }]);
    expect(out.plan?.writes.map((w) => w.op)).toEqual(['insertProfile', 'insertIdentifier', 'insertIdentifier', 'replaceProfile']);
    expect(out.audit).toEqual([expect.objectContaining({ kind: 'created', rule: 'new-identifiers', profileId: 'p0001', triggeringMessageId: out.messageId })]);
    expect(out.notices).toEqual([]);
    const [profile] = bed.store.snapshot().profiles;
    expect(profile).toMatchObject({ _id: 'p0001', status: 'active', version: 2, pending: [], known: false, createdBy: out.messageId });
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });

  it('marks a profile created with a userId as known', async () => {
    const bed = makeBed();
    await bed.send(identify({ userId: 'u1', anonymousId: 'a1' }));
    expect(bed.store.snapshot().profiles[0]?.known).toBe(true);
  });

  it('throws NoIdentifiersError when planning without identifiers', () => {
    expect(() =>
      planResolution({
        messageId: 'm',
        extraction: { identifiers: [], aliases: [], dropped: [] },
        view: { identifiers: new Map(), profiles: new Map() },
        rules: DEFAULT_IDENTITY_RULES,
        now: new Date(T0),
        newProfileId: () => 'p',
      }),
    ).toThrow(NoIdentifiersError);
  });

  it('reports an event with only blocked identifiers as unresolvable, and stores that', async () => {
    const bed = makeBed();
    const out = await bed.send(page({ anonymousId: 'anonymous', userId: 'null' }));
    expect(out.status).toBe('unresolvable');
    expect(out.profileId).toBeUndefined();
    expect(out.dropped.map((d) => d.reason)).toEqual(['blocked', 'blocked']);
    expect(bed.store.snapshot()).toEqual({ identifiers: [], profiles: [] });
    expect(bed.store.processedRecords()[0]).toMatchObject({ status: 'unresolvable' });
  });

  it('an unresolvable event sent again resolves once the rules stop blocking its identifier (a replayed dead letter)', async () => {
    const store = new InMemoryIdentityStore();
    const strict = makeBed(identityRules({ blocked: { values: ['visitor-7'] } }), { store });
    const event = page({ anonymousId: 'visitor-7' });
    expect(await strict.send(event)).toMatchObject({ status: 'unresolvable', dropped: [expect.objectContaining({ reason: 'blocked' })] });
    // the same rules: unresolvable again, naming why (not "already dead-lettered")
    expect(await strict.send(event)).toMatchObject({ status: 'unresolvable', dropped: [expect.objectContaining({ reason: 'blocked' })] });
    const fixed = makeBed(identityRules({ blocked: { values: [] } }), { store });
    expect(await fixed.send(event)).toMatchObject({ status: 'resolved', profileId: 'p0001' });
    expect((await fixed.send(event)).status).toBe('duplicate');
  });
});

describe('known identifiers on one live profile', () => {
  it('resolves without writing anything', async () => {
    const bed = makeBed();
    const first = await bed.send(page({ anonymousId: 'a1' }));
    const again = await bed.send(page({ anonymousId: 'a1' }));
    expect(again.profileId).toBe(first.profileId);
    expect(again.plan?.writes).toEqual([]);
  });

  it('attaches new identifiers to the profile', async () => {
    const bed = makeBed();
    const first = await bed.send(page({ anonymousId: 'a1' }));
    const out = await bed.send(identify({ anonymousId: 'a1', userId: 'u1', email: 'Ada@X.io', phone: '+44 20 7946 0958' }));
    expect(out.profileId).toBe(first.profileId);
    expect(out.plan?.attaches).toEqual([
      {
        profileId: first.profileId,
        identifiers: [
          { type: 'email', value: 'ada@x.io' },
          { type: 'phone', value: '+442079460958' },
          { type: 'userId', value: 'u1' },
        ],
      },
    ]);
    expect(out.plan?.creates).toEqual([]);
    expect(bed.store.snapshot().profiles).toHaveLength(1);
    expect(bed.store.snapshot().profiles[0]?.known).toBe(true);
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });

  it('refuses an identifier over its limit but still resolves the event (limit on email)', async () => {
    const bed = makeBed();
    const first = await bed.send(identify({ userId: 'u1' }));
    for (let i = 1; i <= 5; i += 1) await bed.send(identify({ userId: 'u1', email: `e${i}@x.io` }));
    const out = await bed.send(identify({ userId: 'u1', email: 'e6@x.io' }));
    expect(out.profileId).toBe(first.profileId);
    expect(out.identifiers).toEqual([{ type: 'userId', value: 'u1' }]);
    expect(out.refused).toEqual([
      { identifier: { type: 'email', value: 'e6@x.io' }, reason: 'attach-refused', rule: 'limit:email', violation: { type: 'email', limit: 5, count: 6 } },
    ]);
    expect(out.audit).toEqual([expect.objectContaining({ kind: 'refused', rule: 'limit:email', details: expect.objectContaining({ outcome: 'dropped' }) })]);
    expect(bed.profileOf('email', 'e6@x.io')).toBeUndefined();
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });

  it('a profile over a lowered limit stays usable but does not grow in that type', async () => {
    const bed = makeBed();
    const p = (await bed.send(identify({ userId: 'u1', email: 'a@x.io' }))).profileId;
    await bed.send(identify({ userId: 'u1', email: 'b@x.io' }));
    const strict = identityRules({ types: { email: { limit: 1 } } });
    const out = await resolveEvent(bed.store, identify({ userId: 'u1', email: 'c@x.io', anonymousId: 'a9' }), { ...bed.deps, rules: strict });
    expect(out.profileId).toBe(p);
    expect(out.identifiers.map((i) => i.value)).toEqual(['u1', 'a9']);
    expect(out.refused.map((r) => r.identifier.value)).toEqual(['c@x.io']);
  });
});

describe('merges', () => {
  it('known profile survives an anonymous one, even when younger; the loser redirects', async () => {
    const bed = makeBed();
    const anon = (await bed.send(page({ anonymousId: 'cookie' }))).profileId as string;
    const known = (await bed.send(identify({ userId: 'u1', email: 'ada@x.io' }))).profileId as string;
    const out = await bed.send(identify({ userId: 'u1', anonymousId: 'cookie' }));
    expect(out.profileId).toBe(known);
    expect(out.plan?.merges).toEqual([{ loserId: anon, survivorId: known, movedIdentifiers: [{ type: 'anonymousId', value: 'cookie' }], derived: false }]);
    expect(out.notices).toEqual([
      {
        kind: 'merge',
        survivorId: known,
        loserId: anon,
        reason: 'anonymousId:cookie links both profiles; known profile survives an anonymous one',
        triggeringMessageId: out.messageId,
        movedIdentifiers: [{ type: 'anonymousId', value: 'cookie' }],
        at: new Date(bed.now() - 1000).toISOString(),
      },
    ]);
    expect(out.audit).toEqual([
      expect.objectContaining({ kind: 'merge', rule: 'shared-identifier', profileId: known, details: expect.objectContaining({ loserId: anon }) }),
    ]);
    const loser = bed.store.snapshot().profiles.find((p) => p._id === anon) as ProfileRecord;
    expect(loser).toMatchObject({ status: 'merged', mergedInto: known, mergedBy: out.messageId });
    expect(Date.parse(loser.expiresAt as string) - Date.parse(loser.mergedAt as string)).toBe(DEFAULT_IDENTITY_RULES.redirectTtlMs);
    const survivor = bed.store.snapshot().profiles.find((p) => p._id === known) as ProfileRecord;
    expect(survivor.mergedFrom).toEqual([{ profileId: anon, messageId: out.messageId, at: loser.mergedAt }]);
    // The pointer was repointed: no redirect needed any more.
    expect(bed.store.snapshot().identifiers.find((r) => r._id === 'anonymousId:cookie')?.profileId).toBe(known);
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });

  it('between two anonymous profiles the older survives', async () => {
    const bed = makeBed();
    const older = (await bed.send(page({ anonymousId: 'a1' }))).profileId;
    const younger = (await bed.send(page({ anonymousId: 'a2' }))).profileId;
    const out = await bed.send(page({ anonymousId: 'a2', email: 'x@x.io' }));
    expect(out.profileId).toBe(younger);
    const merge = await bed.send(emailClick('x@x.io'));
    expect(merge.profileId).toBe(younger);
    const link = await bed.send(page({ anonymousId: 'a1', email: 'x@x.io' }));
    expect(link.profileId).toBe(older);
    expect(link.plan?.merges.map((m) => [m.loserId, m.survivorId])).toEqual([[younger, older]]);
    expect(link.notices[0]?.reason).toContain('older profile survives');
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });

  it('among known profiles (userId limit raised) the older survives', async () => {
    const bed = makeBed(identityRules({ types: { userId: { limit: 2 } } }));
    const older = (await bed.send(identify({ userId: 'u1' }))).profileId;
    const younger = (await bed.send(identify({ userId: 'u2' }))).profileId;
    const out = await bed.send(alias('u2', 'u1'));
    expect(out.profileId).toBe(older);
    expect(out.plan?.merges.map((m) => m.loserId)).toEqual([younger]);
  });

  it('merges three profiles in one event: one notice per loser, before the event', async () => {
    const bed = makeBed();
    const p1 = (await bed.send(page({ anonymousId: 'a1' }))).profileId;
    const p2 = (await bed.send(page({ anonymousId: 'a2' }))).profileId;
    const p3 = (await bed.send(identify({ userId: 'u3' }))).profileId;
    const out = await bed.send(identify({ userId: 'u3', anonymousId: 'a1', email: 'z@x.io', externalIds: [{ id: 'crm-1', type: 'crm_id' }] }));
    // The anonymous ids come from one event field, so link a2 through the email first.
    expect(out.profileId).toBe(p3);
    const out2 = await bed.send(page({ anonymousId: 'a2', email: 'z@x.io' }));
    expect(out2.profileId).toBe(p3);
    expect(out.plan?.merges.map((m) => m.loserId)).toEqual([p1]);
    expect(out2.plan?.merges.map((m) => m.loserId)).toEqual([p2]);

    const bed2 = makeBed();
    const q1 = (await bed2.send(page({ anonymousId: 'a1' }))).profileId;
    const q2 = (await bed2.send(page({ anonymousId: 'a2', email: 'e2@x.io' }))).profileId;
    const q3 = (await bed2.send(page({ anonymousId: 'a3', externalIds: [{ id: '9', type: 'pos' }] }))).profileId;
    const all = await bed2.send(page({ anonymousId: 'a1', email: 'e2@x.io', externalIds: [{ id: '9', type: 'pos' }] }));
    expect(all.profileId).toBe(q1);
    expect(all.notices.map((n) => [n.loserId, n.survivorId])).toEqual([
      [q2, q1],
      [q3, q1],
    ]);
    expect(
      bed2.store
        .snapshot()
        .profiles.filter((p) => p.status === 'active')
        .map((p) => p._id),
    ).toEqual([q1]);
    expect(bed2.invariants(QUIESCENT)).toEqual([]);
  });

  it('a chain of merges keeps every redirect pointing at the live survivor', async () => {
    const bed = makeBed();
    const p1 = (await bed.send(page({ anonymousId: 'a1' }))).profileId as string;
    const p2 = (await bed.send(page({ anonymousId: 'a2' }))).profileId as string;
    const p3 = (await bed.send(identify({ userId: 'u1' }))).profileId as string;
    await bed.send(page({ anonymousId: 'a2', email: 'e@x.io' }));
    await bed.send(page({ anonymousId: 'a1', email: 'e@x.io' })); // p2 → p1
    const out = await bed.send(identify({ userId: 'u1', anonymousId: 'a1' })); // p1 → p3
    expect(out.profileId).toBe(p3);
    const profiles = new Map(bed.store.snapshot().profiles.map((p) => [p._id, p]));
    expect(profiles.get(p1)).toMatchObject({ status: 'merged', mergedInto: p3 });
    // p2 was merged into p1 earlier; it is retargeted to p3, not left behind a redirect.
    expect(profiles.get(p2)).toMatchObject({ status: 'merged', mergedInto: p3 });
    expect(
      profiles
        .get(p3)
        ?.mergedFrom.map((e) => e.profileId)
        .sort(),
    ).toEqual([p1, p2].sort());
    for (const key of ['anonymousId:a1', 'anonymousId:a2', 'email:e@x.io'])
      expect(bed.profileOf(key.split(':')[0] as string, key.slice(key.indexOf(':') + 1))).toBe(p3);
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });

  it('refuses a merge that breaks a non-userId limit and moves the weaker identifier instead', async () => {
    const bed = makeBed();
    const known = (await bed.send(identify({ userId: 'u1' }))).profileId as string;
    for (const e of ['e1', 'e2', 'e3']) await bed.send(identify({ userId: 'u1', email: `${e}@x.io` }));
    const other = (await bed.send(page({ anonymousId: 'a2', email: 'e4@x.io' }))).profileId as string;
    for (const e of ['e5', 'e6']) await bed.send(page({ anonymousId: 'a2', email: `${e}@x.io` }));
    const out = await bed.send(identify({ userId: 'u1', anonymousId: 'a2' }));
    expect(out.profileId).toBe(known);
    expect(out.plan?.merges).toEqual([]);
    expect(out.plan?.moves).toEqual([{ identifier: { type: 'anonymousId', value: 'a2' }, fromProfileId: other, toProfileId: known, rule: 'limit:email' }]);
    expect(out.audit.map((a) => [a.kind, a.rule])).toEqual([
      ['moved', 'limit:email'],
      ['refused', 'limit:email'],
    ]);
    expect(bed.profileOf('anonymousId', 'a2')).toBe(known);
    expect(bed.profileOf('email', 'e4@x.io')).toBe(other);
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });
});

describe('merge protection: the shared family laptop', () => {
  it('a second person logging in gets the event and the cookie; nobody is merged', async () => {
    const bed = makeBed();
    const before = await bed.send(page({ anonymousId: 'laptop' }));
    const ann = (await bed.send(identify({ anonymousId: 'laptop', userId: 'ann', email: 'ann@x.io' }))).profileId as string;
    expect(ann).toBe(before.profileId); // Ann was the first to log in: the anonymous browsing is hers.
    await bed.send(page({ anonymousId: 'laptop' }));

    const bob = await bed.send(identify({ anonymousId: 'laptop', userId: 'bob', email: 'bob@x.io' }));
    expect(bob.profileId).not.toBe(ann);
    expect(bob.plan?.merges).toEqual([]);
    expect(bob.plan?.creates).toEqual([
      {
        profileId: bob.profileId,
        identifiers: expect.arrayContaining([
          { type: 'anonymousId', value: 'laptop' },
          { type: 'userId', value: 'bob' },
        ]),
      },
    ]);
    expect(bob.plan?.moves).toEqual([
      { identifier: { type: 'anonymousId', value: 'laptop' }, fromProfileId: ann, toProfileId: bob.profileId, rule: 'limit:userId' },
    ]);
    const moved = bob.audit.find((a) => a.kind === 'moved');
    expect(moved).toMatchObject({
      rule: 'limit:userId',
      triggeringMessageId: bob.messageId,
      profileId: bob.profileId,
      details: {
        fromProfileId: ann,
        toProfileId: bob.profileId,
        anchor: { identifier: 'userId:bob', priority: 1 },
        violation: { type: 'userId', limit: 1, count: 2 },
      },
    });
    expect(bob.audit.find((a) => a.kind === 'refused')).toMatchObject({ rule: 'limit:userId', details: { outcome: 'moved', ownerProfileId: ann } });

    // From this event on, the cookie is Bob's; Ann keeps her identifiers and history.
    expect((await bed.send(page({ anonymousId: 'laptop' }))).profileId).toBe(bob.profileId);
    expect(bed.profileOf('userId', 'ann')).toBe(ann);
    expect(bed.profileOf('email', 'ann@x.io')).toBe(ann);
    expect(bed.store.snapshot().profiles.find((p) => p._id === ann)?.identifiers).toEqual([
      { type: 'email', value: 'ann@x.io' },
      { type: 'userId', value: 'ann' },
    ]);
    // Ann logs in again: the cookie moves back.
    const again = await bed.send(identify({ anonymousId: 'laptop', userId: 'ann' }));
    expect(again.profileId).toBe(ann);
    expect(again.plan?.moves.map((m) => [m.fromProfileId, m.toProfileId])).toEqual([[bob.profileId, ann]]);
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });

  it('the second person who already has a profile gets the cookie moved to it', async () => {
    const bed = makeBed();
    const bob = (await bed.send(identify({ anonymousId: 'phone-bob', userId: 'bob' }))).profileId;
    const ann = (await bed.send(identify({ anonymousId: 'laptop', userId: 'ann' }))).profileId;
    const out = await bed.send(page({ anonymousId: 'laptop', userId: 'bob' }));
    expect(out.profileId).toBe(bob);
    expect(out.plan?.moves.map((m) => [m.fromProfileId, m.toProfileId])).toEqual([[ann, bob]]);
  });

  it('does not move an identifier as strong as the anchor (two emails of two people)', async () => {
    const bed = makeBed();
    const ann = (await bed.send(identify({ userId: 'ann', email: 'ann@x.io' }))).profileId;
    const bob = (await bed.send(identify({ userId: 'bob', email: 'bob@x.io' }))).profileId;
    const out = await bed.send({
      type: 'identify',
      messageId: 'both',
      traits: { email: 'ann@x.io' },
      context: { traits: { email: 'bob@x.io' } },
      properties: {},
    });
    expect(out.profileId).toBe(ann);
    expect(out.plan?.moves).toEqual([]);
    expect(out.refused).toEqual([
      expect.objectContaining({ identifier: { type: 'email', value: 'bob@x.io' }, reason: 'merge-refused', rule: 'limit:userId', ownerProfileId: bob }),
    ]);
    expect(bed.profileOf('email', 'bob@x.io')).toBe(bob);
  });
});

describe('alias', () => {
  it('links the previous anonymous id to the user (merging its profile)', async () => {
    const bed = makeBed();
    const anon = (await bed.send(page({ anonymousId: 'anon-7' }))).profileId;
    const user = (await bed.send(identify({ userId: 'u1' }))).profileId;
    const out = await bed.send(alias('u1', 'anon-7'));
    expect(out.profileId).toBe(user);
    expect(out.plan?.merges.map((m) => m.loserId)).toEqual([anon]);
    expect(bed.profileOf('anonymousId', 'anon-7')).toBe(user);
  });

  it('records an unknown previousId as an anonymousId of the user', async () => {
    const bed = makeBed();
    const out = await bed.send(alias('u1', 'old-cookie'));
    expect(out.identifiers).toEqual([
      { type: 'userId', value: 'u1' },
      { type: 'anonymousId', value: 'old-cookie' },
    ]);
    expect(bed.profileOf('anonymousId', 'old-cookie')).toBe(out.profileId);
  });

  it('resolves a previousId that is a known userId as a userId (and the userId limit refuses the merge)', async () => {
    const bed = makeBed();
    const old = (await bed.send(identify({ userId: 'old-id' }))).profileId;
    const out = await bed.send(alias('new-id', 'old-id'));
    expect(out.profileId).not.toBe(old);
    expect(out.refused).toEqual([expect.objectContaining({ identifier: { type: 'userId', value: 'old-id' }, rule: 'limit:userId', ownerProfileId: old })]);
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });

  it('alias on a shared laptop follows merge protection (the cookie moves)', async () => {
    const bed = makeBed();
    const ann = (await bed.send(identify({ anonymousId: 'laptop', userId: 'ann' }))).profileId;
    const out = await bed.send(alias('bob', 'laptop'));
    expect(out.profileId).not.toBe(ann);
    expect(out.plan?.moves.map((m) => m.identifier.value)).toEqual(['laptop']);
  });
});

describe('redirects and repairs', () => {
  const profile = (id: string, fields: Partial<ProfileRecord> = {}): ProfileRecord => newProfileRecord(id, new Date(T0).toISOString(), 'seed', fields);
  function pointer(type: string, value: string, profileId: string): IdentifierRecord {
    const at = new Date(T0).toISOString();
    return { _id: `${type}:${value}`, type, value, profileId, version: 1, createdAt: at, updatedAt: at, updatedBy: 'seed' };
  }
  async function seed(profiles: ProfileRecord[], pointers: IdentifierRecord[]): Promise<InMemoryIdentityStore> {
    const store = new InMemoryIdentityStore();
    for (const p of profiles) await store.applyWrite({ op: 'insertProfile', profile: p });
    for (const r of pointers) await store.applyWrite({ op: 'insertIdentifier', identifier: r });
    return store;
  }

  it('follows a redirect chain to the live profile and tidies pointer and redirects', async () => {
    const store = await seed(
      [
        profile('k1', { status: 'merged', mergedInto: 'k2', identifiers: [{ type: 'anonymousId', value: 'old' }] }),
        profile('k2', { status: 'merged', mergedInto: 's' }),
        profile('s', {
          identifiers: [
            { type: 'anonymousId', value: 'old' },
            { type: 'userId', value: 'u' },
          ],
          known: true,
        }),
      ],
      [pointer('anonymousId', 'old', 'k1'), pointer('userId', 'u', 's')],
    );
    const bed = makeBed(DEFAULT_IDENTITY_RULES, { store });
    const out = await bed.send(page({ anonymousId: 'old' }));
    expect(out.profileId).toBe('s');
    expect(out.plan?.writes).toEqual([
      expect.objectContaining({ op: 'repointIdentifier', key: 'anonymousId:old', fromProfileId: 'k1', toProfileId: 's' }),
      expect.objectContaining({ op: 'retargetRedirect', profileId: 'k1', fromMergedInto: 'k2', toMergedInto: 's' }),
    ]);
    expect(store.snapshot().identifiers[0]?.profileId).toBe('s');
    expect(store.snapshot().profiles[0]?.mergedInto).toBe('s');
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });

  it('reclaims an identifier whose profile no longer exists (expired redirect)', async () => {
    const store = await seed([], [pointer('anonymousId', 'ghost', 'gone')]);
    const bed = makeBed(DEFAULT_IDENTITY_RULES, { store });
    const out = await bed.send(page({ anonymousId: 'ghost' }));
    expect(out.plan?.writes.map((w) => w.op)).toEqual(['insertProfile', 'replaceIdentifier', 'replaceProfile']);
    expect(store.snapshot().identifiers[0]).toMatchObject({ profileId: out.profileId, version: 2 });
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });

  it('counts another operation’s reservation for the limits and keeps it', async () => {
    const at = new Date(T0).toISOString();
    const store = await seed(
      [
        profile('s', {
          identifiers: [{ type: 'userId', value: 'u' }],
          known: true,
          pending: [{ kind: 'acquire', type: 'userId', value: 'u', messageId: 'other', at }],
        }),
      ],
      [],
    );
    // 'u' is reserved by an in-flight create of another instance (no pointer yet); our event reaches s through a2.
    await store.applyWrite({ op: 'insertIdentifier', identifier: pointer('anonymousId', 'a2', 's') });
    const bed = makeBed(DEFAULT_IDENTITY_RULES, { store });
    const out = await bed.send(identify({ anonymousId: 'a2', userId: 'u-other' }));
    // u-other would be a second userId on s (counting the reservation): refused, a2 moves.
    expect(out.profileId).not.toBe('s');
    expect(out.plan?.moves.map((m) => m.identifier.value)).toEqual(['a2']);
    expect(store.snapshot().profiles.find((p) => p._id === 's')?.pending).toEqual([{ kind: 'acquire', type: 'userId', value: 'u', messageId: 'other', at }]);
  });

  it('drops an abandoned reservation after pendingClaimTtlMs', async () => {
    const at = new Date(T0 - DEFAULT_IDENTITY_RULES.pendingClaimTtlMs - 1).toISOString();
    const store = await seed(
      [
        profile('s', {
          identifiers: [
            { type: 'anonymousId', value: 'a2' },
            { type: 'userId', value: 'u' },
          ],
          pending: [{ kind: 'acquire', type: 'userId', value: 'u', messageId: 'crashed', at }],
        }),
      ],
      [pointer('anonymousId', 'a2', 's')],
    );
    const bed = makeBed(DEFAULT_IDENTITY_RULES, { store });
    const out = await bed.send(identify({ anonymousId: 'a2', userId: 'u-other' }));
    expect(out.profileId).toBe('s');
    expect(store.snapshot().profiles[0]?.identifiers).toEqual([
      { type: 'anonymousId', value: 'a2' },
      { type: 'userId', value: 'u-other' },
    ]);
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });
});

describe('idempotence', () => {
  it('a re-delivered message is replayed from its processed record: same profile, same notices, no writes', async () => {
    const bed = makeBed();
    await bed.send(page({ anonymousId: 'cookie' }));
    await bed.send(identify({ userId: 'u1' }));
    const event = identify({ userId: 'u1', anonymousId: 'cookie' });
    const first = await bed.send(event);
    const before = bed.store.snapshot();
    const writes = bed.store.stats.writes;
    const again = await bed.send(event);
    expect(again.status).toBe('duplicate');
    expect(again.profileId).toBe(first.profileId);
    expect(again.notices).toEqual(first.notices);
    expect(bed.store.stats.writes).toBe(writes);
    expect(bed.store.snapshot()).toEqual(before);
  });

  it('without the record, re-planning an applied message writes nothing and re-derives its merge notices', async () => {
    const bed = makeBed();
    await bed.send(page({ anonymousId: 'cookie' }));
    await bed.send(identify({ userId: 'u1' }));
    const event = identify({ userId: 'u1', anonymousId: 'cookie', email: 'new@x.io' });
    const first = await bed.send(event);
    bed.store.forgetProcessed(event.messageId);
    const before = bed.store.snapshot();
    const again = await bed.send(event);
    expect(again.status).toBe('resolved');
    expect(again.plan?.writes).toEqual([]);
    expect(again.profileId).toBe(first.profileId);
    expect(again.notices.map((n) => [n.loserId, n.survivorId, n.triggeringMessageId])).toEqual(
      first.notices.map((n) => [n.loserId, n.survivorId, n.triggeringMessageId]),
    );
    expect(again.notices[0]?.movedIdentifiers).toEqual(first.notices[0]?.movedIdentifiers);
    expect(new Set(again.audit.map((a) => a.id))).toEqual(new Set(first.audit.filter((a) => a.kind === 'merge').map((a) => a.id)));
    expect(bed.store.snapshot()).toEqual(before);
  });

  it('applying the same plan twice is detected: the second application conflicts and changes nothing', async () => {
    const store = new InMemoryIdentityStore();
    const event = identify({ userId: 'u1', anonymousId: 'a1' });
    const extraction = extractIdentifiers(event, DEFAULT_IDENTITY_RULES);
    const view = await loadResolutionView(store, extractionKeys(extraction), event.messageId);
    const plan = planResolution({ messageId: event.messageId, extraction, view, rules: DEFAULT_IDENTITY_RULES, now: new Date(T0), newProfileId: () => 'p1' });
    expect(await applyPlan(store, plan)).toEqual({ status: 'applied', applied: plan.writes.length, skipped: 0 });
    const after = store.snapshot();
    const second = await applyPlan(store, plan);
    expect(second).toMatchObject({ status: 'conflict', conflictAt: 0, applied: 0 });
    expect(store.snapshot()).toEqual(after);
  });
});

describe('conflicts and partial application', () => {
  it('two planners racing on a new identifier: the loser re-plans onto the winner’s profile', async () => {
    const store = new InMemoryIdentityStore();
    const rules = DEFAULT_IDENTITY_RULES;
    const e1 = page({ anonymousId: 'shared', email: 'a@x.io' });
    const e2 = page({ anonymousId: 'shared', email: 'b@x.io' });
    const plan = async (event: typeof e1, id: string) => {
      const extraction = extractIdentifiers(event, rules);
      const view = await loadResolutionView(store, extractionKeys(extraction), event.messageId);
      return planResolution({ messageId: event.messageId, extraction, view, rules, now: new Date(T0), newProfileId: () => id });
    };
    const p1 = await plan(e1, 'p1');
    const p2 = await plan(e2, 'p2');
    expect((await applyPlan(store, p1)).status).toBe('applied');
    const racing = await applyPlan(store, p2);
    expect(racing.status).toBe('conflict');
    // p2 was inserted (orphan, no pointer) before the conflict: harmless, unreachable.
    const bed = makeBed(rules, { store });
    const out = await resolveEvent(store, e2, bed.deps);
    expect(out.profileId).toBe('p1');
    expect(bed.profileOf('email', 'b@x.io')).toBe('p1');
    expect(bed.invariants()).toEqual([]);
  });

  /** A store where another instance's write lands just before our n-th strict write. */
  function racingStore(store: InMemoryIdentityStore, trigger: (write: GraphWrite) => boolean, competitor: () => Promise<unknown>): InMemoryIdentityStore {
    let fired = false;
    const original = store.applyWrite.bind(store);
    store.applyWrite = async (write) => {
      if (!fired && trigger(write)) {
        fired = true;
        await competitor();
      }
      return original(write);
    };
    return store;
  }

  it('inside resolveEvent: a create that loses the race re-plans, and its empty profile becomes a redirect', async () => {
    const other = makeBed(DEFAULT_IDENTITY_RULES, { idPrefix: 'other' });
    const store = racingStore(
      other.store,
      (w) => w.op === 'insertIdentifier',
      () => resolveEvent(other.store, page({ anonymousId: 'shared' }), other.deps),
    );
    const bed = makeBed(DEFAULT_IDENTITY_RULES, { store });
    const out = await bed.send(page({ anonymousId: 'shared', email: 'a@x.io' }));
    expect(out.attempts).toBe(2);
    expect(out.profileId).toBe('other0001');
    expect(bed.profileOf('email', 'a@x.io')).toBe('other0001');
    const mine = bed.store.snapshot().profiles.find((p) => p._id === 'p0001');
    expect(mine).toMatchObject({ status: 'merged', mergedInto: 'other0001', identifiers: [] });
    expect(out.audit.filter((a) => a.kind === 'created')).toEqual([]);
    expect(out.notices).toEqual([]); // nobody downstream ever heard of p0001
    expect(findOrphanProfiles(bed.store.snapshot())).toEqual([]);
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });

  it('inside resolveEvent: a create whose later insert loses the race reuses the profile it created', async () => {
    const other = makeBed(DEFAULT_IDENTITY_RULES, { idPrefix: 'other' });
    // The competitor takes the cookie just before our first identity insert…
    const store = racingStore(
      other.store,
      (w) => w.op === 'insertIdentifier' && w.identifier._id.startsWith('anonymousId:'),
      () => resolveEvent(other.store, identify({ anonymousId: 'shared', userId: 'u-other' }), other.deps),
    );
    const bed = makeBed(DEFAULT_IDENTITY_RULES, { store });
    const out = await bed.send(identify({ anonymousId: 'shared', userId: 'u-mine', email: 'a@x.io' }));
    // …so the re-plan finds the cookie on another known profile (userId limit: no merge, the
    // cookie moves) and the event goes to the profile the first attempt created (reused).
    expect(out.attempts).toBe(2);
    expect(out.profileId).toBe('p0001');
    expect(out.plan?.moves.map((m) => m.identifier.value)).toEqual(['shared']);
    expect(out.plan?.creates).toEqual([{ profileId: 'p0001', identifiers: expect.any(Array) }]);
    expect(out.audit.filter((a) => a.kind === 'created').map((a) => a.profileId)).toEqual(['p0001']);
    expect(bed.store.snapshot().profiles.map((p) => p._id)).toEqual(['other0001', 'p0001']);
    expect(bed.invariants(QUIESCENT)).toEqual([]);
  });

  const scenarios: [string, (bed: ReturnType<typeof makeBed>) => Promise<void>, () => ReturnType<typeof page>][] = [
    ['create', async () => undefined, () => identify({ userId: 'u1', anonymousId: 'a1', email: 'e@x.io' })],
    [
      'merge',
      async (bed) => {
        await bed.send(page({ anonymousId: 'a1' }));
        await bed.send(page({ anonymousId: 'a2', email: 'e@x.io' }));
        await bed.send(identify({ userId: 'u1' }));
      },
      () => identify({ userId: 'u1', anonymousId: 'a1', email: 'e@x.io', phone: '+4915112345678' }),
    ],
    [
      'move',
      async (bed) => {
        await bed.send(identify({ userId: 'ann', anonymousId: 'laptop' }));
        await bed.send(identify({ userId: 'bob' }));
      },
      () => identify({ userId: 'bob', anonymousId: 'laptop', email: 'bob@x.io' }),
    ],
  ];

  it.each(scenarios)('%s: a crash after any prefix of the plan is completed by the re-delivery', async (_name, setup, makeEvent) => {
    // Reference: the plan applied in full.
    const reference = makeBed();
    await setup(reference);
    const event = makeEvent();
    const full = await reference.send(event);
    const plan = full.plan as NonNullable<typeof full.plan>;
    for (let k = 0; k < plan.writes.length; k += 1) {
      const bed = makeBed();
      await setup(bed);
      for (const write of plan.writes.slice(0, k) as GraphWrite[]) expect(await bed.store.applyWrite(write)).not.toBe('conflict');
      expect(bed.invariants()).toEqual([]); // every prefix is a valid (non-quiescent) state
      const redelivered = await bed.send(event);
      expect(bed.invariants(QUIESCENT)).toEqual([]);
      // Only a crash right after inserting a new profile leaves it behind, unreachable.
      const orphans = findOrphanProfiles(bed.store.snapshot());
      expect(orphans).toEqual(plan.writes[0]?.op === 'insertProfile' && k === 1 ? [plan.profileId] : []);
      expect(bed.profileOf('anonymousId', 'a1') ?? bed.profileOf('anonymousId', 'laptop')).toBe(redelivered.profileId);
      // Same graph as the reference (profile ids of a crashed create may differ: compare shapes).
      const shape = (b: typeof bed) => {
        const view = b.store.view();
        const live = (id: string) => b.profileOf(view.identifiers.get(id)?.type as string, view.identifiers.get(id)?.value as string);
        const groups = new Map<string, string[]>();
        for (const key of view.identifiers.keys()) groups.set(live(key) as string, [...(groups.get(live(key) as string) ?? []), key]);
        return [...groups.values()].map((g) => g.sort().join(' ')).sort();
      };
      expect(shape(bed)).toEqual(shape(reference));
      // Notices of merges the prefix already performed are re-derived, none is lost.
      expect(redelivered.notices.map((n) => n.loserId).sort()).toEqual(full.notices.map((n) => n.loserId).sort());
    }
  });
});
