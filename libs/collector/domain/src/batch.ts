/**
 * `/v1/batch`: `{ batch: [...messages], sentAt?, context?, integrations?, writeKey? }`.
 *
 * DECISION — partial acceptance (the HTTP layer follows it):
 * Segment answers 200 to any well-formed batch and silently drops bad items. We are
 * stricter but keep SDKs working:
 * - every item is validated on its own (its own `type`, the 32 KB per-message limit, …);
 * - if at least one item is accepted, the accepted items are produced and the request is
 *   answered **200** with the rejected items listed (`rejected: [{index, messageId?,
 *   errors}]`, the first ones only: see refusals.ts; `rejectedCount` counts them all).
 *   SDKs treat 200 as success and do not retry, which is right: retrying would not make a
 *   bad item good;
 * - if **every** item is rejected, the answer is **400** with the same `rejected` list
 *   (SDKs do not retry 400s either);
 * - request-level problems are thrown as `CollectorInputError` before any item is looked
 *   at: body not an object (`invalid_body`), `batch` missing or not an array
 *   (`invalid_batch`), empty array (`empty_batch`), more than MAX_BATCH_ITEMS items (413
 *   `batch_too_large`), invalid envelope `sentAt`, `context` or `integrations`, an envelope
 *   `context` or `integrations` over MAX_MESSAGE_BYTES (413 `message_too_large`: it becomes
 *   part of every message). The raw body size (500 KB → 413 `batch_too_large`) is checked by
 *   the HTTP layer with `checkBodySize` before parsing;
 * - while the items are read: accepted events that come to more than MAX_BATCH_OUTPUT_BYTES
 *   in all (413 `batch_too_large`, nothing is accepted) — a batch-level context copied into
 *   thousands of items. Each finished event is also held to MAX_EVENT_BYTES (message.ts).
 * Duplicate messageIds inside one batch are not filtered here; the HTTP layer's
 * `DedupWindow` (in-flight tracking) drops the repeats.
 *
 * Envelope fields apply to every item: `sentAt` is used for clock-skew correction of items
 * that have no `sentAt` of their own; `context` and `integrations` are shallow defaults
 * overlaid by each item's own.
 */
import { CollectorInputError, type ValidationIssue, toInputError } from './errors';
import { MAX_BATCH_ITEMS, MAX_BATCH_OUTPUT_BYTES, MAX_MESSAGE_BYTES, jsonByteLength } from './limits';
import { type BatchEnvelope, type NormalizedEvent, type MessageType, type ValidateOptions, dateIssue, typeIssue, validateMessage } from './message';
import { Refusals } from './refusals';
import { type JsonObject, type SanitizeMode, isPlainObject, sanitizeObject } from './sanitize';

export type ProcessBatchOptions = Omit<ValidateOptions, 'envelope'>;

export interface RejectedItem {
  /** Position in the `batch` array. */
  index: number;
  /** The item's own messageId, when it had a usable one. */
  messageId?: string;
  errors: ValidationIssue[];
}

export interface BatchResult {
  accepted: NormalizedEvent[];
  /** The first rejected items (see refusals.ts). */
  rejected: RejectedItem[];
  /** Every rejected item, listed or not. */
  rejectedCount: number;
  /** The issues of every rejected item, listed or not. */
  issueCount: number;
}

/** A batch result from the accepted events and the refusals. */
export function batchResult(accepted: NormalizedEvent[], refusals: Refusals<RejectedItem>): BatchResult {
  return { accepted, rejected: refusals.listed, rejectedCount: refusals.count, issueCount: refusals.issueCount };
}

/** A refused item, with its own messageId when it had a usable one. */
export function rejectedItem(index: number, item: unknown, errors: ValidationIssue[]): RejectedItem {
  const rejected: RejectedItem = { index, errors };
  const messageId = isPlainObject(item) ? item['messageId'] : undefined;
  if (typeof messageId === 'string' && messageId !== '') rejected.messageId = messageId;
  else if (typeof messageId === 'number' && Number.isFinite(messageId)) rejected.messageId = String(messageId);
  return rejected;
}

