/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// The enrichment service against the real broker and MongoDB-wire server: resolved messages
// produced to events.resolved, profiles read back through the profile API and the change
// messages read back from profiles.changes; merges, splits, duplicates, dead letters, expiry,
// RFM, and a replay of the whole topic that leaves every profile as it was.
import { Kafka, logLevel } from 'kafkajs';
import { Schemas, decodeMessage, type DeadLetter, type ProfileChange } from '@mosaic/contracts';
import { fromStoredProfile } from '@mosaic/enrichment-data-access';
import type { StartedService } from '@mosaic/shared-service';
import { PIPELINE_WAIT_MS, TEST_ADMIN_TOKEN, TopicTap, dropTestDatabase, startTestService, testInfra } from '@mosaic/shared-testing';
import { enrichmentDefinition } from './enrichment.definition';
import { EnrichmentService } from './enrichment.service';
import { changesFor, mergeNotice, resolvedEvent, sendResolved, splitNotice, waitForChanges, type EventFields } from './enrichment-test-helpers';

jest.setTimeout(180_000);

let svc: StartedService;
let enrichment: EnrichmentService;
let changes: TopicTap;
let dlq: TopicTap;
let url: string;
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
const env = {
  ENRICHMENT_SWEEP_INTERVAL_SECONDS: '0',
  ENRICHMENT_RFM_INTERVAL_SECONDS: '0',
  ENRICHMENT_PRICE_INDEX_SYNC_SECONDS: '0',
  KAFKA_CONSUMER_MAX_RETRIES: '1',
  KAFKA_CONSUMER_RETRY_BACKOFF_MS: '20',
};

beforeAll(async () => {
  svc = await startTestService(enrichmentDefinition, { env: { MOSAIC_INSTANCE_ID: 'enrichment-it-1', ...env } });
  url = svc.http.url;
  enrichment = svc.http.app.get(EnrichmentService);
  [changes, dlq] = await Promise.all([
    TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.profilesChanges),
    TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.dlqEnrichment),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([changes?.stop(), dlq?.stop()]);
  await svc?.stop();
  await dropTestDatabase().catch(() => undefined);
});

async function send(...messages: Parameters<typeof sendResolved>[2]): Promise<string[]> {
  const ids = await sendResolved(svc.platform.producer, svc.platform.topics.eventsResolved, messages);
  await waitForChanges(changes, ids);
  return ids;
}

const events = (profileId: string, ...fields: EventFields[]) => fields.map((f) => resolvedEvent(profileId, f));

async function get(path: string, headers: Record<string, string> = admin): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${url}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

