// A destination deleted by one instance while another still holds the trigger that used it,
// against the real store: the other instance's ingest inserts a delivery after the delete ended
// the destination's pending ones. Nothing would ever send or end it; EndOrphanDeliveries ends it
// when that instance's configuration drops the destination (or at once, when it already has).
import { detectServerProfile } from '@mosaic/shared-mongo';
import { useTestConnection } from '@mosaic/shared-testing';
import type { SegmentMembershipChange } from '@mosaic/contracts';
import type { Trigger } from '@mosaic/activation-domain';
import {
  ActivationProfilesRepository,
  ConfigCache,
  DeliveriesRepository,
  DestinationsRepository,
  ExperiencesRepository,
  TriggersRepository,
  ensureActivationIndexes,
} from '@mosaic/activation-data-access';
import { EndOrphanDeliveries } from './end-orphan-deliveries.use-case';
import { IngestMembershipChanges } from './ingest-membership-changes.use-case';

jest.setTimeout(60_000);

const db = useTestConnection();
let destinations: DestinationsRepository;
let triggers: TriggersRepository;
let deliveries: DeliveriesRepository;
let profiles: ActivationProfilesRepository;

beforeAll(async () => {
  await ensureActivationIndexes(db.conn);
  const server = await detectServerProfile(db.conn);
  destinations = new DestinationsRepository(db.conn);
  triggers = new TriggersRepository(db.conn);
  deliveries = new DeliveriesRepository(db.conn, undefined, { cas: server.cas });
  profiles = new ActivationProfilesRepository(db.conn, server.pointReads);
});

/** One instance: its configuration, its orphan check and its ingest (with the trigger list `triggersOf` gives). */
function instance(triggersOf?: (config: ConfigCache) => readonly Trigger[]) {
  const config = new ConfigCache({ destinations, triggers, experiences: new ExperiencesRepository(db.conn) });
  const orphans = new EndOrphanDeliveries({
    skipPendingOf: (id, reason) => deliveries.skipPendingOf(id, reason),
    destinationIds: () => config.destinations().map((d) => d.id),
  });
  const ingest = new IngestMembershipChanges({
    profiles,
    deliveries,
    triggers: () => (triggersOf ? triggersOf(config) : config.triggers()),
    afterInsert: (ids) => orphans.afterInsert(ids),
  });
  return { config, orphans, ingest };
}

async function createDestinationAndTrigger(tag: string): Promise<{ destinationId: string; triggerId: string }> {
  const at = new Date();
  const destinationId = `dst_${tag}`;
  const triggerId = `trg_${tag}`;
  const config = JSON.stringify({ kind: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
  await destinations.insert({ _id: destinationId, kind: 'webhook', name: tag, enabled: true, config, createdAt: at, updatedAt: at });
  await triggers.insert({
    _id: triggerId,
    segmentKey: `seg_${tag}`,
    on: 'entered',
    destinationId,
    delaySeconds: 0,
    frequencyCap: null,
    enabled: true,
    createdAt: at,
    updatedAt: at,
  });
  return { destinationId, triggerId };
}

/** What the admin API's delete does on another instance: the trigger, then the destination's pending deliveries, then the destination. */
async function deleteElsewhere({ destinationId, triggerId }: { destinationId: string; triggerId: string }): Promise<void> {
  await triggers.delete(triggerId);
  await deliveries.skipPendingOf(destinationId, `destination ${destinationId} was deleted`);
  await destinations.delete(destinationId);
}

function entered(tag: string, profileId: string): SegmentMembershipChange {
  return {
    profileId,
    segmentKey: `seg_${tag}`,
    segmentVersion: 1,
    change: 'entered',
    at: new Date().toISOString(),
    reason: { kind: 'message' },
    identifiers: {},
    profileVersion: 1,
  };
}

async function statusOf(destinationId: string): Promise<string[]> {
  return (await deliveries.list({ destinationId, limit: 10 })).map((d) => `${d.status}${d.skipReason ? `: ${d.skipReason}` : ''}`);
}

it('ends a delivery inserted while the configuration still held the destination, once a load drops it', async () => {
  const created = await createDestinationAndTrigger('held');
  const { config, orphans, ingest } = instance();
  await config.reload();
  await orphans.afterConfigLoad();

  await deleteElsewhere(created);
  const stats = await ingest.apply([{ change: entered('held', 'p-held'), partition: 0, offset: '1' }]);
  expect(stats.inserted).toBe(1);
  expect(await statusOf(created.destinationId)).toEqual(['pending']); // the configuration still holds it

  await config.reload();
  expect(await orphans.afterConfigLoad()).toBe(1);
  expect(await statusOf(created.destinationId)).toEqual(['skipped: destination dst_held was deleted']);
});

it('ends a delivery at once when the configuration had already dropped its destination (a trigger list read before)', async () => {
  const created = await createDestinationAndTrigger('dropped');
  let staleTriggers: readonly Trigger[] = [];
  const { config, orphans, ingest } = instance(() => staleTriggers);
  await config.reload();
  await orphans.afterConfigLoad();
  staleTriggers = config.triggers();

  await deleteElsewhere(created);
  await config.reload(); // the destination is gone; the ingest below still matches the old trigger list
  const stats = await ingest.apply([{ change: entered('dropped', 'p-dropped'), partition: 0, offset: '2' }]);
  expect(stats.inserted).toBe(1);
  expect(await statusOf(created.destinationId)).toEqual(['skipped: destination dst_dropped was deleted']);
});

it('leaves the deliveries of destinations that still exist pending', async () => {
  const created = await createDestinationAndTrigger('kept');
  const { config, orphans, ingest } = instance();
  await config.reload();
  await orphans.afterConfigLoad();
  await ingest.apply([{ change: entered('kept', 'p-kept'), partition: 0, offset: '3' }]);
  await config.reload();
  expect(await orphans.afterConfigLoad()).toBe(0);
  expect(await statusOf(created.destinationId)).toEqual(['pending']);
});