/**
 * Validates and normalises every item of a batch body.
 * @throws CollectorInputError for request-level problems (see the file comment).
 */
export function processBatch(body: unknown, opts: ProcessBatchOptions): BatchResult {
  if (!isPlainObject(body)) throw new CollectorInputError(400, 'invalid_body', 'batch body must be a JSON object');
  const items = body['batch'];
  if (!Array.isArray(items)) throw new CollectorInputError(400, 'invalid_batch', 'batch must be an array of messages', 'batch');
  if (items.length === 0) throw new CollectorInputError(400, 'empty_batch', 'batch must contain at least one message', 'batch');
  if (items.length > MAX_BATCH_ITEMS) {
    throw new CollectorInputError(413, 'batch_too_large', `batch has ${items.length} messages; the limit is ${MAX_BATCH_ITEMS} messages per batch`, 'batch');
  }
  const envelope = readEnvelope(body);

  const accepted: NormalizedEvent[] = [];
  const refusals = new Refusals<RejectedItem>();
  let outputBytes = 0;
  for (let index = 0; index < items.length; index++) {
    const item: unknown = items[index];
    const validated = validateItem(item, { ...opts, envelope });
    if (!validated.ok) {
      refusals.add(rejectedItem(index, item, validated.errors));
      continue;
    }
    outputBytes += validated.bytes;
    if (outputBytes > MAX_BATCH_OUTPUT_BYTES) throw outputTooLarge(index);
    accepted.push(validated.message);
  }
  return batchResult(accepted, refusals);
}

type ItemResult = { ok: true; message: NormalizedEvent; bytes: number } | { ok: false; errors: ValidationIssue[] };

/** One item of a batch: an object with its own `type`, validated as that message. */
function validateItem(item: unknown, opts: ValidateOptions): ItemResult {
  if (!isPlainObject(item)) return { ok: false, errors: [{ path: '', code: 'invalid_body', message: 'batch item must be a JSON object' }] };
  const type = item['type'];
  const problem = typeIssue(type);
  if (problem) return { ok: false, errors: [problem] };
  return validateMessage(item, type as MessageType, opts);
}

function outputTooLarge(index: number): CollectorInputError {
  const message =
    `the batch's events come to more than ${MAX_BATCH_OUTPUT_BYTES} bytes by message ${index} (each carries the batch's context and integrations); ` +
    `send smaller batches or a smaller batch-level context`;
  return new CollectorInputError(413, 'batch_too_large', message, 'batch');
}

function readEnvelope(body: Record<string, unknown>): BatchEnvelope {
  const envelope: BatchEnvelope = {};
  const sentAt = body['sentAt'];
  if (sentAt !== undefined && sentAt !== null) {
    const problem = dateIssue(sentAt, 'sentAt');
    if (problem) throw toInputError(problem);
    envelope.sentAt = sentAt as string;
  }
  const context = envelopeObject(body, 'context', 'context');
  if (context) envelope.context = context;
  const integrations = envelopeObject(body, 'integrations', 'plain');
  if (integrations) envelope.integrations = integrations;
  return envelope;
}

/**
 * The batch-level `context` or `integrations`, sanitized (sanitizeObject throws
 * CollectorInputError 400 naming the path) and at most MAX_MESSAGE_BYTES: it becomes part of
 * every message, so a larger one could not fit in any.
 */
function envelopeObject(body: Record<string, unknown>, field: 'context' | 'integrations', mode: SanitizeMode): JsonObject | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  const sanitized = sanitizeObject(value, { path: field, mode });
  const bytes = jsonByteLength(sanitized);
  if (bytes > MAX_MESSAGE_BYTES) {
    const message = `the batch's ${field} is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes, as for a message (it becomes part of every message)`;
    throw new CollectorInputError(413, 'message_too_large', message, field);
  }
  return sanitized;
}

/**
 * HTTP status for a batch result, per the decision above: 400 when nothing was accepted,
 * else 200.
 */
export function batchResponseStatus(result: BatchResult): 200 | 400 {
  return result.accepted.length === 0 ? 400 : 200;
}
