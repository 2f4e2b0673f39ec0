/**
 * Deleting a console user and their sessions, never the last admin: without an admin nobody
 * could manage users from the console again (only with the admin token).
 */
import type { ConsoleSessionsRepository, ConsoleUsersRepository } from '@mosaic/console-data-access';

export type DeleteUserOutcome = { ok: true } | { ok: false; reason: 'not_found' | 'last_admin' };

export class DeleteUser {
  constructor(
    private readonly users: ConsoleUsersRepository,
    private readonly sessions: ConsoleSessionsRepository,
  ) {}

  async execute(username: string): Promise<DeleteUserOutcome> {
    const user = await this.users.findByUsername(username);
    if (!user) return { ok: false, reason: 'not_found' };
    if (user.role === 'admin' && (await this.users.countWithRole('admin')) <= 1) return { ok: false, reason: 'last_admin' };
    const deleted = await this.users.delete(username);
    if (!deleted) return { ok: false, reason: 'not_found' };
    // Two admins deleted at once could each have seen the other: the later one puts its user back.
    if (deleted.role === 'admin' && (await this.users.countWithRole('admin')) === 0) {
      await this.users.insert(deleted);
      return { ok: false, reason: 'last_admin' };
    }
    await this.sessions.deleteOfUser(username);
    return { ok: true };
  }
}
