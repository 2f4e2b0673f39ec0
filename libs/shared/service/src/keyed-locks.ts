/**
 * Mutual exclusion by key within one process: `run(keys, fn)` starts `fn` once no other run holds
 * any of its keys, and takes them all at once, so runs never hold some keys while waiting for
 * others (no deadlock). Runs that want a key start in the order they asked: a later run does not
 * overtake an earlier one still waiting for a key they share, even when its own keys are free.
 * Runs with no key in common go on together.
 */
export class KeyedLocks {
  private readonly held = new Set<string>();
  private readonly waiting: { keys: readonly string[]; start: () => void }[] = [];

  async run<T>(keys: Iterable<string>, fn: () => Promise<T>): Promise<T> {
    const wanted = [...new Set(keys)];
    await new Promise<void>((start) => {
      this.waiting.push({ keys: wanted, start });
      this.startFree();
    });
    try {
      return await fn();
    } finally {
      for (const key of wanted) this.held.delete(key);
      this.startFree();
    }
  }

  /** Keys held by runs in progress. */
  get heldKeys(): number {
    return this.held.size;
  }

  /** Starts, in order, every waiting run whose keys are neither held nor wanted by an earlier waiting run. */
  private startFree(): void {
    const wantedEarlier = new Set<string>();
    for (let i = 0; i < this.waiting.length;) {
      const run = this.waiting[i] as (typeof this.waiting)[number];
      if (run.keys.every((key) => !this.held.has(key) && !wantedEarlier.has(key))) {
        for (const key of run.keys) this.held.add(key);
        this.waiting.splice(i, 1);
        run.start();
      } else {
        for (const key of run.keys) wantedEarlier.add(key);
        i += 1;
      }
    }
  }
}
