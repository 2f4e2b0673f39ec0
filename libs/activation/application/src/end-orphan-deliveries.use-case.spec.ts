import { EndOrphanDeliveries } from './end-orphan-deliveries.use-case';

/** A configuration whose destinations the test sets, and the destinations whose deliveries were ended. */
function harness(failFirst = false) {
  const config = { ids: ['dst_a', 'dst_b'] };
  const ended: string[] = [];
  let fail = failFirst;
  const orphans = new EndOrphanDeliveries({
    destinationIds: () => config.ids,
    skipPendingOf: async (id, reason) => {
      if (fail) {
        fail = false;
        throw new Error('store unavailable');
      }
      ended.push(`${id}: ${reason}`);
      return 1;
    },
  });
  return { config, ended, orphans };
}

describe('EndOrphanDeliveries', () => {
  it('ends nothing on the first load (nothing was held before)', async () => {
    const { orphans, ended } = harness();
    expect(await orphans.afterConfigLoad()).toBe(0);
    expect(ended).toEqual([]);
  });

  it('ends the deliveries of a destination a load dropped, once', async () => {
    const { config, orphans, ended } = harness();
    await orphans.afterConfigLoad();
    config.ids = ['dst_a'];
    expect(await orphans.afterConfigLoad()).toBe(1);
    expect(await orphans.afterConfigLoad()).toBe(0);
    expect(ended).toEqual(['dst_b: destination dst_b was deleted']);
  });

  it('finds a drop that loads it was not told of happened in between (held is what it last saw)', async () => {
    const { config, orphans, ended } = harness();
    await orphans.afterConfigLoad();
    config.ids = ['dst_a', 'dst_c']; // dst_b dropped and dst_c added by a reload nobody reported
    await orphans.afterConfigLoad();
    expect(ended).toEqual(['dst_b: destination dst_b was deleted']);
  });

  it('after an insert, ends the deliveries of destinations the configuration no longer holds, and only those', async () => {
    const { config, orphans, ended } = harness();
    await orphans.afterConfigLoad();
    config.ids = ['dst_a'];
    expect(await orphans.afterInsert(['dst_a', 'dst_b'])).toBe(1);
    expect(ended).toEqual(['dst_b: destination dst_b was deleted']);
  });

  it('keeps a destination to end when ending failed, and ends it on the next occasion', async () => {
    const { config, orphans, ended } = harness(true);
    await orphans.afterConfigLoad();
    config.ids = ['dst_a'];
    await expect(orphans.afterConfigLoad()).rejects.toThrow('store unavailable');
    expect(await orphans.afterConfigLoad()).toBe(1);
    expect(ended).toEqual(['dst_b: destination dst_b was deleted']);
  });
});
