import type { Argon2PasswordHasher, ConsoleUsersRepository } from '@mosaic/console-data-access';
import { CreateUser } from './create-user.use-case';

export const FIRST_ADMIN_USERNAME = 'admin';

/**
 * The first admin, `admin`, from `CONSOLE_INITIAL_ADMIN_PASSWORD`, when there is no user at
 * all (`npm start` generates and keeps the password). Once any user exists it does nothing, so
 * a changed or deleted `admin` is never recreated.
 */
export class BootstrapAdmin {
  private readonly create: CreateUser;

  constructor(
    private readonly users: ConsoleUsersRepository,
    hasher: Argon2PasswordHasher,
  ) {
    this.create = new CreateUser(users, hasher);
  }

  /** Whether it created the admin. */
  async execute(initialPassword: string | undefined): Promise<boolean> {
    if (!initialPassword || (await this.users.count()) > 0) return false;
    const r = await this.create.execute({ username: FIRST_ADMIN_USERNAME, password: initialPassword, role: 'admin' });
    return r.ok;
  }
}
