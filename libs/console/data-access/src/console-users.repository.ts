/** Console users (`console_users`): one document per user, the username unique. */
import { randomBytes } from 'node:crypto';
import type { Connection, Model } from 'mongoose';
import { isDuplicateKeyError } from '@mosaic/shared-mongo';
import type { Role } from '@mosaic/console-domain';
import { ConsoleUserSchema, type ConsoleUserDocument } from './documents';

export interface StoredConsoleUser {
  username: string;
  role: Role;
  passwordHash: string;
  createdAt: Date;
}

const toUser = (d: ConsoleUserDocument): StoredConsoleUser => ({ username: d.username, role: d.role, passwordHash: d.passwordHash, createdAt: d.createdAt });

export class ConsoleUsersRepository {
  private readonly model: Model<ConsoleUserDocument>;

  constructor(conn: Connection) {
    this.model = (conn.models['ConsoleUser'] as Model<ConsoleUserDocument> | undefined) ?? conn.model<ConsoleUserDocument>('ConsoleUser', ConsoleUserSchema);
  }

  /** Stores a new user; false when the username is taken. */
  async insert(user: StoredConsoleUser): Promise<boolean> {
    try {
      await this.model.create({ _id: `cu_${randomBytes(12).toString('hex')}`, ...user });
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  async findByUsername(username: string): Promise<StoredConsoleUser | null> {
    const doc = await this.model.findOne({ username }).lean<ConsoleUserDocument>().exec();
    return doc ? toUser(doc) : null;
  }

  /** Every user, by username. */
  async list(): Promise<StoredConsoleUser[]> {
    const docs = await this.model.find({}).lean<ConsoleUserDocument[]>().exec();
    return docs.map(toUser).sort((a, b) => a.username.localeCompare(b.username));
  }

  async count(): Promise<number> {
    return this.model.countDocuments({}).exec();
  }

  async countWithRole(role: Role): Promise<number> {
    return this.model.countDocuments({ role }).exec();
  }

  /** Deletes a user; the deleted user, or null when there was none. */
  async delete(username: string): Promise<StoredConsoleUser | null> {
    const doc = await this.model.findOneAndDelete({ username }).lean<ConsoleUserDocument>().exec();
    return doc ? toUser(doc) : null;
  }
}
