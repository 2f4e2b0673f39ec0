// What a benchmark leaves in the shared infrastructure — its topics and consumer groups (prefix
// `bench-<runId>.`) and its databases — removed at its end (bench-util re-exports these).

/** Deletes the topics and consumer groups whose names start with `prefix` (a run's own); logs what it could not. */
export async function deleteBenchTopics(admin, prefix, log) {
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups);
  } catch (err) {
    log(`could not delete the bench's topics or groups: ${err.message}`);
  }
  await admin.disconnect().catch(() => undefined);
}

/**
 * Drops the databases `dbNames` (a run's own) on the server at `mongoBase` with the driver
 * `mongodb`; logs what it could not. Up to 3 passes, each checked 2 s after its drops: a write a
 * stopped service had in flight may still land after a first drop (seen on FerretDB).
 */
export async function dropBenchDatabases(mongodb, mongoBase, dbNames, log) {
  const client = new mongodb.MongoClient(`${mongoBase}/${dbNames[0]}`, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.connect();
    for (let pass = 0; pass < 3; pass += 1) {
      for (const name of dbNames) await client.db(name).dropDatabase();
      await new Promise((r) => setTimeout(r, 2000));
      const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
      if (!databases.some((d) => dbNames.includes(d.name))) return;
    }
    log(`${dbNames.join(', ')} still there after 3 drops`);
  } catch (err) {
    log(`could not drop ${dbNames.join(', ')}: ${err.message}`);
  } finally {
    await client.close().catch(() => undefined);
  }
}
