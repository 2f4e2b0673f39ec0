import { CONFLICT, emptyStats, retryOnConflict, type ApplierCore } from './batch-context';

const core = (maxAttempts: number) => ({ maxAttempts }) as ApplierCore;

describe('retryOnConflict', () => {
  it('tries again after each conflict, numbering the attempts, and counts the conflicts', async () => {
    const stats = emptyStats();
    const attempts: number[] = [];
    const result = await retryOnConflict(core(5), stats, 'merge a → b: the loser', async (n) => {
      attempts.push(n);
      return n < 3 ? CONFLICT : `written at attempt ${n}`;
    });
    expect(result).toBe('written at attempt 3');
    expect(attempts).toEqual([1, 2, 3]);
    expect(stats.conflicts).toBe(2);
  });

  it('gives up after maxAttempts conflicts, naming what kept changing', async () => {
    const stats = emptyStats();
    let attempts = 0;
    const failing = retryOnConflict(core(3), stats, 'split a → b: the profiles', async () => {
      attempts += 1;
      return CONFLICT;
    });
    await expect(failing).rejects.toThrow('split a → b: the profiles kept changing');
    expect(attempts).toBe(3);
    expect(stats.conflicts).toBe(3);
  });

  it("passes an attempt's own error through at once", async () => {
    let attempts = 0;
    const failing = retryOnConflict(core(5), emptyStats(), 'x', async () => {
      attempts += 1;
      throw new Error('the redirect disappeared');
    });
    await expect(failing).rejects.toThrow('the redirect disappeared');
    expect(attempts).toBe(1);
  });
});
