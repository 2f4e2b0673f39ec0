/**
 * The `IdentityStore` contract (model.ts `GraphWrite` semantics, ports.ts), as a Jest suite
 * any store must pass: the domain's in-memory store runs it in store-contract.spec.ts, the
 * MongoDB adapter in mongo-identity.repository.int-spec.ts. The last group replays a scripted
 * sequence of events (creation, login merge, shared laptop, alias, email click, split) through
 * the domain's own loops and requires the graph to come out document for document the same as
 * in the in-memory store. Not exported from the library's index (test code).
 */
import {
  DEFAULT_IDENTITY_RULES,
  InMemoryIdentityStore,
  checkGraphInvariants,
  newProfileRecord,
  resolveEvent,
  splitProfile,
  type AuditRecord,
  type IdentifierRecord,
  type IdentityEventInput,
  type IdentityStore,
  type ProcessedRecord,
  type ProfileRecord,
} from '@mosaic/identity-domain';

export interface ContractSubject {
  store: IdentityStore;
  /** The whole graph, documents sorted by `_id`. */
  graph(): Promise<{ identifiers: IdentifierRecord[]; profiles: ProfileRecord[] }>;
  /** Every audit record, by id. */
  audit(): Promise<AuditRecord[]>;
}

const T = '2025-01-01T12:00:00.000Z';

export function profile(id: string, extra: Partial<ProfileRecord> = {}): ProfileRecord {
  return newProfileRecord(id, T, 'm0', extra);
}

export function identifier(type: string, value: string, profileId: string, extra: Partial<IdentifierRecord> = {}): IdentifierRecord {
  return { _id: `${type}:${value}`, type, value, profileId, version: 1, createdAt: T, updatedAt: T, updatedBy: 'm0', ...extra };
}

const byId = <T extends { _id: string }>(a: T, b: T): number => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);

/** The events of the end-to-end scenario (messageIds fixed, so both stores see the same input). */
export function scenarioEvents(): IdentityEventInput[] {
  const ev = (messageId: string, type: string, fields: Partial<IdentityEventInput>): IdentityEventInput => ({
    type,
    messageId,
    properties: {},
    traits: {},
    context: {},
    ...fields,
  });
  return [
    ev('s1', 'page', { anonymousId: 'cookie-1' }),
    ev('s2', 'page', { anonymousId: 'cookie-2', context: { traits: { email: 'Ada@Example.com' } } }),
    ev('s3', 'identify', { anonymousId: 'cookie-1', userId: 'u-ada', traits: { email: 'ada@example.com' } }),
    ev('s4', 'page', { anonymousId: 'cookie-1' }),
    ev('s5', 'identify', { anonymousId: 'cookie-1', userId: 'u-bob' }),
    ev('s6', 'alias', { userId: 'u-carol', previousId: 'cookie-3' }),
    ev('s7', 'track', { event: 'Email Link Clicked', properties: { email: 'ADA@example.com' } }),
    ev('s8', 'page', { anonymousId: 'cookie-4', context: { externalIds: [{ id: 'crm-9', type: 'crm_id', collection: 'users', encoding: 'none' }] } }),
    ev('s9', 'identify', { userId: 'u-ada', context: { externalIds: [{ id: 'crm-9', type: 'crm_id', collection: 'users', encoding: 'none' }] } }),
    ev('s3', 'identify', { anonymousId: 'cookie-1', userId: 'u-ada', traits: { email: 'ada@example.com' } }),
  ];
}

/** Runs the scenario against a store with a fixed clock and id sequence; returns the outcomes. */
export async function runScenario(store: IdentityStore): Promise<{ profileIds: (string | undefined)[]; notices: number; splitNew?: string }> {
  let now = Date.parse(T);
  let seq = 0;
  const deps = { rules: DEFAULT_IDENTITY_RULES, now: () => new Date(now), newProfileId: () => `p${String((seq += 1)).padStart(4, '0')}` };
  const profileIds: (string | undefined)[] = [];
  let notices = 0;
  for (const event of scenarioEvents()) {
    const outcome = await resolveEvent(store, event, deps);
    profileIds.push(outcome.profileId);
    notices += outcome.notices.length;
    now += 1000;
  }
  const ada = profileIds[2] as string;
  const split = await splitProfile(
    store,
    { profileId: ada, identifiers: [{ type: 'anonymousId', value: 'cookie-2' }], reason: 'shared tablet', operationId: 'split:1' },
    deps,
  );
  if (split.ok) await store.appendAudit(split.plan.audit);
  return { profileIds, notices, ...(split.ok ? { splitNew: split.plan.newProfileId } : {}) };
}

