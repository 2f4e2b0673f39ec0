// The batch applier's guards against the real server of the Jest run (FerretDB 1.24 or
// MongoDB), driven at the use-case level so that the order of competing steps is set by the
// test, not by timing (clocks are set by the test where redirect slots matter): the replay guard past a
// full applied-id ring for events older than the retention, and a merge that runs between a
// segment's profile write and its event insert (follow-merges.ts).
import type { CommandStartedEvent, Document } from 'mongodb';
import type { Connection } from 'mongoose';
import type { MergeNotice, ResolvedEvent } from '@mosaic/contracts';
import {
  ENRICHMENT_COLLECTIONS,
  type EventDocument,
  ProfileRepository,
  type ProfileRepositoryOptions,
  REDIRECT_SLOT_MS,
  redirectSlotOf,
  redirectSlotsOf,
} from '@mosaic/enrichment-data-access';
import { type PlannedFind, plannedFinds, storePlansReadable, wholeCollectionReads } from '@mosaic/shared-testing';
import { BatchApplier } from './batch-applier';
import type { InboundResolved } from './batch-context';
import { DEFAULT_MAX_CLOCK_SKEW_MS, redirectSlotsToAsk } from './follow-merges';
import { useTestStore } from './testing/test-store';

jest.setTimeout(60_000);

const DAY = 86_400_000;
const db = useTestStore('applier-test');
let conn: Connection;
let options: ProfileRepositoryOptions;
let store: ProfileRepository;
let seq = 0;

beforeAll(() => {
  ({ conn, options, store } = db);
});

function page(profileId: string, at: Date, identifiers: { type: string; value: string }[]): InboundResolved {
  const messageId = `ap-${++seq}`;
  const anonymousId = identifiers.find((i) => i.type === 'anonymousId')?.value;
  const userId = identifiers.find((i) => i.type === 'userId')?.value;
  const payload: ResolvedEvent = {
    kind: 'event',
    profileId,
    identifiers,
    event: {
      type: 'page',
      messageId,
      ...(anonymousId ? { anonymousId } : {}),
      ...(userId ? { userId } : {}),
      properties: {},
      traits: {},
      context: {},
      timestamp: at.toISOString(),
      receivedAt: at.toISOString(),
      sourceId: 'src',
    } as ResolvedEvent['event'],
  };
  return { messageId, correlationId: `c-${messageId}`, payload };
}

function merge(survivorId: string, loserId: string): InboundResolved {
  const payload: MergeNotice = {
    kind: 'merge',
    survivorId,
    loserId,
    reason: 'test',
    triggeringMessageId: `trig-${++seq}`,
    movedIdentifiers: [],
    at: new Date().toISOString(),
  };
  return { messageId: `merge:${payload.triggeringMessageId}:${loserId}`, correlationId: 'c-merge', payload };
}

const applierOver = (repository: ProfileRepository, o: { maxAppliedIds?: number; now?: () => Date; segmentEvents?: number } = {}) =>
  new BatchApplier({
    store: repository,
    anonymousTtlMs: 365 * DAY,
    redirectTtlMs: 30 * DAY,
    eventRetentionMs: 400 * DAY,
    cacheMaxEntries: 1000,
    ...(o.maxAppliedIds ? { config: { maxAppliedIds: o.maxAppliedIds } } : {}),
    ...(o.now ? { now: o.now } : {}),
    ...(o.segmentEvents ? { segmentEvents: o.segmentEvents } : {}),
  });

/** A clock standing at `ms` (a test moves it). */
function clockAt(ms: number): { now: () => Date; ms: number } {
  const clock = { ms, now: () => new Date(clock.ms) };
  return clock;
}

/** Half-way into the current redirect slot: a clock 4 s off either way files under the slot before or after. */
const midSlot = () => redirectSlotOf(Date.now()) * REDIRECT_SLOT_MS + REDIRECT_SLOT_MS / 2;

/** Finds of profiles by `_id` and `status: "merged"`: the per-profile redirect probe. */
const probes = (finds: readonly PlannedFind[]) => finds.filter((f) => f.collection === ENRICHMENT_COLLECTIONS.profiles && f.filter['status'] === 'merged');
/** Finds of profiles by the slots their redirect answers for. */
const slotFinds = (finds: readonly PlannedFind[]) => finds.filter((f) => f.collection === ENRICHMENT_COLLECTIONS.profiles && 'redirectSlots' in f.filter);

const eventIdsOf = async (profileId: string) => (await store.eventsOf(profileId)).map((e) => e._id).sort();

