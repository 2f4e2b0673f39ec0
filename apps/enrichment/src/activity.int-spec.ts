/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// The activity digest through the enrichment service (real broker and MongoDB-wire server):
// events applied → GET /v1/profiles/{id}/activity in time order with kinds, labels and
// identified/anonymous flags; a merge combines both digests, a split separates them; a profile
// stored before digests is answered from its events and gets its digest on its next write; the
// digest is neither in the profile API nor on profiles.changes.
import type { ProfileChange } from '@mosaic/contracts';
import type { StartedService } from '@mosaic/shared-service';
import { TEST_ADMIN_TOKEN, TopicTap, dropTestDatabase, startTestService, testInfra } from '@mosaic/shared-testing';
import { EnrichmentService } from './enrichment.service';
import { enrichmentDefinition } from './enrichment.definition';
import { changesFor, mergeNotice, resolvedEvent, sendResolved, splitNotice, waitForChanges, type EventFields } from './enrichment-test-helpers';

jest.setTimeout(90_000);

let svc: StartedService;
let enrichment: EnrichmentService;
let changes: TopicTap;
const env = { ENRICHMENT_SWEEP_INTERVAL_SECONDS: '0', ENRICHMENT_RFM_INTERVAL_SECONDS: '0', ENRICHMENT_PRICE_INDEX_SYNC_SECONDS: '0' };

beforeAll(async () => {
  svc = await startTestService(enrichmentDefinition, { env: { MOSAIC_INSTANCE_ID: 'enrichment-activity-it', ...env } });
  enrichment = svc.http.app.get(EnrichmentService);
  changes = await TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.profilesChanges);
}, 120_000);

afterAll(async () => {
  await changes?.stop();
  await svc?.stop();
  await dropTestDatabase().catch(() => undefined);
});

