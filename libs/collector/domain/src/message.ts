/**
 * Validation and normalisation of one Segment message
 * (https://segment.com/docs/connections/spec/common/).
 *
 * `validateMessage` checks a parsed message against the rules below and, when it passes,
 * returns the `NormalizedEvent` the collector produces to `events.raw`. It never mutates
 * its input and performs no I/O: ids come from the injected `idGenerator`, "now" from
 * `receivedAt`.
 *
 * Rules (each failure is an issue naming the field):
 * - the message is a JSON object of at most MAX_MESSAGE_BYTES (compact JSON, UTF-8), and the
 *   finished event (with the batch's `context`/`integrations` merged in, keys escaped,
 *   `context.ip`/`userAgent` filled and the collector's own fields) at most MAX_EVENT_BYTES;
 * - `type` comes from the route (`/v1/track` → `track`); a `type` in the body is ignored;
 * - `userId` or `anonymousId` is required (alias: `userId` and `previousId`); ids are
 *   strings, or numbers which are converted to strings as Segment does; `null`, `""` and
 *   whitespace-only strings count as absent; at most MAX_ID_LENGTH characters;
 * - every string and key is well-formed Unicode (no unpaired UTF-16 surrogate);
 * - track: `event` non-empty string, not `__proto__`/`constructor`/`prototype` (event names
 *   become object keys downstream); group: `groupId`; page/screen: optional `name`,
 *   `category` strings; fields that belong to other types (`event` on a page, …) are dropped;
 * - `properties`, `traits`, `context`, `integrations`: plain objects when present (`null`
 *   counts as absent), keys escaped (see sanitize.ts), at most MAX_OBJECT_DEPTH deep, no
 *   `__proto__`/`constructor`/`prototype` key and no array directly inside an array;
 * - `context.page`, `context.campaign`, `context.library`, `context.traits`: objects;
 *   `context.ip`, `context.userAgent`: strings; `context.externalIds`: array of at most
 *   MAX_EXTERNAL_IDS `{id, type, collection?, encoding?}` (`id` string or number);
 * - `timestamp`, `originalTimestamp`, `sentAt`: ISO-8601 strings when present, between
 *   1970 and 9999 (see time.ts), and so is the skew-corrected `timestamp`.
 *
 * Normalisation:
 * - `messageId` kept, or generated when absent;
 * - `context` = batch envelope context (if any) overlaid by the message's own (shallow,
 *   message wins); `context.ip` / `context.userAgent` filled from the request when absent;
 *   `context.library` kept as sent; same shallow merge for `integrations`;
 * - `timestamp` corrected for clock skew (see time.ts), `originalTimestamp` = the client's
 *   time, `sentAt` = the effective sentAt (the message's own wins over the envelope's: it is
 *   on the same clock as the message's timestamp, e.g. when a relay re-batches messages of
 *   several devices), `receivedAt` = server time. Every time is written in canonical form,
 *   ISO-8601 UTC with milliseconds (`toISOString`), whatever form was sent: the accepted
 *   forms (lowercase `t`/`z`, a space, offsets, no zone = UTC, any fraction) are not all
 *   ISO-8601 to the contract's validator, and `Date.parse` reads a time without zone as local;
 * - `_metadata`, `writeKey`, `channel`, `version` and any other top-level field are dropped.
 */
import { isPlaceholderIdentifier } from '@mosaic/contracts';
import { type ValidationIssue } from './errors';
import { MAX_EVENT_BYTES, MAX_MESSAGE_BYTES, jsonByteLength } from './limits';
import { fillFromRequest, validateContext } from './message-context';
import { type Issues, correctedTimeIssue, issue, readDate, readEvent, readId, readObject, readText } from './message-fields';
import { type JsonObject, cloneJson, isPlainObject } from './sanitize';
import { correctTimestamp, isEventTimeInRange, parseIsoDate } from './time';

export { dateIssue } from './message-fields';

export const MESSAGE_TYPES = Object.freeze(['track', 'page', 'screen', 'identify', 'group', 'alias'] as const);
export type MessageType = (typeof MESSAGE_TYPES)[number];

