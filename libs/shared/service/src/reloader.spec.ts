import { Reloader } from './reloader';

/** A store whose reads are held until the test releases them, and a cache that copies what a load read. */
function setup() {
  let stored = 'v1';
  let held = 'none';
  const gates: (() => void)[] = [];
  let loads = 0;
  const reloader = new Reloader(async () => {
    loads += 1;
    const read = stored;
    await new Promise<void>((resolve) => gates.push(resolve));
    held = read;
  });
  return {
    reloader,
    change: (value: string) => (stored = value),
    held: () => held,
    loads: () => loads,
    release: async () => {
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    },
  };
}

describe('Reloader', () => {
  it('gives a caller whose change came during a reload a reload that reads it', async () => {
    const s = setup();
    const periodic = s.reloader.reload(); // read v1 before the change
    s.change('v2');
    let answered = false;
    const afterChange = s.reloader.reload().then(() => (answered = true));
    await s.release();
    await periodic;
    expect(s.held()).toBe('v1');
    expect(answered).toBe(false);
    await s.release();
    await afterChange;
    expect(s.held()).toBe('v2');
  });

  it('runs one reload at a time and shares the queued one', async () => {
    const s = setup();
    const first = s.reloader.reload();
    const second = s.reloader.reload();
    const third = s.reloader.reload();
    expect(second).toBe(third);
    expect(s.loads()).toBe(1);
    await s.release();
    await first;
    expect(s.loads()).toBe(2);
    await s.release();
    await Promise.all([second, third]);
    expect(s.loads()).toBe(2);
  });

  it('reloads again after a failed reload', async () => {
    let loads = 0;
    const reloader = new Reloader(async () => {
      loads += 1;
      if (loads === 1) throw new Error('store down');
    });
    const first = reloader.reload();
    const queued = reloader.reload();
    await expect(first).rejects.toThrow('store down');
    await expect(queued).resolves.toBeUndefined();
    expect(loads).toBe(2);
  });
});
