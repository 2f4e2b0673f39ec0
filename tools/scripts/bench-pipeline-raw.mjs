// The raw limits of the pipeline benchmark (bench-pipeline.mjs), measured first in the same run:
// the collector alone, the store alone on profile-sized documents, Kafka produce and consume alone.
import { sampleProfileDocument } from './bench-event-mix.mjs';
import { loadMix } from './bench-pipeline-load.mjs';
import { adminApi, cannonSummary, createBenchSource, perSec, rssMb, runAutocannon, startService, stopChild, timedOps } from './bench-util.mjs';
import { rawKafkaLimits } from './bench-raw-kafka.mjs';

/** The collector alone (its own topics and database, nothing consuming): /v1/batch of BATCH events, events/s acked. */
export async function rawCollector(ctx) {
  const { root, infra, runId, prefix, mongoBase, rawDb, token, autocannon, opts } = ctx;
  const { PROFILES, BATCH, CONNECTIONS, RAW_SECONDS } = opts;
  const port = await infra.freePort();
  const env = ctx.serviceEnv({ MOSAIC_TOPIC_PREFIX: `${prefix}raw.`, MONGODB_URI: `${mongoBase}/${rawDb}` });
  const svc = await startService({ root, name: 'collector', port, env, logFile: ctx.logFile('collector-alone') });
  try {
    const { authorization } = await createBenchSource(adminApi(svc.url, token));
    // without messageIds: the collector assigns them, so its de-duplication does not skip Kafka
    const gen = loadMix(`${runId}-raw`, PROFILES, 99);
    const batch = JSON.stringify({
      batch: Array.from({ length: BATCH }, () => {
        const { messageId, ...e } = gen.next();
        return e;
      }),
    });
    const opts = {
      url: `${svc.url}/v1/batch`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: batch,
      connections: CONNECTIONS,
    };
    await runAutocannon(autocannon, { ...opts, duration: 1 });
    const r = cannonSummary(await runAutocannon(autocannon, { ...opts, duration: RAW_SECONDS }), BATCH);
    return { ...r, batch: BATCH, connections: CONNECTIONS, rssMb: rssMb(svc.child.pid) };
  } finally {
    await stopChild(svc.child);
  }
}

/** Untimed seconds of each point operation before it is timed: the first half second of findOne by _id runs about 30 % slower (FerretDB on PostgreSQL, 200 documents). */
const STORE_WARM_UP_SECONDS = 0.5;

/**
 * The store alone on as many profile documents as the run has people: insertMany, then findOne
 * and replaceOne by _id (4 in flight, each after an untimed warm-up). The documents have the
 * layout enrichment writes to `enrichment_profiles` (sampleProfileDocument: its own
 * `toStoredProfile`, built in dist/ — a few top-level fields, indexed `idKeys`, the rest of the
 * state as the JSON text `body`), not the nested state FerretDB converts field by field.
 */
export async function rawStore({ mongo, rawDb, domain, documents, BSON, opts }) {
  const { RAW_DOCUMENTS: PROFILES, RAW_SECONDS } = opts;
  const col = mongo.db(rawDb).collection('raw_profiles');
  await col.createIndex({ idKeys: 1 });
  const template = sampleProfileDocument(domain, documents, 10);
  const docBytes = BSON.calculateObjectSize(template);
  const doc = (i, k) => ({ ...template, _id: `r-${i}`, version: k, writeId: `w-${i}-${k}`, idKeys: [`anonymousId:anon-r-${i}`] });
  const t0 = Date.now();
  for (let i = 0; i < PROFILES; i += 500)
    await col.insertMany(
      Array.from({ length: Math.min(500, PROFILES - i) }, (_, j) => doc(i + j, 0)),
      { ordered: false },
    );
  const insertManyDocsPerSec = perSec(PROFILES, (Date.now() - t0) / 1000);
  const read = async (k) => {
    await col.findOne({ _id: `r-${(k * 7919) % PROFILES}` });
    return 1;
  };
  const write = async (k) => {
    const { _id, ...replacement } = doc((k * 7919) % PROFILES, k);
    await col.replaceOne({ _id }, replacement);
    return 1;
  };
  await timedOps(4, STORE_WARM_UP_SECONDS, read);
  const reads = await timedOps(4, RAW_SECONDS, read);
  await timedOps(4, STORE_WARM_UP_SECONDS, write);
  const writes = await timedOps(4, RAW_SECONDS, write);
  await col.drop().catch(() => undefined);
  return {
    docBytes,
    documents: PROFILES,
    insertManyDocsPerSec,
    pointReadsPerSec: perSec(reads.ops, reads.seconds),
    pointWritesPerSec: perSec(writes.ops, writes.seconds),
    inFlight: 4,
  };
}

/** A kafkajs producer and a consumer alone, on records the size of events.raw's. */
export async function rawKafka({ runId, prefix, contracts, kafka, opts }) {
  const gen = loadMix(`${runId}-kafka`, 100, 98);
  const e = gen.next();
  const payload = {
    ...e,
    properties: e.properties ?? {},
    traits: e.traits ?? {},
    context: e.context ?? {},
    receivedAt: new Date().toISOString(),
    sourceId: 'src_bench',
  };
  const { value } = contracts.encodeMessage(contracts.Schemas.rawEvent, payload, { producer: 'collector', messageId: e.messageId, validate: false });
  const r = await rawKafkaLimits({ kafka, topic: `${prefix}raw.kafka`, value, seconds: opts.RAW_SECONDS, consume: true });
  return { producer: r.producer, consumer: r.consumer };
}

/** The store, Kafka and the collector alone, in that order. */
export async function rawLimits(ctx, log) {
  const { RAW_DOCUMENTS, RAW_SECONDS, BATCH, CONNECTIONS } = ctx.opts;
  log(`raw: the store alone (${RAW_DOCUMENTS} profile documents: insertMany, then findOne / replaceOne by _id for ${RAW_SECONDS} s each)...`);
  const store = await rawStore(ctx);
  log(`raw: Kafka produce and consume alone (${RAW_SECONDS} s)...`);
  const kafkaRaw = await rawKafka(ctx);
  log(`raw: the collector alone (/v1/batch of ${BATCH}, ${CONNECTIONS} connections, ${RAW_SECONDS} s)...`);
  const collectorRaw = await rawCollector(ctx);
  return { store, kafka: kafkaRaw, collectorAlone: collectorRaw };
}
