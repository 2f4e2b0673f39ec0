import { InMemoryIdentityStore } from './in-memory-store';
import { checkGraphInvariants, findOrphanProfiles } from './invariants';
import { loadResolutionView } from './loader';
import { newProfileRecord, type IdentifierRecord, type ProcessedRecord, type ProfileRecord } from './model';
import type { IdentityGraphReader, IdentityStore } from './ports';
import { isAlreadyApplied, outcomeFromRecord, resolveEvent, resolvedMessages } from './resolve';
import { DEFAULT_IDENTITY_RULES, identityRules } from './rules';
import { identify, makeBed, page, T0 } from './test-helpers';

const at = new Date(T0).toISOString();
const profile = (id: string, fields: Partial<ProfileRecord> = {}): ProfileRecord => newProfileRecord(id, at, 'seed', fields);
function pointer(type: string, value: string, profileId: string, version = 1): IdentifierRecord {
  return { _id: `${type}:${value}`, type, value, profileId, version, createdAt: at, updatedAt: at, updatedBy: 'seed' };
}

describe('InMemoryIdentityStore: conditional writes', () => {
  it('inserts once; a second insert of the same _id conflicts', async () => {
    const store = new InMemoryIdentityStore();
    expect(await store.applyWrite({ op: 'insertIdentifier', identifier: pointer('email', 'a@x.io', 'p1') })).toBe('applied');
    expect(await store.applyWrite({ op: 'insertIdentifier', identifier: pointer('email', 'a@x.io', 'p2') })).toBe('conflict');
    expect(await store.applyWrite({ op: 'insertProfile', profile: profile('p1') })).toBe('applied');
    expect(await store.applyWrite({ op: 'insertProfile', profile: profile('p1') })).toBe('conflict');
    expect(store.snapshot().identifiers[0]?.profileId).toBe('p1');
    expect(store.stats).toMatchObject({ writes: 2, conflicts: 2 });
  });

  it('replaces only at the expected version, and not a missing document', async () => {
    const store = new InMemoryIdentityStore();
    await store.applyWrite({ op: 'insertProfile', profile: profile('p1') });
    expect(await store.applyWrite({ op: 'replaceProfile', expectedVersion: 2, profile: profile('p1', { version: 3 }) })).toBe('conflict');
    expect(await store.applyWrite({ op: 'replaceProfile', expectedVersion: 1, profile: profile('p1', { version: 2, known: true }) })).toBe('applied');
    expect(await store.applyWrite({ op: 'replaceProfile', expectedVersion: 1, profile: profile('p1', { version: 2 }) })).toBe('conflict');
    expect(await store.applyWrite({ op: 'replaceIdentifier', expectedVersion: 1, identifier: pointer('email', 'x@x.io', 'p1', 2) })).toBe('conflict');
    expect(store.snapshot().profiles[0]).toMatchObject({ version: 2, known: true });
  });

  it('repoints and retargets only from the expected value, else skips (never a conflict)', async () => {
    const store = new InMemoryIdentityStore();
    await store.applyWrite({ op: 'insertIdentifier', identifier: pointer('email', 'a@x.io', 'L') });
    await store.applyWrite({ op: 'insertProfile', profile: profile('K', { status: 'merged', mergedInto: 'L' }) });
    const repoint = { op: 'repointIdentifier' as const, key: 'email:a@x.io', fromProfileId: 'L', toProfileId: 'S', at, by: 'm' };
    expect(await store.applyWrite(repoint)).toBe('applied');
    expect(await store.applyWrite(repoint)).toBe('skipped');
    expect(store.snapshot().identifiers[0]).toMatchObject({ profileId: 'S', version: 2, updatedBy: 'm' });
    const retarget = { op: 'retargetRedirect' as const, profileId: 'K', fromMergedInto: 'L', toMergedInto: 'S', at, by: 'm' };
    expect(await store.applyWrite(retarget)).toBe('applied');
    expect(await store.applyWrite(retarget)).toBe('skipped');
    expect(await store.applyWrite({ ...retarget, profileId: 'nope' })).toBe('skipped');
    expect(store.snapshot().profiles[0]).toMatchObject({ mergedInto: 'S', version: 2 });
  });

  it('hands out copies: mutating what was read or written changes nothing stored', async () => {
    const store = new InMemoryIdentityStore();
    const doc = profile('p1', { identifiers: [{ type: 'userId', value: 'u' }] });
    await store.applyWrite({ op: 'insertProfile', profile: doc });
    doc.identifiers.push({ type: 'email', value: 'x' });
    const [read] = await store.getProfiles(['p1']);
    read?.identifiers.push({ type: 'email', value: 'y' });
    expect(store.snapshot().profiles[0]?.identifiers).toEqual([{ type: 'userId', value: 'u' }]);
  });

  it('expires redirects like a TTL index, and keeps audit records insert-if-absent', async () => {
    const store = new InMemoryIdentityStore();
    await store.applyWrite({ op: 'insertProfile', profile: profile('L', { status: 'merged', mergedInto: 'S', expiresAt: new Date(T0 + 10).toISOString() }) });
    await store.applyWrite({ op: 'insertProfile', profile: profile('S') });
    expect(store.expireRedirects(T0 + 9)).toEqual([]);
    expect(store.expireRedirects(T0 + 10)).toEqual(['L']);
    const record = {
      id: 'm:merge:L',
      kind: 'merge' as const,
      at,
      triggeringMessageId: 'm',
      rule: 'shared-identifier',
      profileId: 'S',
      details: { original: true },
    };
    await store.appendAudit([record]);
    await store.appendAudit([{ ...record, details: { original: false } }]);
    expect(store.auditRecords()).toEqual([record]);
  });
});