export function isMessageType(value: unknown): value is MessageType {
  return typeof value === 'string' && (MESSAGE_TYPES as readonly string[]).includes(value);
}

/** Why a message's own `type` cannot be used, or undefined when it names a message type. */
export function typeIssue(type: unknown): ValidationIssue | undefined {
  if (type === undefined || type === null) return { path: 'type', code: 'required', message: `type is required (one of ${MESSAGE_TYPES.join(', ')})` };
  if (!isMessageType(type)) return { path: 'type', code: 'invalid_value', message: `type must be one of ${MESSAGE_TYPES.join(', ')}` };
  return undefined;
}

/** An entry of `context.externalIds` after normalisation. */
export interface ExternalId {
  id: string;
  type: string;
  collection?: string;
  encoding?: string;
}

/** What the collector produces to `events.raw` for one accepted message. */
export interface NormalizedEvent {
  type: MessageType;
  messageId: string;
  anonymousId?: string;
  userId?: string;
  /** track only. */
  event?: string;
  /** page and screen only. */
  name?: string;
  /** page and screen only. */
  category?: string;
  properties: JsonObject;
  traits: JsonObject;
  /** Always has `ip`/`userAgent` when the request had them; `externalIds` normalised. */
  context: JsonObject;
  /** group only. */
  groupId?: string;
  /** alias only. */
  previousId?: string;
  integrations?: JsonObject;
  /** Corrected event time, ISO-8601 UTC with milliseconds. */
  timestamp: string;
  /** The client's own timestamp (its `originalTimestamp`, else its `timestamp`), ISO-8601 UTC with milliseconds. */
  originalTimestamp?: string;
  /** The client's send time (message's own, else the batch envelope's), ISO-8601 UTC with milliseconds. */
  sentAt?: string;
  /** Server receive time, ISO-8601 UTC. */
  receivedAt: string;
  /** The source the write key belongs to. */
  sourceId: string;
}

/** What the HTTP layer knows about the request. */
export interface RequestInfo {
  /** Client IP (after trusted-proxy handling). */
  ip?: string;
  /** The `User-Agent` header. */
  userAgent?: string;
}

/** Batch-envelope fields that apply to every message (already validated by processBatch). */
export interface BatchEnvelope {
  sentAt?: string;
  context?: JsonObject;
  integrations?: JsonObject;
}

export interface ValidateOptions {
  sourceId: string;
  /** When the request arrived (server clock). */
  receivedAt: Date;
  /** Makes a messageId when the client sent none, e.g. `() => crypto.randomUUID()`. */
  idGenerator: () => string;
  request?: RequestInfo;
  envelope?: BatchEnvelope;
}

export type ValidationResult =
  /** `bytes`: the size of the event's compact JSON (at most MAX_EVENT_BYTES). */
  | { ok: true; message: NormalizedEvent; bytes: number }
  /** `error` is the first of `errors`. */
  | { ok: false; error: ValidationIssue; errors: ValidationIssue[] };

function fail(errors: Issues): ValidationResult {
  return { ok: false, error: errors[0] as ValidationIssue, errors };
}

/** What the readers found in one message; usable once no issue was found. */
interface ReadMessage {
  anonymousId?: string;
  userId?: string;
  messageId?: string;
  previousId?: string;
  event?: string;
  name?: string;
  category?: string;
  groupId?: string;
  properties?: JsonObject;
  traits?: JsonObject;
  context: JsonObject;
  integrations?: JsonObject;
  /** The client's times, epoch ms. */
  timestamp?: number;
  originalTimestamp?: number;
  sentAt?: number;
}

/** A message that is not a JSON object, cannot be serialised or is too large. */
function shapeIssue(input: unknown): ValidationIssue | undefined {
  if (!isPlainObject(input)) return issue('', 'invalid_body', 'message must be a JSON object');
  let bytes: number;
  try {
    bytes = jsonByteLength(input);
  } catch {
    return issue('', 'invalid_body', 'message is not serialisable as JSON');
  }
  if (bytes > MAX_MESSAGE_BYTES) return issue('', 'message_too_large', `message is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes`);
  return undefined;
}

