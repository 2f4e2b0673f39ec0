/**
 * Value classes of every topic (DESIGN §2/§3). Validated with class-validator by the one
 * codec in ./codec.ts. Later stages extend these classes here; services never redefine them.
 */
import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  Equals,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsHexadecimal,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

export const EVENT_TYPES = ['track', 'page', 'screen', 'identify', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

type JsonObject = Record<string, unknown>;

/** `mosaic.events.raw`: a Segment-spec event as accepted and normalised by the collector. */
export class RawEvent {
  @IsIn(EVENT_TYPES as unknown as string[]) type!: EventType;
  @IsString() @IsNotEmpty() @MaxLength(256) messageId!: string;
  /** Required unless userId is present. */
  @ValidateIf((o: RawEvent) => o.userId === undefined) @IsString() @IsNotEmpty() @MaxLength(256) anonymousId?: string;
  /** Required unless anonymousId is present. */
  @ValidateIf((o: RawEvent) => o.anonymousId === undefined) @IsString() @IsNotEmpty() @MaxLength(256) userId?: string;
  @ValidateIf((o: RawEvent) => o.type === 'track') @IsString() @IsNotEmpty() event?: string;
  @IsOptional() @IsString() name?: string;
  @IsOptional() @IsString() category?: string;
  @ValidateIf((o: RawEvent) => o.type === 'group') @IsString() @IsNotEmpty() groupId?: string;
  @ValidateIf((o: RawEvent) => o.type === 'alias') @IsString() @IsNotEmpty() previousId?: string;
  @IsObject() properties!: JsonObject;
  @IsObject() traits!: JsonObject;
  @IsObject() context!: JsonObject;
  @IsOptional() @IsObject() integrations?: JsonObject;
  /** Event time, corrected for client clock skew (`receivedAt - (sentAt - originalTimestamp)`). */
  @IsISO8601() timestamp!: string;
  /** The client's own timestamp (the instant it sent, in the collector's canonical ISO-8601 UTC form). */
  @IsOptional() @IsISO8601() originalTimestamp?: string;
  /** When the client sent it (its clock), in the same form. */
  @IsOptional() @IsISO8601() sentAt?: string;
  @IsISO8601() receivedAt!: string;
  /** The source (write key) the event arrived with. */
  @IsString() @IsNotEmpty() sourceId!: string;
}

/** An identifier of a person: anonymousId, userId, email, phone or a named external id. */
export class Identifier {
  @IsString() @IsNotEmpty() @MaxLength(64) type!: string;
  @IsString() @IsNotEmpty() @MaxLength(512) value!: string;
}

/** `mosaic.events.resolved` (kind `event`): an event with the profile it belongs to. */
export class ResolvedEvent {
  @Equals('event') kind!: 'event';
  @IsString() @IsNotEmpty() profileId!: string;
  @ValidateNested() @Type(() => RawEvent) event!: RawEvent;
  @IsArray() @ValidateNested({ each: true }) @Type(() => Identifier) identifiers!: Identifier[];
  /**
   * Set when identity created the profile for this event (a new visitor's first event): no stage
   * can hold anything of it yet, so a stage may create its state without reading it first. Only a
   * hint; a stage that finds the profile after all (a re-delivery) must handle that as usual.
   */
  @IsOptional() @IsBoolean() profileCreated?: boolean;
}

/** `mosaic.events.resolved` (kind `merge`): `loserId` was merged into `survivorId`. Precedes the event that caused it. */
export class MergeNotice {
  @Equals('merge') kind!: 'merge';
  @IsString() @IsNotEmpty() survivorId!: string;
  @IsString() @IsNotEmpty() loserId!: string;
  @IsString() @IsNotEmpty() reason!: string;
  @IsString() @IsNotEmpty() triggeringMessageId!: string;
  @IsArray() @ValidateNested({ each: true }) @Type(() => Identifier) movedIdentifiers!: Identifier[];
  @IsISO8601() at!: string;
}

/** `mosaic.events.resolved` (kind `split`): identifiers split off `fromProfileId` into `newProfileId`. */
export class SplitNotice {
  @Equals('split') kind!: 'split';
  @IsString() @IsNotEmpty() fromProfileId!: string;
  @IsString() @IsNotEmpty() newProfileId!: string;
  @IsArray() @ValidateNested({ each: true }) @Type(() => Identifier) identifiers!: Identifier[];
  @IsString() @IsNotEmpty() reason!: string;
  @IsISO8601() at!: string;
}

export type ResolvedMessage = ResolvedEvent | MergeNotice | SplitNotice;

/** The compact view of a profile that segmentation needs, carried on every change. */
export class CompactProfile {
  @IsArray() @ValidateNested({ each: true }) @Type(() => Identifier) identifiers!: Identifier[];
  @IsObject() traits!: JsonObject;
  @IsObject() computed!: JsonObject;
  @IsInt() @Min(0) membershipVersion!: number;
}

export class ChangeTrigger {
  @IsString() @IsNotEmpty() messageId!: string;
  @IsString() @IsNotEmpty() kind!: string;
  @IsOptional() @IsString() eventType?: string;
  @IsOptional() @IsString() event?: string;
  @IsOptional() @IsObject() properties?: JsonObject;
  @IsOptional() @IsISO8601() timestamp?: string;
}

/** `mosaic.profiles.changes`: what changed on a profile and its compact view after the change. */
export class ProfileChange {
  @IsString() @IsNotEmpty() profileId!: string;
  @IsInt() @Min(0) version!: number;
  @IsArray() @IsString({ each: true }) changed!: string[];
  @ValidateNested() @Type(() => CompactProfile) profile!: CompactProfile;
  @IsOptional() @ValidateNested() @Type(() => ChangeTrigger) trigger?: ChangeTrigger;
  @IsISO8601() at!: string;
  /** Set when this profile was merged into another (it is a redirect from now on; consumers move what they hold to that one). */
  @IsOptional() @IsString() @IsNotEmpty() mergedInto?: string;
}

export class MembershipReason {
  @IsIn(['message', 'timer', 'merge', 'definition']) kind!: 'message' | 'timer' | 'merge' | 'definition';
  @IsOptional() @IsString() messageId?: string;
  @IsOptional() @IsString() detail?: string;
}

/** What made segmentation evaluate a profile that entered a segment (segmentation's `EntryTrigger`). */
export class EntryTrigger {
  @IsIn(['event', 'profile', 'timer', 'backfill', 'merge', 'clustering']) kind!: 'event' | 'profile' | 'timer' | 'backfill' | 'merge' | 'clustering';
  @IsOptional() @IsString() event?: string;
  @IsOptional() @IsString() messageId?: string;
  @IsOptional() @IsString() at?: string;
  @IsOptional() @IsArray() @ArrayMaxSize(5) @IsString({ each: true }) changed?: string[];
  @IsOptional() @IsString() detail?: string;
}

/** Why a profile entered a segment: the trigger and the definition's conditions that held, in words (bounded). */
export class MembershipExplanation {
  @ValidateNested() @Type(() => EntryTrigger) trigger!: EntryTrigger;
  @IsArray() @ArrayMaxSize(4) @IsString({ each: true }) matched!: string[];
  @IsOptional() @IsInt() @Min(1) moreMatched?: number;
}

export class MainIdentifiers {
  @IsOptional() @IsString() userId?: string;
  @IsOptional() @IsString() email?: string;
}

/** `mosaic.segments.membership` (public contract): one message per entry or exit. */
export class SegmentMembershipChange {
  @IsString() @IsNotEmpty() profileId!: string;
  @IsString() @IsNotEmpty() segmentKey!: string;
  @IsInt() @Min(1) segmentVersion!: number;
  @IsIn(['entered', 'exited']) change!: 'entered' | 'exited';
  @IsISO8601() at!: string;
  @ValidateNested() @Type(() => MembershipReason) reason!: MembershipReason;
  /** Entries only, optional (added later; absent on older messages): why the profile entered. */
  @IsOptional() @ValidateNested() @Type(() => MembershipExplanation) explanation?: MembershipExplanation;
  @ValidateNested() @Type(() => MainIdentifiers) identifiers!: MainIdentifiers;
  /** Per-profile, monotonically increasing: consumers drop messages older than what they hold. */
  @IsInt() @Min(0) profileVersion!: number;
}

export class DeadLetterError {
  @IsString() name!: string;
  @IsString() message!: string;
  @IsOptional() @IsString() stack?: string;
}

/** `mosaic.dlq.<service>`: a message a stage could not process after bounded retries. */
export class DeadLetter {
  @IsString() @IsNotEmpty() service!: string;
  @IsString() @IsNotEmpty() sourceTopic!: string;
  @IsInt() @Min(0) partition!: number;
  @IsString() @IsNotEmpty() offset!: string;
  @IsOptional() @IsString() key?: string;
  /** The original value, base64-encoded (it may not be valid UTF-8 or JSON). */
  @IsString() valueBase64!: string;
  @IsObject() headers!: Record<string, string>;
  @ValidateNested() @Type(() => DeadLetterError) error!: DeadLetterError;
  @IsInt() @Min(1) attempts!: number;
  @IsISO8601() failedAt!: string;
}

/**
 * The header of activation's dead letter of a delivery that died: the delivery's id. Such a letter
 * is not a message a stage failed to read (its value is the membership change without its
 * envelope); it is sent again by `POST /v1/deliveries/{id}/replay` of activation.
 */
export const DEAD_DELIVERY_ID_HEADER = 'deliveryId';

/** One reason a record of `events.ingest` was refused (the field-naming issues of the HTTP API). */
export class BadEventReason {
  /** JSON path in the message (`''` = the message itself), or `header.writeKey`. */
  @IsString() path!: string;
  @IsString() @IsNotEmpty() code!: string;
  @IsString() @IsNotEmpty() message!: string;
  /** Position in `batch`, for an item of a batch body. */
  @IsOptional() @IsInt() @Min(0) index?: number;
}

/** `mosaic.events.bad` (public): a record of `events.ingest`, or items of it, that the collector refused. */
export class BadEvent {
  @IsString() @IsNotEmpty() sourceTopic!: string;
  @IsInt() @Min(0) partition!: number;
  @IsString() @IsNotEmpty() offset!: string;
  @IsOptional() @IsString() key?: string;
  /** The original record value, base64-encoded (it may not be valid UTF-8 or JSON); only its first 384 KB when it was larger. */
  @IsString() valueBase64!: string;
  /** Added later (optional): the original value's size in bytes, present when `valueBase64` holds only its first part. */
  @IsOptional() @IsInt() @Min(1) valueTruncatedFrom?: number;
  /** The source the record's write key belongs to; absent when the key is missing, unknown or revoked. */
  @IsOptional() @IsString() @IsNotEmpty() sourceId?: string;
  /** The first reasons (those of the first refused items, at most 256 KB of them); `reasonCount` counts them all when some are left out. */
  @IsArray() @ArrayMaxSize(10_000) @ValidateNested({ each: true }) @Type(() => BadEventReason) reasons!: BadEventReason[];
  /** Added later (optional): how many reasons there were in all, present when `reasons` lists only the first of them. */
  @IsOptional() @IsInt() @Min(1) reasonCount?: number;
  /** Items of a batch body accepted all the same (the refused ones are those named in `reasons`). */
  @IsInt() @Min(0) accepted!: number;
  @IsISO8601() refusedAt!: string;
}

/**
 * `mosaic.sources` (internal, compacted, key = source id): the whole current state of a
 * collector source after every change, so every instance that serves a public endpoint
 * checks keys locally and learns a revocation within seconds. Secrets appear only as
 * digests, except the identity-verification secret (an HMAC key must be held to verify).
 */
export class SourceState {
  @IsString() @IsNotEmpty() @MaxLength(256) id!: string;
  @IsString() @MaxLength(200) name!: string;
  /** {@link keyDigest} of the write key. */
  @IsHexadecimal() @Length(64, 64) writeKeyHash!: string;
  /** {@link keyDigest} of the server key; absent before one is issued. */
  @IsOptional() @IsHexadecimal() @Length(64, 64) serverKeyHash?: string;
  /** The HMAC-SHA256 key of identity verification (`userHash`); absent before one is issued. */
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256) identitySecret?: string;
  /** Exact browser origins (`https://shop.example.com`) allowed to call public endpoints with this source's key. */
  @IsArray() @ArrayMaxSize(100) @Matches(/^https?:\/\/[^/?#\s]+$/, { each: true }) allowedOrigins!: string[];
  @ValidateIf((_o, v) => v !== null) @IsISO8601() revokedAt!: string | null;
  /** When the source last changed: of two states of one source, the later wins. */
  @IsISO8601() updatedAt!: string;
}

/**
 * `mosaic.identity.profile-writes` (internal to identity): the identity profiles one batch or split of
 * an instance changed. Every identity instance drops them from its profile cache (batch-resolver.ts).
 */
export class ProfileWrites {
  @IsString() @IsNotEmpty() @MaxLength(256) instanceId!: string;
  @IsArray() @ArrayMaxSize(100_000) @IsString({ each: true }) @IsNotEmpty({ each: true }) profileIds!: string[];
}
