/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// The console's live view on the real broker: contract messages produced to the test's
// events.raw, segments.membership and a dead-letter topic show up in GET /api/live and in the
// event stream; an unreadable record is skipped and counted; signed out is 401.
import { randomUUID } from 'node:crypto';
import { Schemas, type DeadLetter, type RawEvent, type SegmentMembershipChange } from '@mosaic/contracts';
import { produceMessage, type EventProducer } from '@mosaic/shared-kafka';
import type { StartedService } from '@mosaic/shared-service';
import { PIPELINE_WAIT_MS, dropTestDatabase, startTestService } from '@mosaic/shared-testing';
import { consoleDefinition } from './console.definition';
import { LiveStreams } from './live-streams';

jest.setTimeout(180_000);

const ADMIN_PASSWORD = 'initial-admin-password';
const PARTITIONS = 3; // testServiceEnv's KAFKA_TOPIC_PARTITIONS

let consoleApp: StartedService;
let producer: EventProducer;
let topics: StartedService['platform']['topics'];
let cookie: string;

async function getJson(path: string, withCookie = true): Promise<{ status: number; json: any }> {
  const res = await fetch(`${consoleApp.http.url}${path}`, { headers: withCookie ? { Cookie: cookie } : {} });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function snapshot(): Promise<any> {
  const r = await getJson('/api/live');
  expect(r.status).toBe(200);
  return r.json;
}

/** Polls GET /api/live until `predicate` holds (running `eachRound` between polls); the last snapshot in the failure message. */
async function snapshotWhen(predicate: (s: any) => boolean, timeoutMs = PIPELINE_WAIT_MS, eachRound?: () => Promise<void>): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    last = await snapshot();
    if (predicate(last)) return last;
    await eachRound?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`live snapshot never matched: ${JSON.stringify(last).slice(0, 2000)}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rawEvent(ids: { anonymousId?: string; userId?: string }): RawEvent {
  const now = new Date().toISOString();
  return {
    type: 'track',
    event: 'Product Viewed',
    messageId: randomUUID(),
    ...ids,
    properties: {},
    traits: {},
    context: {},
    timestamp: now,
    receivedAt: now,
    sourceId: 'src_live',
  };
}

async function produceEvents(events: RawEvent[], partition = 0): Promise<void> {
  for (const event of events) {
    await produceMessage(producer, topics.eventsRaw, Schemas.rawEvent, event, {
      key: event.anonymousId ?? event.userId ?? null,
      producer: 'live-test',
      partition,
    });
  }
}

function membership(profileId: string, segmentKey: string, change: 'entered' | 'exited', profileVersion = 1): SegmentMembershipChange {
  return {
    profileId,
    segmentKey,
    segmentVersion: 1,
    change,
    at: new Date().toISOString(),
    reason: { kind: 'message' },
    identifiers: { email: `${profileId}@example.com` },
    profileVersion,
  };
}

async function produceMembership(change: SegmentMembershipChange, partition?: number): Promise<void> {
  await produceMessage(producer, topics.segmentsMembership, Schemas.segmentMembership, change, {
    key: `${change.profileId}|${change.segmentKey}`,
    producer: 'live-test',
    ...(partition === undefined ? {} : { partition }),
  });
}

/**
 * The followers read from the end of the topics as of when their groups joined: records produced
 * before that are not theirs to see. Probes go to every partition until one of each kind shows up.
 */
async function waitForFollowers(): Promise<void> {
  const deadline = Date.now() + PIPELINE_WAIT_MS;
  for (let round = 0; Date.now() < deadline; round++) {
    const partition = round % PARTITIONS;
    await produceEvents([rawEvent({ anonymousId: 'probe-visitor' })], partition);
    await produceMembership(membership('p_probe', 'probe', 'entered', round), partition);
    await sleep(500);
    const s = await snapshot();
    if (s.activeVisitors >= 1 && s.recentMemberships.some((m: any) => m.segmentKey === 'probe')) return;
  }
  throw new Error('the live followers never saw the probes');
}

beforeAll(async () => {
  consoleApp = await startTestService(consoleDefinition, { env: { MOSAIC_INSTANCE_ID: 'console-live-it', CONSOLE_INITIAL_ADMIN_PASSWORD: ADMIN_PASSWORD } });
  producer = consoleApp.platform.producer;
  topics = consoleApp.platform.topics;
  const res = await fetch(`${consoleApp.http.url}/api/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  expect(res.status).toBe(200);
  cookie = /^mosaic_console=[^;]*/.exec(res.headers.get('set-cookie') ?? '')?.[0] ?? '';
  await waitForFollowers();
}, 120_000);

