import { SignInThrottle, signInThrottleKey } from './sign-in-throttle';

const MIN = 60_000;

/** One finished wrong-password attempt at `at`. */
function fail(t: SignInThrottle, key: string, at: number): void {
  expect(t.begin(key, at)).toBe(0);
  t.failed(key, at);
}

describe('SignInThrottle', () => {
  const throttle = () => new SignInThrottle({ maxFailures: 3, windowMs: 5 * MIN });

  it('lets a user try until the failures reach the limit within the window', () => {
    const t = throttle();
    fail(t, 'ada', 0);
    fail(t, 'ada', MIN);
    fail(t, 'ada', 2 * MIN);
    // the oldest failure (at 0) leaves the window at 5 min
    expect(t.begin('ada', 2 * MIN)).toBe(3 * MIN);
    expect(t.begin('ada', 5 * MIN - 1)).toBe(1);
    expect(t.begin('ada', 5 * MIN)).toBe(0);
  });

  it('counts only the failures within the window', () => {
    const t = throttle();
    fail(t, 'ada', 0);
    fail(t, 'ada', MIN);
    fail(t, 'ada', 6 * MIN);
    expect(t.begin('ada', 6 * MIN)).toBe(0);
  });

  it('counts attempts still being checked: a burst of concurrent guesses gets the limit, not more', () => {
    const t = throttle();
    const started = Array.from({ length: 10 }, () => t.begin('ada', 0));
    expect(started).toEqual([0, 0, 0, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000]);
    for (let i = 0; i < 3; i += 1) t.failed('ada', 10);
    expect(t.begin('ada', 20)).toBe(5 * MIN - 10);
  });

  it('an attempt that ended in an error frees its place', () => {
    const t = throttle();
    for (let i = 0; i < 3; i += 1) t.begin('ada', 0);
    t.abandoned('ada', 1);
    expect(t.begin('ada', 2)).toBe(0);
  });

  it('clears a user on success and keeps users apart', () => {
    const t = throttle();
    for (const at of [0, 1, 2]) fail(t, 'ada', at);
    expect(t.begin('bob', 3)).toBe(0);
    t.succeeded('ada');
    expect(t.begin('ada', 3)).toBe(0);
  });

  it('beyond its capacity forgets first the usernames with nothing left in the window, then the longest idle', () => {
    const t = new SignInThrottle({ maxFailures: 1, windowMs: MIN, maxKeys: 2 });
    fail(t, 'old', 0);
    fail(t, 'a', 2 * MIN);
    fail(t, 'b', 2 * MIN + 1); // over capacity: "old" has nothing left in the window
    expect([t.begin('a', 2 * MIN + 2) > 0, t.begin('b', 2 * MIN + 2) > 0]).toEqual([true, true]);
    fail(t, 'c', 2 * MIN + 3); // every one active: the longest idle (a) goes
    // (a refused begin changes nothing; an accepted one holds a place, so "a" is asked last)
    expect([t.begin('b', 2 * MIN + 4) > 0, t.begin('c', 2 * MIN + 4) > 0, t.begin('a', 2 * MIN + 4)]).toEqual([true, true, 0]);
  });

  it('keys any case of a username alike', () => {
    expect(signInThrottleKey(' Admin ')).toBe(signInThrottleKey('admin'));
  });
});
