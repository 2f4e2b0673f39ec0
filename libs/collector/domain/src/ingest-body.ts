/**
 * One ingestion body, wherever it came from (`POST /v1/<route>` or a record of
 * `events.ingest`): size limit, safe JSON parsing, then `processBatch` for a `batch` body or
 * `validateMessage` for one message. The HTTP layer and the Kafka consumer both go through
 * here, so a body is accepted or refused for the same reasons, with the same issues.
 */
import { CollectorInputError } from './errors';
import { parseJsonBody } from './json';
import { checkBodySize, type IngestRoute } from './limits';
import { typeIssue, validateMessage, type MessageType, type NormalizedEvent } from './message';
import { processBatch, type ProcessBatchOptions, type RejectedItem } from './batch';
import { isPlainObject } from './sanitize';

export interface IngestBodyResult {
  accepted: NormalizedEvent[];
  /** Refused messages; a single-message body that is refused is item 0. */
  rejected: RejectedItem[];
}

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
  if (result.ok) return { accepted: [result.message], rejected: [] };
  const rejected: RejectedItem = { index: 0, errors: result.errors };
  const messageId = isPlainObject(body) ? body['messageId'] : undefined;
  if (typeof messageId === 'string' && messageId !== '') rejected.messageId = messageId;
  return { accepted: [], rejected: [rejected] };
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
