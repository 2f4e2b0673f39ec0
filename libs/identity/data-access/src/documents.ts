/**
 * How the identity graph is stored in MongoDB: the collections, their mongoose schemas (the
 * documented model and the indexes), and the mapping between the domain's records
 * (`@mosaic/identity-domain` model.ts) and the stored documents.
 *
 * The stored documents are the domain records as they are, with two exceptions:
 * - `expiresAt` (merged profiles, processed-message records) is a BSON date, not the domain's
 *   ISO string, so that the expiry sweep deletes by an indexed date (and an operator on real
 *   MongoDB could add a TTL index on it; FerretDB 1.24 refuses TTL indexes, so Mosaic does not);
 * - an audit record's `id` is the document's `_id`, and `subjects` lists every profile the record
 *   is about (survivor and loser, source and destination, split source and new profile), so a
 *   profile's audit is one indexed query.
 * Other timestamps stay ISO-8601 strings (they sort correctly as strings).
 */
import { Schema } from 'mongoose';
import { casTicketSchema, expiryHourOf } from '@mosaic/shared-mongo';
import type { AuditKind, AuditRecord, IdentifierRecord, MergeNoticePayload, ProcessedRecord, ProfileRecord } from '@mosaic/identity-domain';

export const IDENTITY_COLLECTIONS = Object.freeze({
  identifiers: 'identity_identifiers',
  profiles: 'identity_profiles',
  processed: 'identity_processed',
  audit: 'identity_audit',
  rules: 'identity_rules',
  tickets: 'identity_cas_tickets',
  partitions: 'identity_partitions',
});

/** `identity_identifiers`: one per identifier, `_id = "<type>:<value>"`. */
export type IdentifierDocument = IdentifierRecord;

/** `identity_profiles`: a profile, `expiresAt` as a date. */
export type ProfileDocument = Omit<ProfileRecord, 'expiresAt'> & { expiresAt?: Date; expiryHour?: number };

/** `identity_processed`: what a message resolved to (re-delivery replays it). */
export type ProcessedDocument = Omit<ProcessedRecord, 'expiresAt'> & { expiresAt: Date; expiryHour?: number };

/**
 * `identity_partitions`: per partition of `events.raw` (`_id = "<topic>:<partition>"`), the highest offset
 * whose batch stored its processed records. Only messages at or below it can have one, so a
 * batch reads processed records only for those (a re-delivery), not one per message.
 */
export interface PartitionDocument {
  _id: string;
  processedUpTo: number;
}

/** `identity_audit`: a merge, refusal, move, creation or split. */
export interface AuditDocument {
  _id: string;
  kind: AuditKind;
  at: string;
  triggeringMessageId: string;
  rule: string;
  profileId: string;
  /** Every profile id the record is about (indexed with `at`). */
  subjects: string[];
  details: Record<string, unknown>;
}

