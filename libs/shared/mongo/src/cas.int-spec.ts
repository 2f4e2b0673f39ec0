// VersionedWriter against the real MongoDB-wire server, in both modes: of concurrent
// compare-and-sets expecting one version exactly one lands (ticket mode on any server; native
// only where the server's conditional writes are atomic), batched writes report per document,
// and an abandoned ticket is completed by the next writer.
import mongoose, { type Connection } from 'mongoose';
import { dropTestDatabase, testInfra } from '@mosaic/shared-testing';
import { VersionedWriter, detectServerProfile, newTicket, type CasMode } from './cas';

interface Doc {
  _id: string;
  version: number;
  writeId: string;
  by: string;
  at?: Date;
}

let conn: Connection;
let serverCas: CasMode;

beforeAll(async () => {
  conn = await mongoose.createConnection(testInfra().mongoUri).asPromise();
  serverCas = (await detectServerProfile(conn)).cas;
});

afterAll(async () => {
  await conn?.close();
  await dropTestDatabase().catch(() => undefined);
});

const coll = (name: string) => conn.db!.collection<Doc>(name);

for (const mode of ['ticket', 'native'] as const) {
  describe(`${mode} mode`, () => {
    const writer = () => new VersionedWriter(conn, { mode, ticketCollection: `tickets_${mode}`, leaseMs: 300, pointReads: mode === 'ticket' });

    it('writeMany: inserts and replaces in bulk, per-document results, conflicts for stale expectations', async () => {
      const c = coll(`bulk_${mode}`);
      const w = writer();
      const first = await w.writeMany(c, [
        { expected: null, doc: { _id: 'a', version: 1, writeId: 'w1', by: 'x' } },
        { expected: null, doc: { _id: 'b', version: 1, writeId: 'w2', by: 'x' } },
      ]);
      expect(Object.fromEntries(first)).toEqual({ a: 'applied', b: 'applied' });
      const second = await w.writeMany(c, [
        { expected: null, doc: { _id: 'a', version: 1, writeId: 'w3', by: 'y' } }, // exists
        { expected: 1, doc: { _id: 'b', version: 2, writeId: 'w4', by: 'y', at: new Date('2026-01-02T00:00:00Z') } },
        { expected: 5, doc: { _id: 'c', version: 6, writeId: 'w5', by: 'y' } }, // missing
      ]);
      expect(Object.fromEntries(second)).toEqual({ a: 'conflict', b: 'applied', c: 'conflict' });
      expect(await c.findOne({ _id: 'b' })).toEqual({ _id: 'b', version: 2, writeId: 'w4', by: 'y', at: new Date('2026-01-02T00:00:00Z') });
      expect((await w.findByIds(c, ['a', 'b', 'zz'])).map((d) => d._id).sort()).toEqual(['a', 'b']);
    });

    it('a write that fails for good leaves the version free: the next writer of that version lands', async () => {
      const c = coll(`refused_${mode}`);
      const w = writer();
      await c.insertOne({ _id: 'p', version: 1, writeId: 'w0', by: 'init' });
      // a replacement the driver refuses (after the ticket was taken): an operator key
      const refused = { _id: 'p', version: 2, writeId: 'bad', by: 'x', $set: { a: 1 } } as unknown as Doc;
      await expect(w.replace(c, 'p', 1, refused)).rejects.toThrow(/dollar|atomic operators/);
      expect(await w.replace(c, 'p', 1, { _id: 'p', version: 2, writeId: 'w1', by: 'y' })).toBe('applied');
      await expect(w.writeMany(c, [{ expected: 2, doc: { ...refused, version: 3 } }])).rejects.toThrow(/dollar|atomic operators/);
      expect(Object.fromEntries(await w.writeMany(c, [{ expected: 2, doc: { _id: 'p', version: 3, writeId: 'w2', by: 'z' } }]))).toEqual({ p: 'applied' });
      expect(await c.findOne({ _id: 'p' })).toEqual({ _id: 'p', version: 3, writeId: 'w2', by: 'z' });
    });

    it('of 20 concurrent writers expecting one version, exactly one lands', async () => {
      if (mode === 'native' && serverCas === 'ticket') return; // FerretDB's conditional writes are not atomic: the reason ticket mode exists
      const c = coll(`race_${mode}`);
      const w = writer();
      await c.insertOne({ _id: 'r', version: 1, writeId: 'w0', by: 'init' });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => w.writeMany(c, [{ expected: 1, doc: { _id: 'r', version: 2, writeId: `r${i}`, by: `writer-${i}` } }])),
      );
      const winners = results.filter((r) => r.get('r') === 'applied');
      expect(winners).toHaveLength(1);
      const stored = await c.findOne({ _id: 'r' });
      expect(stored?.writeId).toBe(`r${results.indexOf(winners[0]!)}`);
    });
  });
}

it('ticket mode completes a write whose writer died between ticket and write (dates survive the ticket)', async () => {
  const c = coll('abandoned');
  const w = new VersionedWriter(conn, { mode: 'ticket', ticketCollection: 'tickets_abandoned', leaseMs: 300 });
  await c.insertOne({ _id: 'd', version: 1, writeId: 'w0', by: 'init' });
  const intended: Doc = { _id: 'd', version: 2, writeId: 'dead', by: 'dead-writer', at: new Date('2026-03-01T00:00:00Z') };
  await w.tickets.insertOne(newTicket('abandoned', intended, 1, 'dead', new Date(Date.now() - 60_000)));
  const r = await w.writeMany(c, [{ expected: 1, doc: { _id: 'd', version: 2, writeId: 'late', by: 'late' } }]);
  expect(r.get('d')).toBe('conflict');
  expect(await c.findOne({ _id: 'd' })).toEqual(intended);
  expect(await w.sweepTickets(new Date(Date.now() + 2 * 3600_000))).toBe(1);
});

it('ticket mode deletes the tickets of finished moves, landed or lost, and a stale writer then still conflicts', async () => {
  const c = coll('retired');
  const w = new VersionedWriter(conn, { mode: 'ticket', ticketCollection: 'tickets_retired', leaseMs: 300, pointReads: true });
  await c.insertMany(Array.from({ length: 60 }, (_, i) => ({ _id: `r${i}`, version: 1, writeId: 'w0', by: 'init' })));
  const bulk = await w.writeMany(
    c,
    Array.from({ length: 60 }, (_, i) => ({ expected: i === 59 ? 7 : 1, doc: { _id: `r${i}`, version: i === 59 ? 8 : 2, writeId: `b${i}`, by: 'bulk' } })),
  );
  expect([...bulk.values()].filter((r) => r === 'applied')).toHaveLength(59);
  expect(await w.replace(c, 'r0', 2, { _id: 'r0', version: 3, writeId: 'one', by: 'single' })).toBe('applied');
  await w.ticketsRetired();
  expect(await w.tickets.countDocuments({})).toBe(0);
  // A writer that read r1 at version 1 (before the bulk write) takes the freed ticket and still loses.
  expect(await w.replace(c, 'r1', 1, { _id: 'r1', version: 2, writeId: 'stale', by: 'stale' })).toBe('conflict');
  expect(await c.findOne({ _id: 'r1' })).toMatchObject({ version: 2, writeId: 'b1' });
  await w.ticketsRetired();
  expect(await w.tickets.countDocuments({})).toBe(0);
});