/** The user identifiers and messageId; alias needs userId and previousId, the others one of userId/anonymousId. */
function readIdentifiers(
  msg: Record<string, unknown>,
  type: MessageType,
  issues: Issues,
): Pick<ReadMessage, 'anonymousId' | 'userId' | 'messageId' | 'previousId'> {
  const anonymousId = readId(msg, 'anonymousId', issues);
  const before = issues.length;
  const userId = readId(msg, 'userId', issues);
  const userIdInvalid = issues.length > before;
  const messageId = readId(msg, 'messageId', issues);
  let previousId: string | undefined;
  if (type === 'alias') {
    if (!identifies(userId) && !userIdInvalid) issues.push(issue('userId', 'required', `userId is required for alias${placeholderNote(userId)}`));
    const n = issues.length;
    previousId = readId(msg, 'previousId', issues);
    if (previousId === undefined && issues.length === n) issues.push(issue('previousId', 'required', 'previousId is required for alias'));
  } else if (issues.length === 0 && !identifies(userId) && !identifies(anonymousId)) {
    issues.push(issue('userId', 'required', `userId or anonymousId is required${placeholderNote(userId, anonymousId)}`));
  }
  return { anonymousId, userId, messageId, previousId };
}

/** A present identifier that is not a placeholder such as "anonymous" or "0" (identity could not resolve by it). */
function identifies(id: string | undefined): boolean {
  return id !== undefined && !isPlaceholderIdentifier(id);
}

function placeholderNote(...ids: (string | undefined)[]): string {
  const placeholders = ids.filter((id): id is string => id !== undefined && isPlaceholderIdentifier(id));
  if (placeholders.length === 0) return '';
  return ` (${placeholders.map((id) => JSON.stringify(id)).join(' and ')} ${placeholders.length === 1 ? 'stands' : 'stand'} for no identifier)`;
}

/** The fields of the message's own type; those of other types are not read (so dropped). */
function readTypeFields(msg: Record<string, unknown>, type: MessageType, issues: Issues): Pick<ReadMessage, 'event' | 'name' | 'category' | 'groupId'> {
  switch (type) {
    case 'track':
      return { event: readEvent(msg, issues) };
    case 'page':
    case 'screen':
      return { name: readText(msg, 'name', issues), category: readText(msg, 'category', issues) };
    case 'group': {
      const n = issues.length;
      const groupId = readId(msg, 'groupId', issues);
      if (groupId === undefined && issues.length === n) issues.push(issue('groupId', 'required', 'groupId is required for group'));
      return { groupId };
    }
    default:
      return {};
  }
}

/** The free-form objects, `context` and `integrations` merged over the batch envelope's. */
function readObjects(
  msg: Record<string, unknown>,
  opts: ValidateOptions,
  issues: Issues,
): Pick<ReadMessage, 'properties' | 'traits' | 'context' | 'integrations'> {
  const properties = readObject(msg['properties'], 'properties', 'operators', issues);
  const traits = readObject(msg['traits'], 'traits', 'operators', issues);
  const ownContext = readObject(msg['context'], 'context', 'context', issues);
  const ownIntegrations = readObject(msg['integrations'], 'integrations', 'plain', issues);
  // The envelope's objects are shared by every item of a batch: copy them per event.
  const envelopeContext = opts.envelope?.context === undefined ? undefined : cloneJson(opts.envelope.context);
  const envelopeIntegrations = opts.envelope?.integrations === undefined ? undefined : cloneJson(opts.envelope.integrations);
  const context: JsonObject = { ...envelopeContext, ...ownContext };
  validateContext(context, issues);
  fillFromRequest(context, 'ip', opts.request?.ip);
  fillFromRequest(context, 'userAgent', opts.request?.userAgent);
  const integrations = ownIntegrations === undefined && envelopeIntegrations === undefined ? undefined : { ...envelopeIntegrations, ...ownIntegrations };
  return { properties, traits, context, integrations };
}

