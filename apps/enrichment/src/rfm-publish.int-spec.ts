// RFM changes are published at least once: a run whose produce fails (a real producer pointed at
// a loopback port nothing listens on) has stored the scores; the next run, finding the scores
// equal, still publishes the change the failed run could not. Against the real broker and store.
import type { ProfileChange } from '@mosaic/contracts';
import { PublishProfileChanges, RfmJob } from '@mosaic/enrichment-application';
import { EventProducer, createKafkaClient } from '@mosaic/shared-kafka';
import type { StartedService } from '@mosaic/shared-service';
import { TopicTap, dropTestDatabase, freePort, startTestService, testInfra } from '@mosaic/shared-testing';
import { enrichmentDefinition } from './enrichment.definition';
import { EnrichmentService } from './enrichment.service';
import { resolvedEvent, sendResolved, waitForChanges } from './enrichment-test-helpers';

jest.setTimeout(90_000);

const INSTANCE = 'enrichment-rfm-it';
let svc: StartedService;
let enrichment: EnrichmentService;
let changes: TopicTap;
let dead: EventProducer | undefined;

beforeAll(async () => {
  svc = await startTestService(enrichmentDefinition, {
    env: {
      MOSAIC_INSTANCE_ID: INSTANCE,
      ENRICHMENT_SWEEP_INTERVAL_SECONDS: '0',
      ENRICHMENT_RFM_INTERVAL_SECONDS: '0',
      ENRICHMENT_PRICE_INDEX_SYNC_SECONDS: '0',
    },
  });
  enrichment = svc.http.app.get(EnrichmentService);
  changes = await TopicTap.start(testInfra().kafkaBrokers, svc.platform.topics.profilesChanges);
}, 120_000);

afterAll(async () => {
  await dead?.disconnect();
  await changes?.stop();
  await svc?.stop();
  await dropTestDatabase().catch(() => undefined);
});

const rfmChangesOf = (profileId: string) => changes.payloads<ProfileChange>((c) => c.profileId === profileId && c.trigger?.kind === 'rfm');

it('a run whose changes Kafka did not take is followed by one that publishes them, once', async () => {
  const order = resolvedEvent('p-rfm-buyer', { userId: 'rfm-buyer', event: 'Order Completed', properties: { order_id: 'rfm-o-1', total: 120 } });
  const ids = await sendResolved(svc.platform.producer, svc.platform.topics.eventsResolved, [order]);
  await waitForChanges(changes, ids);

  // The same job as the service's (same lease holder, same store), producing through a dead broker.
  const logger = svc.platform.runtime.logger;
  const cfg = { ...svc.platform.runtime.config.kafka, brokers: [`127.0.0.1:${await freePort()}`] };
  dead = new EventProducer(createKafkaClient(cfg, logger, { connectionTimeoutMs: 500, retry: { retries: 0 } }), cfg, logger, { ackTimeoutMs: 1_500 });
  const publishToDead = new PublishProfileChanges({ producer: dead, topic: svc.platform.topics.profilesChanges, metrics: enrichment.metrics });
  const failing = new RfmJob({ repository: enrichment.repository, holder: INSTANCE, leaseMs: 60_000, onChange: (c) => publishToDead.executeOne(c) });
  await expect(failing.runOnce()).rejects.toThrow();
  const scored = (await enrichment.repository.getProfile('p-rfm-buyer'))!;
  expect(scored.computed.rfm).toMatchObject({ r: expect.any(Number), f: expect.any(Number), m: expect.any(Number) });

  // The next run finds the scores as they are, and publishes what the failed run could not.
  expect(await enrichment.rfm.runOnce()).toMatchObject({ ran: true, updated: 0, republished: 1 });
  await changes.waitFor(() => rfmChangesOf('p-rfm-buyer').length >= 1);
  const [published] = rfmChangesOf('p-rfm-buyer');
  expect(published).toMatchObject({
    version: scored.version,
    changed: ['computed.rfm'],
    trigger: { kind: 'rfm', messageId: `rfm:${scored.computed.rfm!.at}` },
  });
  expect(published!.profile.computed['rfm']).toEqual(scored.computed.rfm);

  // Confirmed now: the run after publishes nothing again.
  expect(await enrichment.rfm.runOnce()).toMatchObject({ ran: true, updated: 0, republished: 0 });
});