type CurrentSubject = () => ContractSubject;

export function describeIdentityStoreContract(name: string, subject: () => Promise<ContractSubject>): void {
  describe(`IdentityStore contract: ${name}`, () => {
    let s: ContractSubject;
    beforeEach(async () => {
      s = await subject();
    });
    const current: CurrentSubject = () => s;
    readsAndInserts(current);
    conditionalWrites(current);
    records(current);
    endToEnd(current);
  });
}

/** Reads by key and unique inserts. */
function readsAndInserts(current: CurrentSubject): void {
  it('reads by key with $in semantics: only what exists, in any order', async () => {
    const s = current();
    await s.store.applyWrite({ op: 'insertProfile', profile: profile('pa') });
    await s.store.applyWrite({ op: 'insertIdentifier', identifier: identifier('anonymousId', 'a1', 'pa') });
    await s.store.applyWrite({ op: 'insertIdentifier', identifier: identifier('email', 'x@y.io', 'pa') });
    const ids = await s.store.getIdentifiers(['email:x@y.io', 'anonymousId:nope', 'anonymousId:a1', 'email:x@y.io']);
    expect([...new Set(ids.map((r) => r._id))].sort()).toEqual(['anonymousId:a1', 'email:x@y.io']);
    expect(await s.store.getProfiles(['nope', 'pa'])).toEqual([profile('pa')]);
    expect(await s.store.getIdentifiers([])).toEqual([]);
    expect(await s.store.getProfiles([])).toEqual([]);
  });

  it('insertProfile / insertIdentifier: applied once, then conflict (unique _id)', async () => {
    const s = current();
    expect(await s.store.applyWrite({ op: 'insertProfile', profile: profile('pb') })).toBe('applied');
    expect(await s.store.applyWrite({ op: 'insertProfile', profile: profile('pb', { known: true }) })).toBe('conflict');
    expect(await s.store.applyWrite({ op: 'insertIdentifier', identifier: identifier('userId', 'u1', 'pb') })).toBe('applied');
    expect(await s.store.applyWrite({ op: 'insertIdentifier', identifier: identifier('userId', 'u1', 'other') })).toBe('conflict');
    expect((await s.store.getProfiles(['pb']))[0]?.known).toBe(false);
    expect((await s.store.getIdentifiers(['userId:u1']))[0]?.profileId).toBe('pb');
  });
}

