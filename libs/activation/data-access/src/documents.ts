/**
 * Activation's collections: destinations and triggers (configuration), deliveries (one per
 * trigger firing: the unit of idempotence, retries and the delivery log) and the profiles it
 * knows (compact profile from `profiles.changes`, segments from `segments.membership`).
 */
import { randomBytes } from 'node:crypto';
import { Schema, type Connection } from 'mongoose';
import { casTicketSchema, ensureSchemaIndexes } from '@mosaic/shared-mongo';

export const ACTIVATION_COLLECTIONS = Object.freeze({
  destinations: 'activation_destinations',
  triggers: 'activation_triggers',
  deliveries: 'activation_deliveries',
  profiles: 'activation_profiles',
  memberships: 'activation_memberships',
  experiences: 'activation_experiences',
  /** Compare-and-set tickets of deliveries (`VersionedWriter`, on a FerretDB without the store's guard), and the claims of deliveries stored before versions. */
  tickets: 'activation_cas_tickets',
});

export interface ExperienceDocument {
  _id: string;
  slot: string;
  enabled: boolean;
  /** The validated experience (JSON text). */
  json: string;
  createdAt: Date;
  updatedAt: Date;
}

export const ExperienceSchema = new Schema(
  {
    _id: { type: String, required: true },
    slot: { type: String, required: true },
    enabled: { type: Boolean, required: true },
    json: { type: String, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'activation_experiences', versionKey: false },
);

export interface DestinationDocument {
  /** `dst_…` */
  _id: string;
  kind: 'webhook' | 'email' | 'kafka';
  name: string;
  enabled: boolean;
  /** The validated configuration (JSON text: it holds secrets and is read whole). */
  config: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface TriggerDocument {
  /** `trg_…` */
  _id: string;
  segmentKey: string;
  on: 'entered' | 'exited';
  destinationId: string;
  delaySeconds: number;
  /** JSON text of `{max, perSeconds}`, or null. */
  frequencyCap: string | null;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'skipped';

export interface DeliveryAttempt {
  at: Date;
  outcome: 'delivered' | 'retry' | 'fail';
  /** HTTP status, or `timeout` / `network` / `error`. */
  status: string;
  ms: number;
  error?: string;
}

export interface DeliveryDocument {
  /** Deterministic from (trigger, profile, membership version): a replayed change inserts nothing. */
  _id: string;
  /** The partition of `segments.membership` the change came from: its owner dispatches it. */
  partition: number;
  /** Where the change was read (dead letters name it). */
  offset: string;
  destinationId: string;
  triggerId: string;
  profileId: string;
  segmentKey: string;
  change: 'entered' | 'exited';
  /** The membership change (JSON text). */
  membership: string;
  status: DeliveryStatus;
  /** Why it was skipped (frequency cap, membership changed before a delayed send). */
  skipReason?: string;
  attempts: number;
  dueAt: Date;
  /** When the next attempt may run; null once delivered, dead or skipped. */
  nextAttemptAt: Date | null;
  log: DeliveryAttempt[];
  createdAt: Date;
  updatedAt: Date;
  deliveredAt?: Date;
  /** W3C `traceparent` of the span that consumed the change: each attempt's span continues that trace. */
  traceparent?: string;
  /** When a finished delivery (delivered, dead or skipped) is deleted: the delivery retention after it finished. Absent while pending. */
  expiresAt?: Date;
  /** The hour the retention sweep deletes it in (`expiryHourOf`), with `expiresAt`. */
  expiryHour?: number;
  /**
   * Every change after the insert moves it on by one (a compare-and-set through `VersionedWriter`,
   * exact on FerretDB too): a write based on an older read changes nothing. Absent in deliveries
   * stored before versions (their first claim sets it, through a ticket).
   */
  version?: number;
  /** What the store's compare-and-set guard reads (`VersionedWriter`, guarded mode). */
  writeId?: string;
  /** The instance sending it now; with `leaseUntil`, while an attempt is under way. */
  leaseOwner?: string;
  /** When the attempt's lease ends (`nextAttemptAt` is the same: a crashed owner's delivery is due again then). */
  leaseUntil?: Date;
  /** Dead, and its dead letter is still to be produced (Kafka was unavailable): a later flush produces it. */
  deadLetterDue?: boolean;
}

/**
 * What `profiles.changes` says of a profile. Its segments are in {@link ActivationMembershipDocument}:
 * each document has one writer (that topic's consumer, or the other's). FerretDB rewrites the
 * whole document on every update, so two consumers updating different fields of one document
 * at once lost one of the two updates (measured: 49 of 50 pairs of concurrent `$set`s).
 */
export interface ActivationProfileDocument {
  _id: string;
  /** Compact profile (JSON text) from the latest `profiles.changes`. */
  profile: string | null;
  profileVersion: number;
  /** Only in documents written before `activation_memberships` existed: read when a profile has no membership document yet. */
  segments?: string[];
  /** Likewise (legacy). */
  membershipVersion?: number;
  /** `<type>:<value>` of the profile's identifiers (the decision API finds visitors by them). */
  idKeys?: string[];
  /** Set when the profile was merged into another. */
  mergedInto?: string;
  updatedAt: Date;
}

export const DestinationSchema = new Schema(
  {
    _id: { type: String, required: true },
    kind: { type: String, enum: ['webhook', 'email', 'kafka'], required: true },
    name: { type: String, required: true },
    enabled: { type: Boolean, required: true },
    config: { type: String, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: ACTIVATION_COLLECTIONS.destinations, versionKey: false },
);

export const TriggerSchema = new Schema(
  {
    _id: { type: String, required: true },
    segmentKey: { type: String, required: true },
    on: { type: String, enum: ['entered', 'exited'], required: true },
    destinationId: { type: String, required: true },
    delaySeconds: { type: Number, required: true },
    frequencyCap: { type: String, default: null },
    enabled: { type: Boolean, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: ACTIVATION_COLLECTIONS.triggers, versionKey: false },
);
TriggerSchema.index({ segmentKey: 1 });

export const DeliverySchema = new Schema(
  {
    _id: { type: String, required: true },
    partition: { type: Number, required: true },
    offset: { type: String, required: true },
    destinationId: { type: String, required: true },
    triggerId: { type: String, required: true },
    profileId: { type: String, required: true },
    segmentKey: { type: String, required: true },
    change: { type: String, required: true },
    membership: { type: String, required: true },
    status: { type: String, enum: ['pending', 'delivered', 'dead', 'skipped'], required: true },
    skipReason: { type: String },
    attempts: { type: Number, required: true },
    dueAt: { type: Date, required: true },
    nextAttemptAt: { type: Date, default: null },
    log: { type: [Object], default: [] },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    deliveredAt: { type: Date },
    expiresAt: { type: Date },
    expiryHour: { type: Number },
    version: { type: Number },
    writeId: { type: String },
    leaseOwner: { type: String },
    leaseUntil: { type: Date },
    deadLetterDue: { type: Boolean },
  },
  { collection: ACTIVATION_COLLECTIONS.deliveries, versionKey: false },
);
DeliverySchema.index({ partition: 1, nextAttemptAt: 1 });
DeliverySchema.index({ triggerId: 1, profileId: 1, createdAt: -1 });
DeliverySchema.index({ destinationId: 1, createdAt: -1 });
DeliverySchema.index({ status: 1, destinationId: 1 });
// `expiresAt`: a TTL index on MongoDB (`DeliveriesRepository.ensureTtlIndex`); FerretDB refuses
// TTL indexes, and the retention sweep deletes by `expiryHour` there (ExpirySweeper).
DeliverySchema.index({ expiryHour: 1 });
// The dead letters still to be produced (an equality FerretDB pushes down; nearly always none).
DeliverySchema.index({ deadLetterDue: 1 });

/** The segments a profile is in, from `segments.membership` (its only writer). */
export interface ActivationMembershipDocument {
  /** The profile id. */
  _id: string;
  segments: string[];
  /** The latest membership `profileVersion` applied. */
  membershipVersion: number;
  updatedAt: Date;
}

export const ActivationMembershipSchema = new Schema(
  {
    _id: { type: String, required: true },
    segments: { type: [String], default: [] },
    membershipVersion: { type: Number, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: ACTIVATION_COLLECTIONS.memberships, versionKey: false },
);

export const ActivationProfileSchema = new Schema(
  {
    _id: { type: String, required: true },
    profile: { type: String, default: null },
    profileVersion: { type: Number, required: true },
    segments: { type: [String], default: undefined },
    membershipVersion: { type: Number },
    idKeys: { type: [String], default: undefined },
    mergedInto: { type: String },
    updatedAt: { type: Date, required: true },
  },
  { collection: ACTIVATION_COLLECTIONS.profiles, versionKey: false },
);
ActivationProfileSchema.index({ idKeys: 1 });

export const ACTIVATION_SCHEMAS: readonly (readonly [string, Schema])[] = [
  ['ActivationDestination', DestinationSchema],
  ['ActivationTrigger', TriggerSchema],
  ['ActivationDelivery', DeliverySchema],
  ['ActivationProfile', ActivationProfileSchema],
  ['ActivationMembership', ActivationMembershipSchema],
  ['ActivationExperience', ExperienceSchema],
  ['ActivationCasTicket', casTicketSchema(ACTIVATION_COLLECTIONS.tickets)],
];

/** Creates the indexes of activation's collections (start-up). */
export async function ensureActivationIndexes(conn: Connection): Promise<void> {
  await ensureSchemaIndexes(conn, ACTIVATION_SCHEMAS);
}

/** A new document id: `<prefix>_` and 12 random bytes. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}
