/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are inspected as loose JSON */
// The console's dead letters on the real broker and store: contract dead letters produced to the
// test's dlq topics are listed with their error and a readable value; an editor replays one and
// its original key, value and headers reach the source topic's partition (with `replayOf`); a
// viewer, an unknown id, a source that is not a stage's topic and a missing CSRF token are refused.
import { randomUUID } from 'node:crypto';
import { Schemas, type DeadLetter } from '@mosaic/contracts';
import { produceMessage } from '@mosaic/shared-kafka';
import type { StartedService } from '@mosaic/shared-service';
import { PIPELINE_WAIT_MS, TEST_ADMIN_TOKEN, TopicTap, dropTestDatabase, startTestService, testInfra, waitFor } from '@mosaic/shared-testing';
import { consoleDefinition } from './console.definition';

jest.setTimeout(3 * 60_000);

const ADMIN_PASSWORD = 'initial-admin-password';
const EDITOR = { username: 'dana.editor', password: 'editor-password-1', role: 'editor' };
const VIEWER = { username: 'vic.viewer', password: 'viewer-password-1', role: 'viewer' };

interface Session {
  cookie: string;
  csrfToken: string;
}

let consoleApp: StartedService;
let topics: StartedService['platform']['topics'];
let resolvedTap: TopicTap;
let editor: Session;
let viewer: Session;