const profileOf = async (id: string) => (await get(`/v1/profiles/${encodeURIComponent(id)}`)).json;
const T0 = Date.parse('2026-11-02T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

describe('applying events', () => {
  it('builds the profile from events: traits, sessions, views, attribution, cart, orders; one contract-valid change per event, keyed by profile, versions increasing', async () => {
    const ids = await send(
      ...events(
        'p-ada',
        {
          timestamp: at(0),
          context: {
            page: { url: 'https://shop.example/coffee?utm_source=newsletter&utm_medium=email&utm_campaign=nov', referrer: 'https://mail.example.com/' },
            campaign: { source: 'newsletter', medium: 'email', name: 'nov' },
            userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
          },
        },
        {
          timestamp: at(1),
          event: 'Product Viewed',
          properties: { product_id: 'cm-900', name: 'Barista 900', category: 'coffee machines', price: 899 },
          context: { page: { url: 'https://shop.example/p/cm-900' } },
        },
        { timestamp: at(2), event: 'Product Added', properties: { product_id: 'cm-900', category: 'coffee machines', price: 899, quantity: 1 } },
        { timestamp: at(3), type: 'identify', userId: 'ada', anonymousId: 'anon-p-ada', traits: { email: 'ada@example.com', name: 'Ada' } },
        {
          timestamp: at(50),
          event: 'Order Completed',
          userId: 'ada',
          properties: { order_id: 'o-1', total: 899, products: [{ product_id: 'cm-900', category: 'coffee machines', price: 899, quantity: 1 }] },
        },
      ),
    );
    const p = await profileOf('p-ada');
    expect(p['profileId']).toBe('p-ada');
    const c = p['profile'].computed;
    expect(p['profile'].traits).toMatchObject({ email: 'ada@example.com', name: 'Ada' });
    expect(p['profile'].known).toBe(true);
    expect(p['profile'].expiresAt).toBeUndefined();
    expect(p['profile'].identifiers).toEqual(
      expect.arrayContaining([
        { type: 'userId', value: 'ada' },
        { type: 'anonymousId', value: 'anon-p-ada' },
      ]),
    );
    expect(c).toMatchObject({ pageViews: 1, productViews: 1, sessionCount: 1, firstSeen: at(0), lastSeen: at(50) });
    expect(c.firstTouch).toMatchObject({ medium: 'email', source: 'newsletter', campaign: 'nov' });
    expect(c.device).toMatchObject({ type: 'desktop', browser: 'Chrome' });
    expect(c.orders).toMatchObject({ count: 1, revenue: 899, lifetimeValue: 899, averageOrderValue: 899, firstOrderAt: at(50) });
    expect(c.cart).toMatchObject({ items: [], value: 0 });
    expect(c.categoryAffinity[0]).toMatchObject({ category: 'coffee machines' });

    const produced = ids.map((id) => changesFor(changes, id));
    expect(produced.map((x) => x.length)).toEqual([1, 1, 1, 1, 1]);
    const versions = produced.map((x) => x[0]!.version);
    expect(versions).toEqual([1, 2, 3, 4, 5]);
    const addChange = produced[2]![0]!;
    expect(addChange.changed).toEqual(expect.arrayContaining(['computed.cart']));
    expect(addChange.trigger).toMatchObject({ kind: 'event', eventType: 'track', event: 'Product Added', properties: { product_id: 'cm-900' } });
    expect((addChange.profile.computed as any).cart.value).toBe(899);
    // On the wire: keyed by profile, contract-valid, correlation id carried over.
    const raw = changes.messages.find((m) => m.headers['messageId'] === `chg:p-ada:${ids[2]}`)!;
    expect(raw.key).toBe('p-ada');
    expect(raw.headers['correlationId']).toBe(`corr-${ids[2]}`);
    expect(decodeMessage(Schemas.profileChange, raw.value).payload.profileId).toBe('p-ada');
  });

  it('$set_once honours event time, not arrival order; $unset removes', async () => {
    await send(
      ...events(
        'p-once',
        { type: 'identify', timestamp: at(10), traits: { $set_once: { firstSource: 'later' }, plan: 'pro' } },
        { type: 'identify', timestamp: at(5), traits: { $set_once: { firstSource: 'earlier' } } },
        { type: 'identify', timestamp: at(20), traits: { $unset: ['plan'] } },
      ),
    );
    const traits = (await profileOf('p-once'))['profile'].traits;
    expect(traits['firstSource']).toBe('earlier');
    expect(traits['plan']).toBeUndefined();
  });

  it('applying the same message again changes nothing: counters and version stay, the change is re-sent with changed []', async () => {
    const [first] = events('p-dup', { event: 'Product Viewed', properties: { product_id: 'x', category: 'mugs', price: 12 } });
    await send(first!);
    const before = (await profileOf('p-dup'))['profile'];
    await sendResolved(svc.platform.producer, svc.platform.topics.eventsResolved, [first!, first!]);
    await changes.waitFor(() => changesFor(changes, first!.event.messageId).length >= 3);
    const after = (await profileOf('p-dup'))['profile'];
    expect(after).toEqual(before);
    const copies = changesFor(changes, first!.event.messageId);
    expect(copies.slice(1).map((c) => [c.version, c.changed])).toEqual([
      [1, []],
      [1, []],
    ]);
  });

  it('an event whose profile identity just created (profileCreated) is applied without reading the profile; the same event re-delivered to an instance that does not hold the profile is still applied once', async () => {
    const lookups = async (result: string) =>
      ((await svc.platform.runtime.metrics.getSingleMetric('mosaic_enrichment_cache_lookups_total')?.get())?.values ?? []).find(
        (v) => v.labels['result'] === result,
      )?.value ?? 0;
    const first = {
      ...resolvedEvent('p-created', { event: 'Product Viewed', properties: { product_id: 'c1', category: 'mugs', price: 9 } }),
      profileCreated: true,
    };
    const [created, missed] = [await lookups('created'), await lookups('miss')];
    await send(first);
    expect([(await lookups('created')) - created, (await lookups('miss')) - missed]).toEqual([1, 0]);
    const before = (await profileOf('p-created'))['profile'];
    expect(before['computed'].productViews).toBe(1);

    // a re-delivery (say, after a crash before the commit) to an instance whose cache lacks the profile: the hint is wrong now
    enrichment.applier.cache.clear();
    await sendResolved(svc.platform.producer, svc.platform.topics.eventsResolved, [first]);
    await changes.waitFor(() => changesFor(changes, first.event.messageId).length >= 2);
    expect(changesFor(changes, first.event.messageId).map((c) => [c.version, c.changed.length > 0])).toEqual([
      [1, true],
      [1, false],
    ]);
    expect((await profileOf('p-created'))['profile']).toEqual(before);
  });

  it('a message off the contract goes to the dead-letter topic; the partition moves on', async () => {
    await svc.platform.producer.send(svc.platform.topics.eventsResolved, [
      { key: 'p-bad', value: Buffer.from('{"not":"an envelope"}'), headers: { messageId: 'bad-1' } },
    ]);
    await send(...events('p-bad', { event: 'Product Viewed' }));
    await dlq.waitFor((msgs) => msgs.length >= 1);
    const dead = decodeMessage(Schemas.deadLetter, dlq.messages[0]!.value).payload as DeadLetter;
    expect(dead).toMatchObject({ service: 'enrichment', sourceTopic: svc.platform.topics.eventsResolved });
    expect((await profileOf('p-bad'))['profile'].computed.productViews).toBe(1);
  });
});

describe('profile API', () => {
  it('finds a profile by identifier (email lower-cased), answers 404/400/401 naming the problem', async () => {
    const byUser = await get('/v1/profiles/by/userId/ada');
    expect(byUser.status).toBe(200);
    expect(byUser.json['profileId']).toBe('p-ada');
    expect((await get('/v1/profiles/by/anonymousId/anon-p-ada')).json['profileId']).toBe('p-ada');
    const missing = await get('/v1/profiles/by/email/nobody@example.com');
    expect(missing.status).toBe(404);
    expect(missing.json['error'].message).toContain('email:nobody@example.com');
    expect((await get('/v1/profiles/by/shoeSize/42')).status).toBe(400);
    expect((await get('/v1/profiles/nope')).status).toBe(404);
    expect((await get('/v1/profiles/p-ada', {})).status).toBe(401);
    const badLimit = await get('/v1/profiles/p-ada/timeline?limit=0');
    expect(badLimit.status).toBe(400);
    expect(badLimit.json['error'].message).toContain('limit');
    expect((await get('/v1/profiles/p-ada/timeline?type=click')).json['error'].message).toContain('click');
    expect((await get('/v1/profiles/p-ada/timeline?from=yesterday')).status).toBe(400);
    expect((await get('/v1/profiles/p-ada/timeline?cursor=garbage')).status).toBe(400);
  });

  it('timeline: newest first, paged with a cursor, filtered by type, event name and time', async () => {
    const page1 = await get('/v1/profiles/p-ada/timeline?limit=2');
    expect(page1.json['events'].map((e: any) => e.at)).toEqual([at(50), at(3)]);
    const page2 = await get(`/v1/profiles/p-ada/timeline?limit=2&cursor=${page1.json['next']}`);
    expect(page2.json['events'].map((e: any) => e.at)).toEqual([at(2), at(1)]);
    const page3 = await get(`/v1/profiles/p-ada/timeline?limit=2&cursor=${page2.json['next']}`);
    expect(page3.json['events'].map((e: any) => e.at)).toEqual([at(0)]);
    expect(page3.json['next']).toBeUndefined();
    const tracks = await get('/v1/profiles/p-ada/timeline?type=track&event=Product%20Viewed,Order%20Completed');
    expect(tracks.json['events'].map((e: any) => e.event)).toEqual(['Order Completed', 'Product Viewed']);
    expect(tracks.json['events'][1].raw.properties).toMatchObject({ product_id: 'cm-900', price: 899 });
    const window = await get(`/v1/profiles/p-ada/timeline?from=${at(1)}&to=${at(3)}`);
    expect(window.json['events'].map((e: any) => e.at)).toEqual([at(2), at(1)]);
  });

  it('timeline: a repeated type or event parameter filters by any of its values; another parameter given twice is a 400', async () => {
    const names = await get('/v1/profiles/p-ada/timeline?event=Product%20Viewed&event=Order%20Completed');
    expect(names.status).toBe(200);
    expect(names.json['events'].map((e: any) => e.event)).toEqual(['Order Completed', 'Product Viewed']);
    const types = await get('/v1/profiles/p-ada/timeline?type=track&type=identify');
    expect(types.status).toBe(200);
    expect(types.json['events'].map((e: any) => e.type)).toEqual(['track', 'identify', 'track', 'track']);
    const mixed = await get('/v1/profiles/p-ada/timeline?type=identify&type=page,track&event=Product%20Added&event=Order%20Completed');
    expect(mixed.json['events'].map((e: any) => e.at)).toEqual([at(50), at(2)]);
    expect((await get('/v1/profiles/p-ada/timeline?type=track&type=click')).json['error'].message).toContain('click');
    for (const param of ['limit=1&limit=2', `from=${at(1)}&from=${at(2)}`, `to=${at(1)}&to=${at(2)}`, 'cursor=a&cursor=b']) {
      const r = await get(`/v1/profiles/p-ada/timeline?${param}`);
      expect(r.status).toBe(400);
      expect(r.json['error'].message).toContain(`${param.split('=')[0]}: give it once`);
    }
  });

  it('event names that are Object.prototype members: counted as numbers, in changes every consumer can decode', async () => {
    const ids = await send(
      ...events(
        'p-proto',
        { timestamp: at(0), event: 'toString' },
        { timestamp: at(1), event: 'toString' },
        { timestamp: at(2), event: 'constructor' },
        {
          timestamp: at(3),
          type: 'identify',
          traits: { plan: 'gold', toString: 'ts', valueOf: 'v', hasOwnProperty: 'h' },
          properties: { $unset: ['prototype'] },
        },
      ),
    );
    const p = (await profileOf('p-proto'))['profile'];
    expect(p.computed.daily['2026-11-02'].events).toEqual({ toString: 2, '\uFF3Fconstructor': 1, '(identify)': 1 });
    const traits = { plan: 'gold', toString: 'ts', valueOf: 'v', hasOwnProperty: 'h' };
    expect(p.traits).toEqual(traits);
    for (const id of ids) {
      const raw = changes.messages.find((m) => m.headers['messageId'] === `chg:p-proto:${id}`)!;
      expect(decodeMessage(Schemas.profileChange, raw.value).payload.profileId).toBe('p-proto');
    }
    // the traits reach the change message's consumers as sent
    const last = changes.messages.find((m) => m.headers['messageId'] === `chg:p-proto:${ids[ids.length - 1]}`)!;
    expect(decodeMessage(Schemas.profileChange, last.value).payload.profile.traits).toEqual(traits);
    expect((await get('/v1/profiles/p-proto/timeline?event=toString&event=constructor')).json['events'].map((e: any) => e.event)).toEqual([
      'constructor',
      'toString',
      'toString',
    ]);
  });

  it('serves its OpenAPI document', async () => {
    const doc = await get('/openapi.json');
    expect(Object.keys(doc.json['paths'])).toEqual(
      expect.arrayContaining(['/v1/profiles/{id}', '/v1/profiles/by/{type}/{value}', '/v1/profiles/{id}/timeline', '/v1/profiles/{id}/activity']),
    );
  });
});

describe('merges and splits', () => {
  it('folds the loser into the survivor: counters summed, identifiers joined, timeline unified; the loser redirects; late events of the loser follow', async () => {
    await send(
      ...events(
        'p-anon',
        { timestamp: at(100), anonymousId: 'c-77' },
        { timestamp: at(101), event: 'Product Viewed', anonymousId: 'c-77', properties: { product_id: 'g-1', category: 'grinders', price: 120 } },
      ),
      ...events(
        'p-bob',
        { timestamp: at(90), userId: 'bob' },
        { timestamp: at(95), userId: 'bob', event: 'Order Completed', properties: { order_id: 'ob-1', total: 40 } },
      ),
    );
    const [mergeId] = await send(mergeNotice('p-bob', 'p-anon', [{ type: 'anonymousId', value: 'c-77' }]));
    const bob = (await profileOf('p-bob'))['profile'];
    expect(bob.computed).toMatchObject({ pageViews: 2, productViews: 1, orders: { count: 1, revenue: 40 }, firstSeen: at(90), lastSeen: at(101) });
    expect(bob.identifiers).toEqual(
      expect.arrayContaining([
        { type: 'userId', value: 'bob' },
        { type: 'anonymousId', value: 'c-77' },
      ]),
    );
    expect(bob.mergedFrom).toEqual(['p-anon']);
    const redirected = await profileOf('p-anon');
    expect(redirected).toMatchObject({ requestedId: 'p-anon', profileId: 'p-bob', redirected: true, path: ['p-anon', 'p-bob'] });
    const timeline = (await get('/v1/profiles/p-anon/timeline')).json;
    expect(timeline['profileId']).toBe('p-bob');
    expect(timeline['events'].map((e: any) => e.at)).toEqual([at(101), at(100), at(95), at(90)]);
    // Changes: the loser's (mergedInto) and the survivor's.
    const mergeChanges = changesFor(changes, mergeId!);
    expect(mergeChanges.map((c) => [c.profileId, c.mergedInto ?? null])).toEqual([
      ['p-anon', 'p-bob'],
      ['p-bob', null],
    ]);
    // The same notice again: nothing is folded twice.
    await sendResolved(svc.platform.producer, svc.platform.topics.eventsResolved, [mergeNotice('p-bob', 'p-anon')]);
    // A late event of the loser (resolved before the merge) lands on the survivor.
    await send(...events('p-anon', { timestamp: at(102), anonymousId: 'c-77' }));
    const after = (await profileOf('p-bob'))['profile'];
    expect(after.computed.pageViews).toBe(3);
    expect(after.computed.orders.count).toBe(1);
    expect((await get('/v1/profiles/p-bob/timeline')).json['events']).toHaveLength(5);
  });

  it('a split moves the events carrying the split-off identifiers and recomputes both profiles from their events', async () => {
    await send(
      ...events(
        'p-family',
        { timestamp: at(200), userId: 'mum', event: 'Order Completed', properties: { order_id: 'm-1', total: 100 } },
        { timestamp: at(201), userId: 'kid', event: 'Order Completed', properties: { order_id: 'k-1', total: 15 } },
        { timestamp: at(202), userId: 'kid' },
      ),
    );
    const [splitId] = await send(splitNotice('p-family', 'p-kid', [{ type: 'userId', value: 'kid' }]));
    const mum = (await profileOf('p-family'))['profile'];
    const kid = (await profileOf('p-kid'))['profile'];
    expect(mum.computed).toMatchObject({ pageViews: 0, orders: { count: 1, revenue: 100 } });
    expect(kid.computed).toMatchObject({ pageViews: 1, orders: { count: 1, revenue: 15 } });
    expect(mum.identifiers).toEqual([{ type: 'userId', value: 'mum' }]);
    expect(kid.identifiers).toEqual([{ type: 'userId', value: 'kid' }]);
    expect(
      changesFor(changes, splitId!)
        .map((c) => c.profileId)
        .sort(),
    ).toEqual(['p-family', 'p-kid']);
    expect((await get('/v1/profiles/p-kid/timeline')).json['events']).toHaveLength(2);
  });
});

describe('expiry, RFM and price tiers', () => {
  it('the sweep deletes anonymous profiles a year without a visit, not known ones', async () => {
    const longAgo = new Date(Date.now() - 400 * 86_400_000).toISOString();
    await send(
      ...events('p-stale', { timestamp: longAgo }),
      ...events('p-stale-known', { timestamp: longAgo, userId: 'old-customer' }),
      ...events('p-fresh', {}),
    );
    expect((await profileOf('p-stale'))['profile'].expiresAt).toBeDefined();
    const swept = await enrichment.sweep.runOnce();
    expect(swept?.profiles).toBeGreaterThanOrEqual(1);
    expect((await get('/v1/profiles/p-stale')).status).toBe(404);
    expect((await get('/v1/profiles/p-stale-known')).status).toBe(200);
    expect((await get('/v1/profiles/p-fresh')).status).toBe(200);
  });

  it('RFM: quintile scores over the population, stored on the profiles, announced as changes', async () => {
    const now = Date.now();
    const buyers = ['r1', 'r2', 'r3', 'r4', 'r5'];
    await send(
      ...buyers.flatMap((b, i) =>
        Array.from({ length: i + 1 }, (_, k) =>
          resolvedEvent(`p-${b}`, {
            userId: b,
            timestamp: new Date(now - (5 - i) * 10 * 86_400_000 + k * 1000).toISOString(),
            event: 'Order Completed',
            properties: { order_id: `${b}-${k}`, total: 100 * (i + 1) },
          }),
        ),
      ),
    );
    const run = await enrichment.rfm.runOnce();
    expect(run.ran).toBe(true);
    const best = (await profileOf('p-r5'))['profile'].computed.rfm;
    const worst = (await profileOf('p-r1'))['profile'].computed.rfm;
    expect(best).toMatchObject({ r: 5, f: 5, m: 5 });
    expect(worst).toMatchObject({ r: 1, f: 1 });
    expect(worst.m).toBeLessThan(best.m);
    await changes.waitFor(() => changes.payloads<ProfileChange>((c) => c.profileId === 'p-r5' && c.trigger?.kind === 'rfm').length === 1);
    // A second run changes nothing: no new changes for unchanged scores.
    const again = await enrichment.rfm.runOnce();
    expect(again.updated).toBe(0);
    // The consumer's cached copy of p-r5 is stale now (the job wrote it): the next event's
    // compare-and-set conflicts, the profile is re-read, and nothing is lost.
    const conflictsBefore = (await enrichment.metrics.conflicts.get()).values[0]?.value ?? 0;
    await send(resolvedEvent('p-r5', { userId: 'r5' }));
    const after = (await profileOf('p-r5'))['profile'].computed;
    expect(after.rfm).toEqual(best);
    expect(after.pageViews).toBe(1);
    expect((await enrichment.metrics.conflicts.get()).values[0]?.value).toBeGreaterThan(conflictsBefore);
  });

  it('price tier: premium for a visitor who views the top of a category, bargain for the bottom', async () => {
    const prices = [20, 60, 100, 150, 200];
    await send(
      ...prices.map((price, i) => resolvedEvent('p-index', { event: 'Product Viewed', properties: { product_id: `k-${i}`, category: 'kettles', price } })),
    );
    await enrichment.priceSync.runOnce();
    await send(
      ...events('p-premium', { event: 'Product Viewed', properties: { product_id: 'k-4', category: 'kettles', price: 200 } }),
      ...events('p-bargain', { event: 'Product Viewed', properties: { product_id: 'k-0', category: 'kettles', price: 20 } }),
    );
    expect((await profileOf('p-premium'))['profile'].computed.priceTier).toBe('premium');
    expect((await profileOf('p-bargain'))['profile'].computed.priceTier).toBe('bargain');
  });
});

describe('replay', () => {
  it('replaying events.resolved from the start leaves every profile as it was', async () => {
    // p-stale was swept; replaying its event brings it back until the next sweep, as it should.
    const snapshot = async () =>
      (
        await enrichment.repository.profiles
          .find({ _id: { $ne: 'p-stale' } })
          .sort({ _id: 1 })
          .toArray()
      ).map((d) => ({ ...fromStoredProfile(d), writeId: undefined }));
    const before = await snapshot();
    const triggers = [...new Set(changes.payloads<ProfileChange>((c) => c.trigger?.kind === 'event').map((c) => c.trigger!.messageId))];
    expect(before.length).toBeGreaterThan(10);
    const produced = changes.messages.length;
    await svc.stop();
    const kafka = new Kafka({ clientId: 'it-reset', brokers: testInfra().kafkaBrokers, logLevel: logLevel.NOTHING });
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    await kafkaAdmin.resetOffsets({
      groupId: `${testInfra().topicPrefix}enrichment.eventsResolved`,
      topic: svc.platform.topics.eventsResolved,
      earliest: true,
    });
    await kafkaAdmin.disconnect();
    svc = await startTestService(enrichmentDefinition, { env: { MOSAIC_INSTANCE_ID: 'enrichment-it-2', ...env } });
    enrichment = svc.http.app.get(EnrichmentService);
    url = svc.http.url;
    // Every event was re-sent as a change (at least once downstream), and nothing changed.
    await changes.waitFor(() => changes.messages.length > produced && triggers.every((id) => changesFor(changes, id).length >= 2), PIPELINE_WAIT_MS);
    const again = changes
      .payloads<ProfileChange>()
      .slice(produced)
      .filter((c) => c.trigger?.kind === 'event' && c.profileId !== 'p-stale');
    expect(again.filter((c) => c.changed.length > 0).map((c) => [c.profileId, c.trigger?.event, c.changed])).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });
});
