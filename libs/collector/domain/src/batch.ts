/**
 * `/v1/batch`: `{ batch: [...messages], sentAt?, context?, integrations?, writeKey? }`.
 *
 * DECISION — partial acceptance (the HTTP layer follows it):
 * Segment answers 200 to any well-formed batch and silently drops bad items. We are
 * stricter but keep SDKs working:
 * - every item is validated on its own (its own `type`, the 32 KB per-message limit, …);
 * - if at least one item is accepted, the accepted items are produced and the request is
 *   answered **200** with the rejected items listed (`rejected: [{index, messageId?,
 *   errors}]`). SDKs treat 200 as success and do not retry, which is right: retrying
 *   would not make a bad item good;
 * - if **every** item is rejected, the answer is **400** with the same `rejected` list
 *   (SDKs do not retry 400s either);
 * - request-level problems are thrown as `CollectorInputError` before any item is looked
 *   at: body not an object (`invalid_body`), `batch` missing or not an array
 *   (`invalid_batch`), empty array (`empty_batch`), invalid envelope `sentAt`, `context`
 *   or `integrations`. The raw body size (500 KB → 413 `batch_too_large`) is checked by
 *   the HTTP layer with `checkBodySize` before parsing.
 * Duplicate messageIds inside one batch are not filtered here; the HTTP layer's
 * `DedupWindow` (in-flight tracking) drops the repeats.
 *
 * Envelope fields apply to every item: `sentAt` is used for clock-skew correction of items
 * that have no `sentAt` of their own; `context` and `integrations` are shallow defaults
 * overlaid by each item's own.
 */
import { CollectorInputError, type ValidationIssue, toInputError } from './errors';
import { type BatchEnvelope, type NormalizedEvent, type MessageType, type ValidateOptions, dateIssue, typeIssue, validateMessage } from './message';
import { isPlainObject, sanitizeObject } from './sanitize';

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
  rejected: RejectedItem[];
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
  const envelope = readEnvelope(body);

  const result: BatchResult = { accepted: [], rejected: [] };
  items.forEach((item: unknown, index) => {
    const type = isPlainObject(item) ? item['type'] : undefined;
    const problem = typeIssue(type);
    let errors: ValidationIssue[];
    if (!isPlainObject(item)) {
      errors = [{ path: '', code: 'invalid_body', message: 'batch item must be a JSON object' }];
    } else if (problem) {
      errors = [problem];
    } else {
      const validated = validateMessage(item, type as MessageType, { ...opts, envelope });
      if (validated.ok) {
        result.accepted.push(validated.message);
        return;
      }
      errors = validated.errors;
    }
    const rejected: RejectedItem = { index, errors };
    const messageId = isPlainObject(item) ? item['messageId'] : undefined;
    if (typeof messageId === 'string' && messageId !== '') rejected.messageId = messageId;
    else if (typeof messageId === 'number' && Number.isFinite(messageId)) rejected.messageId = String(messageId);
    result.rejected.push(rejected);
  });
  return result;
}

function readEnvelope(body: Record<string, unknown>): BatchEnvelope {
  const envelope: BatchEnvelope = {};
  const sentAt = body['sentAt'];
  if (sentAt !== undefined && sentAt !== null) {
    const problem = dateIssue(sentAt, 'sentAt');
    if (problem) throw toInputError(problem);
    envelope.sentAt = sentAt as string;
  }
  // sanitizeObject throws CollectorInputError (400) naming the path.
  if (body['context'] !== undefined && body['context'] !== null) {
    envelope.context = sanitizeObject(body['context'], { path: 'context', mode: 'context' });
  }
  if (body['integrations'] !== undefined && body['integrations'] !== null) {
    envelope.integrations = sanitizeObject(body['integrations'], { path: 'integrations', mode: 'plain' });
  }
  return envelope;
}

/**
 * HTTP status for a batch result, per the decision above: 400 when nothing was accepted,
 * else 200.
 */
export function batchResponseStatus(result: BatchResult): 200 | 400 {
  return result.accepted.length === 0 ? 400 : 200;
}
