/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// Video engagement end to end in real headless Chromium: the demo shop's product video is
// played, seeked forward and finished; the tracker's Segment Video events go through the
// collector, identity and enrichment (real broker and store), and the profile then holds the
// seconds actually watched, the seek and the completion, and the timeline one video session.
import { PIPELINE_WAIT_MS, TEST_ADMIN_TOKEN, startTestService, waitFor } from '@mosaic/shared-testing';
import type { StartedService } from '@mosaic/shared-service';
import { enrichmentDefinition } from '../../apps/enrichment/src/enrichment.definition';
import { identityDefinition } from '../../apps/identity/src/identity.definition';
import { anonymousId, named, newVisitor, ofVisitor, open, startStack, waitForEvents, type Payload, type Stack } from './harness';

jest.setTimeout(5 * 60_000);

/**
 * A bound on Chromium playing the last second of a 4-second clip: a liveness bound, not a speed
 * check (beside CPU hogs its media pipeline stalled past 15 s; the test waits only as long as
 * playback takes).
 */
const PLAYBACK_WAIT_MS = 60_000;

let stack: Stack;
let identity: StartedService;
let enrichment: StartedService;

beforeAll(async () => {
  stack = await startStack();
  identity = await startTestService(identityDefinition, { env: { MOSAIC_INSTANCE_ID: 'e2e-video-identity' } });
  enrichment = await startTestService(enrichmentDefinition, { env: { MOSAIC_INSTANCE_ID: 'e2e-video-enrichment' } });
}, 180_000);

afterAll(async () => {
  await enrichment?.stop();
  await identity?.stop();
  await stack?.stop();
});

async function api(path: string): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${enrichment.http.url}${path}`, { headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

/** Plays the product video from the start, seeks forward to 3 s once past 1.3 s, and waits for its end. */
async function watchWithASkip(page: Awaited<ReturnType<typeof open>>): Promise<void> {
  const video = page.locator('#product-video');
  await video.evaluate((v: { readyState: number; load(): void }) => (v.readyState >= 1 ? undefined : v.load()));
  await page.waitForFunction("document.querySelector('#product-video').duration > 0", undefined, { polling: 250, timeout: PLAYBACK_WAIT_MS });
  await video.evaluate((v: { play(): Promise<void> }) => v.play());
  await page.waitForFunction("document.querySelector('#product-video').currentTime > 1.3", undefined, { polling: 250, timeout: PLAYBACK_WAIT_MS });
  await video.evaluate((v: { currentTime: number }) => {
    v.currentTime = 3;
  });
  await untilEnded(page);
}

interface PlaybackState {
  ended: boolean;
  paused: boolean;
  currentTime: number;
  readyState: number;
  error: number | null;
}

/**
 * Waits for the clip's end by asking the page every half second (not Playwright's default
 * requestAnimationFrame polling, which a starved renderer may not run), playing on if something
 * paused it; gives up after PLAYBACK_WAIT_MS naming the player's state.
 */
async function untilEnded(page: Awaited<ReturnType<typeof open>>): Promise<void> {
  const video = page.locator('#product-video');
  const deadline = Date.now() + PLAYBACK_WAIT_MS;
  for (;;) {
    const state = await video.evaluate(
      (v: { ended: boolean; paused: boolean; currentTime: number; readyState: number; error: { code: number } | null }): PlaybackState => ({
        ended: v.ended,
        paused: v.paused,
        currentTime: v.currentTime,
        readyState: v.readyState,
        error: v.error ? v.error.code : null,
      }),
    );
    if (state.ended) return;
    if (Date.now() > deadline) throw new Error(`the product video did not end within ${PLAYBACK_WAIT_MS} ms: ${JSON.stringify(state)}`);
    if (state.paused) await video.evaluate((v: { play(): Promise<void> }) => v.play().catch(() => undefined));
    await page.waitForTimeout(500);
  }
}

it('the product video, played, seeked and finished, gives the seconds watched, the seek and the completion', async () => {
  const { context, errors } = await newVisitor(stack);
  const page = await open(context, `${stack.shop.url}/product/CM-900`);
  const aid = await anonymousId(page);
  await watchWithASkip(page);
  const sent = await waitForEvents(stack, ofVisitor(aid), (x) => named(x, 'Video Playback Completed').length >= 1);
  const videoEvents = sent.filter((p: Payload) => p.type === 'track' && String(p.event).startsWith('Video '));
  const seek = videoEvents.find((p) => p.event === 'Video Playback Seek Started')!.properties;
  const from = seek['position'] as number;
  const to = seek['seek_position'] as number;
  expect(to).toBe(3);

  // The timeline shows the session as one entry once enrichment has applied every video event.
  const profileId = await waitFor(async () => (await api(`/v1/profiles/by/anonymousId/${aid}`)).json['profileId'] as string | undefined, {
    timeoutMs: PIPELINE_WAIT_MS,
    intervalMs: 250,
    message: 'the profile',
  });
  const entry = await waitFor(
    async () => {
      const t = (await api(`/v1/profiles/${profileId}/timeline?limit=1000`)).json['events'] as any[];
      const e = t.find((x) => x.event === 'Video Session');
      return e && e.videoSession.events === videoEvents.length ? e : null;
    },
    { timeoutMs: PIPELINE_WAIT_MS, intervalMs: 250, message: 'every video event on the timeline' },
  );
  // Played 0 → the seek's start, skipped to 3, played 3 → 4 (the tracker reports whole seconds).
  const watched = from + (4 - to);
  expect(entry.videoSession).toMatchObject({
    key: 'CM-900-demo',
    length: 4,
    productId: 'CM-900',
    completed: true,
    watchedSeconds: watched,
    seeksForward: 1,
    seeksBack: 0,
    skippedSeconds: to - from,
    watched: [
      { from: 0, to: from },
      { from: 3, to: 4 },
    ],
  });
  expect(entry.videoSession.seeks).toEqual([{ at: expect.any(String), from, to }]);
  const raw = (await api(`/v1/profiles/${profileId}/timeline?limit=1000&videoSessions=false`)).json['events'] as any[];
  expect(raw.filter((x) => String(x.event).startsWith('Video ')).length).toBe(videoEvents.length);

  const video = (await api(`/v1/profiles/${profileId}`)).json['profile'].computed.video;
  expect(video).toMatchObject({
    started: 1,
    completed: 1,
    videosStarted: 1,
    secondsWatched: watched,
    shareWatched: Math.round((watched / 4) * 10_000) / 10_000,
  });
  expect(video.videos).toEqual([
    expect.objectContaining({
      key: 'CM-900-demo',
      title: 'Barista Duo in four seconds',
      length: 4,
      productId: 'CM-900',
      sessions: 1,
      completions: 1,
      watchedSeconds: watched,
      seeksForward: 1,
      skippedSeconds: to - from,
      watched: [
        { from: 0, to: from },
        { from: 3, to: 4 },
      ],
    }),
  ]);
  expect(errors).toEqual([]);
  await context.close();
});
