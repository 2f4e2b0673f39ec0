import { SignInThrottle, signInThrottleKey } from './sign-in-throttle';

const MIN = 60_000;

describe('SignInThrottle', () => {
  const throttle = () => new SignInThrottle({ maxFailures: 3, windowMs: 5 * MIN });

  it('lets a user try until the failures reach the limit within the window', () => {
    const t = throttle();
    t.recordFailure('ada', 0);
    t.recordFailure('ada', MIN);
    expect(t.retryAfterMs('ada', MIN)).toBe(0);
    t.recordFailure('ada', 2 * MIN);
    // the oldest failure (at 0) leaves the window at 5 min
    expect(t.retryAfterMs('ada', 2 * MIN)).toBe(3 * MIN);
    expect(t.retryAfterMs('ada', 5 * MIN - 1)).toBe(1);
    expect(t.retryAfterMs('ada', 5 * MIN)).toBe(0);
  });

  it('counts only the failures within the window', () => {
    const t = throttle();
    t.recordFailure('ada', 0);
    t.recordFailure('ada', MIN);
    t.recordFailure('ada', 6 * MIN);
    expect(t.retryAfterMs('ada', 6 * MIN)).toBe(0);
  });

  it('clears a user on success and keeps users apart', () => {
    const t = throttle();
    for (const at of [0, 1, 2]) t.recordFailure('ada', at);
    expect(t.retryAfterMs('bob', 3)).toBe(0);
    t.recordSuccess('ada');
    expect(t.retryAfterMs('ada', 3)).toBe(0);
  });

  it('forgets the usernames failed longest ago beyond its capacity', () => {
    const t = new SignInThrottle({ maxFailures: 1, windowMs: MIN, maxKeys: 2 });
    t.recordFailure('a', 0);
    t.recordFailure('b', 1);
    t.recordFailure('a', 2); // a failed again: b is now the oldest
    t.recordFailure('c', 3);
    expect([t.retryAfterMs('a', 4) > 0, t.retryAfterMs('b', 4) > 0, t.retryAfterMs('c', 4) > 0]).toEqual([true, false, true]);
  });

  it('keys any case of a username alike', () => {
    expect(signInThrottleKey(' Admin ')).toBe(signInThrottleKey('admin'));
  });
});