/** The conditional writes: compare-and-set on the version, pointer and redirect updates. */
function conditionalWrites(current: CurrentSubject): void {
  it('replaceProfile / replaceIdentifier: compare-and-set on the version; missing document → conflict', async () => {
    const s = current();
    await s.store.applyWrite({ op: 'insertProfile', profile: profile('pc') });
    await s.store.applyWrite({ op: 'insertIdentifier', identifier: identifier('anonymousId', 'c1', 'pc') });
    expect(await s.store.applyWrite({ op: 'replaceProfile', expectedVersion: 2, profile: profile('pc', { version: 3 }) })).toBe('conflict');
    expect(await s.store.applyWrite({ op: 'replaceProfile', expectedVersion: 1, profile: profile('pc', { version: 2, known: true }) })).toBe('applied');
    expect(await s.store.applyWrite({ op: 'replaceProfile', expectedVersion: 1, profile: profile('pc', { version: 2 }) })).toBe('conflict');
    expect(await s.store.applyWrite({ op: 'replaceProfile', expectedVersion: 1, profile: profile('missing', { version: 2 }) })).toBe('conflict');
    expect(await s.store.getProfiles(['pc'])).toEqual([profile('pc', { version: 2, known: true })]);

    const moved = identifier('anonymousId', 'c1', 'pz', { version: 2, movedFrom: 'pc', movedBy: 'm9', updatedBy: 'm9' });
    expect(await s.store.applyWrite({ op: 'replaceIdentifier', expectedVersion: 5, identifier: moved })).toBe('conflict');
    expect(await s.store.applyWrite({ op: 'replaceIdentifier', expectedVersion: 1, identifier: moved })).toBe('applied');
    expect(await s.store.applyWrite({ op: 'replaceIdentifier', expectedVersion: 1, identifier: moved })).toBe('conflict');
    expect(await s.store.applyWrite({ op: 'replaceIdentifier', expectedVersion: 1, identifier: identifier('anonymousId', 'none', 'pz', { version: 2 }) })).toBe(
      'conflict',
    );
    expect(await s.store.getIdentifiers(['anonymousId:c1'])).toEqual([moved]);
  });

  it('repointIdentifier: applied only while the pointer still names `from` (version + 1), else skipped', async () => {
    const s = current();
    await s.store.applyWrite({ op: 'insertIdentifier', identifier: identifier('anonymousId', 'r1', 'loser') });
    const at = '2025-01-02T00:00:00.000Z';
    expect(await s.store.applyWrite({ op: 'repointIdentifier', key: 'anonymousId:r1', fromProfileId: 'other', toProfileId: 'survivor', at, by: 'm2' })).toBe(
      'skipped',
    );
    expect(await s.store.applyWrite({ op: 'repointIdentifier', key: 'anonymousId:r1', fromProfileId: 'loser', toProfileId: 'survivor', at, by: 'm2' })).toBe(
      'applied',
    );
    expect(await s.store.applyWrite({ op: 'repointIdentifier', key: 'anonymousId:r1', fromProfileId: 'loser', toProfileId: 'survivor', at, by: 'm2' })).toBe(
      'skipped',
    );
    expect(await s.store.applyWrite({ op: 'repointIdentifier', key: 'anonymousId:none', fromProfileId: 'loser', toProfileId: 'survivor', at, by: 'm2' })).toBe(
      'skipped',
    );
    expect(await s.store.getIdentifiers(['anonymousId:r1'])).toEqual([
      identifier('anonymousId', 'r1', 'survivor', { version: 2, updatedAt: at, updatedBy: 'm2' }),
    ]);
  });

  it('retargetRedirect: applied only to a merged profile whose mergedInto is `from`, else skipped', async () => {
    const s = current();
    const merged = profile('old', { status: 'merged', mergedInto: 'mid', mergedAt: T, mergedBy: 'm1', expiresAt: '2025-04-01T12:00:00.000Z' });
    await s.store.applyWrite({ op: 'insertProfile', profile: merged });
    await s.store.applyWrite({ op: 'insertProfile', profile: profile('live') });
    const at = '2025-01-03T00:00:00.000Z';
    expect(await s.store.applyWrite({ op: 'retargetRedirect', profileId: 'old', fromMergedInto: 'elsewhere', toMergedInto: 'top', at, by: 'm3' })).toBe(
      'skipped',
    );
    expect(await s.store.applyWrite({ op: 'retargetRedirect', profileId: 'live', fromMergedInto: 'mid', toMergedInto: 'top', at, by: 'm3' })).toBe('skipped');
    expect(await s.store.applyWrite({ op: 'retargetRedirect', profileId: 'gone', fromMergedInto: 'mid', toMergedInto: 'top', at, by: 'm3' })).toBe('skipped');
    expect(await s.store.applyWrite({ op: 'retargetRedirect', profileId: 'old', fromMergedInto: 'mid', toMergedInto: 'top', at, by: 'm3' })).toBe('applied');
    expect(await s.store.getProfiles(['old'])).toEqual([{ ...merged, mergedInto: 'top', version: 2, updatedAt: at, updatedBy: 'm3' }]);
  });
}

