/**
 * The console's collections: its users (`console_users`), their sessions
 * (`console_sessions`) and the dead letters replayed from it (`console_dead_letter_replays`). Every query is an equality on an indexed top-level field, which
 * FerretDB hands to PostgreSQL (served by the GIN twin of the index, tools/infra).
 */
import { Schema, type Connection } from 'mongoose';
import { ensureSchemaIndexes } from '@mosaic/shared-mongo';
import type { Role } from '@mosaic/console-domain';

export const CONSOLE_COLLECTIONS = { users: 'console_users', sessions: 'console_sessions', deadLetterReplays: 'console_dead_letter_replays' } as const;

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

/** Creates the console's indexes (idempotent; at start-up). */
/** A dead letter replayed from the console: by whom, when, how often (kept as long as the dead-letter topic keeps it). */
export interface DeadLetterReplayDocument {
  /** The dead letter's id (`<dlq topic>:<partition>:<offset>`). */
  _id: string;
  /** The dead-letter topic (the list reads one topic's replays by equality). */
  topic: string;
  count: number;
  lastBy: string;
  lastAt: Date;
  expiresAt: Date;
  expiryHour: number;
}

export const DeadLetterReplaySchema = new Schema<DeadLetterReplayDocument>(
  {
    _id: { type: String, required: true },
    topic: { type: String, required: true },
    count: { type: Number, required: true },
    lastBy: { type: String, required: true },
    lastAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    expiryHour: { type: Number, required: true },
  },
  { collection: CONSOLE_COLLECTIONS.deadLetterReplays, versionKey: false },
);
DeadLetterReplaySchema.index({ topic: 1 });
DeadLetterReplaySchema.index({ expiryHour: 1 });

const CONSOLE_SCHEMAS = [
  ['ConsoleUser', ConsoleUserSchema],
  ['ConsoleSession', ConsoleSessionSchema],
  ['DeadLetterReplay', DeadLetterReplaySchema],
] as const;

export async function ensureConsoleIndexes(conn: Connection): Promise<void> {
  await ensureSchemaIndexes(conn, CONSOLE_SCHEMAS);
}