/** `identity_rules`: the rules document as given to `PUT /v1/rules` (JSON text: external id type names may contain dots, which are awkward as field names). */
export interface RulesDocument {
  _id: string;
  /** The validated input, as JSON (defaults are filled from the code at load time). */
  json: string;
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

// ---------------------------------------------------------------------------------------
// mongoose schemas: the documented model and its indexes (no TTL index: FerretDB refuses them).

const IdentifierSchemaPart = new Schema({ type: { type: String, required: true }, value: { type: String, required: true } }, { _id: false });
const PendingClaimSchema = new Schema(
  {
    kind: { type: String, enum: ['acquire', 'release'], required: true },
    type: { type: String, required: true },
    value: { type: String, required: true },
    messageId: { type: String, required: true },
    at: { type: String, required: true },
    peer: { type: String },
  },
  { _id: false },
);
const MergeEntrySchema = new Schema(
  { profileId: { type: String, required: true }, messageId: { type: String, required: true }, at: { type: String, required: true } },
  { _id: false },
);

export const IdentifierSchema = new Schema(
  {
    _id: { type: String, required: true },
    type: { type: String, required: true },
    value: { type: String, required: true },
    profileId: { type: String, required: true },
    version: { type: Number, required: true },
    createdAt: { type: String, required: true },
    updatedAt: { type: String, required: true },
    updatedBy: { type: String, required: true },
    movedFrom: { type: String },
    movedBy: { type: String },
  },
  { collection: IDENTITY_COLLECTIONS.identifiers, versionKey: false },
);
// The admin API lists a profile's identifiers by pointer; the unique `_id` is the identifier.
IdentifierSchema.index({ profileId: 1 });

export const ProfileSchema = new Schema(
  {
    _id: { type: String, required: true },
    status: { type: String, enum: ['active', 'merged'], required: true },
    version: { type: Number, required: true },
    identifiers: { type: [IdentifierSchemaPart], default: [] },
    pending: { type: [PendingClaimSchema], default: [] },
    merging: { type: [MergeEntrySchema], default: [] },
    mergedFrom: { type: [MergeEntrySchema], default: [] },
    known: { type: Boolean, required: true },
    createdAt: { type: String, required: true },
    createdBy: { type: String, required: true },
    updatedAt: { type: String, required: true },
    updatedBy: { type: String, required: true },
    mergedInto: { type: String },
    mergedAt: { type: String },
    mergedBy: { type: String },
    expiresAt: { type: Date },
    expiryHour: { type: Number },
    splitFrom: { type: new Schema({ profileId: String, operationId: String, at: String }, { _id: false }) },
  },
  { collection: IDENTITY_COLLECTIONS.profiles, versionKey: false },
);
// The expiry sweep: deleteMany({status: 'merged', expiryHour: h}) per ended hour (ExpirySweeper).
ProfileSchema.index({ expiryHour: 1 });

export const ProcessedSchema = new Schema(
  {
    _id: { type: String, required: true },
    status: { type: String, enum: ['resolved', 'unresolvable'], required: true },
    profileId: { type: String },
    profileCreated: { type: Boolean },
    identifiers: { type: [IdentifierSchemaPart], default: [] },
    notices: { type: [Schema.Types.Mixed], default: [] },
    auditIds: { type: [String], default: [] },
    at: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    expiryHour: { type: Number },
  },
  { collection: IDENTITY_COLLECTIONS.processed, versionKey: false },
);
ProcessedSchema.index({ expiryHour: 1 });

export const AuditSchema = new Schema(
  {
    _id: { type: String, required: true },
    kind: { type: String, required: true },
    at: { type: String, required: true },
    triggeringMessageId: { type: String, required: true },
    rule: { type: String, required: true },
    profileId: { type: String, required: true },
    subjects: { type: [String], default: [] },
    details: { type: Schema.Types.Mixed, default: {} },
  },
  { collection: IDENTITY_COLLECTIONS.audit, versionKey: false, minimize: false },
);
AuditSchema.index({ profileId: 1, at: 1 });
AuditSchema.index({ subjects: 1, at: 1 });

export const RulesSchema = new Schema(
  {
    _id: { type: String, required: true },
    json: { type: String, required: true },
    version: { type: Number, required: true },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: String, required: true },
  },
  { collection: IDENTITY_COLLECTIONS.rules, versionKey: false },
);

/** `identity_cas_tickets`: see `VersionedWriter` of @mosaic/shared-mongo. */
export const CasTicketSchema = casTicketSchema(IDENTITY_COLLECTIONS.tickets);

/** The mongoose model names and schemas of the identity collections (declared for the indexes; reads and writes use the native driver). */
export const IDENTITY_SCHEMAS: readonly (readonly [string, Schema])[] = Object.freeze([
  ['IdentityIdentifier', IdentifierSchema],
  ['IdentityProfile', ProfileSchema],
  ['IdentityProcessed', ProcessedSchema],
  ['IdentityAudit', AuditSchema],
  ['IdentityRules', RulesSchema],
  ['IdentityCasTicket', CasTicketSchema],
] as const);

// ---------------------------------------------------------------------------------------
// Mapping. Optional fields are left out rather than stored as null (the domain tests
// `=== undefined`), and nulls read back are dropped.

const PROFILE_OPTIONAL = ['mergedInto', 'mergedAt', 'mergedBy', 'expiresAt', 'splitFrom'] as const;

