/**
 * Profile ids sortable by creation time, ULID-like: `p_` + the creation time in ms as 9
 * base-36 digits (good until the year 5188) + 12 random base-36 digits. Within one
 * millisecond a generator is monotonic (the random part is incremented), so ids a generator
 * makes sort in the order it made them. Clock and randomness are injected.
 */

const TIME_DIGITS = 9;
const RANDOM_DIGITS = 12;
const RANDOM_SPACE = 36n ** BigInt(RANDOM_DIGITS);

export interface ProfileIdGeneratorOptions {
  /** Epoch milliseconds, e.g. `Date.now`. */
  now: () => number;
  /** Uniform in [0, 1), e.g. `Math.random` or a seeded generator. */
  random: () => number;
  prefix?: string;
}

export function createProfileIdGenerator(options: ProfileIdGeneratorOptions): () => string {
  const prefix = options.prefix ?? 'p_';
  let lastTime = -1;
  let lastRandom = 0n;
  return () => {
    const time = Math.max(0, Math.floor(options.now()));
    let random: bigint;
    if (time <= lastTime) {
      // Same millisecond (or a clock step back): keep the time, increment the random part.
      random = (lastRandom + 1n) % RANDOM_SPACE;
    } else {
      random = 0n;
      for (let i = 0; i < RANDOM_DIGITS; i += 1) random = random * 36n + BigInt(Math.floor(options.random() * 36) % 36);
      // Leave room to increment within the millisecond without wrapping.
      random = random % (RANDOM_SPACE / 2n);
      lastTime = time;
    }
    lastRandom = random;
    return `${prefix}${lastTime.toString(36).padStart(TIME_DIGITS, '0')}${random.toString(36).padStart(RANDOM_DIGITS, '0')}`;
  };
}

/** The creation time encoded in a profile id (ms), or undefined if it is not one of ours. */
export function profileIdTime(id: string, prefix = 'p_'): number | undefined {
  if (!id.startsWith(prefix)) return undefined;
  const digits = id.slice(prefix.length, prefix.length + TIME_DIGITS);
  if (!/^[0-9a-z]{9}$/.test(digits)) return undefined;
  return parseInt(digits, 36);
}
