/**
 * One ingestion body, wherever it came from (`POST /v1/<route>` or a record of
 * `events.ingest`): size limit, safe JSON parsing, then `processBatch` for a `batch` body or
 * `validateMessage` for one message. The HTTP layer and the Kafka consumer both go through
 * here, so a body is accepted or refused for the same reasons, with the same issues.
 */
import { CollectorInputError } from './errors';
import { parseJsonBody } from './json';
import { MAX_BATCH_ITEMS, checkBodySize, type IngestRoute } from './limits';
import { typeIssue, validateMessage, type MessageType } from './message';
import { batchResult, processBatch, rejectedItem, type BatchResult, type ProcessBatchOptions, type RejectedItem } from './batch';
import { Refusals } from './refusals';
import { isPlainObject } from './sanitize';

/** The outcome of one body; a single-message body that is refused is item 0. */
export type IngestBodyResult = BatchResult;

/**
 * Checks the raw size and parses the body.
 * @throws CollectorInputError (413 too large, 400 empty, malformed, prototype pollution, too deep)
 */
export function parseIngestBody(raw: Buffer, route: IngestRoute): unknown {
  const sizeError = checkBodySize(raw.length, route);
  if (sizeError) throw sizeError;
  return parseJsonBody(raw.toString('utf8'));
}

/**
 * Validates and normalises a parsed body for `route`.
 * @throws CollectorInputError for body-level problems of a batch (see batch.ts)
 */
export function validateIngestBody(body: unknown, route: IngestRoute, opts: ProcessBatchOptions): IngestBodyResult {
  if (route === 'batch') return processBatch(body, opts);
  const result = validateMessage(body, route, opts);
  const refusals = new Refusals<RejectedItem>();
  if (!result.ok) refusals.add(rejectedItem(0, body, result.errors));
  return batchResult(result.ok ? [result.message] : [], refusals);
}

/**
 * How many messages a parsed body carries: a batch's items, else 1 (what the per-write-key
 * rate limit charges before the body is validated). At most MAX_BATCH_ITEMS: a batch over the
 * item cap is refused whole, so it costs no more than the largest one that could be accepted.
 */
export function messageCount(body: unknown, route: IngestRoute): number {
  const items = route === 'batch' && isPlainObject(body) ? body['batch'] : undefined;
  return Array.isArray(items) ? Math.min(Math.max(items.length, 1), MAX_BATCH_ITEMS) : 1;
}

/**
 * The route of a body that names its own kind (a Kafka record): a `batch` array makes it a
 * batch, else its `type` (required).
 * @throws CollectorInputError 400 when it is not an object or its `type` is missing or unknown
 */
export function routeOfBody(body: unknown): IngestRoute {
  if (!isPlainObject(body)) throw new CollectorInputError(400, 'invalid_body', 'the record must be a JSON object: one message or a batch body');
  if (body['batch'] !== undefined) return 'batch';
  const problem = typeIssue(body['type']);
  if (problem) throw new CollectorInputError(400, problem.code, problem.message, problem.path);
  return body['type'] as MessageType;
}
