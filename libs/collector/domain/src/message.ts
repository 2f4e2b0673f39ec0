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
 * - the message is a JSON object of at most MAX_MESSAGE_BYTES (compact JSON, UTF-8);
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
 *   value as sent, `sentAt` = the effective sentAt as sent (the message's own wins over the
 *   envelope's: it is on the same clock as the message's timestamp, e.g. when a relay
 *   re-batches messages of several devices), `receivedAt` = server time;
 * - `_metadata`, `writeKey`, `channel`, `version` and any other top-level field are dropped.
 */
import { type CollectorErrorCode, CollectorInputError, type ValidationIssue, joinPath } from './errors';
import { MAX_EXTERNAL_IDS, MAX_ID_LENGTH, MAX_MESSAGE_BYTES, MAX_NAME_LENGTH, jsonByteLength } from './limits';
import {
  FORBIDDEN_KEYS,
  type JsonObject,
  type JsonValue,
  type SanitizeMode,
  cloneJson,
  forbiddenKeyError,
  isPlainObject,
  unstorableStringError,
  sanitizeObject,
} from './sanitize';
import { correctTimestamp, isEventTimeInRange, parseIsoDate } from './time';

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
  /** The client's own timestamp, as sent. */
  originalTimestamp?: string;
  /** The client's send time, as sent (message's own, else the batch envelope's). */
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
  | { ok: true; message: NormalizedEvent }
  /** `error` is the first of `errors`. */
  | { ok: false; error: ValidationIssue; errors: ValidationIssue[] };

type Issues = ValidationIssue[];

function issue(path: string, code: CollectorErrorCode, message: string): ValidationIssue {
  return { path, code, message };
}

function fail(errors: Issues): ValidationResult {
  return { ok: false, error: errors[0] as ValidationIssue, errors };
}

/** Absent = undefined, null, or a string that is empty or only whitespace. */
function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/** An identifier: string, or finite number converted to a string. */
function readId(message: Record<string, unknown>, field: string, issues: Issues, path = field): string | undefined {
  const value = message[field];
  if (isAbsent(value)) return undefined;
  let id: string;
  if (typeof value === 'string') id = value;
  else if (typeof value === 'number' && Number.isFinite(value)) id = String(value);
  else {
    issues.push(issue(path, 'invalid_type', `${path} must be a string`));
    return undefined;
  }
  if (id.length > MAX_ID_LENGTH) {
    issues.push(issue(path, 'too_long', `${path} must be at most ${MAX_ID_LENGTH} characters`));
    return undefined;
  }
  return wellFormed(id, path, issues);
}

/** An optional free-text field (`name`, `category`). */
function readText(message: Record<string, unknown>, field: string, issues: Issues): string | undefined {
  const value = message[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    issues.push(issue(field, 'invalid_type', `${field} must be a string`));
    return undefined;
  }
  if (value.length > MAX_NAME_LENGTH) {
    issues.push(issue(field, 'too_long', `${field} must be at most ${MAX_NAME_LENGTH} characters`));
    return undefined;
  }
  return wellFormed(value, field, issues);
}

/** `text`, or undefined with an issue when a store cannot hold it (an unpaired surrogate, a NUL). */
function wellFormed(text: string, path: string, issues: Issues): string | undefined {
  const unstorable = unstorableStringError(text, path);
  if (!unstorable) return text;
  issues.push(unstorable.toIssue());
  return undefined;
}

/** The `event` of a track. */
function readEvent(message: Record<string, unknown>, issues: Issues): string | undefined {
  const value = message['event'];
  if (typeof value !== 'string' || value.trim() === '') {
    const code: CollectorErrorCode = value === undefined || value === null ? 'required' : typeof value === 'string' ? 'invalid_value' : 'invalid_type';
    issues.push(issue('event', code, 'event must be a non-empty string'));
  } else if (value.length > MAX_NAME_LENGTH) {
    issues.push(issue('event', 'too_long', `event must be at most ${MAX_NAME_LENGTH} characters`));
  } else if (FORBIDDEN_KEYS.includes(value)) {
    issues.push(forbiddenKeyError(value, 'event').toIssue());
  } else return wellFormed(value, 'event', issues);
  return undefined;
}