function readMessage(msg: Record<string, unknown>, type: MessageType, opts: ValidateOptions, issues: Issues): ReadMessage {
  return {
    ...readIdentifiers(msg, type, issues),
    ...readTypeFields(msg, type, issues),
    ...readObjects(msg, opts, issues),
    timestamp: readDate(msg, 'timestamp', issues),
    originalTimestamp: readDate(msg, 'originalTimestamp', issues),
    sentAt: readDate(msg, 'sentAt', issues),
  };
}

/** The valid message's event: skew-corrected time, generated messageId, only the fields present. */
function toEvent(read: ReadMessage, type: MessageType, opts: ValidateOptions): ValidationResult {
  const sentAt = read.sentAt ?? parseIsoDate(opts.envelope?.sentAt);
  const receivedAtMs = opts.receivedAt.getTime();
  const corrected = correctTimestamp({ timestamp: read.timestamp, originalTimestamp: read.originalTimestamp, sentAt, receivedAt: receivedAtMs });
  if (!isEventTimeInRange(corrected)) return fail([correctedTimeIssue(read.timestamp === undefined ? 'originalTimestamp' : 'timestamp')]);

  const out: NormalizedEvent = {
    type,
    messageId: read.messageId ?? opts.idGenerator(),
    properties: read.properties ?? {},
    traits: read.traits ?? {},
    context: read.context,
    timestamp: new Date(corrected).toISOString(),
    receivedAt: new Date(receivedAtMs).toISOString(),
    sourceId: opts.sourceId,
  };
  if (read.anonymousId !== undefined) out.anonymousId = read.anonymousId;
  if (read.userId !== undefined) out.userId = read.userId;
  if (read.event !== undefined) out.event = read.event;
  if (read.name !== undefined) out.name = read.name;
  if (read.category !== undefined) out.category = read.category;
  if (read.groupId !== undefined) out.groupId = read.groupId;
  if (read.previousId !== undefined) out.previousId = read.previousId;
  if (read.integrations !== undefined) out.integrations = read.integrations;
  const clientTimestamp = read.originalTimestamp ?? read.timestamp;
  if (clientTimestamp !== undefined) out.originalTimestamp = new Date(clientTimestamp).toISOString();
  if (sentAt !== undefined) out.sentAt = new Date(sentAt).toISOString();
  return finished(out);
}

/** The event, unless it outgrew MAX_EVENT_BYTES once the batch's objects and the collector's fields were added. */
function finished(event: NormalizedEvent): ValidationResult {
  const bytes = jsonByteLength(event);
  if (bytes <= MAX_EVENT_BYTES) return { ok: true, message: event, bytes };
  const message =
    `the event is ${bytes} bytes with the batch's context and integrations merged in, keys escaped, context.ip and userAgent filled ` +
    `and the collector's fields added; the limit is ${MAX_EVENT_BYTES} bytes (${MAX_MESSAGE_BYTES} a message, ${MAX_EVENT_BYTES - MAX_MESSAGE_BYTES} for what the collector adds)`;
  return fail([issue('', 'message_too_large', message)]);
}

/**
 * Validates one message for the endpoint of `type` (for a batch item: the item's own
 * `type`) and normalises it. See the file comment for the rules.
 */
export function validateMessage(input: unknown, type: MessageType, opts: ValidateOptions): ValidationResult {
  const shape = shapeIssue(input);
  if (shape) return fail([shape]);
  const issues: Issues = [];
  const read = readMessage(input as Record<string, unknown>, type, opts, issues);
  if (issues.length > 0) return fail(issues);
  return toEvent(read, type, opts);
}

/**
 * The Kafka record key for `events.raw`: `anonymousId`, else `userId` (an alias without
 * anonymousId is keyed by its userId), so one visitor's events stay in order on one
 * partition. Validated events always have one of the two; `messageId` is only a type-level
 * fallback.
 */
export function partitionKey(event: Pick<NormalizedEvent, 'anonymousId' | 'userId' | 'messageId'>): string {
  return event.anonymousId ?? event.userId ?? event.messageId;
}

/** The de-duplication key of an event: `sourceId:messageId`. */
export function dedupKey(event: Pick<NormalizedEvent, 'sourceId' | 'messageId'>): string {
  return `${event.sourceId}:${event.messageId}`;
}