/** Field round trips, processed records and the insert-if-absent audit. */
function records(current: CurrentSubject): void {
  it('round-trips every field: optional ones present, absent ones never come back as null', async () => {
    const s = current();
    const full = profile('pf', {
      status: 'merged',
      version: 7,
      identifiers: [
        { type: 'anonymousId', value: 'f1' },
        { type: 'external:android.id', value: 'dev-1' },
      ],
      pending: [
        { kind: 'acquire', type: 'email', value: 'f@x.io', messageId: 'm5', at: T, peer: 'pg' },
        { kind: 'release', type: 'phone', value: '+33612345678', messageId: 'm6', at: T },
      ],
      merging: [{ profileId: 'ph', messageId: 'm7', at: T }],
      mergedFrom: [{ profileId: 'pi', messageId: 'm8', at: T }],
      known: true,
      mergedInto: 'pz',
      mergedAt: T,
      mergedBy: 'm9',
      expiresAt: '2025-04-01T12:00:00.000Z',
      splitFrom: { profileId: 'pq', operationId: 'split:x', at: T },
    });
    await s.store.applyWrite({ op: 'insertProfile', profile: full });
    await s.store.applyWrite({ op: 'insertProfile', profile: profile('pmin') });
    expect((await s.store.getProfiles(['pf']))[0]).toEqual(full);
    const min = (await s.store.getProfiles(['pmin']))[0] as ProfileRecord;
    expect(Object.keys(min).sort()).toEqual(Object.keys(profile('pmin')).sort());
    const id = identifier('userId', 'dots.and$dollars', 'pf', { movedFrom: 'pq', movedBy: 'split:x' });
    await s.store.applyWrite({ op: 'insertIdentifier', identifier: id });
    expect(await s.store.getIdentifiers([id._id])).toEqual([id]);
  });

  it('processed records: get null when absent, put upserts by _id', async () => {
    const s = current();
    expect(await s.store.getProcessed('m1')).toBeNull();
    const record: ProcessedRecord = {
      _id: 'm1',
      status: 'resolved',
      profileId: 'p1',
      identifiers: [{ type: 'anonymousId', value: 'a' }],
      notices: [],
      auditIds: ['m1:created:p1'],
      at: T,
      expiresAt: '2025-02-01T12:00:00.000Z',
    };
    await s.store.putProcessed(record);
    expect(await s.store.getProcessed('m1')).toEqual(record);
    const unresolvable: ProcessedRecord = {
      _id: 'm1',
      status: 'unresolvable',
      identifiers: [],
      notices: [],
      auditIds: [],
      at: T,
      expiresAt: '2025-02-01T12:00:00.000Z',
    };
    await s.store.putProcessed(unresolvable);
    expect(await s.store.getProcessed('m1')).toEqual(unresolvable);
  });

  it('audit: insert-if-absent by id (a re-derived record never overwrites the original)', async () => {
    const s = current();
    const first: AuditRecord = {
      id: 'm1:merge:p2',
      kind: 'merge',
      at: T,
      triggeringMessageId: 'm1',
      rule: 'shared-identifier',
      profileId: 'p1',
      details: { survivorId: 'p1', loserId: 'p2', rederived: false },
    };
    await s.store.appendAudit([first]);
    await s.store.appendAudit([
      { ...first, details: { rederived: true } },
      { ...first, id: 'm1:created:p1', kind: 'created', details: {} },
    ]);
    const all = await s.audit();
    expect(all.find((a) => a.id === 'm1:merge:p2')).toEqual(first);
    expect(all.map((a) => a.id).sort()).toEqual(['m1:created:p1', 'm1:merge:p2']);
    await s.store.appendAudit([]);
  });
}

/** The domain's own loops, document for document against the in-memory store. */
function endToEnd(current: CurrentSubject): void {
  it('runs the domain end to end (create, login merge, shared laptop, alias, email, external id, split, re-delivery) to the same graph as the in-memory store', async () => {
    const s = current();
    const reference = new InMemoryIdentityStore();
    const expected = await runScenario(reference);
    const actual = await runScenario(s.store);
    expect(actual).toEqual(expected);
    expect(expected.notices).toBeGreaterThan(0);
    expect(expected.splitNew).toBeDefined();
    const graph = await s.graph();
    const ref = reference.snapshot();
    expect(graph.identifiers.slice().sort(byId)).toEqual(ref.identifiers);
    expect(graph.profiles.slice().sort(byId)).toEqual(ref.profiles);
    expect(checkGraphInvariants(graph, DEFAULT_IDENTITY_RULES, { quiescent: true, strictRedirects: true })).toEqual([]);
    const audit = (await s.audit()).map((a) => a.id).sort();
    expect(audit).toEqual(
      reference
        .auditRecords()
        .map((a) => a.id)
        .sort(),
    );
  });
}

/** The in-memory store as a contract subject. */
export function inMemorySubject(): ContractSubject {
  const store = new InMemoryIdentityStore();
  return {
    store,
    graph: async () => store.snapshot(),
    audit: async () => store.auditRecords(),
  };
}
