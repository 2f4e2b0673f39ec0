// The console's per-request reads against the real MongoDB-wire server, over 5,000 users and
// 5,000 sessions: a session by id, its user by username, a sign-out, and a deleted user's
// sessions. On FerretDB with PostgreSQL none of their queries reads a whole collection (each
// is an equality on a declared index, served by its GIN twin).
import mongoose, { type Connection } from 'mongoose';
import { dropTestDatabase, plannedFinds, storePlansReadable, testInfra, wholeCollectionReads } from '@mosaic/shared-testing';
import { ConsoleSessionsRepository } from './console-sessions.repository';
import { ConsoleUsersRepository } from './console-users.repository';
import { DeadLetterReplaysRepository } from './dead-letter-replays.repository';
import { ensureConsoleIndexes } from './documents';

jest.setTimeout(120_000);

const N = 5_000;
const NOW = new Date('2026-12-06T12:00:00Z');
const LATER = new Date('2026-12-06T20:00:00Z');
let conn: Connection;

beforeAll(async () => {
  conn = await mongoose.createConnection(testInfra().mongoUri, { monitorCommands: true }).asPromise();
  await ensureConsoleIndexes(conn);
  const db = conn.db!;
  for (let i = 0; i < N; i += 1000) {
    const ids = Array.from({ length: 1000 }, (_, k) => i + k);
    await db
      .collection('console_users')
      .insertMany(
        ids.map((n) => ({ _id: `cu_${n}`, username: `user${n}`, role: n % 100 === 0 ? 'admin' : 'viewer', passwordHash: 'x', createdAt: NOW })) as never[],
      );
    await db
      .collection('console_sessions')
      .insertMany(ids.map((n) => ({ _id: `s${n}`, username: `user${n}`, csrfToken: 't', createdAt: NOW, expiresAt: LATER, expiryHour: 0 })) as never[]);
    await db.collection('console_dead_letter_replays').insertMany(
      ids.map((n) => ({
        _id: `m.dlq.t${n % 5}:0:${n}`,
        topic: `m.dlq.t${n % 5}`,
        count: 1,
        lastBy: 'x',
        lastAt: NOW,
        expiresAt: LATER,
        expiryHour: 0,
      })) as never[],
    );
  }
});

afterAll(async () => {
  await conn?.close();
  await dropTestDatabase().catch(() => undefined);
});

it('reads a session and its user, signs out and drops a user’s sessions from indexes only', async () => {
  const users = new ConsoleUsersRepository(conn);
  const sessions = new ConsoleSessionsRepository(conn);
  await sessions.insert('the-session-id', { username: 'user42', csrfToken: 'csrf', createdAt: NOW, expiresAt: LATER }, NOW);
  const seen: unknown[] = [];
  const finds = await plannedFinds(conn, async () => {
    seen.push(await sessions.find('the-session-id', NOW));
    seen.push((await users.findByUsername('user42'))?.role);
    seen.push(await sessions.find('unknown', NOW));
    await sessions.delete('the-session-id');
    await sessions.deleteOfUser('user43');
  });
  expect(seen).toEqual([{ username: 'user42', csrfToken: 'csrf', createdAt: NOW, expiresAt: LATER }, 'viewer', null]);
  expect(await sessions.find('the-session-id', NOW)).toBeNull();
  expect(await conn.db!.collection('console_sessions').countDocuments({ username: 'user43' })).toBe(0);
  expect(finds.length).toBeGreaterThanOrEqual(5);
  if (storePlansReadable()) expect(wholeCollectionReads(finds)).toEqual([]);
});

it('records a dead letter replay and reads one dead-letter topic’s marks from indexes only', async () => {
  const replays = new DeadLetterReplaysRepository(conn, 30 * 86_400_000);
  let marks = new Map();
  const finds = await plannedFinds(conn, async () => {
    await replays.record('m.dlq.new:2:7', 'm.dlq.new', 'ed', NOW);
    await replays.record('m.dlq.new:2:7', 'm.dlq.new', 'ann', LATER);
    marks = await replays.ofTopic('m.dlq.new');
  });
  expect([...marks]).toEqual([['m.dlq.new:2:7', { count: 2, lastBy: 'ann', lastAt: LATER }]]);
  expect((await replays.ofTopic('m.dlq.t1')).size).toBe(N / 5);
  expect(finds.length).toBeGreaterThanOrEqual(1);
  if (storePlansReadable()) expect(wholeCollectionReads(finds)).toEqual([]);
});

it('refuses and deletes an expired session when it is read', async () => {
  const sessions = new ConsoleSessionsRepository(conn);
  await sessions.insert('short-lived', { username: 'user7', csrfToken: 'c', createdAt: NOW, expiresAt: new Date(NOW.getTime() + 60_000) }, NOW);
  expect(await sessions.find('short-lived', new Date(NOW.getTime() + 59_000))).not.toBeNull();
  expect(await sessions.find('short-lived', new Date(NOW.getTime() + 60_000))).toBeNull();
  expect(await sessions.find('short-lived', NOW)).toBeNull(); // deleted, not only refused
});