afterAll(async () => {
  await consoleApp?.stop();
  await dropTestDatabase().catch(() => undefined);
});

describe('GET /api/live', () => {
  it('counts distinct visitors (anonymousId, else userId) and events per second', async () => {
    const before = (await snapshot()).activeVisitors;
    const a = `anon-${randomUUID()}`;
    const b = `anon-${randomUUID()}`;
    const user = `user-${randomUUID()}`;
    // One partition, so every record is applied in order: a seen twice, a user known only by userId.
    // A last visitor marks the end: on one partition, once it is counted every record before it is.
    const marker = `anon-${randomUUID()}`;
    await produceEvents([
      rawEvent({ anonymousId: a }),
      rawEvent({ anonymousId: b }),
      rawEvent({ anonymousId: a, userId: user }),
      rawEvent({ userId: user }),
      rawEvent({ anonymousId: marker }),
    ]);
    await snapshotWhen((s) => s.activeVisitors >= before + 4);
    // The rate covers the last ten whole seconds, however long the wait above took: a visitor
    // already counted keeps sending until the rate shows it.
    const s = await snapshotWhen(
      (x) => x.eventsPerSecond > 0,
      PIPELINE_WAIT_MS,
      () => produceEvents([rawEvent({ anonymousId: marker })]),
    );
    expect(s.activeVisitors).toBe(before + 4);
    expect(s.followers).toEqual({ eventsRaw: true, membership: true });
    expect(s.deadLetters.map((d: any) => d.topic).sort()).toEqual(
      [topics.dlqActivation, topics.dlqCollector, topics.dlqEnrichment, topics.dlqIdentity, topics.dlqSegmentation].sort(),
    );
  });

  it('shows the latest segment entries and exits, newest first', async () => {
    const profileId = `p_${randomUUID()}`;
    await produceMembership(membership(profileId, 'live-vip', 'entered', 1));
    await produceMembership(membership(profileId, 'live-vip', 'exited', 2));
    const s = await snapshotWhen((x) => x.recentMemberships.filter((m: any) => m.profileId === profileId).length === 2);
    const mine = s.recentMemberships.filter((m: any) => m.profileId === profileId);
    expect(mine).toEqual([
      { profileId, segmentKey: 'live-vip', change: 'exited', at: expect.any(String), identifiers: { email: `${profileId}@example.com` } },
      { profileId, segmentKey: 'live-vip', change: 'entered', at: expect.any(String), identifiers: { email: `${profileId}@example.com` } },
    ]);
    expect(s.recentMemberships.length).toBeLessThanOrEqual(50);
  });

  it('counts the messages of each dead-letter topic', async () => {
    const countOf = (s: any) => s.deadLetters.find((d: any) => d.topic === topics.dlqIdentity)?.count;
    const before = countOf(await snapshotWhen((s) => typeof countOf(s) === 'number'));
    const letter: DeadLetter = {
      service: 'identity',
      sourceTopic: topics.eventsRaw,
      partition: 0,
      offset: '42',
      valueBase64: Buffer.from('{}').toString('base64'),
      headers: {},
      error: { name: 'Error', message: 'boom' },
      attempts: 3,
      failedAt: new Date().toISOString(),
    };
    await produceMessage(producer, topics.dlqIdentity, Schemas.deadLetter, letter, { key: null, producer: 'live-test' });
    const s = await snapshotWhen((x) => countOf(x) === before + 1);
    expect(s.deadLetters.find((d: any) => d.topic === topics.dlqCollector)?.count).toBe(0);
  });

  it('skips and counts an unreadable events.raw record, and counts the records after it', async () => {
    const before = await snapshot();
    const garbage = { key: null, value: Buffer.from('{not json'), headers: {}, partition: 0 };
    const noVisitor = { key: null, value: Buffer.from(JSON.stringify({ schema: 'events.raw', payload: { type: 'track' } })), headers: {}, partition: 0 };
    await producer.send(topics.eventsRaw, [garbage, noVisitor]);
    await produceEvents([rawEvent({ anonymousId: `after-${randomUUID()}` })]);
    const s = await snapshotWhen((x) => x.activeVisitors === before.activeVisitors + 1);
    expect(s.skipped.eventsRaw).toBe(before.skipped.eventsRaw + 2);
    expect(s.followers.eventsRaw).toBe(true);
  });

  it('answers 401 when signed out, for the snapshot and the stream', async () => {
    expect((await getJson('/api/live', false)).status).toBe(401);
    const r = await getJson('/api/live/stream', false);
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe('not_signed_in');
  });
});

