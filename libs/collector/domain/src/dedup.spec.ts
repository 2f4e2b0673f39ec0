import { DedupWindow } from './dedup';

function make(windowMs = 1000, maxEntries = 3) {
  let now = 10_000;
  const window = new DedupWindow({ windowMs, maxEntries, clock: () => now });
  return {
    window,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('DedupWindow: remembered keys', () => {
  it('sees a remembered key within the window', () => {
    const { window, advance } = make();
    expect(window.seen('s:m1')).toBe(false);
    window.remember('s:m1');
    expect(window.seen('s:m1')).toBe(true);
    advance(999);
    expect(window.seen('s:m1')).toBe(true);
  });

  it('forgets a key exactly windowMs after it was remembered', () => {
    const { window, advance } = make();
    window.remember('k');
    advance(1000);
    expect(window.seen('k')).toBe(false);
    expect(window.size).toBe(0);
  });

  it('restarts the window when a key is remembered again', () => {
    const { window, advance } = make();
    window.remember('k');
    advance(800);
    window.remember('k');
    advance(800);
    expect(window.seen('k')).toBe(true);
  });

  it('evicts the oldest entries beyond maxEntries', () => {
    const { window, advance } = make(60_000, 3);
    for (const key of ['a', 'b', 'c']) {
      window.remember(key);
      advance(1);
    }
    window.remember('a'); // refresh a: b is now the oldest
    window.remember('d');
    expect(window.size).toBe(3);
    expect(window.seen('b')).toBe(false);
    expect(['a', 'c', 'd'].map((k) => window.seen(k))).toEqual([true, true, true]);
  });

  it('drops expired entries when remembering', () => {
    const { window, advance } = make(1000, 100);
    window.remember('old1');
    window.remember('old2');
    advance(1500);
    window.remember('new');
    expect(window.size).toBe(1);
  });

  it('validates its options', () => {
    expect(() => new DedupWindow({ windowMs: 0, maxEntries: 1, clock: () => 0 })).toThrow(RangeError);
    expect(() => new DedupWindow({ windowMs: 1, maxEntries: 0, clock: () => 0 })).toThrow(RangeError);
    expect(() => new DedupWindow({ windowMs: 1, maxEntries: 1.5, clock: () => 0 })).toThrow(RangeError);
  });
});

describe('DedupWindow: in-flight keys', () => {
  it('lets only one of two concurrent identical messages through', () => {
    const { window } = make();
    expect(window.beginInFlight('k')).toBe(true);
    expect(window.beginInFlight('k')).toBe(false);
    expect(window.begin('k')).toBe('in_flight');
    expect(window.isInFlight('k')).toBe(true);
    expect(window.inFlightCount).toBe(1);
  });

  it('remembers the key after an acknowledged produce, so a retry is a duplicate', () => {
    const { window } = make();
    expect(window.begin('k')).toBe('acquired');
    window.endInFlight('k', { acked: true });
    expect(window.isInFlight('k')).toBe(false);
    expect(window.seen('k')).toBe(true);
    expect(window.begin('k')).toBe('duplicate');
    expect(window.beginInFlight('k')).toBe(false);
  });

  it('does not remember a failed produce, so the retry goes through', () => {
    const { window } = make();
    window.begin('k');
    window.endInFlight('k', { acked: false });
    expect(window.seen('k')).toBe(false);
    expect(window.begin('k')).toBe('acquired');
  });

  it('defaults endInFlight to not acknowledged', () => {
    const { window } = make();
    window.begin('k');
    window.endInFlight('k');
    expect(window.seen('k')).toBe(false);
    expect(window.inFlightCount).toBe(0);
  });

  it('never evicts in-flight keys', () => {
    const { window } = make(1000, 1);
    window.begin('a');
    window.begin('b');
    window.remember('x');
    window.remember('y');
    expect(window.isInFlight('a')).toBe(true);
    expect(window.isInFlight('b')).toBe(true);
  });

  it('tells waiters the outcome of the in-flight attempt', async () => {
    const { window } = make();
    window.begin('ok');
    window.begin('fail');
    const okWaiter = window.whenSettled('ok');
    const failWaiter = window.whenSettled('fail');
    window.endInFlight('ok', { acked: true });
    window.endInFlight('fail', { acked: false });
    await expect(okWaiter).resolves.toBe(true);
    await expect(failWaiter).resolves.toBe(false);
    expect(window.begin('fail')).toBe('acquired');
  });

  it('resolves whenSettled at once for keys not in flight', async () => {
    const { window } = make();
    await expect(window.whenSettled('unknown')).resolves.toBe(false);
    window.remember('done');
    await expect(window.whenSettled('done')).resolves.toBe(true);
  });

  it('ignores endInFlight for unknown keys unless acknowledged', () => {
    const { window } = make();
    window.endInFlight('nope');
    expect(window.seen('nope')).toBe(false);
    window.endInFlight('late', { acked: true });
    expect(window.seen('late')).toBe(true);
  });
});
