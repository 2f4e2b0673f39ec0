/**
 * Password hashing with argon2id (@node-rs/argon2: maintained, prebuilt binaries, no
 * node-gyp). Parameters: OWASP's first recommendation for argon2id, 19 MiB of memory, 2
 * passes, 1 lane (about 10–20 ms a hash here). Each hash is a PHC string carrying its own
 * parameters and salt, so raising them later leaves stored hashes verifiable.
 */
import { Algorithm, hash, verify } from '@node-rs/argon2';

export const ARGON2_OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export class Argon2PasswordHasher {
  hash(password: string): Promise<string> {
    return hash(password, ARGON2_OPTIONS);
  }

  /** Whether `password` is the one `passwordHash` was made from (false for a malformed hash). */
  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await verify(passwordHash, password);
    } catch {
      return false;
    }
  }
}