/** The stream's events as they arrive, parsed from the text/event-stream body. */
class EventStreamReader {
  readonly events: { event: string; data: any }[] = [];
  private buffer = '';

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {
    void this.pump();
  }

  private async pump(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await this.reader.read();
        if (done) return;
        this.buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf('\n\n')) >= 0) {
          const block = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) this.events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted by the test
    }
  }

  async waitFor(predicate: (e: { event: string; data: any }) => boolean, timeoutMs = PIPELINE_WAIT_MS): Promise<{ event: string; data: any }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such stream event; seen: ${this.events.map((e) => e.event).join(',')}`);
      await sleep(100);
    }
  }
}

describe('GET /api/live/stream', () => {
  it('sends a snapshot every second and each membership change as it arrives, and lets go when the client leaves', async () => {
    const streams = consoleApp.http.app.get(LiveStreams);
    const abort = new AbortController();
    const res = await fetch(`${consoleApp.http.url}/api/live/stream`, { headers: { Cookie: cookie }, signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const stream = new EventStreamReader(res.body!.getReader());
    const first = await stream.waitFor((e) => e.event === 'snapshot');
    expect(first.data).toMatchObject({ eventsPerSecond: expect.any(Number), activeVisitors: expect.any(Number), followers: { membership: true } });
    await stream.waitFor((e) => e.event === 'snapshot' && e !== first);
    expect(streams.openCount).toBe(1);

    const profileId = `p_${randomUUID()}`;
    await produceMembership(membership(profileId, 'live-stream', 'entered'));
    const change = await stream.waitFor((e) => e.event === 'membership' && e.data.profileId === profileId);
    expect(change.data).toEqual({
      profileId,
      segmentKey: 'live-stream',
      change: 'entered',
      at: expect.any(String),
      identifiers: { email: `${profileId}@example.com` },
    });

    abort.abort();
    const deadline = Date.now() + PIPELINE_WAIT_MS;
    while (streams.openCount > 0 && Date.now() < deadline) await sleep(50);
    expect(streams.openCount).toBe(0);
  });
});

describe('shutting down', () => {
  it('ends the open streams, so HTTP closes without waiting for their clients (last: it stops the console)', async () => {
    const res = await fetch(`${consoleApp.http.url}/api/live/stream`, { headers: { Cookie: cookie } });
    const reader = res.body!.getReader();
    await new EventStreamReader(reader).waitFor((e) => e.event === 'snapshot');
    const ended = reader.closed.then(
      () => 'ended',
      () => 'ended',
    );
    const streams = consoleApp.http.app.get(LiveStreams);
    await consoleApp.stop();
    expect(await ended).toBe('ended');
    expect(streams.openCount).toBe(0);
  });
});
