import { KeyedLocks } from './keyed-locks';

/** A run that records when it starts and ends, and finishes when the test says. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedLocks', () => {
  it('runs with no key in common go on together; one sharing a key waits for the holder', async () => {
    const locks = new KeyedLocks();
    const log: string[] = [];
    const a = gate();
    const b = gate();
    const runA = locks.run(['p1', 'p2'], async () => (log.push('a start'), await a.opened, log.push('a end')));
    const runB = locks.run(['p3'], async () => (log.push('b start'), await b.opened, log.push('b end')));
    const runC = locks.run(['p2', 'p4'], async () => void log.push('c'));
    await settle();
    expect(log).toEqual(['a start', 'b start']);
    expect(locks.heldKeys).toBe(3);
    a.open();
    await runA;
    await runC;
    expect(log).toEqual(['a start', 'b start', 'a end', 'c']);
    b.open();
    await runB;
    expect(locks.heldKeys).toBe(0);
  });

  it('a later run does not overtake an earlier one waiting for a key they share, though its own keys are free', async () => {
    const locks = new KeyedLocks();
    const log: string[] = [];
    const a = gate();
    const runA = locks.run(['x'], async () => (log.push('a'), await a.opened));
    const runB = locks.run(['x', 'y'], async () => void log.push('b'));
    const runC = locks.run(['y'], async () => void log.push('c'));
    const runD = locks.run(['z'], async () => void log.push('d'));
    await settle();
    expect(log).toEqual(['a', 'd']);
    a.open();
    await Promise.all([runA, runB, runC, runD]);
    expect(log).toEqual(['a', 'd', 'b', 'c']);
  });

  it('a run that throws releases its keys and passes the error on', async () => {
    const locks = new KeyedLocks();
    await expect(locks.run(['k'], () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await locks.run(['k'], async () => 'after')).toBe('after');
    expect(locks.heldKeys).toBe(0);
  });

  it('a key named twice in one run is taken once', async () => {
    const locks = new KeyedLocks();
    expect(await locks.run(['k', 'k'], async () => locks.heldKeys)).toBe(1);
  });
});