describe('checkGraphInvariants detects every kind of violation', () => {
  const rules = DEFAULT_IDENTITY_RULES;
  it('accepts a healthy graph', () => {
    const state = {
      identifiers: [pointer('userId', 'u', 'S'), pointer('anonymousId', 'a', 'L')],
      profiles: [
        profile('S', {
          identifiers: [
            { type: 'anonymousId', value: 'a' },
            { type: 'userId', value: 'u' },
          ],
          known: true,
        }),
        profile('L', { status: 'merged', mergedInto: 'S' }),
      ],
    };
    expect(checkGraphInvariants(state, rules)).toEqual([]);
    // Not strict: a (sequentially impossible) redirect to a redirect would be reported in strict mode.
    expect(checkGraphInvariants(state, rules, { quiescent: true, strictRedirects: true })).toEqual([]);
  });

  it.each([
    ['a pointer to a missing profile', { identifiers: [pointer('userId', 'u', 'gone')], profiles: [] }, 'does not lead to a live profile'],
    [
      'a redirect cycle',
      { identifiers: [], profiles: [profile('A', { status: 'merged', mergedInto: 'B' }), profile('B', { status: 'merged', mergedInto: 'A' })] },
      'does not end at a live profile',
    ],
    [
      'a limit broken',
      {
        identifiers: [pointer('userId', 'u1', 'S'), pointer('userId', 'u2', 'S')],
        profiles: [
          profile('S', {
            identifiers: [
              { type: 'userId', value: 'u1' },
              { type: 'userId', value: 'u2' },
            ],
            known: true,
          }),
        ],
      },
      'owns 2 userId identifiers (limit 1)',
    ],
    [
      'an identifier committed on two live profiles',
      {
        identifiers: [pointer('email', 'e', 'A')],
        profiles: [profile('A', { identifiers: [{ type: 'email', value: 'e' }] }), profile('B', { identifiers: [{ type: 'email', value: 'e' }] })],
      },
      'committed on two live profiles',
    ],
  ])('reports %s', (_name, state, message) => {
    expect(checkGraphInvariants(state, rules).join('\n')).toContain(message);
  });

  it.each([
    [
      'a pending claim left',
      profile('S', {
        identifiers: [{ type: 'userId', value: 'u' }],
        known: true,
        pending: [{ kind: 'acquire', type: 'email', value: 'x', messageId: 'running', at }],
      }),
      'pending claims left',
    ],
    [
      'a listing that disagrees with ownership',
      profile('S', {
        identifiers: [
          { type: 'userId', value: 'u' },
          { type: 'email', value: 'ghost' },
        ],
        known: true,
      }),
      'lists',
    ],
    ['a wrong known flag', profile('S', { identifiers: [{ type: 'userId', value: 'u' }], known: false }), 'known flag'],
    ['a redirect to a redirect (strict)', profile('S', { identifiers: [{ type: 'userId', value: 'u' }], known: true }), 'merged into a non-live profile'],
  ])('quiescent: reports %s', (name, s, message) => {
    const profiles = [
      s,
      ...(name.includes('redirect') ? [profile('K', { status: 'merged', mergedInto: 'L' }), profile('L', { status: 'merged', mergedInto: 'S' })] : []),
    ];
    const violations = checkGraphInvariants({ identifiers: [pointer('userId', 'u', 'S')], profiles }, rules, { quiescent: true, strictRedirects: true });
    expect(violations.join('\n')).toContain(message);
  });

  it('ignores claims of completed or expired operations, as the planner does', () => {
    const claim = { kind: 'acquire' as const, type: 'email', value: 'x', messageId: 'done', at };
    const state = {
      identifiers: [pointer('userId', 'u', 'S')],
      profiles: [
        profile('S', {
          identifiers: [
            { type: 'email', value: 'x' },
            { type: 'userId', value: 'u' },
          ],
          known: true,
          pending: [claim],
        }),
      ],
    };
    expect(checkGraphInvariants(state, rules, { quiescent: true })).not.toEqual([]);
    expect(checkGraphInvariants(state, rules, { quiescent: true, completedMessages: new Set(['done']) })).toEqual([]);
    expect(checkGraphInvariants(state, rules, { quiescent: true, nowMs: T0 + rules.pendingClaimTtlMs + 1 })).toEqual([]);
  });

  it('findOrphanProfiles lists unreachable profiles that hold nothing committed', () => {
    const orphan = profile('O', {
      identifiers: [{ type: 'email', value: 'x' }],
      pending: [{ kind: 'acquire', type: 'email', value: 'x', messageId: 'crashed', at }],
    });
    const state = {
      identifiers: [pointer('userId', 'u', 'S')],
      profiles: [
        orphan,
        profile('S', { identifiers: [{ type: 'userId', value: 'u' }], known: true }),
        profile('T', { identifiers: [{ type: 'email', value: 'y' }] }),
      ],
    };
    expect(findOrphanProfiles(state)).toEqual(['O']);
    // T lists a committed identifier it does not own: not an orphan, a violation.
    expect(checkGraphInvariants(state, rules, { quiescent: true }).join('\n')).toContain('profile T lists');
  });
});