describe('replay guard past a full applied-id ring', () => {
  it('an event older than the retention, applied, then re-delivered after the ring filled up and a sweep ran, is not applied twice', async () => {
    const ids = [{ type: 'anonymousId', value: 'a-import' }];
    const imported = page('p-import', new Date(Date.now() - 500 * DAY), ids); // older than the 400 days of retention
    const applier = applierOver(store, { maxAppliedIds: 3 });
    expect((await applier.applyBatch([imported])).stats).toMatchObject({ applied: 1, duplicates: 0 });
    // three newer events push it out of the ring of 3
    await applier.applyBatch([1, 2, 3].map((d) => page('p-import', new Date(Date.now() - d * DAY), ids)));
    const before = await store.getProfile('p-import');
    expect(before?.appliedMessageIds).not.toContain(imported.messageId);
    expect(before?.computed.pageViews).toBe(4);
    // an expiry sweep (the first of its repository deletes by range: everything past expiresAt)
    await new ProfileRepository(conn, options).sweepExpired();

    // the replay, on an instance that holds nothing in memory
    const again = await applierOver(store, { maxAppliedIds: 3 }).applyBatch([imported]);
    expect(again.stats).toMatchObject({ applied: 0, duplicates: 1 });
    expect(again.changes[0]?.change.changed).toEqual([]);
    expect((await store.getProfile('p-import'))?.computed.pageViews).toBe(4);
    // its event document, the guard, outlives the sweep: it expires one retention after it was stored
    const [stored] = (await store.eventsOf('p-import')).filter((d) => d._id === imported.messageId);
    expect(stored?.expiresAt.getTime()).toBeGreaterThan(Date.now() + 399 * DAY);
  });
});

/** A repository that runs `beforePutEvents` / `afterPutEvents` (once each) around a segment's event insert. */
class InterleavedRepository extends ProfileRepository {
  beforePutEvents: (() => Promise<unknown>) | undefined;
  afterPutEvents: (() => Promise<unknown>) | undefined;

  override async putEvents(docs: readonly EventDocument[]): Promise<void> {
    const before = this.beforePutEvents;
    this.beforePutEvents = undefined;
    if (before) await before();
    await super.putEvents(docs);
    const after = this.afterPutEvents;
    this.afterPutEvents = undefined;
    if (after) await after();
  }
}

/** A repository whose first redirect write runs `whileWriting` (a clock moved on: a slow write). */
class SlowRedirectWriteRepository extends ProfileRepository {
  constructor(
    conn: Connection,
    options: ProfileRepositoryOptions,
    private whileWriting: (() => void) | undefined,
  ) {
    super(conn, options);
  }

  override async writeProfiles(writes: Parameters<ProfileRepository['writeProfiles']>[0]): ReturnType<ProfileRepository['writeProfiles']> {
    const result = await super.writeProfiles(writes);
    if (this.whileWriting && writes.some((w) => w.doc.status === 'merged')) {
      this.whileWriting();
      this.whileWriting = undefined;
    }
    return result;
  }
}

describe('a merge racing the loser’s partition', () => {
  it('an event whose profile was merged away between its profile write and its event insert ends on the survivor’s timeline', async () => {
    const survivorIds = [{ type: 'userId', value: 'u-surv' }];
    const loserIds = [{ type: 'anonymousId', value: 'a-lose' }];
    const applier = applierOver(store);
    await applier.applyBatch([page('p-surv', new Date(Date.now() - 3_000), survivorIds), page('p-lose', new Date(Date.now() - 2_000), loserIds)]);

    // The loser's partition applies E; the survivor's partition runs the merge after E's profile
    // write landed but before E is stored: the redirect, the event move and the fold all happen there.
    const loserPartition = new InterleavedRepository(conn, options);
    const e = page('p-lose', new Date(Date.now() - 1_000), loserIds);
    let merged: Awaited<ReturnType<BatchApplier['applyBatch']>> | undefined;
    loserPartition.beforePutEvents = async () => {
      merged = await applierOver(store).applyBatch([merge('p-surv', 'p-lose')]);
    };
    const applied = await applierOver(loserPartition).applyBatch([e]);
    expect(applied.stats).toMatchObject({ applied: 1, conflicts: 0 });
    expect(merged?.stats).toMatchObject({ merges: 1 });

    // E's effect was folded into the survivor, and E is on its timeline, none left on the redirect
    const survivor = await store.getProfile('p-surv');
    expect(survivor?.computed.pageViews).toBe(3);
    expect(survivor?.appliedMessageIds).toContain(e.messageId); // with the loser's ring: a redelivery of E is a duplicate there
    expect(await eventIdsOf('p-lose')).toEqual([]);
    expect(await eventIdsOf('p-surv')).toEqual(expect.arrayContaining([e.messageId]));
    expect(await eventIdsOf('p-surv')).toHaveLength(3);
  });

  it('the same, with the process dying after the event insert: the redelivered event moves its stored copy off the redirect', async () => {
    const loserIds = [{ type: 'anonymousId', value: 'a-lose2' }];
    await applierOver(store).applyBatch([
      page('p-surv2', new Date(Date.now() - 3_000), [{ type: 'userId', value: 'u-surv2' }]),
      page('p-lose2', new Date(Date.now() - 2_000), loserIds),
    ]);
    const loserPartition = new InterleavedRepository(conn, options);
    const e = page('p-lose2', new Date(Date.now() - 1_000), loserIds);
    loserPartition.beforePutEvents = () => applierOver(store).applyBatch([merge('p-surv2', 'p-lose2')]);
    loserPartition.afterPutEvents = () => Promise.reject(new Error('SIGKILL'));
    await expect(applierOver(loserPartition).applyBatch([e])).rejects.toThrow('SIGKILL');
    expect(await eventIdsOf('p-lose2')).toEqual([e.messageId]); // stranded until the redelivery

    // not committed: the batch comes again, to an instance with nothing in memory
    const again = await applierOver(store).applyBatch([e]);
    expect(again.stats).toMatchObject({ applied: 0, duplicates: 1 });
    expect(await eventIdsOf('p-lose2')).toEqual([]);
    expect(await eventIdsOf('p-surv2')).toEqual(expect.arrayContaining([e.messageId]));
    expect((await store.getProfile('p-surv2'))?.computed.pageViews).toBe(3);
  });
});

