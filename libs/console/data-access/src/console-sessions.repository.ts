/**
 * Console sessions (`console_sessions`), stored under the SHA-256 of their id. A session read
 * after it expired is refused and deleted at once; the rest go with the hourly expiry sweep.
 */
import { createHash } from 'node:crypto';
import type { Connection, Model } from 'mongoose';
import { ExpirySweeper, expiryHourOf, openDb } from '@mosaic/shared-mongo';
import { isExpired } from '@mosaic/console-domain';
import { CONSOLE_COLLECTIONS, ConsoleSessionSchema, type ConsoleSessionDocument } from './documents';

export interface StoredSession {
  username: string;
  csrfToken: string;
  createdAt: Date;
  expiresAt: Date;
}

const digest = (sessionId: string): string => createHash('sha256').update(sessionId, 'utf8').digest('hex');

export class ConsoleSessionsRepository {
  private readonly model: Model<ConsoleSessionDocument>;
  private readonly expiry = new ExpirySweeper();

  constructor(private readonly conn: Connection) {
    this.model =
      (conn.models['ConsoleSession'] as Model<ConsoleSessionDocument> | undefined) ??
      conn.model<ConsoleSessionDocument>('ConsoleSession', ConsoleSessionSchema);
  }

  async insert(sessionId: string, session: StoredSession, now = new Date()): Promise<void> {
    await this.model.create({ _id: digest(sessionId), ...session, expiryHour: expiryHourOf(session.expiresAt, now) });
  }

  /** The live session of an id; null when unknown or expired (an expired one is deleted). */
  async find(sessionId: string, now = new Date()): Promise<StoredSession | null> {
    const _id = digest(sessionId);
    const doc = await this.model.findOne({ _id }).lean<ConsoleSessionDocument>().exec();
    if (!doc) return null;
    if (isExpired(doc.expiresAt, now)) {
      await this.model.deleteOne({ _id }).exec();
      return null;
    }
    return { username: doc.username, csrfToken: doc.csrfToken, createdAt: doc.createdAt, expiresAt: doc.expiresAt };
  }

  async delete(sessionId: string): Promise<void> {
    await this.model.deleteOne({ _id: digest(sessionId) }).exec();
  }

  async deleteOfUser(username: string): Promise<void> {
    await this.model.deleteMany({ username }).exec();
  }

  /** Deletes the sessions that have expired; how many. */
  async deleteExpired(now = new Date()): Promise<number> {
    return this.expiry.deleteExpired(openDb(this.conn).collection(CONSOLE_COLLECTIONS.sessions), {}, now);
  }
}
