// Dispatching deliveries against the real store of the Jest run: a Kafka destination whose
// attempt failed because Mosaic's own broker was unavailable keeps its attempts (it waits for
// the broker instead of being dead-lettered), while a failure of the destination itself counts;
// a finished send starts the next due delivery without waiting for the next round. Webhooks to a
// loopback receiver: two dispatchers racing over the same due deliveries (two instances across a
// rebalance) send each once; the late outcome of an owner whose lease ended does not undo the
// next owner's; a delivery that died while Kafka cannot be reached is sent once, stays dead, and
// its dead letter is produced once Kafka is back.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Connection } from 'mongoose';
import { DEAD_DELIVERY_ID_HEADER, topicName } from '@mosaic/contracts';
import type { KafkaConfig } from '@mosaic/shared-config';
import { createLogger } from '@mosaic/shared-logging';
import { EventProducer, ProducerUnavailableError, createKafkaClient, type MessageSender } from '@mosaic/shared-kafka';
import { OutboundAllowList, RetryPolicy, generateSecret, type Destination, type WebhookDestination } from '@mosaic/activation-domain';
import {
  ACTIVATION_COLLECTIONS,
  ActivationProfilesRepository,
  DeliveriesRepository,
  OutboundGuard,
  type DeliveryDocument,
  type DueShare,
} from '@mosaic/activation-data-access';
import { connectMongo, detectServerProfile, type CasMode } from '@mosaic/shared-mongo';
import { dropTestDatabase, freePort, testInfra, waitFor } from '@mosaic/shared-testing';
import { DeadLetterDelivery } from './dead-letter-delivery.use-case';
import { DispatchDeliveries, type DispatchDeliveriesOptions } from './dispatch-deliveries.use-case';

jest.setTimeout(60_000);

const SECRET = generateSecret(randomBytes(32));
const KAFKA_DESTINATION: Destination = { id: 'dst_crm', name: 'CRM', enabled: true, kind: 'kafka', topic: 'crm' };
let conn: Connection;
let cas: CasMode;
let deliveries: DeliveriesRepository;
let now = Date.parse('2026-12-01T00:00:00Z');
const outbound = loopbackGuard();
let receiver: Server;
let base: string;
/** Webhooks received: path and `webhook-id`. */
const received: { path: string; id: string }[] = [];
/** How the receiver answers a request (may hold it); 200 by default. */
let answer: (req: IncomingMessage) => Promise<number> = async () => 200;

/** Webhooks to the receiver of this file (on loopback) are allowed. */
function loopbackGuard(): OutboundGuard {
  const allow = OutboundAllowList.parse('127.0.0.1/32');
  if (!allow.ok) throw new Error(allow.errors.join('; '));
  return new OutboundGuard(allow.value);
}

beforeAll(async () => {
  conn = await connectMongo({ uri: testInfra().mongoUri });
  cas = (await detectServerProfile(conn)).cas;
  deliveries = new DeliveriesRepository(conn, undefined, { cas });
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ path: req.url ?? '/', id: String(req.headers['webhook-id']) });
      void answer(req).then((status) => {
        res.statusCode = status;
        res.end();
      });
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  outbound.close();
  await new Promise((r) => receiver?.close(r));
  await conn?.close();
  await dropTestDatabase().catch(() => undefined);
});

beforeEach(async () => {
  await conn.db!.collection(ACTIVATION_COLLECTIONS.deliveries).deleteMany({});
  received.length = 0;
  answer = async () => 200;
});

function webhook(path: string): WebhookDestination {
  return { id: `dst_${path}`, name: path, enabled: true, kind: 'webhook', url: `${base}/${path}`, secret: SECRET, concurrency: 4, timeoutMs: 60_000 };
}

