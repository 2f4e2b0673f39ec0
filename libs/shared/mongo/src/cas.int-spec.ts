// VersionedWriter against the real MongoDB-wire server, in every mode: of concurrent
// compare-and-sets expecting one version exactly one lands (ticket mode on any server; guarded
// on MongoDB and on FerretDB with Mosaic's PostgreSQL guard; native only where the server's
// conditional writes are atomic), batched writes report per document, and an abandoned ticket
// is completed by the next writer.
import { storePlansReadable, useTestConnection } from '@mosaic/shared-testing';
import { VersionedWriter, newTicket } from './cas';
import { CAS_FROM, CAS_PROBE_COLLECTION, detectServerProfile, type CasMode } from './cas-guard';

interface Doc {
  _id: string;
  version: number;
  writeId: string;
  by: string;
  at?: Date;
}

const db = useTestConnection();
let serverCas: CasMode;

beforeAll(async () => {
  serverCas = (await detectServerProfile(db.conn)).cas;
});

const coll = (name: string) => db.conn.db!.collection<Doc>(name);

/** Whether `mode` is exact on this run's server (the reason ticket mode exists). */
const exactOnServer = (mode: CasMode) => mode === 'ticket' || mode === serverCas || (mode === 'guarded' && serverCas === 'native');

it('finds the guard of the PostgreSQL cluster tools/infra runs, and leaves no probe behind', async () => {
  const server = await detectServerProfile(db.conn);
  expect(server.cas).toBe(storePlansReadable() ? 'guarded' : server.ferretdb ? 'ticket' : 'native');
  if (server.ferretdb) expect(await db.conn.db!.collection(CAS_PROBE_COLLECTION).countDocuments({})).toBe(0);
});

for (const mode of ['ticket', 'guarded', 'native'] as const) {
  describe(`${mode} mode`, () => {
    /** What a guarded write records besides the document: the version it expected. */
    const casFrom = (expected: number) => (mode === 'guarded' ? { [CAS_FROM]: expected } : {});
    const writer = () => new VersionedWriter(db.conn, { mode, ticketCollection: `tickets_${mode}`, leaseMs: 300, pointReads: mode !== 'native' });

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
      expect(await c.findOne({ _id: 'b' })).toEqual({ _id: 'b', version: 2, writeId: 'w4', by: 'y', at: new Date('2026-01-02T00:00:00Z'), ...casFrom(1) });
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
      expect(await c.findOne({ _id: 'p' })).toEqual({ _id: 'p', version: 3, writeId: 'w2', by: 'z', ...casFrom(2) });
    });

    it('of 20 concurrent writers expecting one version, exactly one lands', async () => {
      if (!exactOnServer(mode)) return; // FerretDB's conditional writes are not atomic without the guard
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

    it('of 20 concurrent single replaces expecting one version, exactly one lands', async () => {
      if (!exactOnServer(mode)) return;
      const c = coll(`race1_${mode}`);
      const w = writer();
      await c.insertOne({ _id: 's', version: 1, writeId: 'w0', by: 'init' });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => w.replace(c, 's', 1, { _id: 's', version: 2, writeId: `s${i}`, by: `writer-${i}` })),
      );
      expect(results.filter((r) => r === 'applied')).toHaveLength(1);
      const stored = await c.findOne({ _id: 's' });
      expect(stored?.by).toBe(`writer-${results.indexOf('applied')}`);
      expect(stored?.version).toBe(2);
    });

    it('a bulk write with a lost race in the middle still lands the others', async () => {
      if (!exactOnServer(mode)) return;
      const c = coll(`mixed_${mode}`);
      const w = writer();
      await c.insertMany(Array.from({ length: 6 }, (_, i) => ({ _id: `m${i}`, version: 1, writeId: 'w0', by: 'init' })));
      // m2 moved on since the bulk's writer read it
      expect(await w.replace(c, 'm2', 1, { _id: 'm2', version: 2, writeId: 'other', by: 'other' })).toBe('applied');
      const r = await w.writeMany(
        c,
        Array.from({ length: 6 }, (_, i) => ({ expected: 1, doc: { _id: `m${i}`, version: 2, writeId: `bulk${i}`, by: 'bulk' } })),
      );
      expect(Object.fromEntries(r)).toEqual({ m0: 'applied', m1: 'applied', m2: 'conflict', m3: 'applied', m4: 'applied', m5: 'applied' });
      expect((await c.find({ by: 'bulk' }).toArray()).map((d) => d._id).sort()).toEqual(['m0', 'm1', 'm3', 'm4', 'm5']);
      expect(await c.findOne({ _id: 'm2' })).toMatchObject({ by: 'other', version: 2 });
    });
  });
}

it('ticket mode completes a write whose writer died between ticket and write (dates survive the ticket)', async () => {
  const c = coll('abandoned');
  const w = new VersionedWriter(db.conn, { mode: 'ticket', ticketCollection: 'tickets_abandoned', leaseMs: 300 });
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
  const w = new VersionedWriter(db.conn, { mode: 'ticket', ticketCollection: 'tickets_retired', leaseMs: 300, pointReads: true });
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