function readObject(value: unknown, path: string, mode: SanitizeMode, issues: Issues): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  try {
    return sanitizeObject(value, { path, mode });
  } catch (err) {
    if (err instanceof CollectorInputError) {
      issues.push(err.toIssue());
      return undefined;
    }
    throw err;
  }
}

interface ReadDate {
  raw?: string;
  ms?: number;
}

/** Why the (present) `value` of the date `field` is refused, or undefined when it is fine. */
export function dateIssue(value: unknown, field: string): ValidationIssue | undefined {
  const ms = parseIsoDate(value);
  if (ms === undefined) return issue(field, 'invalid_date', `${field} must be an ISO-8601 date`);
  if (!isEventTimeInRange(ms)) return issue(field, 'invalid_date', `${field} must be between 1970-01-01 and 9999-12-31 (UTC)`);
  return undefined;
}

function readDate(message: Record<string, unknown>, field: string, issues: Issues): ReadDate {
  const value = message[field];
  if (value === undefined || value === null) return {};
  const problem = dateIssue(value, field);
  if (problem) {
    issues.push(problem);
    return {};
  }
  return { raw: value as string, ms: parseIsoDate(value) };
}

/** The skew-corrected time lands before 1970 when sentAt and the client time are decades apart. */
function correctedTimeIssue(field: 'timestamp' | 'originalTimestamp'): ValidationIssue {
  const message = `${field} corrected for clock skew (receivedAt − (sentAt − ${field})) falls before 1970: sentAt and ${field} are too far apart`;
  return issue(field, 'invalid_date', message);
}

function validateContext(context: JsonObject, issues: Issues): void {
  for (const key of ['page', 'campaign', 'library', 'traits']) {
    const value = context[key];
    if (value !== undefined && value !== null && !isPlainObject(value)) {
      issues.push(issue(`context.${key}`, 'invalid_type', `context.${key} must be an object`));
    }
  }
  for (const key of ['ip', 'userAgent']) {
    const value = context[key];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      issues.push(issue(`context.${key}`, 'invalid_type', `context.${key} must be a string`));
    }
  }
  const externalIds = context['externalIds'];
  if (externalIds === undefined || externalIds === null) return;
  const base = 'context.externalIds';
  if (!Array.isArray(externalIds)) {
    issues.push(issue(base, 'invalid_type', `${base} must be an array`));
    return;
  }
  if (externalIds.length > MAX_EXTERNAL_IDS) {
    issues.push(issue(base, 'too_many', `${base} must have at most ${MAX_EXTERNAL_IDS} entries`));
    return;
  }
  const normalized: JsonValue[] = [];
  externalIds.forEach((entry, i) => {
    const path = joinPath(base, i);
    if (!isPlainObject(entry)) {
      issues.push(issue(path, 'invalid_type', `${path} must be an object`));
      return;
    }
    const before = issues.length;
    const id = readId(entry, 'id', issues, `${path}.id`);
    if (id === undefined && issues.length === before) {
      issues.push(issue(`${path}.id`, 'required', `${path}.id is required`));
    }
    const out: JsonObject = { ...(entry as JsonObject) };
    if (id !== undefined) out['id'] = id;
    for (const field of ['type', 'collection', 'encoding']) {
      const value = entry[field];
      const fieldPath = `${path}.${field}`;
      if (value === undefined || value === null) {
        if (field === 'type') issues.push(issue(fieldPath, 'required', `${fieldPath} is required`));
        continue;
      }
      if (typeof value !== 'string' || (field === 'type' && value.trim() === '')) {
        issues.push(issue(fieldPath, 'invalid_type', `${fieldPath} must be a non-empty string`));
      } else if (value.length > MAX_NAME_LENGTH) {
        issues.push(issue(fieldPath, 'too_long', `${fieldPath} must be at most ${MAX_NAME_LENGTH} characters`));
      }
    }
    normalized.push(out);
  });
  context['externalIds'] = normalized;
}

function fillFromRequest(context: JsonObject, key: 'ip' | 'userAgent', value: string | undefined): void {
  if (value === undefined || value === '') return;
  const current = context[key];
  if (current === undefined || current === null || current === '') context[key] = value;
}

/**
 * Validates one message for the endpoint of `type` (for a batch item: the item's own
 * `type`) and normalises it. See the file comment for the rules.
 */