function delivery(id: string, destinationId = KAFKA_DESTINATION.id): DeliveryDocument {
  const at = new Date(now);
  const membership = {
    profileId: 'p-1',
    segmentKey: 'vip',
    segmentVersion: 1,
    change: 'entered',
    at: at.toISOString(),
    reason: { kind: 'message' },
    identifiers: {},
    profileVersion: 1,
  };
  return {
    _id: id,
    partition: 0,
    offset: '0',
    destinationId,
    triggerId: 'trg_1',
    profileId: 'p-1',
    segmentKey: 'vip',
    change: 'entered',
    membership: JSON.stringify(membership),
    status: 'pending',
    attempts: 0,
    dueAt: at,
    nextAttemptAt: at,
    log: [],
    createdAt: at,
    updatedAt: at,
  };
}

/** A dispatcher over the real repositories, publishing with `publish`, a clock this file moves and no jitter. */
function dispatcher(
  publish: () => Promise<void>,
  deadLettered: string[],
  more: Partial<DispatchDeliveriesOptions> = {},
  destinations = [KAFKA_DESTINATION],
): DispatchDeliveries {
  return new DispatchDeliveries({
    deliveries,
    profiles: new ActivationProfilesRepository(conn),
    config: { destination: (id) => destinations.find((d) => d.id === id), destinations: () => destinations, triggers: () => [] },
    publishToTopic: publish,
    deadLetter: async (d) => void deadLettered.push(d._id),
    policy: new RetryPolicy({ maxAttempts: 2, baseMs: 10, maxMs: 10 }),
    clock: () => now,
    random: () => 0,
    outbound,
    ...more,
  });
}

/** A webhook dispatcher of instance `instanceId` (the store's deliveries unless given). */
function webhookDispatcher(dest: WebhookDestination, instanceId: string, more: Partial<DispatchDeliveriesOptions> = {}): DispatchDeliveries {
  return dispatcher(async () => undefined, [], { instanceId, ...more }, [dest]);
}

/** Resolves, for each of `parties` callers, once all of them have called. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    if ((arrived += 1) >= parties) release();
    return all;
  };
}

/** The real repository whose due reads wait for the other instances' (`allRead`): all then hold the same due deliveries, as two instances do across a rebalance. */
class RacingDeliveries extends DeliveriesRepository {
  constructor(private readonly allRead: () => Promise<void>) {
    super(conn, undefined, { cas });
  }

  override async due(shares: readonly DueShare[], partitions: readonly number[], at: Date, exclude: ReadonlySet<string>): Promise<DeliveryDocument[]> {
    const found = await super.due(shares, partitions, at, exclude);
    await this.allRead();
    return found;
  }
}

const stored = async (ids: readonly string[]) => Promise.all(ids.map(async (id) => (await deliveries.findById(id)) as DeliveryDocument));

/** Runs dispatch rounds, moving the clock past every back-off, until the delivery leaves `pending` or `rounds` ran. */
async function dispatchRounds(d: DispatchDeliveries, rounds: number): Promise<DeliveryDocument> {
  for (let i = 0; i < rounds; i += 1) {
    await d.tick([0]);
    await d.drain();
    now += 1_000;
    const doc = await deliveries.findById('dlv_1');
    if (doc?.status !== 'pending') return doc!;
  }
  return (await deliveries.findById('dlv_1'))!;
}

it('keeps the attempts of a Kafka delivery while its own broker is unavailable, and delivers once it is back', async () => {
  await deliveries.insertNew([delivery('dlv_1')]);
  let unavailable = 5;
  const deadLettered: string[] = [];
  const published: string[] = [];
  const d = dispatcher(async () => {
    if (unavailable-- > 0) throw new ProducerUnavailableError('Kafka did not acknowledge within 5000 ms');
    published.push('dlv_1');
  }, deadLettered);
  const doc = await dispatchRounds(d, 10);
  expect(doc).toMatchObject({ status: 'delivered', attempts: 1 });
  expect(doc.log.map((a) => a.status)).toEqual([...Array(5).fill('broker unavailable'), 'produced']);
  expect(published).toEqual(['dlv_1']);
  expect(deadLettered).toEqual([]);
});

