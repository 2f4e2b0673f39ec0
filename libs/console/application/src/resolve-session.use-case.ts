/**
 * The user behind a session cookie, with their current role: read from the user on every
 * request, so a changed or deleted user takes effect at once.
 */
import type { ConsoleUser } from '@mosaic/console-domain';
import type { ConsoleSessionsRepository, ConsoleUsersRepository } from '@mosaic/console-data-access';

export interface ResolvedSession {
  user: ConsoleUser;
  csrfToken: string;
}

export class ResolveSession {
  constructor(
    private readonly users: ConsoleUsersRepository,
    private readonly sessions: ConsoleSessionsRepository,
  ) {}

  /** The session's user and CSRF token; null when unknown, expired, or its user is gone. */
  async execute(sessionId: string, now = new Date()): Promise<ResolvedSession | null> {
    const session = await this.sessions.find(sessionId, now);
    if (!session) return null;
    const user = await this.users.findByUsername(session.username);
    if (!user) {
      await this.sessions.delete(sessionId);
      return null;
    }
    return { user: { username: user.username, role: user.role }, csrfToken: session.csrfToken };
  }
}