describe('loader: reads are not a snapshot', () => {
  it('re-reads a pointer that leads to a profile which no longer lists it (a move completed in between)', async () => {
    const bed = makeBed();
    const ann = (await bed.send(identify({ userId: 'ann', anonymousId: 'laptop' }))).profileId as string;
    const stale = bed.store.view().identifiers.get('anonymousId:laptop') as IdentifierRecord;
    const bob = (await bed.send(identify({ userId: 'bob', anonymousId: 'laptop' }))).profileId as string;
    // A reader whose first read of the cookie returns the pointer from before Bob's login.
    let first = true;
    const reader: IdentityGraphReader = {
      getIdentifiers: async (keys) => {
        const records = await bed.store.getIdentifiers(keys);
        if (first && keys.includes('anonymousId:laptop')) {
          first = false;
          return records.map((r) => (r._id === stale._id ? stale : r));
        }
        return records;
      },
      getProfiles: (ids) => bed.store.getProfiles(ids),
    };
    const view = await loadResolutionView(reader, ['anonymousId:laptop'], 'm-next');
    expect(view.identifiers.get('anonymousId:laptop')?.profileId).toBe(bob);
    expect(view.profiles.get(bob)).toBeDefined();
    expect(ann).not.toBe(bob);
  });

  /**
   * Regression (two-instance property, seed -210586046 path "30"): message M's earlier attempt
   * left an acquire claim for crm-2 on B; message N (other instance) attached crm-2 to B too.
   * M's re-plan read crm-2's pointer (absent), then N inserted it and removed its own claim,
   * then M read B: crm-2 listed with only M's own (dead) claim. Trusting the stale pointer,
   * the planner dropped crm-2 from B and merged B into A, which already has crm-0: A then
   * owned two CRM ids with a limit of 1.
   */
  describe('an acquisition that completes between the pointer read and the profile read', () => {
    const rules = identityRules({ types: { 'external:*': { limit: 1 } } });
    const crm = (id: string) => [{ id, type: 'crm_id', collection: 'users' }];

    async function stage() {
      const bed = makeBed(rules);
      const a = (await bed.send(identify({ userId: 'u', externalIds: crm('crm-0') }))).profileId as string;
      const b = (await bed.send(page({ email: 'e@x.io' }))).profileId as string;
      // B lists crm-2 as acquired by M (an earlier attempt that conflicted) and by N (running).
      const [current] = await bed.store.getProfiles([b]);
      if (!current) throw new Error('missing');
      const claim = (messageId: string) => ({ kind: 'acquire' as const, type: 'external:crm_id', value: 'crm-2', messageId, at });
      const withClaims = {
        ...current,
        version: current.version + 1,
        identifiers: [...current.identifiers, { type: 'external:crm_id', value: 'crm-2' }],
        pending: [claim('m-race'), claim('n-other')],
      };
      expect(await bed.store.applyWrite({ op: 'replaceProfile', expectedVersion: current.version, profile: withClaims })).toBe('applied');
      // N completes its acquisition (pointer, then its claim removed) right after M's first pointer read.
      let raced = false;
      const completeN = async (): Promise<void> => {
        raced = true;
        expect(await bed.store.applyWrite({ op: 'insertIdentifier', identifier: { ...pointer('external:crm_id', 'crm-2', b), updatedBy: 'n-other' } })).toBe(
          'applied',
        );
        const profileB = { ...withClaims, version: withClaims.version + 1, pending: [claim('m-race')] };
        expect(await bed.store.applyWrite({ op: 'replaceProfile', expectedVersion: withClaims.version, profile: profileB })).toBe('applied');
      };
      const racing: IdentityStore = {
        getIdentifiers: async (keys) => {
          const records = await bed.store.getIdentifiers(keys);
          if (!raced) await completeN();
          return records;
        },
        getProfiles: (ids) => bed.store.getProfiles(ids),
        applyWrite: (write) => bed.store.applyWrite(write),
        getProcessed: (id) => bed.store.getProcessed(id),
        putProcessed: (r) => bed.store.putProcessed(r),
        appendAudit: (r) => bed.store.appendAudit(r),
      };
      const event = identify({ userId: 'u', email: 'e@x.io', externalIds: crm('crm-2'), messageId: 'm-race' });
      return { bed, a, b, racing, event };
    }

    it('the loader re-reads the pointer of an identifier a profile of the view is acquiring', async () => {
      const { b, racing } = await stage();
      const view = await loadResolutionView(racing, ['userId:u', 'email:e@x.io', 'external:crm_id:crm-2'], 'm-race');
      expect(view.identifiers.get('external:crm_id:crm-2')?.profileId).toBe(b);
    });

    it('resolveEvent refuses the merge that would break the limit (the email moves instead)', async () => {
      const { bed, a, b, racing, event } = await stage();
      const out = await resolveEvent(racing, event, bed.deps);
      expect(bed.invariants()).toEqual([]);
      expect(out.profileId).toBe(a);
      expect(out.plan?.merges).toEqual([]);
      expect(out.notices).toEqual([]);
      expect(out.refused.map((r) => r.identifier.value)).toEqual(['crm-2']);
      expect(bed.profileOf('external:crm_id', 'crm-2')).toBe(b);
      expect(bed.profileOf('external:crm_id', 'crm-0')).toBe(a);
      expect(bed.profileOf('email', 'e@x.io')).toBe(a);
      expect(bed.invariants({ quiescent: true })).toEqual([]);
    });
  });

  it('tells the planner which claim owners completed', async () => {
    const bed = makeBed();
    const p = (await bed.send(page({ anonymousId: 'a1' }))).profileId as string;
    const [current] = await bed.store.getProfiles([p]);
    if (!current) throw new Error('missing');
    const leftover = { kind: 'acquire' as const, type: 'email', value: 'x@x.io', messageId: current.createdBy, at };
    await bed.store.applyWrite({
      op: 'replaceProfile',
      expectedVersion: current.version,
      profile: { ...current, version: current.version + 1, identifiers: [...current.identifiers, { type: 'email', value: 'x@x.io' }], pending: [leftover] },
    });
    const view = await loadResolutionView(bed.store, ['anonymousId:a1'], 'm-other');
    expect([...(view.completedMessages ?? [])]).toEqual([current.createdBy]);
    // The next event on that profile drops the dead leftover.
    await bed.send(page({ anonymousId: 'a1', email: 'y@x.io' }));
    expect(bed.store.snapshot().profiles[0]?.identifiers.map((i) => i.value)).toEqual(['a1', 'y@x.io']);
    expect(bed.invariants({ quiescent: true })).toEqual([]);
  });
});

