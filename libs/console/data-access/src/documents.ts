/**
 * The console's collections: its users (`console_users`) and their sessions
 * (`console_sessions`). Every query is an equality on an indexed top-level field, which
 * FerretDB hands to PostgreSQL (served by the GIN twin of the index, tools/infra).
 */
import { Schema, type Connection } from 'mongoose';
import { ensureSchemaIndexes } from '@mosaic/shared-mongo';
import type { Role } from '@mosaic/console-domain';

export const CONSOLE_COLLECTIONS = { users: 'console_users', sessions: 'console_sessions' } as const;

export interface ConsoleUserDocument {
  _id: string;
  username: string;
  role: Role;
  /** argon2id, PHC string (parameters and salt included). */
  passwordHash: string;
  createdAt: Date;
}

export interface ConsoleSessionDocument {
  /** SHA-256 of the session id: a database dump holds no cookie that signs anyone in. */
  _id: string;
  username: string;
  csrfToken: string;
  createdAt: Date;
  expiresAt: Date;
  /** The hour the expiry sweep deletes it in (`expiryHourOf`). */
  expiryHour: number;
}

export const ConsoleUserSchema = new Schema<ConsoleUserDocument>(
  {
    _id: { type: String, required: true },
    username: { type: String, required: true },
    role: { type: String, required: true },
    passwordHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: CONSOLE_COLLECTIONS.users, versionKey: false },
);
// Two admins creating the same user at once: one wins, the other gets a duplicate-key error.
ConsoleUserSchema.index({ username: 1 }, { unique: true });
// The last-admin check counts admins.
ConsoleUserSchema.index({ role: 1 });

export const ConsoleSessionSchema = new Schema<ConsoleSessionDocument>(
  {
    _id: { type: String, required: true },
    username: { type: String, required: true },
    csrfToken: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    expiryHour: { type: Number, required: true },
  },
  { collection: CONSOLE_COLLECTIONS.sessions, versionKey: false },
);
// A deleted user's sessions are deleted with them.
ConsoleSessionSchema.index({ username: 1 });
ConsoleSessionSchema.index({ expiryHour: 1 });

const CONSOLE_SCHEMAS = [
  ['ConsoleUser', ConsoleUserSchema],
  ['ConsoleSession', ConsoleSessionSchema],
] as const;

/** Creates the console's indexes (idempotent; at start-up). */
export async function ensureConsoleIndexes(conn: Connection): Promise<void> {
  await ensureSchemaIndexes(conn, CONSOLE_SCHEMAS);
}