export function profileToDocument(profile: ProfileRecord): ProfileDocument {
  const { expiresAt, ...rest } = profile;
  const doc = withoutUndefined(rest) as ProfileDocument;
  if (expiresAt !== undefined) {
    doc.expiresAt = new Date(expiresAt);
    doc.expiryHour = expiryHourOf(doc.expiresAt);
  }
  return doc;
}

export function documentToProfile(doc: ProfileDocument): ProfileRecord {
  // writeId, casFrom: what the store's compare-and-set guard reads (VersionedWriter); not part of the record.
  const { expiresAt, expiryHour: _hour, writeId: _writeId, casFrom: _casFrom, ...rest } = doc as ProfileDocument & Record<string, unknown>;
  const profile = rest as unknown as ProfileRecord & Record<string, unknown>;
  for (const key of PROFILE_OPTIONAL) if (profile[key] === null) delete profile[key];
  if (expiresAt instanceof Date) profile.expiresAt = expiresAt.toISOString();
  else if (typeof expiresAt === 'string') profile.expiresAt = expiresAt;
  profile.identifiers ??= [];
  profile.pending ??= [];
  profile.merging ??= [];
  profile.mergedFrom ??= [];
  for (const claim of profile.pending) if ((claim as { peer?: unknown }).peer === null) delete (claim as { peer?: unknown }).peer;
  return profile;
}

export function identifierToDocument(record: IdentifierRecord): IdentifierDocument {
  return withoutUndefined(record) as IdentifierDocument;
}

export function documentToIdentifier(doc: IdentifierDocument): IdentifierRecord {
  const { writeId: _writeId, casFrom: _casFrom, ...rest } = doc as IdentifierDocument & Record<string, unknown>;
  const record = rest as unknown as IdentifierRecord & Record<string, unknown>;
  if (record['movedFrom'] === null) delete record['movedFrom'];
  if (record['movedBy'] === null) delete record['movedBy'];
  return record;
}

export function processedToDocument(record: ProcessedRecord): ProcessedDocument {
  const expiresAt = new Date(record.expiresAt);
  return { ...(withoutUndefined(record) as Omit<ProcessedRecord, 'expiresAt'>), expiresAt, expiryHour: expiryHourOf(expiresAt) };
}

export function documentToProcessed(doc: ProcessedDocument): ProcessedRecord {
  const { expiresAt, expiryHour: _hour, ...rest } = doc;
  const record = rest as ProcessedRecord & Record<string, unknown>;
  if (record['profileId'] === null) delete record['profileId'];
  record.notices = (record.notices ?? []) as MergeNoticePayload[];
  record.identifiers ??= [];
  record.auditIds ??= [];
  record.expiresAt = expiresAt instanceof Date ? expiresAt.toISOString() : String(expiresAt);
  return record;
}

const SUBJECT_FIELDS = ['survivorId', 'loserId', 'fromProfileId', 'toProfileId', 'newProfileId', 'ownerProfileId', 'splitFrom'] as const;

export function auditToDocument(record: AuditRecord): AuditDocument {
  const subjects = new Set<string>([record.profileId]);
  for (const field of SUBJECT_FIELDS) {
    const value = record.details[field];
    if (typeof value === 'string' && value !== '') subjects.add(value);
  }
  return {
    _id: record.id,
    kind: record.kind,
    at: record.at,
    triggeringMessageId: record.triggeringMessageId,
    rule: record.rule,
    profileId: record.profileId,
    subjects: [...subjects],
    details: withoutUndefined(record.details),
  };
}

export function documentToAudit(doc: AuditDocument): AuditRecord & { subjects: string[] } {
  return {
    id: doc._id,
    kind: doc.kind,
    at: doc.at,
    triggeringMessageId: doc.triggeringMessageId,
    rule: doc.rule,
    profileId: doc.profileId,
    subjects: doc.subjects ?? [],
    details: doc.details ?? {},
  };
}

/** A shallow-to-deep copy without `undefined` values (the driver would store them as null). */
function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => withoutUndefined(v)) as unknown as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) out[k] = withoutUndefined(v);
    return out as T;
  }
  return value;
}