it('counts the attempts of a Kafka delivery that fails for another reason, and dead-letters after the last', async () => {
  await deliveries.insertNew([delivery('dlv_1')]);
  const deadLettered: string[] = [];
  const d = dispatcher(async () => {
    throw new Error('topic "crm" does not exist');
  }, deadLettered);
  const doc = await dispatchRounds(d, 10);
  expect(doc).toMatchObject({ status: 'dead', attempts: 2 });
  expect(deadLettered).toEqual(['dlv_1']);
});

it('starts the next due delivery as soon as a slot frees: one round sends all of them, never more at once than the destination allows', async () => {
  const ids = Array.from({ length: 10 }, (_, i) => `dlv_${i}`);
  await deliveries.insertNew(ids.map((id) => delivery(id)));
  let active = 0;
  let mostAtOnce = 0;
  let published = 0;
  const d = dispatcher(async () => {
    active += 1;
    mostAtOnce = Math.max(mostAtOnce, active);
    await new Promise((r) => setImmediate(r));
    active -= 1;
    published += 1;
  }, []);
  expect(await d.tick([0])).toBe(4); // a Kafka destination's four slots
  await waitFor(async () => ((await Promise.all(ids.map((id) => deliveries.findById(id)))).every((doc) => doc?.status === 'delivered') ? true : null), {
    timeoutMs: 30_000,
    message: 'all ten delivered after one round',
  });
  expect(published).toBe(10);
  expect(mostAtOnce).toBeLessThanOrEqual(4);
});

it('two dispatchers holding the same due deliveries send each exactly once', async () => {
  const dest = webhook('race');
  const ids = Array.from({ length: 12 }, (_, i) => `dlv_race_${i}`);
  await deliveries.insertNew(ids.map((id) => delivery(id, dest.id)));
  const allRead = barrier(2);
  const [a, b] = ['instance-a', 'instance-b'].map((instanceId) => webhookDispatcher(dest, instanceId, { deliveries: new RacingDeliveries(allRead) }));
  await Promise.all([a!.tick([0]), b!.tick([0])]); // both read all twelve before either claims one
  await waitFor(async () => ((await stored(ids)).every((d) => d.status === 'delivered') ? true : null), { timeoutMs: 30_000, message: 'all delivered' });
  await Promise.all([a!.drain(), b!.drain()]);
  expect(received.map((r) => r.id).sort()).toEqual([...ids].sort());
  for (const d of await stored(ids)) expect(d).toMatchObject({ status: 'delivered', attempts: 1, log: [{ outcome: 'delivered', status: '200' }] });
});

it('the late outcome of an owner whose lease ended changes nothing: the next owner delivered it', async () => {
  const dest = webhook('late');
  await deliveries.insertNew([delivery('dlv_late', dest.id)]);
  let answerFirst!: (status: number) => void;
  const firstAnswered = new Promise<number>((resolve) => (answerFirst = resolve));
  answer = async () => (received.length === 1 ? firstAnswered : 200); // the first request is held, later ones answered
  const leaseMs = 60_000;
  const a = webhookDispatcher(dest, 'instance-a', { leaseMs });
  const b = webhookDispatcher(dest, 'instance-b', { leaseMs });
  await a.tick([0]);
  await waitFor(() => received.length === 1 || null, { message: "instance a's request arrived" });
  now += leaseMs + 1; // a's lease is over: the delivery is due again, for whoever owns its partition now
  expect(await b.tick([0])).toBe(1);
  await b.drain();
  const delivered = (await deliveries.findById('dlv_late')) as DeliveryDocument;
  expect(delivered.status).toBe('delivered');
  expect(delivered.leaseOwner).toBeUndefined();
  answerFirst(503); // a's attempt ends now: it would retry
  await a.drain();
  const d = (await deliveries.findById('dlv_late')) as DeliveryDocument;
  expect(d).toMatchObject({ status: 'delivered', attempts: 1, nextAttemptAt: null });
  expect(d.log.map((x) => x.status)).toEqual(['200']);
  expect(received.map((r) => r.id)).toEqual(['dlv_late', 'dlv_late']); // at least once: a lease that ended lets it go again
});

