/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// Runs the examples of this folder against the real broker and the services in-process:
// events in with kcat and with Kafka's console producer reach the profile API; the
// membership topic read with kcat and with Python matches the segmentation API.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { StartedService } from '@mosaic/shared-service';
import { adminRequest, startTestService, testInfra, waitFor } from '@mosaic/shared-testing';
import { collectorDefinition } from '../apps/collector/src/collector.definition';
import { enrichmentDefinition } from '../apps/enrichment/src/enrichment.definition';
import { identityDefinition } from '../apps/identity/src/identity.definition';
import { segmentationDefinition } from '../apps/segmentation/src/segmentation.definition';
import { createSource } from '../tools/e2e/harness';

jest.setTimeout(240_000);

interface Tools {
  kcat: string;
  python: string;
  consoleProducerClasspath: string;
}

const services: StartedService[] = [];
let collector: StartedService;
let enrichment: StartedService;
let segmentation: StartedService;
let tools: Tools;
let env: Record<string, string>;

/** The project's own installer: installs what is missing (root) or fails saying what to install. */
function ensureTools(): Tools {
  const r = spawnSync(process.execPath, [join(__dirname, '..', 'tools', 'scripts', 'ensure-kafka-clients.mjs'), '--json'], {
    encoding: 'utf8',
    timeout: 30 * 60_000,
  });
  if (r.status !== 0) throw new Error(`the Kafka clients of examples/ are not installed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Tools;
}

beforeAll(async () => {
  tools = ensureTools();
  collector = await startTestService(collectorDefinition, { env: { MOSAIC_INSTANCE_ID: 'examples-collector' } });
  services.push(collector);
  services.push(await startTestService(identityDefinition, { env: { MOSAIC_INSTANCE_ID: 'examples-identity' } }));
  enrichment = await startTestService(enrichmentDefinition, { env: { MOSAIC_INSTANCE_ID: 'examples-enrichment' } });
  services.push(enrichment);
  segmentation = await startTestService(segmentationDefinition, {
    env: { MOSAIC_INSTANCE_ID: 'examples-segmentation', SEGMENTATION_CLUSTER_INTERVAL_SECONDS: '0' },
  });
  services.push(segmentation);
  const { writeKey } = await createSource(collector.http.url, 'kafka-examples');
  const kcatDir = join(tools.kcat, '..');
  env = {
    PATH: `${kcatDir}:${process.env['PATH'] ?? ''}`,
    KAFKA_BROKERS: testInfra().kafkaBrokers.join(','),
    WRITE_KEY: writeKey,
    KAFKA_TOOLS_CLASSPATH: tools.consoleProducerClasspath,
  };
  const viewers = { key: 'coffee-viewers', condition: { event: 'Product Viewed', within: { amount: 30, unit: 'days' } } };
  const buyers = { key: 'buyers', condition: { event: 'Order Completed', within: { amount: 30, unit: 'days' } } };
  for (const s of [viewers, buyers]) expect((await adminRequest(segmentation.http.url, 'POST', '/v1/segments', s)).status).toBe(201);
}, 240_000);

afterAll(async () => {
  for (const s of services.reverse()) await s.stop();
});

function run(script: string, extraEnv: Record<string, string>, input?: string): string {
  return execFileSync(join(__dirname, script), { env: { ...env, ...extraEnv }, input, encoding: 'utf8', timeout: 120_000 });
}

const line = (key: string, body: Record<string, unknown>) => `${key}\t${JSON.stringify(body)}\n`;
const viewed = (anonymousId: string) => ({ type: 'track', anonymousId, event: 'Product Viewed', properties: { sku: 'CM-900', category: 'coffee machines' } });

async function profileOf(anonymousId: string, ready: (p: Record<string, any>) => boolean): Promise<string> {
  const r = await waitFor(
    async () => {
      const x = await adminRequest(enrichment.http.url, 'GET', `/v1/profiles/by/anonymousId/${encodeURIComponent(anonymousId)}`);
      return x.status === 200 && ready(x.json['profile']) ? x.json : null;
    },
    { timeoutMs: 90_000, intervalMs: 300, message: `the profile of ${anonymousId}` },
  );
  return r['profileId'] as string;
}

async function segmentsOf(profileId: string): Promise<string[]> {
  const r = await adminRequest(segmentation.http.url, 'GET', `/v1/profiles/${profileId}/segments`);
  return r.status === 200 ? (r.json['segments'] as { segmentKey: string }[]).map((s) => s.segmentKey) : [];
}

const ingest = () => ({ TOPIC: collector.platform.topics.eventsIngest });
const membership = () => ({ TOPIC: segmentation.platform.topics.segmentsMembership });
const profiles: Record<string, string[]> = {};

it('publishes with kcat: the events reach the profile API', async () => {
  const a = `kcat-${randomUUID()}`;
  const batch = {
    batch: [
      { type: 'identify', anonymousId: a, traits: { email: 'kcat@example.com' } },
      { type: 'track', anonymousId: a, event: 'Order Completed', properties: { order_id: 'o-1', total: 42 } },
    ],
  };
  run('produce-kcat.sh', ingest(), line(a, viewed(a)) + line(a, batch));
  const id = await profileOf(
    a,
    (p) => p['computed']?.['productViews'] === 1 && p['computed']?.['orders']?.['count'] === 1 && p['traits']?.['email'] === 'kcat@example.com',
  );
  profiles[id] = ['buyers', 'coffee-viewers'];
});

it("publishes with Kafka's console producer: the events reach the profile API", async () => {
  const a = `console-${randomUUID()}`;
  run('produce-console-producer.sh', ingest(), line(a, viewed(a)) + line(a, { ...viewed(a), properties: { sku: 'CM-650' } }));
  profiles[await profileOf(a, (p) => p['computed']?.['productViews'] === 2)] = ['coffee-viewers'];
});

describe('rebuilding current segments from segments.membership', () => {
  beforeAll(async () => {
    for (const [id, expected] of Object.entries(profiles)) {
      await waitFor(async () => JSON.stringify(await segmentsOf(id)) === JSON.stringify(expected), {
        timeoutMs: 60_000,
        intervalMs: 300,
        message: `the segments of ${id}`,
      });
    }
    // A key that entered and was then deleted by a tombstone (segmentation writes none itself).
    const producer = new Kafka({ clientId: 'examples', brokers: testInfra().kafkaBrokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const entered = { schema: 'segments.membership', payload: { profileId: 'gone', segmentKey: 'buyers', change: 'entered', profileVersion: 1 } };
    await producer.send({
      topic: segmentation.platform.topics.segmentsMembership,
      messages: [
        { key: 'gone|buyers', value: JSON.stringify(entered) },
        { key: 'gone|buyers', value: null },
      ],
    });
    await producer.disconnect();
  });

  // The topic follows the API within moments (segmentation publishes through an outbox): read it again until it has caught up.
  const expectMatchesApi = async (rebuild: () => Record<string, string[]>) => {
    const same = (r: Record<string, string[]>) => JSON.stringify(r) === JSON.stringify(profiles);
    const rebuilt = await waitFor(
      () => {
        const r = rebuild();
        return same(r) ? r : null;
      },
      { timeoutMs: 60_000, intervalMs: 1_000, message: 'the rebuilt memberships' },
    ).catch(() => rebuild());
    expect(rebuilt).toEqual(profiles);
    for (const id of Object.keys(rebuilt)) expect(await segmentsOf(id)).toEqual(rebuilt[id]);
  };

  it('with kcat', async () => {
    await expectMatchesApi(() => {
      const rebuilt: Record<string, string[]> = {};
      for (const row of run('consume-membership-kcat.sh', membership()).split('\n').filter(Boolean)) {
        const [profileId, segmentKey] = row.split('\t') as [string, string];
        (rebuilt[profileId] ??= []).push(segmentKey);
      }
      return rebuilt;
    });
  });

  it('with Python (confluent-kafka)', async () => {
    await expectMatchesApi(
      () =>
        JSON.parse(
          execFileSync(tools.python, [join(__dirname, 'consume_membership.py')], { env: { ...env, ...membership() }, encoding: 'utf8', timeout: 120_000 }),
        ) as Record<string, string[]>,
    );
  });
});
