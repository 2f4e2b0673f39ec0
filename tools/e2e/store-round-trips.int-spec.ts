// Store cost per Kafka batch, not per event (issue 14, deliverable 5). The five services run
// on the real broker and store; each stage's MongoDB client reports every command it sends
// (driver command monitoring). The four stages behind the collector are paused while 500
// events of 50 known profiles are sent, so each stage then takes them as one batch per
// partition; the stages are resumed one at a time, in pipeline order, and the store round
// trips each one issues from its batch handler are counted.
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { CommandStartedEvent } from 'mongodb';
import type { TopicKey } from '@mosaic/contracts';
import { ConsumerHost, type BatchHandler, type ConsumerRegistration } from '@mosaic/shared-kafka';
import type { StartedService } from '@mosaic/shared-service';
import { adminRequest, startTestService, testInfra, waitFor } from '@mosaic/shared-testing';
import { activationDefinition } from '../../apps/activation/src/activation.definition';
import { collectorDefinition } from '../../apps/collector/src/collector.definition';
import { enrichmentDefinition } from '../../apps/enrichment/src/enrichment.definition';
import { identityDefinition } from '../../apps/identity/src/identity.definition';
import { segmentationDefinition } from '../../apps/segmentation/src/segmentation.definition';

jest.setTimeout(180_000);

const PROFILES = 50;
const EVENTS_PER_PROFILE = 10;
const EVENTS = PROFILES * EVENTS_PER_PROFILE;
/** KAFKA_TOPIC_PARTITIONS of the test harness: each stage sees one batch per partition. */
const PARTITIONS = 3;
/** The driver's handshake, authentication and monitoring commands: not the stages' work. */
const NOT_ROUND_TRIPS = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'buildInfo', 'buildinfo', 'endSessions', 'saslStart', 'saslContinue']);

type Stage = 'identity' | 'enrichment' | 'segmentation' | 'activation';
const STAGES: readonly Stage[] = ['identity', 'enrichment', 'segmentation', 'activation'];
const INPUTS: Record<Stage, TopicKey[]> = {
  identity: ['eventsRaw'],
  enrichment: ['eventsResolved'],
  segmentation: ['profilesChanges'],
  activation: ['segmentsMembership', 'profilesChanges'],
};

/**
 * Which host's batch handler a command comes from. Wrapping `register` before the services
 * start is the one place every stage's handler passes through; AsyncLocalStorage follows the
 * handler's awaits into the driver, so periodic tasks (timers, outbox, config reloads) that run
 * in the same process meanwhile are told apart from the batch work.
 */
const inBatch = new AsyncLocalStorage<{ host: ConsumerHost; topic: TopicKey }>();
/** Batches and messages handed to each host's handlers, by input topic, and each batch's size. */
interface Consumed {
  batches: number;
  messages: Partial<Record<TopicKey, number>>;
  sizes: number[];
}
const consumed = new Map<ConsumerHost, Consumed>();
const originalRegister = ConsumerHost.prototype.register;
ConsumerHost.prototype.register = function register(this: ConsumerHost, reg: ConsumerRegistration): ConsumerHost {
  const handler: BatchHandler = (messages, ctx) => {
    const c = consumed.get(this) ?? { batches: 0, messages: {}, sizes: [] };
    c.batches++;
    c.sizes.push(messages.length);
    c.messages[reg.topic] = (c.messages[reg.topic] ?? 0) + messages.length;
    consumed.set(this, c);
    return inBatch.run({ host: this, topic: reg.topic }, () => reg.handler(messages, ctx));
  };
  return originalRegister.call(this, { ...reg, handler });
};

interface Counter {
  /** Round trips issued from the stage's batch handlers, by `<input topic> <command>:<collection>`. */
  batch: Map<string, number>;
  /** Every round trip of the stage's client in the window (periodic tasks included). */
  all: number;
}

const services: StartedService[] = [];
const stages = new Map<Stage, StartedService>();
const counters = new Map<Stage, Counter>();
let collector: StartedService;
let writeKey: string;
let admin: Admin;

function monitored(uri: string): string {
  return `${uri}${uri.includes('?') ? '&' : '?'}monitorCommands=true`;
}

function target(e: CommandStartedEvent): string {
  const named = e.command[e.commandName] as unknown;
  const collection = typeof named === 'string' ? named : typeof e.command['collection'] === 'string' ? (e.command['collection'] as string) : '';
  return collection ? `${e.commandName}:${collection}` : e.commandName;
}

