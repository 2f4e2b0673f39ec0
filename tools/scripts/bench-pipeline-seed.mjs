// `--stored-profiles N` of the pipeline benchmark: the store holds N people's documents while the
// load is sent by the `--profiles` people who went through the warm-up. Sending a million people
// through the pipeline first would take hours here, so the other people's documents are copies of
// the warm-up's, inserted straight into the store under new ids — every collection that holds a
// document per person or per event, so each one grows by the same factor.
//
// Each copy is another person: its `_id` gets the copy's suffix, and so does every top-level value
// (or element of a top-level array) that names a copied document — a profile id, an identifier
// key, a message id — so copy k's events belong to copy k's profile, its identifier keys are
// copy k's pointers, and a query by such a value finds what it would in a store of N people: one
// person's documents, not N / `--profiles` copies of them. (Until 2026-12-07 copies kept those
// values: each merge then moved its loser's events and all their copies, 25,308 index scans of
// `enrichment_events` in a throughput phase against 639 at 10,000 people.) Values that do not name
// a document (segment keys, timer slots, list shards, states as JSON text) repeat the originals'.
// No copy is ever addressed by an event: the load only names the warm-up's people. Nothing the
// services keep in memory changes (caches, segment sizes), which is the point: the measured
// phases differ from a run without the copies only in the size of the collections.
//
// After the copy every copied collection is compacted (FerretDB runs VACUUM ANALYZE on its table):
// a store that grew to N people in service has long been vacuumed and analysed by autovacuum;
// right after millions of inserts it has not, and autovacuum would do that work during the
// measured phases, on the same two cores as the pipeline (the report's store line says whether
// autovacuum still ran).

/** Documents per insertMany; two are in flight at a time (one per core, the server does the work). */
const CHUNK = 1_000;
const IN_FLIGHT = 2;

/** A copy's `_id`: strings get a suffix (the copy number), ObjectIds a fresh id. */
function copyId(id, copy, BSON) {
  if (typeof id === 'string') return `${id}~${copy}`;
  if (id instanceof BSON.ObjectId) return new BSON.ObjectId();
  throw new Error(`cannot copy a document whose _id is ${typeof id} (${String(id)})`);
}

/** Copy `copy` of a value: a string naming a copied document (or a top-level array's such elements) gets the copy's suffix. */
function renamed(value, copy, ids) {
  if (typeof value === 'string') return ids.has(value) ? `${value}~${copy}` : value;
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' && ids.has(v) ? `${v}~${copy}` : v));
  return value;
}

/** Copy `copy` of a document: another person's (see above). */
function copyOf(doc, copy, ids, BSON) {
  return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, k === '_id' ? copyId(v, copy, BSON) : renamed(v, copy, ids)]));
}

/** The string ids of every document of these collections: the values a copy renames. */
async function documentIds(db, collections) {
  const ids = new Set();
  for (const { name } of collections)
    for await (const d of db.collection(name).find({}, { projection: { _id: 1 } })) if (typeof d._id === 'string') ids.add(d._id);
  return ids;
}

/** The collections with at least one document for every second person: per-person and per-event ones. */
async function perPersonCollections(db, people) {
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  const counted = [];
  for (const name of names) counted.push({ name, count: await db.collection(name).countDocuments() });
  return counted.filter((c) => c.count >= people / 2);
}

/** Inserts `copies` copies of every document of the collection, CHUNK at a time, IN_FLIGHT at once. */
async function copyCollection(collection, copies, ids, BSON) {
  const originals = await collection.find({}).toArray();
  const chunks = [];
  for (let copy = 1; copy <= copies; copy += 1) for (let i = 0; i < originals.length; i += CHUNK) chunks.push({ copy, from: i });
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const { copy, from } = chunks[next++];
      const docs = originals.slice(from, from + CHUNK).map((d) => copyOf(d, copy, ids, BSON));
      await collection.insertMany(docs, { ordered: false });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return originals.length * copies;
}

/**
 * Grows the services' collections to `storedProfiles` people's worth of documents by copying the
 * warm-up's; returns what was copied, per collection, and how fast.
 */
export async function seedStoredProfiles({ mongo, BSON, opts }, log) {
  const { PROFILES, STORED_PROFILES } = opts;
  const copies = Math.ceil(STORED_PROFILES / PROFILES) - 1;
  const db = mongo.db();
  const collections = await perPersonCollections(db, PROFILES);
  log(`seeding: ${copies} copies of the documents of ${collections.map((c) => `${c.name} (${c.count})`).join(', ')}...`);
  const t0 = Date.now();
  const ids = await documentIds(db, collections);
  const byCollection = {};
  for (const { name, count } of collections) {
    const started = Date.now();
    const inserted = await copyCollection(db.collection(name), copies, ids, BSON);
    const seconds = (Date.now() - started) / 1000;
    byCollection[name] = { before: count, after: count + inserted, seconds: +seconds.toFixed(1), docsPerSec: Math.round(inserted / seconds) };
    log(`  ${name}: ${count} → ${count + inserted} documents in ${seconds.toFixed(1)} s`);
  }
  const seconds = (Date.now() - t0) / 1000;
  const inserted = Object.values(byCollection).reduce((sum, c) => sum + c.after - c.before, 0);
  const compactStarted = Date.now();
  for (const { name } of collections) await db.command({ compact: name });
  const compactSeconds = +((Date.now() - compactStarted) / 1000).toFixed(1);
  log(`  compacted (VACUUM ANALYZE on PostgreSQL) in ${compactSeconds} s`);
  return {
    people: PROFILES * (copies + 1),
    copies,
    documents: inserted,
    seconds: +seconds.toFixed(1),
    docsPerSec: Math.round(inserted / seconds),
    compactSeconds,
    collections: byCollection,
  };
}

/** The run's seeding, in words (the report's header and the JSON's settings). */
export function seedingSummary({ WARM, STORED_PROFILES, PROFILES }) {
  if (STORED_PROFILES > 0)
    return `--warm, then --stored-profiles: the store holds ${STORED_PROFILES} people's documents, those of the ${PROFILES} people of the load (created through the pipeline) and copies of them under new ids (inserted straight into the store)`;
  return WARM
    ? 'none; --warm: every person first arrives through the pipeline (drained), the measured phases are returning visitors'
    : 'none: profiles are created through the pipeline during the measured phase';
}