describe('the redirect check’s cost and reach', () => {
  /** p-<prefix>-surv (known) and p-<prefix>-lose (anonymous) exist, applied by an instance on clock `now`. */
  async function pair(prefix: string, now: () => Date = () => new Date()) {
    const loserIds = [{ type: 'anonymousId', value: `a-${prefix}` }];
    await applierOver(store, { now }).applyBatch([
      page(`p-${prefix}-surv`, new Date(Date.now() - 3_000), [{ type: 'userId', value: `u-${prefix}` }]),
      page(`p-${prefix}-lose`, new Date(Date.now() - 2_000), loserIds),
    ]);
    return { survivor: `p-${prefix}-surv`, loser: `p-${prefix}-lose`, loserIds };
  }

  it.each([
    ['ahead of', 4_000, 1],
    ['behind', -4_000, -1],
  ])('a merge by an instance whose clock is 4 s %s the loser partition’s is found in its slot', async (_, skew, slotOffset) => {
    const t0 = midSlot();
    const { survivor, loser, loserIds } = await pair(`skew${slotOffset}`);
    const versionBefore = (await store.getProfile(loser))?.version ?? 0;
    const loserPartition = new InterleavedRepository(conn, options);
    const e = page(loser, new Date(Date.now() - 1_000), loserIds);
    loserPartition.beforePutEvents = () => applierOver(store, { now: () => new Date(t0 + skew) }).applyBatch([merge(survivor, loser)]);
    expect((await applierOver(loserPartition, { now: () => new Date(t0) }).applyBatch([e])).stats).toMatchObject({ applied: 1, conflicts: 0 });

    const redirect = await store.getProfile(loser);
    expect(redirect?.redirectSlots).toEqual(redirectSlotsOf(t0 + skew)); // filed by the merging instance's clock
    expect(redirect?.redirectSlots?.[0]).toBe(redirectSlotOf(t0) + slotOffset);
    expect(redirect?.version).toBe(versionBefore + 2); // e's write, then the redirect: filed once, its write was quick
    expect(await eventIdsOf(loser)).toEqual([]);
    expect(await eventIdsOf(survivor)).toHaveLength(3);
  });

  it('a redirect whose write took longer than the clock bound is filed again after it, so a batch that started after its first slot still finds it', async () => {
    const { survivor, loser, loserIds } = await pair('slow-write');
    const started = midSlot();
    // the redirect was filed 15 s before the loser's batch started and its write took 23 s: readable 8 s
    // after the start, filed outside the slots that batch asks — unless filed again
    const mergeClock = clockAt(started - 15_000);
    const slowStore = new SlowRedirectWriteRepository(conn, options, () => (mergeClock.ms += 23_000));
    const loserPartition = new InterleavedRepository(conn, options);
    const e = page(loser, new Date(Date.now() - 1_000), loserIds);
    const batchClock = clockAt(started);
    loserPartition.beforePutEvents = async () => {
      await applierOver(slowStore, { now: mergeClock.now }).applyBatch([merge(survivor, loser)]);
      batchClock.ms = started + 9_000; // the check comes after the redirect became readable
    };
    expect((await applierOver(loserPartition, { now: batchClock.now }).applyBatch([e])).stats).toMatchObject({ applied: 1, conflicts: 0 });

    expect(redirectSlotsToAsk(started, started + 9_000)).not.toContain(redirectSlotOf(started - 15_000));
    expect((await store.getProfile(loser))?.redirectSlots?.[0]).toBe(redirectSlotOf(started + 8_000));
    expect(await eventIdsOf(loser)).toEqual([]);
    expect(await eventIdsOf(survivor)).toEqual(expect.arrayContaining([e.messageId]));
  });

  it('a merge notice delivered again, however late, leaves its redirect as it is (a replay changes nothing)', async () => {
    const { survivor, loser } = await pair('redelivered');
    const clock = clockAt(midSlot());
    const notice = merge(survivor, loser);
    await applierOver(store, { now: clock.now }).applyBatch([notice]);
    const first = await store.getProfile(loser);
    expect(first?.redirectSlots?.[0]).toBe(redirectSlotOf(clock.ms));

    clock.ms += 60_000;
    expect((await applierOver(store, { now: clock.now }).applyBatch([notice])).stats).toMatchObject({ duplicates: 1, conflicts: 0 });
    expect(await store.getProfile(loser)).toEqual(first);
  });

  it.each([
    ['10 minutes after the redirect', false],
    ['after a redirect stored before redirectSlots existed', true],
  ])('a redelivery %s moves the stranded copy by what resolving its event showed, without a query per profile', async (_, unfiled) => {
    const clock = clockAt(Date.now());
    const { survivor, loser, loserIds } = await pair(unfiled ? 'unfiled' : 'late', clock.now);
    const loserPartition = new InterleavedRepository(conn, options);
    const e = page(loser, new Date(Date.now() - 1_000), loserIds);
    loserPartition.beforePutEvents = () => applierOver(store, { now: clock.now }).applyBatch([merge(survivor, loser)]);
    loserPartition.afterPutEvents = () => Promise.reject(new Error('SIGKILL'));
    await expect(applierOver(loserPartition, { now: clock.now }).applyBatch([e])).rejects.toThrow('SIGKILL');
    expect(await eventIdsOf(loser)).toEqual([e.messageId]);
    if (unfiled) await store.profiles.updateOne({ _id: loser }, { $unset: { redirectSlots: '' } });

    clock.ms += 10 * 60_000; // the redirect's slot is long out of what a batch asks
    let again: Awaited<ReturnType<BatchApplier['applyBatch']>> | undefined;
    const finds = await plannedFinds(conn, async () => {
      again = await applierOver(store, { now: clock.now }).applyBatch([e]); // a new instance: nothing in memory
    });
    expect(again?.stats).toMatchObject({ applied: 0, duplicates: 1 });
    expect(await eventIdsOf(loser)).toEqual([]);
    expect(await eventIdsOf(survivor)).toEqual(expect.arrayContaining([e.messageId]));
    expect(probes(finds)).toEqual([]);
  });

  it('a retry on the same instance, which holds the profile as it wrote it, asks the store whether it is a redirect now', async () => {
    const clock = clockAt(Date.now());
    const { survivor, loser, loserIds } = await pair('retry', clock.now);
    const loserPartition = new InterleavedRepository(conn, options);
    const applier = applierOver(loserPartition, { now: clock.now });
    const e = page(loser, new Date(Date.now() - 1_000), loserIds);
    loserPartition.beforePutEvents = () => applierOver(store, { now: clock.now }).applyBatch([merge(survivor, loser)]);
    loserPartition.afterPutEvents = () => Promise.reject(new Error('store unavailable'));
    await expect(applier.applyBatch([e])).rejects.toThrow('store unavailable');
    expect(await eventIdsOf(loser)).toEqual([e.messageId]);

    clock.ms += 10 * 60_000; // retried after an outage: the redirect's slot is out of reach
    let again: Awaited<ReturnType<BatchApplier['applyBatch']>> | undefined;
    const finds = await plannedFinds(conn, async () => {
      again = await applier.applyBatch([e]);
    });
    // its copy of the loser (cached, stale) holds e's id: a duplicate, nothing written that could conflict
    expect(again?.stats).toMatchObject({ applied: 0, duplicates: 1, cacheHits: 1, cacheMisses: 0 });
    expect(probes(finds).map((f) => f.filter['_id'])).toEqual([loser]);
    expect(await eventIdsOf(loser)).toEqual([]);
    expect(await eventIdsOf(survivor)).toEqual(expect.arrayContaining([e.messageId]));
  });

  it('a profile the batch wrote is not asked about, although an earlier segment of the batch knew it only from its cache', async () => {
    const ids = [{ type: 'anonymousId', value: 'a-mixed' }];
    const applier = applierOver(store, { segmentEvents: 1 });
    const first = page('p-mixed', new Date(Date.now() - 2_000), ids);
    await applier.applyBatch([first]);
    // the first segment: a duplicate, taken from the cache, nothing written; the second writes the profile
    let again: Awaited<ReturnType<BatchApplier['applyBatch']>> | undefined;
    const finds = await plannedFinds(conn, async () => {
      again = await applier.applyBatch([first, page('p-mixed', new Date(Date.now() - 1_000), ids)]);
    });
    expect(again?.stats).toMatchObject({ applied: 1, duplicates: 1, cacheHits: 2, cacheMisses: 0 });
    expect(probes(finds)).toEqual([]);
  });

  it('a batch of events of cached profiles asks its slots by one equality, whatever the number of profiles, from the index', async () => {
    const t0 = midSlot();
    const applier = applierOver(store, { now: () => new Date(t0) });
    const n = 40;
    const ids = (k: number) => [{ type: 'anonymousId', value: `a-cost-${k}` }];
    const batch = () => Array.from({ length: n }, (_, k) => page(`p-cost-${k}`, new Date(Date.now() - 5_000), ids(k)));
    await applier.applyBatch(batch());
    // redirects of other profiles, filed in a slot asked and in one before those asked
    const others = await pair('cost-a');
    await applierOver(store, { now: () => new Date(t0) }).applyBatch([merge(others.survivor, others.loser)]);
    const earlier = await pair('cost-b');
    await applierOver(store, { now: () => new Date(t0 - 3 * DEFAULT_MAX_CLOCK_SKEW_MS) }).applyBatch([merge(earlier.survivor, earlier.loser)]);

    const finds: Document[] = [];
    const eventUpdates: Document[] = [];
    const record = (e: CommandStartedEvent) => {
      if (e.commandName === 'find' && e.command['find'] === ENRICHMENT_COLLECTIONS.profiles) finds.push(e.command['filter'] as Document);
      if (e.commandName === 'update' && e.command['update'] === ENRICHMENT_COLLECTIONS.events) eventUpdates.push(e.command);
    };
    conn.getClient().on('commandStarted', record);
    const planned = await plannedFinds(conn, () => applier.applyBatch(batch())).finally(() => conn.getClient().off('commandStarted', record));

    const asked = redirectSlotsToAsk(t0, t0);
    // two bounds back (a redirect may be filed one bound before it is readable, by a clock one bound behind), one ahead
    expect(asked).toEqual([-2, -1, 0, 1].map((d) => redirectSlotOf(t0) + d));
    expect(asked).not.toContain(redirectSlotOf(t0 - 3 * DEFAULT_MAX_CLOCK_SKEW_MS));
    // nothing read per profile (all cached, none a redirect): the four slots by one equality, on the
    // last (a redirect answers for its slot and the three after it)
    expect(finds).toEqual([{ redirectSlots: redirectSlotOf(t0) + 1 }]);
    expect(eventUpdates).toEqual([]); // the redirect found is none of the batch's profiles: nothing to move
    const filed = await store.profiles.find({ redirectSlots: redirectSlotOf(t0) + 1 }).toArray();
    expect(filed.map((d) => d._id)).toEqual([others.loser]); // not the one filed three bounds back
    expect(slotFinds(planned)).toHaveLength(1);
    if (storePlansReadable()) expect(wholeCollectionReads(slotFinds(planned))).toEqual([]);
  });
});

it('a segment reads nothing whole: profiles, the redirect check and the replay guard are served from indexes', async () => {
  const ids = (n: number) => [{ type: 'anonymousId', value: `a-plan-${n}` }];
  await applierOver(store, { maxAppliedIds: 2 }).applyBatch(
    [0, 1, 2].flatMap((n) => [1, 2, 3].map((d) => page(`p-plan-${n}`, new Date(Date.now() - d * DAY), ids(n)))),
  );
  await applierOver(store).applyBatch([merge('p-plan-0', 'p-plan-1')]);
  const finds = await plannedFinds(conn, () =>
    applierOver(store, { maxAppliedIds: 2 }).applyBatch([0, 1, 2].map((n) => page(`p-plan-${n}`, new Date(), ids(n)))),
  );
  expect(slotFinds(finds).length).toBeGreaterThanOrEqual(1);
  if (storePlansReadable()) expect(wholeCollectionReads(finds)).toEqual([]);
});
