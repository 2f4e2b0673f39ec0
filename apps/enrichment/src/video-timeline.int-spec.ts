/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// Video engagement through the enrichment service (real broker and MongoDB-wire server): the
// issue's sequence, delivered out of order, gives 120 of 180 s and one forward seek of 60 s on
// the profile, and the timeline shows the session as one entry across pages.
import type { StartedService } from '@mosaic/shared-service';
import { TEST_ADMIN_TOKEN, TopicTap, dropTestDatabase, startTestService, testInfra } from '@mosaic/shared-testing';
import { enrichmentDefinition } from './enrichment.definition';
import { resolvedEvent, sendResolved, waitForChanges } from './enrichment-test-helpers';

jest.setTimeout(90_000);

let svc: StartedService;
let changes: TopicTap;
const env = { ENRICHMENT_SWEEP_INTERVAL_SECONDS: '0', ENRICHMENT_RFM_INTERVAL_SECONDS: '0', ENRICHMENT_PRICE_INDEX_SYNC_SECONDS: '0' };

beforeAll(async () => {
  svc = await startTestService(enrichmentDefinition, { env: { MOSAIC_INSTANCE_ID: 'enrichment-video-it', ...env } });
  changes = await TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.profilesChanges);
}, 120_000);

afterAll(async () => {
  await changes?.stop();
  await svc?.stop();
  await dropTestDatabase().catch(() => undefined);
});

async function get(path: string): Promise<Record<string, any>> {
  const res = await fetch(`${svc.http.url}${path}`, { headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  return (await res.json()) as Record<string, any>;
}

const T0 = Date.parse('2026-11-02T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const video = (event: string, sec: number, props: Record<string, unknown>) =>
  resolvedEvent('p-vid', {
    event,
    timestamp: at(60 + sec),
    properties: { session_id: 's1', content_asset_id: 'v1', title: 'Film', total_length: 180, ...props },
  });

it('credits the seed sequence delivered out of order, and shows the session as one timeline entry', async () => {
  const session = [
    video('Video Playback Started', 0, { position: 0 }),
    video('Video Content Playing', 30, { position: 30 }),
    video('Video Playback Seek Started', 30.001, { position: 30, seek_position: 90 }),
    video('Video Playback Seek Completed', 30.5, { position: 90 }),
    video('Video Content Playing', 60.5, { position: 120 }),
    video('Video Playback Completed', 120.5, { position: 180 }),
  ];
  const others = [
    resolvedEvent('p-vid', { timestamp: at(0) }),
    resolvedEvent('p-vid', { event: 'Product Viewed', timestamp: at(600), properties: { product_id: 'x' } }),
  ];
  const ids = await sendResolved(svc.platform.producer, svc.platform.topics.eventsResolved, [
    session[4],
    session[1],
    others[0],
    session[5],
    session[0],
    session[3],
    others[1],
    session[2],
  ] as typeof session);
  await waitForChanges(changes, ids);

  const v = (await get('/v1/profiles/p-vid'))['profile'].computed.video;
  expect(v).toMatchObject({ started: 1, completed: 1, videosStarted: 1, secondsWatched: 120, shareWatched: 0.6667 });
  expect(v.videos[0]).toMatchObject({
    key: 'v1',
    watchedSeconds: 120,
    watched: [
      { from: 0, to: 30 },
      { from: 90, to: 180 },
    ],
    seeksForward: 1,
    skippedSeconds: 60,
    completions: 1,
  });

  // 8 events, 3 a page: [Product Viewed, Completed, Playing] · [Seek Completed, Seek Started, Playing] · [Started, page]
  const p1 = await get('/v1/profiles/p-vid/timeline?limit=3');
  expect(p1['events'].map((e: any) => e.event)).toEqual(['Product Viewed', 'Video Session']);
  expect(p1['events'][1].videoSession).toMatchObject({
    id: 's1',
    watchedSeconds: 120,
    completed: true,
    events: 6,
    seeks: [{ at: at(90.5), from: 30, to: 90 }],
  });
  expect(p1['events'][1].videoSession.messageIds).toHaveLength(6);
  const p2 = await get(`/v1/profiles/p-vid/timeline?limit=3&cursor=${p1['next']}`);
  expect(p2['events']).toEqual([]); // older events of the session already shown
  const p3 = await get(`/v1/profiles/p-vid/timeline?limit=3&cursor=${p2['next']}`);
  expect(p3['events'].map((e: any) => e.type)).toEqual(['page']);
  const raw = await get('/v1/profiles/p-vid/timeline?videoSessions=false');
  expect(raw['events']).toHaveLength(8);
});
