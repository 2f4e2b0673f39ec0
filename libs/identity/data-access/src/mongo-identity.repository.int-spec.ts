// The MongoDB adapter against the real server of the Jest run (FerretDB 1.24 or MongoDB):
// the store contract (same as the in-memory reference), concurrent compare-and-set, indexes
// (and no TTL index), the expiry sweep, batched processed records, the audit query, the rules
// document.
import type { Connection } from 'mongoose';
import { connectMongo } from '@mosaic/shared-mongo';
import { dropTestDatabase, storePlansReadable, testInfra } from '@mosaic/shared-testing';
import { identityRules, type AuditRecord, type ProcessedRecord } from '@mosaic/identity-domain';
import { IDENTITY_COLLECTIONS } from './documents';
import { detectServerProfile, newTicket, type CasMode } from '@mosaic/shared-mongo';
import { MongoIdentityRepository } from './mongo-identity.repository';
import { RulesRepository } from './rules.repository';
import { describeIdentityStoreContract, identifier, profile } from './store-contract';

jest.setTimeout(60_000);

let conn: Connection;
let store: MongoIdentityRepository;
let native: MongoIdentityRepository;
let guarded: MongoIdentityRepository;
let serverMode: CasMode;

beforeAll(async () => {
  conn = await connectMongo({ uri: testInfra().mongoUri });
  store = new MongoIdentityRepository(conn, { cas: 'ticket', ticketLeaseMs: 500, pointReads: true });
  native = new MongoIdentityRepository(conn, { cas: 'native' });
  guarded = new MongoIdentityRepository(conn, { cas: 'guarded', pointReads: true });
  serverMode = (await detectServerProfile(conn)).cas;
  await store.ensureIndexes();
});

afterAll(async () => {
  await conn?.close();
  await dropTestDatabase().catch(() => undefined);
});

async function clear(): Promise<void> {
  await Promise.all(Object.values(IDENTITY_COLLECTIONS).map((name) => conn.db!.collection(name).deleteMany({})));
}

const READS: Record<CasMode, string> = { ticket: 'point reads', guarded: 'point reads', native: '$in reads' };

for (const mode of ['ticket', 'guarded', 'native'] as const) {
  describeIdentityStoreContract(`MongoDB adapter, ${mode} compare-and-set, ${READS[mode]}`, async () => {
    await clear();
    const subject = { ticket: store, guarded, native }[mode];
    return {
      store: subject,
      graph: () => subject.readGraph(),
      audit: async () => {
        const docs = await subject.audit.find({}).sort({ _id: 1 }).toArray();
        return docs.map((d): AuditRecord => ({
          id: d._id,
          kind: d.kind,
          at: d.at,
          triggeringMessageId: d.triggeringMessageId,
          rule: d.rule,
          profileId: d.profileId,
          details: d.details,
        }));
      },
    };
  });
}