describe('resolve helpers', () => {
  it('resolvedMessages: merge notices (keyed by survivor) before the event (keyed by profile)', async () => {
    const bed = makeBed();
    await bed.send(page({ anonymousId: 'c' }));
    await bed.send(identify({ userId: 'u' }));
    const event = identify({ userId: 'u', anonymousId: 'c' });
    const out = await bed.send(event);
    const messages = resolvedMessages(event, out);
    expect(messages.map((m) => [m.key, m.value.kind])).toEqual([
      [out.profileId, 'merge'],
      [out.profileId, 'event'],
    ]);
    expect(messages[1]?.value).toEqual({ kind: 'event', profileId: out.profileId, event, identifiers: out.identifiers });
    expect(resolvedMessages(event, { ...out, profileId: undefined })).toEqual([]);
  });

  it('resolvedMessages: the event that created its profile says so (profileCreated), again when replayed from its processed record; later events do not', async () => {
    const bed = makeBed();
    const first = page({ anonymousId: 'n' });
    const created = await bed.send(first);
    expect(resolvedMessages(first, created).map((m) => m.value)).toEqual([
      { kind: 'event', profileId: created.profileId, event: first, identifiers: created.identifiers, profileCreated: true },
    ]);
    const again = page({ anonymousId: 'n' });
    expect(resolvedMessages(again, await bed.send(again))[0]?.value).not.toHaveProperty('profileCreated');
    // the same message again: replayed from its processed record, the same message as the first time
    const replayed = await bed.send(first);
    expect(replayed.status).toBe('duplicate');
    expect(resolvedMessages(first, replayed)).toEqual(resolvedMessages(first, created));
  });

  it('isAlreadyApplied / outcomeFromRecord', () => {
    const record: ProcessedRecord = {
      _id: 'm1',
      status: 'resolved',
      profileId: 'p1',
      identifiers: [{ type: 'userId', value: 'u' }],
      notices: [],
      auditIds: [],
      at,
      expiresAt: at,
    };
    expect(isAlreadyApplied(null, 'm1')).toBe(false);
    expect(isAlreadyApplied(undefined, 'm1')).toBe(false);
    expect(isAlreadyApplied({ ...record, _id: 'other' }, 'm1')).toBe(false);
    expect(isAlreadyApplied(record, 'm1')).toBe(true);
    expect(outcomeFromRecord(record)).toMatchObject({ status: 'duplicate', profileId: 'p1', identifiers: record.identifiers, attempts: 0 });
    expect(outcomeFromRecord({ ...record, status: 'unresolvable', profileId: undefined })).toMatchObject({ status: 'unresolvable' });
  });
});