describe('a delivery that dies while Kafka cannot be reached', () => {
  const logger = createLogger({ service: 'activation-test', level: 'silent' });
  const topics = {
    segmentsMembership: topicName(testInfra().topicPrefix, 'segmentsMembership'),
    dlqActivation: topicName(testInfra().topicPrefix, 'dlqActivation'),
  };
  let unreachable: EventProducer;

  beforeAll(async () => {
    // Mosaic's Kafka as a producer sees it when the broker is down: nothing listens on this port.
    const kafka: KafkaConfig = {
      brokers: [`127.0.0.1:${await freePort()}`],
      clientId: 'activation-dead-letter-test',
      topicPrefix: testInfra().topicPrefix,
      partitions: 1,
      replicationFactor: 1,
      provisionTopics: false,
      provisionTimeoutMs: 1_000,
      producerLingerMs: 2,
      producerAckTimeoutMs: 1_000,
      consumer: { groupId: 'unused', maxRetries: 0, retryBackoffMs: 10, sessionTimeoutMs: 6_000, concurrency: 1 },
    };
    unreachable = new EventProducer(createKafkaClient(kafka, logger, { connectionTimeoutMs: 500, retry: { retries: 0 } }), kafka, logger, {
      ackTimeoutMs: 1_000,
    });
  });

  afterAll(async () => {
    await unreachable?.disconnect();
  });

  it('is sent once, stays dead, and its dead letter is produced once Kafka is back', async () => {
    const dest = webhook('rejects');
    answer = async () => 400; // a permanent failure: dead at once
    await deliveries.insertNew([delivery('dlv_dies', dest.id)]);
    const refusals: unknown[] = [];
    const down = new DeadLetterDelivery({ producer: unreachable, topics, logger });
    const letter = (d: DeliveryDocument, error: string) => down.handle(d, error).catch((err: unknown) => Promise.reject(refusals.push(err) && err));
    // A short lease, and rounds further apart: a delivery left pending would be due again every round.
    const a = webhookDispatcher(dest, 'instance-a', { leaseMs: 1_000, deadLetter: letter });
    for (let round = 0; round < 6; round += 1) {
      await a.tick([0]);
      await a.drain();
      now += 10_000;
    }
    expect(received.map((r) => r.path)).toEqual(['/rejects']);
    expect(await deliveries.findById('dlv_dies')).toMatchObject({ status: 'dead', attempts: 1, deadLetterDue: true, nextAttemptAt: null });
    // The letter was tried again (Kafka refusing it), the endpoint never.
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    for (const err of refusals) expect(err).toBeInstanceOf(ProducerUnavailableError);

    // Kafka is back (here: a sender that takes the letter), for this instance or another.
    const produced: { topic: string; letter: { payload: { headers: Record<string, string>; attempts: number } } }[] = [];
    const back: MessageSender = {
      send: async (topic, messages) => void produced.push(...messages.map((m) => ({ topic, letter: JSON.parse(m.value.toString()) }))),
    };
    const b = webhookDispatcher(dest, 'instance-b', { deadLetter: new DeadLetterDelivery({ producer: back, topics, logger }).handle });
    for (let round = 0; round < 2; round += 1) {
      await b.tick([0]);
      await b.drain();
      now += 10_000;
    }
    expect(produced).toHaveLength(1);
    expect(produced[0]).toMatchObject({
      topic: topics.dlqActivation,
      letter: { payload: { headers: { [DEAD_DELIVERY_ID_HEADER]: 'dlv_dies' }, attempts: 1 } },
    });
    const d = (await deliveries.findById('dlv_dies')) as DeliveryDocument;
    expect(d).toMatchObject({ status: 'dead', attempts: 1 });
    expect(d.deadLetterDue).toBeUndefined();
    expect(received).toHaveLength(1);
  });
});
