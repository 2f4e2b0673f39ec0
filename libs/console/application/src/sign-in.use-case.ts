/**
 * Signing in: the password checked against the user's argon2id hash, then a new session (a
 * random id of 256 bits for the cookie, and a CSRF token). An unknown user costs the same
 * argon2 work as a known one (a dummy hash is verified), so timing does not tell which
 * usernames exist; both answer the same.
 */
import { randomBytes } from 'node:crypto';
import { sessionExpiry, type ConsoleUser } from '@mosaic/console-domain';
import type { Argon2PasswordHasher, ConsoleSessionsRepository, ConsoleUsersRepository } from '@mosaic/console-data-access';

export interface NewSession {
  sessionId: string;
  csrfToken: string;
  user: ConsoleUser;
  expiresAt: Date;
}

const token = (): string => randomBytes(32).toString('base64url');

export class SignIn {
  /** Made up front, so the first unknown username costs no more than the next. */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly users: ConsoleUsersRepository,
    private readonly sessions: ConsoleSessionsRepository,
    private readonly hasher: Argon2PasswordHasher,
    private readonly ttlHours: number,
  ) {
    this.dummyHash = hasher.hash(token());
  }

  /** A new session for the user, or null when the username or the password is wrong. */
  async execute(username: string, password: string, now = new Date()): Promise<NewSession | null> {
    const user = await this.users.findByUsername(username);
    if (!user) {
      await this.hasher.verify(await this.dummyHash, password);
      return null;
    }
    if (!(await this.hasher.verify(user.passwordHash, password))) return null;
    const session = {
      sessionId: token(),
      csrfToken: token(),
      user: { username: user.username, role: user.role },
      expiresAt: sessionExpiry(now, this.ttlHours),
    };
    await this.sessions.insert(session.sessionId, { username: user.username, csrfToken: session.csrfToken, createdAt: now, expiresAt: session.expiresAt }, now);
    return session;
  }
}