async function get(path: string): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${svc.http.url}${path}`, { headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

async function send(...messages: Parameters<typeof sendResolved>[2]): Promise<string[]> {
  const ids = await sendResolved(svc.platform.producer, svc.platform.topics.eventsResolved, messages);
  await waitForChanges(changes, ids);
  return ids;
}

// a day ago, to the minute: within the retention (400 days) whenever the test runs
const T0 = Math.floor((Date.now() - 86_400_000) / 60_000) * 60_000;
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();
const events = (profileId: string, ...fields: EventFields[]) => fields.map((f) => resolvedEvent(profileId, f, 'act'));
/** The entries without their ids: [time ISO, kind, label, identified, anonymous]. */
const shape = (entries: any[][]) => entries.map(([t, kind, label, identified, , anonymous]) => [new Date(t).toISOString(), kind, label, identified, anonymous]);

it('answers the applied events in time order with kinds, labels and flags; not in the profile nor on profiles.changes', async () => {
  // sent out of order, in two batches
  await send(
    ...events(
      'p-act',
      { timestamp: at(3), event: 'Order Completed', anonymousId: 'c-act', userId: 'ada', properties: { order_id: 'o1', total: 5 } },
      { timestamp: at(1), anonymousId: 'c-act', properties: { path: '/pricing' } },
    ),
  );
  const [late] = await send(
    ...events(
      'p-act',
      { timestamp: at(2), event: 'Video Playback Started', anonymousId: 'c-act' },
      { timestamp: at(4), event: 'CTA Clicked', anonymousId: 'c-act' },
    ),
  );
  const r = await get('/v1/profiles/p-act/activity');
  expect(r.status).toBe(200);
  expect(r.json).toMatchObject({ requestedId: 'p-act', profileId: 'p-act', path: ['p-act'], stored: true, max: 10_000, identifiedSince: at(3) });
  expect(shape(r.json['entries'])).toEqual([
    [at(1), 'page', 'page: /pricing', 0, 1],
    [at(2), 'video', 'Video Playback Started', 0, 1],
    [at(3), 'order', 'Order Completed', 1, 0],
    [at(4), 'click', 'CTA Clicked', 0, 0],
  ]);
  // the entry ids are the events' (the timeline API's messageId)
  const timeline = (await get('/v1/profiles/p-act/timeline')).json['events'].map((e: any) => e.messageId);
  expect(r.json['entries'].map((e: any[]) => e[4]).reverse()).toEqual(timeline);
  // kept out of what normal reads and publishes carry (event ids appear nowhere else in them)
  const lateId = r.json['entries'][0][4] as string;
  const profile = JSON.stringify((await get('/v1/profiles/p-act')).json);
  const change = JSON.stringify((changesFor(changes, late as string)[0] as ProfileChange).profile);
  for (const carried of [profile, change]) {
    expect(carried).not.toContain(lateId);
    expect(carried).not.toContain('"activity"');
  }
  expect((await get('/v1/profiles/p-none/activity')).status).toBe(404);
});

it('a merge combines both digests on the survivor (the loser answers through its redirect); a split separates them again', async () => {
  await send(
    ...events('p-loser', { timestamp: at(10), anonymousId: 'c-l' }, { timestamp: at(12), event: 'Email Opened', anonymousId: 'c-l' }),
    ...events('p-surv', { timestamp: at(11), userId: 'bo', event: 'Form Submitted' }, { timestamp: at(13), userId: 'bo' }),
  );
  await send(mergeNotice('p-surv', 'p-loser', [{ type: 'anonymousId', value: 'c-l' }]));
  const merged = await get('/v1/profiles/p-loser/activity');
  expect(merged.json).toMatchObject({ requestedId: 'p-loser', profileId: 'p-surv', path: ['p-loser', 'p-surv'], stored: true });
  expect(shape(merged.json['entries'])).toEqual([
    [at(10), 'page', 'page', 0, 1],
    [at(11), 'form', 'Form Submitted', 1, 0],
    [at(12), 'email-open', 'Email Opened', 0, 0],
    [at(13), 'page', 'page', 1, 0],
  ]);

  await send(splitNotice('p-surv', 'p-split', [{ type: 'anonymousId', value: 'c-l' }]));
  const kept = await get('/v1/profiles/p-surv/activity');
  const split = await get('/v1/profiles/p-split/activity');
  expect(shape(kept.json['entries']).map((e) => e[0])).toEqual([at(11), at(13)]);
  expect(shape(split.json['entries']).map((e) => [e[0], e[1]])).toEqual([
    [at(10), 'page'],
    [at(12), 'email-open'],
  ]);
  expect(split.json['stored']).toBe(true);
});

it('a profile stored before digests is answered from its events, and its next event stores the whole digest', async () => {
  await send(...events('p-old', { timestamp: at(20) }, { timestamp: at(21), event: 'Checkout Started' }));
  // what a profile written before this change looks like: no `activity` field
  await enrichment.repository.profiles.updateOne({ _id: 'p-old' }, { $unset: { activity: '' } });
  enrichment.applier.cache.delete('p-old');
  const before = await get('/v1/profiles/p-old/activity');
  expect(before.json['stored']).toBe(false);
  expect(shape(before.json['entries']).map((e) => [e[0], e[1]])).toEqual([
    [at(20), 'page'],
    [at(21), 'order'],
  ]);
  await send(...events('p-old', { timestamp: at(22), event: 'Email Link Clicked' }));
  const after = await get('/v1/profiles/p-old/activity');
  expect(after.json['stored']).toBe(true);
  expect(shape(after.json['entries']).map((e) => [e[0], e[1]])).toEqual([
    [at(20), 'page'],
    [at(21), 'order'],
    [at(22), 'email-click'],
  ]);
});

it('the RFM job, which rewrites profiles with orders, keeps their digest', async () => {
  await enrichment.rfm.runOnce();
  expect((await get('/v1/profiles/p-act')).json['profile'].computed.rfm).toBeDefined();
  const r = await get('/v1/profiles/p-act/activity');
  expect(r.json['stored']).toBe(true);
  expect(r.json['entries']).toHaveLength(4);
});