describe('a store that presumes messages new (confirmProcessed)', () => {
  /** Answers getProcessed with null (the presumption) and counts the confirmations. */
  function presuming(inner: InMemoryIdentityStore): IdentityStore & { confirmed: string[] } {
    const confirmed: string[] = [];
    return Object.assign(Object.create(inner) as InMemoryIdentityStore, {
      confirmed,
      getProcessed: async () => null,
      confirmProcessed: async (id: string) => (confirmed.push(id), inner.getProcessed(id)),
    });
  }

  it('a plan that would write confirms first, and a message already resolved elsewhere replays its record and writes nothing', async () => {
    const inner = new InMemoryIdentityStore();
    const record: ProcessedRecord = { _id: 'done-1', status: 'resolved', profileId: 'p-first', identifiers: [], notices: [], auditIds: [], at, expiresAt: at };
    await inner.putProcessed(record);
    const store = presuming(inner);
    const { deps } = makeBed();
    const outcome = await resolveEvent(store, page({ messageId: 'done-1', anonymousId: 'fresh' }), deps);
    expect(outcome).toMatchObject({ status: 'duplicate', profileId: 'p-first' });
    expect(inner.snapshot().profiles).toEqual([]);
    expect(store.confirmed).toEqual(['done-1']);
  });

  it('a plan that writes nothing costs no confirmation', async () => {
    const inner = new InMemoryIdentityStore();
    const { deps } = makeBed(DEFAULT_IDENTITY_RULES, { store: inner });
    await resolveEvent(inner, page({ anonymousId: 'known' }), deps);
    const store = presuming(inner);
    expect((await resolveEvent(store, page({ anonymousId: 'known' }), deps)).status).toBe('resolved');
    expect(store.confirmed).toEqual([]);
  });
});