describe('MongoDB adapter: beyond the contract', () => {
  beforeEach(clear);

  it('detects what the server needs (guarded compare-and-set on the FerretDB of tools/infra, ticket on another, point reads on FerretDB; native and $in on MongoDB)', () => {
    expect(serverMode).toBe(storePlansReadable() ? 'guarded' : testInfra().mongoServer.startsWith('FerretDB') ? 'ticket' : 'native');
  });

  async function race(subject: MongoIdentityRepository, tag: string): Promise<void> {
    await subject.applyWrite({ op: 'insertProfile', profile: profile(`race-${tag}`) });
    await subject.applyWrite({ op: 'insertIdentifier', identifier: identifier('anonymousId', `cas-${tag}`, 'p0') });
    for (let version = 1; version <= 3; version += 1) {
      const replaces = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          subject.applyWrite({ op: 'replaceProfile', expectedVersion: version, profile: profile(`race-${tag}`, { version: version + 1, updatedBy: `w${i}` }) }),
        ),
      );
      expect(replaces.filter((r) => r === 'applied')).toHaveLength(1);
      expect((await subject.getProfiles([`race-${tag}`]))[0]).toMatchObject({ version: version + 1, updatedBy: `w${replaces.indexOf('applied')}` });
    }
    // Best-effort repoints racing with a compare-and-set move: the move is never lost.
    const key = `anonymousId:cas-${tag}`;
    const results = await Promise.all([
      subject.applyWrite({
        op: 'replaceIdentifier',
        expectedVersion: 1,
        identifier: identifier('anonymousId', `cas-${tag}`, 'moved', { version: 2, movedFrom: 'p0', movedBy: 'mv' }),
      }),
      ...Array.from({ length: 10 }, () =>
        subject.applyWrite({ op: 'repointIdentifier', key, fromProfileId: 'p0', toProfileId: 'survivor', at: '2025-01-02T00:00:00.000Z', by: 'rp' }),
      ),
    ]);
    const record = (await subject.getIdentifiers([key]))[0];
    if (results[0] === 'applied') expect(record).toMatchObject({ profileId: 'moved' });
    else expect(record).toMatchObject({ profileId: 'survivor', version: 2 });
    const inserts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => subject.applyWrite({ op: 'insertIdentifier', identifier: identifier('anonymousId', `shared-${tag}`, `p${i}`) })),
    );
    expect(inserts.filter((r) => r === 'applied')).toHaveLength(1);
  }

  it('ticket compare-and-set: of 20 concurrent writers expecting one version exactly one applies, on any server', async () => {
    await race(store, 'ticket');
  });

  it('guarded compare-and-set: the same where the store has the guard, or on MongoDB (skipped on a FerretDB without it)', async () => {
    if (serverMode === 'ticket') return;
    await race(guarded, 'guarded');
  });

  it('native compare-and-set: the same on MongoDB (FerretDB 1.24 cannot: skipped there)', async () => {
    if (serverMode !== 'native') return;
    await race(native, 'native');
  });

  it('ticket mode completes a version change whose writer died between ticket and write', async () => {
    await store.applyWrite({ op: 'insertProfile', profile: profile('abandoned') });
    const intended = profile('abandoned', { version: 2, updatedBy: 'dead-writer' });
    await store.tickets.insertOne(newTicket(IDENTITY_COLLECTIONS.profiles, { ...intended }, 1, 'dead', new Date(Date.now() - 60_000)));
    // The next writer expecting version 1 loses (the change to 2 was someone else's) but completes it.
    expect(await store.applyWrite({ op: 'replaceProfile', expectedVersion: 1, profile: profile('abandoned', { version: 2, updatedBy: 'late' }) })).toBe(
      'conflict',
    );
    expect((await store.getProfiles(['abandoned']))[0]).toEqual(intended);
    expect(await store.applyWrite({ op: 'replaceProfile', expectedVersion: 2, profile: profile('abandoned', { version: 3, updatedBy: 'late' }) })).toBe(
      'applied',
    );
    // A recent ticket (a live writer) is respected: conflict, nothing written.
    await store.tickets.insertOne(newTicket(IDENTITY_COLLECTIONS.profiles, { ...profile('abandoned', { version: 4, updatedBy: 'live' }) }, 3, 'live'));
    expect(await store.applyWrite({ op: 'replaceProfile', expectedVersion: 3, profile: profile('abandoned', { version: 4, updatedBy: 'other' }) })).toBe(
      'conflict',
    );
    expect((await store.getProfiles(['abandoned']))[0]?.updatedBy).toBe('late');
  });

  it('creates the lookup and expiry indexes, and no TTL index', async () => {
    const indexes = async (name: string) =>
      (await conn.db!.collection(name).listIndexes().toArray()) as { key: Record<string, number>; expireAfterSeconds?: number }[];
    const keys = async (name: string) => (await indexes(name)).map((i) => Object.keys(i.key).join(','));
    expect(await keys(IDENTITY_COLLECTIONS.identifiers)).toEqual(expect.arrayContaining(['_id', 'profileId']));
    expect(await keys(IDENTITY_COLLECTIONS.profiles)).toEqual(expect.arrayContaining(['_id', 'expiryHour']));
    expect(await keys(IDENTITY_COLLECTIONS.processed)).toEqual(expect.arrayContaining(['_id', 'expiryHour']));
    expect(await keys(IDENTITY_COLLECTIONS.audit)).toEqual(expect.arrayContaining(['_id', 'profileId,at', 'subjects,at']));
    expect(await keys(IDENTITY_COLLECTIONS.tickets)).toEqual(expect.arrayContaining(['_id', 'at']));
    for (const name of Object.values(IDENTITY_COLLECTIONS)) {
      if (name === IDENTITY_COLLECTIONS.rules || name === IDENTITY_COLLECTIONS.partitions) continue; // no index but _id
      for (const index of await indexes(name)) expect(index.expireAfterSeconds).toBeUndefined();
    }
    await store.ensureIndexes(); // idempotent (every instance runs it at start-up)
  });

  it('the sweep deletes expired redirects and processed records only, and is idempotent', async () => {
    const now = new Date('2025-06-01T00:00:00.000Z');
    const merged = (id: string, expiresAt: string) =>
      profile(id, { status: 'merged', mergedInto: 'live', mergedAt: '2025-01-01T00:00:00.000Z', mergedBy: 'm', expiresAt });
    await store.applyWrite({ op: 'insertProfile', profile: profile('live') });
    await store.applyWrite({ op: 'insertProfile', profile: merged('expired', '2025-05-31T23:59:59.000Z') });
    await store.applyWrite({ op: 'insertProfile', profile: merged('kept', '2025-06-01T00:00:01.000Z') });
    const processed = (id: string, expiresAt: string): ProcessedRecord => ({
      _id: id,
      status: 'resolved',
      profileId: 'live',
      identifiers: [],
      notices: [],
      auditIds: [],
      at: '2025-01-01T00:00:00.000Z',
      expiresAt,
    });
    await store.putProcessedMany([processed('old', '2025-05-01T00:00:00.000Z'), processed('new', '2025-07-01T00:00:00.000Z')]);

    await store.tickets.insertOne({ _id: 'old-ticket', coll: 'x', docId: 'x', version: 2, at: new Date(now.getTime() - 2 * 3600_000), by: 't', docJson: '{}' });
    await store.tickets.insertOne({ _id: 'new-ticket', coll: 'x', docId: 'x', version: 3, at: now, by: 't', docJson: '{}' });
    expect(await store.sweepExpired(now)).toEqual({ redirects: 1, processed: 1, tickets: 1 });
    expect((await store.getProfiles(['live', 'expired', 'kept'])).map((p) => p._id).sort()).toEqual(['kept', 'live']);
    expect((await store.getProcessedMany(['old', 'new'])).map((p) => p._id)).toEqual(['new']);
    expect(await store.sweepExpired(now)).toEqual({ redirects: 0, processed: 0, tickets: 0 });
    expect(await store.tickets.countDocuments({})).toBe(1);
  });

  it('batched processed records: one read for many ids, one upsert for many records (overwriting)', async () => {
    const rec = (id: string, profileId: string): ProcessedRecord => ({
      _id: id,
      status: 'resolved',
      profileId,
      identifiers: [{ type: 'anonymousId', value: id }],
      notices: [],
      auditIds: [],
      at: '2025-01-01T00:00:00.000Z',
      expiresAt: '2026-01-01T00:00:00.000Z',
    });
    await store.putProcessedMany([rec('b1', 'p1'), rec('b2', 'p2')]);
    await store.putProcessedMany([rec('b2', 'p9'), rec('b3', 'p3')]);
    const got = await store.getProcessedMany(['b1', 'b2', 'b3', 'b4']);
    expect(got.sort((a, b) => a._id.localeCompare(b._id)).map((r) => [r._id, r.profileId])).toEqual([
      ['b1', 'p1'],
      ['b2', 'p9'],
      ['b3', 'p3'],
    ]);
    // Many at once, most of them existing (FerretDB hangs on update commands of ~100 statements: chunked).
    const many = Array.from({ length: 150 }, (_, i) => rec(`m${i}`, 'p1'));
    await store.putProcessedMany(many.slice(0, 120));
    await store.putProcessedMany(many.map((r) => ({ ...r, profileId: 'p2' })));
    expect((await store.getProcessedMany(many.map((r) => r._id))).every((r) => r.profileId === 'p2')).toBe(true);
    // Concurrent upserts of the same ids (two instances replaying) do not fail.
    await Promise.all(Array.from({ length: 8 }, () => store.putProcessedMany([rec('c1', 'p1'), rec('c2', 'p2')])));
    expect(await store.getProcessedMany(['c1', 'c2'])).toHaveLength(2);
    await Promise.all(
      Array.from({ length: 8 }, () =>
        store.appendAudit([
          {
            id: 'x:created:p1',
            kind: 'created',
            at: '2025-01-01T00:00:00.000Z',
            triggeringMessageId: 'x',
            rule: 'new-identifiers',
            profileId: 'p1',
            details: {},
          },
        ]),
      ),
    );
  });

  it('finds a profile’s audit by any profile it names (survivor, loser, split source and new profile), newest first', async () => {
    const rec = (id: string, at: string, profileId: string, details: Record<string, unknown>): AuditRecord => ({
      id,
      kind: 'merge',
      at,
      triggeringMessageId: id,
      rule: 'shared-identifier',
      profileId,
      details,
    });
    await store.appendAudit([
      rec('a1', '2025-01-01T00:00:01.000Z', 'ps', { survivorId: 'ps', loserId: 'pl' }),
      rec('a2', '2025-01-01T00:00:02.000Z', 'pl', { identifier: { type: 'email', value: 'x@y.io' } }),
      { ...rec('a3', '2025-01-01T00:00:03.000Z', 'ps', { fromProfileId: 'ps', newProfileId: 'pn' }), kind: 'split', rule: 'admin-split' },
    ]);
    expect((await store.findAudit('pl')).map((a) => a.id)).toEqual(['a2', 'a1']);
    expect((await store.findAudit('ps')).map((a) => a.id)).toEqual(['a3', 'a1']);
    expect((await store.findAudit('pn')).map((a) => a.id)).toEqual(['a3']);
    expect((await store.findAudit('ps', { limit: 1 })).map((a) => a.id)).toEqual(['a3']);
    expect((await store.findAudit('ps', { before: '2025-01-01T00:00:03.000Z' })).map((a) => a.id)).toEqual(['a1']);
  });

  it('rules: defaults until a document is stored; invalid input is refused with paths; versions increase; dotted external types are fine', async () => {
    const repo = new RulesRepository(store);
    const initial = await repo.load();
    expect(initial).toMatchObject({ source: 'default', version: 0, input: null });
    expect(initial.rules).toEqual(identityRules());
    expect(await repo.stamp()).toBe('0');

    const bad = await repo.save({ types: { email: { limit: 0 } }, blocked: { patterns: ['(a+)+$'] }, nope: 1 }, 'test');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.map((e) => e.path).sort()).toEqual(['blocked.patterns[0]', 'nope', 'types.email.limit']);
    expect(await repo.stamp()).toBe('0');

    const first = await repo.save({ types: { email: { limit: 2 }, 'external:android.id': { limit: 3 } } }, 'test');
    expect(first.ok && first.loaded.version).toBe(1);
    const second = await repo.save({ types: { email: { limit: 3 } } }, 'admin');
    expect(second.ok && second.loaded.version).toBe(2);
    const loaded = await repo.load();
    expect(await repo.stamp()).toBe(loaded.stamp);
    expect(loaded).toMatchObject({ source: 'stored', version: 2, updatedBy: 'admin', input: { types: { email: { limit: 3 } } } });
    expect(loaded.rules.types['email']?.limit).toBe(3);
    expect(loaded.rules.types['external:android.id']).toBeUndefined();
    await repo.save({ types: { 'external:android.id': { limit: 3 } } }, 'admin');
    expect((await repo.load()).rules.types['external:android.id']?.limit).toBe(3);
  });
});
