// The batch applier's guards against the real server of the Jest run (FerretDB 1.24 or
// MongoDB), driven at the use-case level so that the order of competing steps is set by the
// test, not by timing: the replay guard past a full applied-id ring for events older than the
// retention, and a merge that runs between a segment's profile write and its event insert.
import type { Connection } from 'mongoose';
import type { MergeNotice, ResolvedEvent } from '@mosaic/contracts';
import { ENRICHMENT_COLLECTIONS, type EventDocument, ProfileRepository, type ProfileRepositoryOptions } from '@mosaic/enrichment-data-access';
import { plannedFinds, storePlansReadable, wholeCollectionReads } from '@mosaic/shared-testing';
import { BatchApplier } from './batch-applier';
import type { InboundResolved } from './batch-context';
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

const applierOver = (repository: ProfileRepository, maxAppliedIds?: number) =>
  new BatchApplier({
    store: repository,
    anonymousTtlMs: 365 * DAY,
    redirectTtlMs: 30 * DAY,
    eventRetentionMs: 400 * DAY,
    ...(maxAppliedIds ? { config: { maxAppliedIds } } : {}),
  });

const eventIdsOf = async (profileId: string) => (await store.eventsOf(profileId)).map((e) => e._id).sort();

describe('replay guard past a full applied-id ring', () => {
  it('an event older than the retention, applied, then re-delivered after the ring filled up and a sweep ran, is not applied twice', async () => {
    const ids = [{ type: 'anonymousId', value: 'a-import' }];
    const imported = page('p-import', new Date(Date.now() - 500 * DAY), ids); // older than the 400 days of retention
    const applier = applierOver(store, 3);
    expect((await applier.applyBatch([imported])).stats).toMatchObject({ applied: 1, duplicates: 0 });
    // three newer events push it out of the ring of 3
    await applier.applyBatch([1, 2, 3].map((d) => page('p-import', new Date(Date.now() - d * DAY), ids)));
    const before = await store.getProfile('p-import');
    expect(before?.appliedMessageIds).not.toContain(imported.messageId);
    expect(before?.computed.pageViews).toBe(4);
    // an expiry sweep (the first of its repository deletes by range: everything past expiresAt)
    await new ProfileRepository(conn, options).sweepExpired();

    // the replay, on an instance that holds nothing in memory
    const again = await applierOver(store, 3).applyBatch([imported]);
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

it('a segment reads nothing whole: profiles, the redirect check and the replay guard are served from indexes', async () => {
  const ids = (n: number) => [{ type: 'anonymousId', value: `a-plan-${n}` }];
  await applierOver(store, 2).applyBatch([0, 1, 2].flatMap((n) => [1, 2, 3].map((d) => page(`p-plan-${n}`, new Date(Date.now() - d * DAY), ids(n)))));
  await applierOver(store).applyBatch([merge('p-plan-0', 'p-plan-1')]);
  const finds = await plannedFinds(conn, () => applierOver(store, 2).applyBatch([0, 1, 2].map((n) => page(`p-plan-${n}`, new Date(), ids(n)))));
  const profileReads = finds.filter((f) => f.collection === ENRICHMENT_COLLECTIONS.profiles);
  expect(profileReads.some((f) => f.filter['status'] === 'merged')).toBe(true);
  if (storePlansReadable()) expect(wholeCollectionReads(finds)).toEqual([]);
});
