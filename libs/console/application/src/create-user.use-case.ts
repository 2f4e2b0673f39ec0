import type { ConsoleUser, NewUser } from '@mosaic/console-domain';
import type { Argon2PasswordHasher, ConsoleUsersRepository } from '@mosaic/console-data-access';

export type CreateUserOutcome = { ok: true; user: ConsoleUser & { createdAt: Date } } | { ok: false; reason: 'exists' };

/** A new console user (validated by the domain's `validateNewUser`), the password stored as its argon2id hash. */
export class CreateUser {
  constructor(
    private readonly users: ConsoleUsersRepository,
    private readonly hasher: Argon2PasswordHasher,
  ) {}

  async execute(input: NewUser, now = new Date()): Promise<CreateUserOutcome> {
    // Checked first so a taken name costs no hashing; the unique index decides races.
    if (await this.users.findByUsername(input.username)) return { ok: false, reason: 'exists' };
    const user = { username: input.username, role: input.role, passwordHash: await this.hasher.hash(input.password), createdAt: now };
    if (!(await this.users.insert(user))) return { ok: false, reason: 'exists' };
    return { ok: true, user: { username: user.username, role: user.role, createdAt: now } };
  }
}
