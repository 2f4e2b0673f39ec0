/**
 * Ports the identity domain needs from a store. The in-memory implementation
 * (in-memory-store.ts) is used by the domain's tests and the service's unit tests; the Mongo
 * adapter (data-access) implements the same interfaces with single-document operations.
 */
import type { AuditRecord, GraphWrite, IdentifierRecord, ProcessedRecord, ProfileRecord, WriteResult } from './model';

export interface IdentityGraphReader {
  /** The identity documents among `keys` that exist (any order). */
  getIdentifiers(keys: readonly string[]): Promise<IdentifierRecord[]>;
  /** The profile documents among `ids` that exist (any order). */
  getProfiles(ids: readonly string[]): Promise<ProfileRecord[]>;
}

export interface IdentityGraphWriter {
  /** Applies one conditional write (see `GraphWrite`). Never throws for a failed condition. */
  applyWrite(write: GraphWrite): Promise<WriteResult>;
}

export interface ProcessedMessageStore {
  /** May answer null from a presumption (see `confirmProcessed`) rather than a read. */
  getProcessed(messageId: string): Promise<ProcessedRecord | null>;
  /**
   * The record, read for certain, where `getProcessed` answered null from a presumption (a batch
   * session presumes messages past its partition's checkpoint new); absent: `getProcessed` is
   * always certain. Called before a plan's first write, so a message sent twice never changes
   * the graph twice, while a message that writes nothing costs no read.
   */
  confirmProcessed?(messageId: string): Promise<ProcessedRecord | null>;
  /** Upsert by `_id`. */
  putProcessed(record: ProcessedRecord): Promise<void>;
}

export interface AuditLog {
  /** Insert-if-absent by `id` (a re-derived record never overwrites the original). */
  appendAudit(records: readonly AuditRecord[]): Promise<void>;
}

export type IdentityGraphStore = IdentityGraphReader & IdentityGraphWriter;
export type IdentityStore = IdentityGraphStore & ProcessedMessageStore & AuditLog;