function count(stage: Stage, svc: StartedService): void {
  const counter: Counter = { batch: new Map(), all: 0 };
  counters.set(stage, counter);
  const host = svc.platform.consumers();
  svc.platform.mongo.getClient().on('commandStarted', (e: CommandStartedEvent) => {
    if (NOT_ROUND_TRIPS.has(e.commandName)) return;
    counter.all++;
    const from = inBatch.getStore();
    if (from?.host !== host) return;
    const key = `${from.topic} ${target(e)}`;
    counter.batch.set(key, (counter.batch.get(key) ?? 0) + 1);
  });
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/**
 * The bound, from the stages' batch code: per profile at most one read of its document (a point
 * read where `$in` is a scan: FerretDB) and one coalesced write of it; per batch a handful of
 * constant costs: identity's partition checkpoint (read and raised), processed-record and audit inserts, identifier `$in` and redirect
 * hops; enrichment's and segmentation's ticket insert, events `insertMany` and update chunks of
 * MAX_BULK_UPDATES (25) documents; activation's membership bulk write.
 */
const PER_PROFILE = 2;
const PER_BATCH = 6;

/**
 * Enrichment's own bound, tighter: its profiles are cached since the warm-up, so nothing at all is
 * paid per profile. A batch is applied in segments of ENRICHMENT_SEGMENT_EVENTS (default 100)
 * events, each one events insert and one profile bulk write per MAX_BULK_UPDATES (25) profiles it
 * changed (at most 50 here: 2); once per batch the redirect check asks the 5-second slots its
 * redirects can be filed under, from two clock bounds before the batch's start to one after its
 * end (follow-merges.ts, `redirectSlotsToAsk`, ENRICHMENT_MAX_CLOCK_SKEW_MS 5 s): 4, or 5 for a
 * batch that runs into the next slot, found by one equality each 4 (`slotsToAsk`): 1 or 2.
 */
const ENRICHMENT_SEGMENT_EVENTS = 100;
const ENRICHMENT_WRITES_PER_SEGMENT = 1 + Math.ceil(Math.min(PROFILES, ENRICHMENT_SEGMENT_EVENTS) / 25);
const ENRICHMENT_REDIRECT_FINDS_PER_BATCH = 2;

beforeAll(async () => {
  const env = (id: string, extra: Record<string, string> = {}) => ({
    env: { MOSAIC_INSTANCE_ID: `e2e-rt-${id}`, MONGODB_URI: monitored(testInfra().mongoUri), ...extra },
  });
  collector = await startTestService(collectorDefinition, env('collector'));
  services.push(collector);
  const defs = {
    identity: identityDefinition,
    enrichment: enrichmentDefinition,
    segmentation: segmentationDefinition,
    activation: activationDefinition,
  } as const;
  for (const stage of STAGES) {
    const svc = await startTestService(
      defs[stage] as typeof identityDefinition,
      env(stage, stage === 'activation' ? { ACTIVATION_COLLECTOR_URL: collector.http.url } : {}),
    );
    services.push(svc);
    stages.set(stage, svc);
    count(stage, svc);
  }
  admin = new Kafka({ clientId: 'round-trips', brokers: testInfra().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  writeKey = ((await adminRequest(collector.http.url, 'POST', '/v1/sources', { name: 'round-trips' })).json['writeKey'] as string) ?? '';
  expect(writeKey).not.toBe('');
}, 180_000);

afterAll(async () => {
  ConsumerHost.prototype.register = originalRegister;
  await admin?.disconnect();
  for (const s of services.reverse()) await s.stop();
});

const svc = (stage: Stage) => stages.get(stage) as StartedService;

async function send(calls: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < calls.length; i += 100) {
    const res = await fetch(`${collector.http.url}/v1/batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ batch: calls.slice(i, i + 100).map((c) => ({ messageId: randomUUID(), ...c })), sentAt: new Date().toISOString() }),
    });
    expect(res.status).toBe(200);
  }
}

async function endOffsets(topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
}

/** Messages of the stage's input topics its consumer groups have not committed yet. */
async function lag(stage: Stage): Promise<number> {
  const s = svc(stage);
  let total = 0;
  for (const key of INPUTS[stage]) {
    const topic = s.platform.topics[key];
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: s.platform.consumers().groupIdFor(key), topics: [topic] });
    for (const p of ends) {
      const at = Number(committed?.partitions.find((c) => c.partition === p.partition)?.offset ?? -1);
      total += Number(p.high) - Math.max(at, Number(p.low));
    }
  }
  return total;
}

/** In pipeline order: once a stage and every stage before it have no lag, its outputs are all written (stages produce before they commit). */
async function drain(stage: Stage, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => (await lag(stage)) === 0, { timeoutMs, intervalMs: 100, message: `${stage} drained` });
}

const who = (i: number) => ({ userId: `rt-user-${i}`, anonymousId: `rt-anon-${i}` });

/** Segments every profile enters one after another during the measured events: several membership changes per profile. */
const SEGMENT_STEPS = [1, 2, 3, 4];

it(`${EVENTS} events of ${PROFILES} known profiles cost each stage a bounded number of store round trips per profile and batch, not per event`, async () => {
  for (const views of SEGMENT_STEPS) {
    const created = await adminRequest(svc('segmentation').http.url, 'POST', '/v1/segments', {
      key: `readers-${views}`,
      name: `Readers of ${views}`,
      condition: { attribute: 'pageViews', op: 'gte', value: views },
    });
    expect(created.status).toBe(201);
  }

  // Warm-up: the 50 profiles exist and are known (userId + anonymousId + email); every stage is idle.
  await send(Array.from({ length: PROFILES }, (_, i) => ({ type: 'identify', ...who(i), traits: { email: `rt-${i}@example.com` } })));
  await waitFor(async () => (await endOffsets(collector.platform.topics.eventsRaw)) >= PROFILES, { message: 'identifies on events.raw' });
  for (const stage of STAGES) await drain(stage);

  for (const stage of STAGES) svc(stage).platform.consumers().pause();
  const rawBefore = await endOffsets(collector.platform.topics.eventsRaw);
  // Visitors interleaved: event k of every profile before event k+1 of any.
  const events: Record<string, unknown>[] = [];
  for (let k = 0; k < EVENTS_PER_PROFILE; k++) {
    for (let i = 0; i < PROFILES; i++) {
      events.push(
        k % 2 === 0
          ? { type: 'page', ...who(i), name: 'Home', properties: { path: `/p/${k}`, url: `https://shop.example/p/${k}` } }
          : { type: 'track', ...who(i), event: 'Product Viewed', properties: { product_id: `SKU-${k}`, category: 'books', price: 12 } },
      );
    }
  }
  await send(events);
  await waitFor(async () => (await endOffsets(collector.platform.topics.eventsRaw)) >= rawBefore + EVENTS, { message: 'the events on events.raw' });

  const results = new Map<
    Stage,
    { roundTrips: number; batches: number; messages: Partial<Record<TopicKey, number>>; sizes: number[]; byCommand: Map<string, number> }
  >();
  const report: Record<string, unknown> = { profiles: PROFILES, events: EVENTS, partitions: PARTITIONS, stages: {} };
  for (const stage of STAGES) {
    const s = svc(stage);
    const host = s.platform.consumers();
    const counter = counters.get(stage) as Counter;
    counter.batch.clear();
    counter.all = 0;
    consumed.set(host, { batches: 0, messages: {}, sizes: [] });
    host.resume();
    await drain(stage);
    host.pause();
    const { batches, messages, sizes } = consumed.get(host) as Consumed;
    const roundTrips = sum(counter.batch);
    results.set(stage, { roundTrips, batches, messages, sizes, byCommand: new Map(counter.batch) });
    (report['stages'] as Record<string, unknown>)[stage] = {
      roundTrips,
      batches,
      messages,
      windowTotal: counter.all,
      byCommand: Object.fromEntries([...counter.batch.entries()].sort((a, b) => b[1] - a[1])),
    };
  }
  const out = path.join(process.cwd(), '.mosaic', 'store-round-trips.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));

  for (const stage of STAGES) {
    const r = results.get(stage) as NonNullable<ReturnType<typeof results.get>>;
    expect({ stage, batches: r.batches }).toEqual({ stage, batches: PARTITIONS * INPUTS[stage].length });
    // Everything is paid per profile and per batch, nothing per event:
    expect({ stage, roundTrips: r.roundTrips <= PER_PROFILE * PROFILES + PER_BATCH * r.batches }).toEqual({ stage, roundTrips: true });
    expect(r.roundTrips).toBeLessThan(EVENTS);
  }

  // Activation: each profile's membership changes (one per segment it entered) folded into one
  // ordered bulk write per batch, in chunks of MAX_BULK_UPDATES (25) updates: a profile costs
  // at most two updates (exits, then entries), so a batch of n profiles costs ceil(2n / 25) and
  // the batches together at most ceil(2 × PROFILES / 25) + PARTITIONS - 1 (6; an update per
  // change, even in bulk, needs at least ceil(200 / 25) = 8), and each batch at least one.
  const activation = results.get('activation') as NonNullable<ReturnType<typeof results.get>>;
  const changes = activation.messages.segmentsMembership ?? 0;
  expect(changes).toBe(PROFILES * SEGMENT_STEPS.length);
  // By collection, whichever input the command is counted under: a bulk write queued in
  // `limitBulkUpdates` (p-limit) is started from the context of the one before it.
  const membershipWrites = sum(new Map([...activation.byCommand].filter(([key]) => key.endsWith(' update:activation_memberships'))));
  const foldedBound = Math.ceil((2 * PROFILES) / 25) + PARTITIONS - 1;
  expect({ membershipWrites: membershipWrites >= PARTITIONS && membershipWrites <= foldedBound }).toEqual({ membershipWrites: true });

  // Enrichment: per segment its writes, per batch the redirect check's slots, nothing per profile or event.
  const enrichment = results.get('enrichment') as NonNullable<ReturnType<typeof results.get>>;
  const segments = enrichment.sizes.reduce((n, size) => n + Math.ceil(size / ENRICHMENT_SEGMENT_EVENTS), 0);
  const profileFinds = enrichment.byCommand.get('eventsResolved find:enrichment_profiles') ?? 0;
  expect({ profileFinds: profileFinds <= ENRICHMENT_REDIRECT_FINDS_PER_BATCH * enrichment.batches }).toEqual({ profileFinds: true });
  expect({
    enrichment: enrichment.roundTrips <= ENRICHMENT_WRITES_PER_SEGMENT * segments + ENRICHMENT_REDIRECT_FINDS_PER_BATCH * enrichment.batches,
  }).toEqual({ enrichment: true });
});