export function validateMessage(input: unknown, type: MessageType, opts: ValidateOptions): ValidationResult {
  if (!isPlainObject(input)) return fail([issue('', 'invalid_body', 'message must be a JSON object')]);
  let bytes: number;
  try {
    bytes = jsonByteLength(input);
  } catch {
    return fail([issue('', 'invalid_body', 'message is not serialisable as JSON')]);
  }
  if (bytes > MAX_MESSAGE_BYTES) {
    return fail([issue('', 'message_too_large', `message is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes`)]);
  }

  const issues: Issues = [];
  const msg = input;

  // Identifiers.
  const anonymousId = readId(msg, 'anonymousId', issues);
  const before = issues.length;
  const userId = readId(msg, 'userId', issues);
  const userIdInvalid = issues.length > before;
  const messageId = readId(msg, 'messageId', issues);
  let groupId: string | undefined;
  let previousId: string | undefined;
  let event: string | undefined;
  let name: string | undefined;
  let category: string | undefined;

  if (type === 'alias') {
    if (userId === undefined && !userIdInvalid) issues.push(issue('userId', 'required', 'userId is required for alias'));
    const n = issues.length;
    previousId = readId(msg, 'previousId', issues);
    if (previousId === undefined && issues.length === n) issues.push(issue('previousId', 'required', 'previousId is required for alias'));
  } else if (userId === undefined && anonymousId === undefined && issues.length === 0) {
    issues.push(issue('userId', 'required', 'userId or anonymousId is required'));
  }

  switch (type) {
    case 'track':
      event = readEvent(msg, issues);
      break;
    case 'page':
    case 'screen':
      name = readText(msg, 'name', issues);
      category = readText(msg, 'category', issues);
      break;
    case 'group': {
      const n = issues.length;
      groupId = readId(msg, 'groupId', issues);
      if (groupId === undefined && issues.length === n) issues.push(issue('groupId', 'required', 'groupId is required for group'));
      break;
    }
    default:
      break;
  }

  // Free-form objects.
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
  const integrations =
    ownIntegrations === undefined && envelopeIntegrations === undefined ? undefined : { ...envelopeIntegrations, ...ownIntegrations };

  // Dates.
  const timestamp = readDate(msg, 'timestamp', issues);
  const originalTimestamp = readDate(msg, 'originalTimestamp', issues);
  const ownSentAt = readDate(msg, 'sentAt', issues);

  if (issues.length > 0) return fail(issues);

  const envelopeSentAtMs = parseIsoDate(opts.envelope?.sentAt);
  const sentAtRaw = ownSentAt.raw ?? (envelopeSentAtMs === undefined ? undefined : opts.envelope?.sentAt);
  const sentAtMs = ownSentAt.ms ?? envelopeSentAtMs;
  const receivedAtMs = opts.receivedAt.getTime();
  const corrected = correctTimestamp({
    timestamp: timestamp.ms,
    originalTimestamp: originalTimestamp.ms,
    sentAt: sentAtMs,
    receivedAt: receivedAtMs,
  });
  if (!isEventTimeInRange(corrected)) return fail([correctedTimeIssue(timestamp.raw === undefined ? 'originalTimestamp' : 'timestamp')]);

  const out: NormalizedEvent = {
    type,
    messageId: messageId ?? opts.idGenerator(),
    properties: properties ?? {},
    traits: traits ?? {},
    context,
    timestamp: new Date(corrected).toISOString(),
    receivedAt: new Date(receivedAtMs).toISOString(),
    sourceId: opts.sourceId,
  };
  if (anonymousId !== undefined) out.anonymousId = anonymousId;
  if (userId !== undefined) out.userId = userId;
  if (event !== undefined) out.event = event;
  if (name !== undefined) out.name = name;
  if (category !== undefined) out.category = category;
  if (groupId !== undefined) out.groupId = groupId;
  if (previousId !== undefined) out.previousId = previousId;
  if (integrations !== undefined) out.integrations = integrations;
  const clientTimestamp = originalTimestamp.raw ?? timestamp.raw;
  if (clientTimestamp !== undefined) out.originalTimestamp = clientTimestamp;
  if (sentAtRaw !== undefined) out.sentAt = sentAtRaw;
  return { ok: true, message: out };
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
