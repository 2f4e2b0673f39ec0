/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// The pipeline so far, end to end in real headless Chromium: a visitor browses the demo shop
// anonymously and logs in; the collector, identity and enrichment services run on the
// real broker and store; the profile API then shows one known profile whose counters and
// timeline include what the visitor did before logging in.
import type { ProfileChange } from '@mosaic/contracts';
import { TEST_ADMIN_TOKEN, TopicTap, startTestService, testInfra, waitFor } from '@mosaic/shared-testing';
import type { StartedService } from '@mosaic/shared-service';
import { enrichmentDefinition } from '../../apps/enrichment/src/enrichment.definition';
import { identityDefinition } from '../../apps/identity/src/identity.definition';
import { anonymousId, goto, newVisitor, ofVisitor, open, startStack, waitForEvents, type Stack } from './harness';

jest.setTimeout(120_000);

let stack: Stack;
let identity: StartedService;
let enrichment: StartedService;
let changes: TopicTap;

beforeAll(async () => {
  stack = await startStack();
  identity = await startTestService(identityDefinition, { env: { MOSAIC_INSTANCE_ID: 'e2e-identity' } });
  enrichment = await startTestService(enrichmentDefinition, { env: { MOSAIC_INSTANCE_ID: 'e2e-enrichment' } });
  changes = await TopicTap.start(testInfra().kafkaBrokers, enrichment.platform.topics.profilesChanges);
}, 180_000);

afterAll(async () => {
  await changes?.stop();
  await enrichment?.stop();
  await identity?.stop();
  await stack?.stop();
});

async function api(path: string): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${enrichment.http.url}${path}`, { headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

it('an anonymous visitor who logs in has one known profile whose history starts before the login', async () => {
  const { context, errors } = await newVisitor(stack);
  const page = await open(context, `${stack.shop.url}/`);
  const aid = await anonymousId(page);
  await goto(page, `${stack.shop.url}/category/coffee-machines`);
  await goto(page, `${stack.shop.url}/product/CM-900`);
  await goto(page, `${stack.shop.url}/login`);
  await page.fill('[name=email]', 'lin@example.com');
  await page.fill('[name=password]', 'correct horse');
  await page.click('#login-form button[type=submit]');
  await page.waitForURL(`${stack.shop.url}/`);
  await page.waitForFunction('window.mosaic && window.mosaic.VERSION');
  const raw = await waitForEvents(stack, ofVisitor(aid), (x) => x.some((p) => p.type === 'identify' && !!p.userId));
  const userId = raw.find((p) => p.type === 'identify')!.userId!;

  // The profile of the user id, once enrichment has applied the visitor's events.
  const profile = await waitFor(
    async () => {
      const r = await api(`/v1/profiles/by/userId/${encodeURIComponent(userId)}`);
      return r.status === 200 && r.json['profile'].computed.pageViews >= 4 && r.json['profile'].computed.productViews >= 1 ? r.json : null;
    },
    { timeoutMs: 60_000, intervalMs: 250, message: 'the profile of the logged-in visitor' },
  );
  const p = profile['profile'];
  expect(p.known).toBe(true);
  expect(p.identifiers).toEqual(
    expect.arrayContaining([
      { type: 'userId', value: userId },
      { type: 'anonymousId', value: aid },
      { type: 'email', value: 'lin@example.com' },
    ]),
  );
  expect(p.traits).toMatchObject({ email: 'lin@example.com' });
  expect(p.computed.productsViewed[0]).toMatchObject({ key: 'CM-900' });
  expect(p.computed.categoriesVisited.length).toBeGreaterThanOrEqual(1);
  expect(p.computed.categoryAffinity[0].score).toBeGreaterThan(0);
  expect(p.computed.device).toMatchObject({ browser: expect.stringMatching(/Chrom/) });
  expect(p.expiresAt).toBeUndefined();
  // The same profile by the cookie: the anonymous visitor and the customer are one.
  expect((await api(`/v1/profiles/by/anonymousId/${aid}`)).json['profileId']).toBe(profile['profileId']);
  // Its timeline, oldest last, starts with the anonymous home page view.
  const timeline = (await api(`/v1/profiles/${profile['profileId']}/timeline?type=page&limit=1000`)).json['events'] as {
    raw: { properties: { path: string }; userId?: string };
  }[];
  const paths = timeline.map((e) => e.raw.properties.path).reverse();
  expect(paths.slice(0, 3)).toEqual(['/', '/category/coffee-machines', '/product/CM-900']);
  expect(timeline[timeline.length - 1]!.raw.userId).toBeUndefined();
  // Every change on profiles.changes is keyed by the profile it describes.
  const mine = changes.messages.filter((m) => (m.json as { payload?: ProfileChange }).payload?.profileId === profile['profileId']);
  expect(mine.length).toBeGreaterThanOrEqual(5);
  expect(mine.every((m) => m.key === profile['profileId'])).toBe(true);
  expect(errors).toEqual([]);
  await context.close();
});