async function signIn(username: string, password: string): Promise<Session> {
  const res = await fetch(`${consoleApp.http.url}/api/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(res.status).toBe(200);
  const json = (await res.json()) as { csrfToken: string };
  return { cookie: /^mosaic_console=[^;]*/.exec(res.headers.get('set-cookie') ?? '')?.[0] ?? '', csrfToken: json.csrfToken };
}

async function call(method: string, path: string, s: Session, opts: { csrf?: boolean } = {}): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { Cookie: s.cookie };
  if (opts.csrf !== false) headers['X-CSRF-Token'] = s.csrfToken;
  const res = await fetch(`${consoleApp.http.url}${path}`, { method, headers });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function createUser(user: typeof EDITOR): Promise<void> {
  const res = await fetch(`${consoleApp.http.url}/api/users`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    body: JSON.stringify(user),
  });
  expect(res.status).toBe(201);
}

function deadLetter(sourceTopic: string, over: Partial<DeadLetter> = {}): DeadLetter {
  return {
    service: 'enrichment',
    sourceTopic,
    partition: 1,
    offset: '7',
    key: `p-${randomUUID()}`,
    valueBase64: Buffer.from(JSON.stringify({ schema: 'events.resolved', payload: { broken: true } })).toString('base64'),
    headers: { messageId: randomUUID(), correlationId: 'corr-dlq' },
    error: { name: 'TypeError', message: "Cannot read properties of undefined (reading 'x')" },
    attempts: 1,
    failedAt: new Date().toISOString(),
    ...over,
  };
}

/** Produces a dead letter to the enrichment dead-letter topic and waits until the console lists it; its id. */
async function listed(letter: DeadLetter, topic = topics.dlqEnrichment): Promise<any> {
  await produceMessage(consoleApp.platform.producer, topic, Schemas.deadLetter, letter, { key: letter.key ?? null, producer: 'dlq-test' });
  return waitFor(
    async () => {
      const r = await call('GET', `/api/dead-letters?topic=${encodeURIComponent(topic)}`, viewer);
      return r.json.deadLetters.find((d: any) => d.key === letter.key) ?? null;
    },
    { timeoutMs: PIPELINE_WAIT_MS, message: `dead letter ${letter.key} listed` },
  );
}

beforeAll(async () => {
  consoleApp = await startTestService(consoleDefinition, { env: { MOSAIC_INSTANCE_ID: 'console-dlq-it', CONSOLE_INITIAL_ADMIN_PASSWORD: ADMIN_PASSWORD } });
  topics = consoleApp.platform.topics;
  await createUser(EDITOR);
  await createUser(VIEWER);
  [editor, viewer] = await Promise.all([signIn(EDITOR.username, EDITOR.password), signIn(VIEWER.username, VIEWER.password)]);
  resolvedTap = await TopicTap.start(testInfra().kafkaBrokers, topics.eventsResolved);
}, 150_000);

afterAll(async () => {
  await resolvedTap?.stop();
  await consoleApp?.stop();
  await dropTestDatabase().catch(() => undefined);
});

it('lists a dead letter with where it came from, its error and its value as text', async () => {
  const letter = deadLetter(topics.eventsResolved);
  const d = await listed(letter);
  expect(d).toMatchObject({
    topic: topics.dlqEnrichment,
    service: 'enrichment',
    sourceTopic: topics.eventsResolved,
    sourcePartition: 1,
    sourceOffset: '7',
    error: { name: 'TypeError', message: letter.error.message },
    attempts: 1,
    headers: letter.headers,
    value: { text: Buffer.from(letter.valueBase64, 'base64').toString('utf8'), binary: false, truncated: false },
    replayable: true,
  });
  expect(d.id).toBe(`${topics.dlqEnrichment}:${d.partition}:${d.offset}`);
  expect(d.replayed).toBeUndefined();
});

it('skips a record of a dead-letter topic that is not a dead letter, and lists the ones after it', async () => {
  await consoleApp.platform.producer.send(topics.dlqIdentity, [{ key: null, value: Buffer.from('{not json'), headers: {} }]);
  const after = await listed(deadLetter(topics.eventsRaw, { service: 'identity' }), topics.dlqIdentity);
  expect(after.service).toBe('identity');
  const all = await call('GET', '/api/dead-letters', viewer);
  expect(all.json.topics).toEqual(expect.arrayContaining([topics.dlqIdentity, topics.dlqEnrichment]));
  expect(all.json.deadLetters.map((x: any) => x.id)).toContain(after.id);
});

it('replays for an editor: the original key, value and headers (with replayOf) reach the source topic and partition, and the list says who', async () => {
  const letter = deadLetter(topics.eventsResolved);
  const d = await listed(letter);
  const r = await call('POST', `/api/dead-letters/${encodeURIComponent(d.id)}/replay`, editor);
  expect(r).toEqual({ status: 200, json: { id: d.id, kind: 'topic', topic: topics.eventsResolved, partition: 1 } });
  const [replayed] = (await resolvedTap.waitFor((ms) => ms.some((m) => m.key === letter.key), PIPELINE_WAIT_MS)).filter((m) => m.key === letter.key);
  expect(replayed).toMatchObject({ partition: 1, headers: { ...letter.headers, replayOf: d.id } });
  expect(replayed?.value?.toString('base64')).toBe(letter.valueBase64);
  const again = (await call('GET', `/api/dead-letters?topic=${encodeURIComponent(topics.dlqEnrichment)}`, viewer)).json.deadLetters.find(
    (x: any) => x.id === d.id,
  );
  expect(again.replayed).toEqual({ count: 1, lastBy: EDITOR.username, lastAt: expect.any(String) });
});

it('refuses a viewer (403), an unknown id (404), a source that is not a stage topic (409), a missing CSRF token (403) and an unknown topic (400)', async () => {
  const d = await listed(deadLetter(topics.eventsResolved));
  const path = `/api/dead-letters/${encodeURIComponent(d.id)}/replay`;
  expect(await call('POST', path, viewer)).toMatchObject({ status: 403, json: { error: { code: 'forbidden' } } });
  expect(await call('POST', path, editor, { csrf: false })).toMatchObject({ status: 403, json: { error: { code: 'csrf_failed' } } });
  expect(await call('POST', `/api/dead-letters/${encodeURIComponent(`${topics.dlqEnrichment}:0:999999`)}/replay`, editor)).toMatchObject({
    status: 404,
    json: { error: { code: 'not_found' } },
  });
  const loop = await listed(deadLetter(topics.dlqIdentity));
  const refused = await call('POST', `/api/dead-letters/${encodeURIComponent(loop.id)}/replay`, editor);
  expect(refused).toMatchObject({ status: 409, json: { error: { code: 'not_replayable', message: expect.stringContaining(topics.dlqIdentity) } } });
  expect(loop.replayable).toBe(false);
  expect(await call('GET', '/api/dead-letters?topic=mosaic.events.raw', viewer)).toMatchObject({ status: 400, json: { error: { code: 'invalid_topic' } } });
  // Nothing of the refused replays reached the source topic.
  expect(resolvedTap.messages.filter((m) => m.headers['replayOf'] === d.id || m.headers['replayOf'] === loop.id)).toEqual([]);
});
