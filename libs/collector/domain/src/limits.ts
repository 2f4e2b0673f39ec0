/**
 * Size and shape limits of the public ingestion API.
 *
 * The byte limits are Segment's (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#max-request-size):
 * 32 KB per message and 500 KB per batch request, so that any SDK that respects them
 * (analytics-node checks both before sending) is never refused by us.
 */
import { CollectorInputError } from './errors';

/** Largest message: UTF-8 bytes of the message's compact JSON (`JSON.stringify`). */
export const MAX_MESSAGE_BYTES = 32 * 1024;

/** Largest request body (raw bytes as received), on every route. */
export const MAX_BATCH_BYTES = 500 * 1024;

/**
 * What the collector adds to a message on top of MAX_MESSAGE_BYTES: `receivedAt`, `sourceId`, a
 * generated `messageId`, the corrected `timestamp` and `originalTimestamp`, empty `properties`/
 * `traits`, `context.ip` and a `context.userAgent` from the request's header (browsers' are
 * 100–500 characters). So a message of up to 32 KB as an SDK or the tracker measures it
 * (without the user agent, which the collector fills in) is never refused for what we add.
 */
export const EVENT_OVERHEAD_BYTES = 2 * 1024;

/**
 * Largest finished event (compact JSON, UTF-8), as produced to `events.raw`: the message with
 * the batch's `context`/`integrations` merged in, keys escaped, and the collector's own fields.
 */
export const MAX_EVENT_BYTES = MAX_MESSAGE_BYTES + EVENT_OVERHEAD_BYTES;

/**
 * Most messages in one batch body (`/v1/batch`, an `events.ingest` record). Segment caps only
 * the bytes (500 KB); an item cap bounds the work and the refusals one body can cause
 * (500 KB of `{}` would be ~170,000 items). SDKs send far fewer (analytics-node: 15,
 * analytics.js: what fits in 500 KB of real events).
 */
export const MAX_BATCH_ITEMS = 2_500;

/**
 * Most bytes of finished events one request may produce (the sum of their compact JSON). A
 * batch-level `context` is copied into every item, so a small body could otherwise become
 * gigabytes of events; a real batch at the item cap with ~1.5 KB of collector fields and user
 * agent per event stays far below.
 */
export const MAX_BATCH_OUTPUT_BYTES = 8 * 1024 * 1024;

/**
 * Refusals listed in one answer (or one `events.bad` record): the first MAX_LISTED_REJECTIONS
 * refused messages, and no more once MAX_LISTED_ISSUES issues are listed (the first refused
 * message is always listed whole); the answer gives the total count besides.
 */
export const MAX_LISTED_REJECTIONS = 100;
export const MAX_LISTED_ISSUES = 1_000;

/**
 * A bad event (`events.bad`) fits in one Kafka record (the broker's default limit is 1 MB):
 * at most MAX_BAD_VALUE_BYTES of the refused value are copied (base64 makes 4/3 of it) and at
 * most MAX_BAD_REASONS_BYTES of reasons (compact JSON), each reason's path and message cut at
 * MAX_REASON_TEXT_LENGTH characters; what is left out is counted (`valueTruncatedFrom`,
 * `reasonCount`).
 */
export const MAX_BAD_VALUE_BYTES = 384 * 1024;
export const MAX_BAD_REASONS_BYTES = 256 * 1024;
export const MAX_REASON_TEXT_LENGTH = 1_000;

/** Longest `userId`, `anonymousId`, `messageId`, `groupId`, `previousId`, external id. */
export const MAX_ID_LENGTH = 256;

/** Longest `event`, `name`, `category`, and external-id `type`/`collection`/`encoding`. */
export const MAX_NAME_LENGTH = 512;

/**
 * Deepest nesting inside `properties`, `traits`, `context`, `integrations`: the field's own
 * object is level 1, an object or array inside it level 2, and so on.
 */
export const MAX_OBJECT_DEPTH = 32;

/**
 * Deepest nesting of a whole request body (batch envelope + message + field), checked by
 * `parseJsonBody` so that nothing downstream (e.g. `JSON.stringify`) can overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

/** Most entries in `context.externalIds`. */
export const MAX_EXTERNAL_IDS = 64;

/**
 * Number of bytes `text` takes in UTF-8. Lone surrogates count 3 bytes (as U+FFFD would);
 * they never occur in `JSON.stringify` output, which escapes them.
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** UTF-8 size of the compact JSON of `value` (what MAX_MESSAGE_BYTES is measured on). */
export function jsonByteLength(value: unknown): number {
  const json = JSON.stringify(value);
  return json === undefined ? 0 : utf8ByteLength(json);
}

/** Routes of the ingestion API (`/v1/<route>`). */
export type IngestRoute = 'track' | 'page' | 'screen' | 'identify' | 'group' | 'alias' | 'batch';

/**
 * Checks the raw request body size before parsing. Every route accepts at most
 * MAX_BATCH_BYTES of raw body (use it as the HTTP server's body limit):
 * - `/v1/batch` over the limit → 413 `batch_too_large`;
 * - a single-message route over the limit → 413 `message_too_large` (it is certainly over
 *   MAX_MESSAGE_BYTES too). The exact 32 KB check of a single message is done by
 *   `validateMessage` on its compact JSON, so pretty-printed bodies are not penalised.
 * Returns the error, or `undefined` when the size is fine.
 */
export function checkBodySize(byteLength: number, route: IngestRoute): CollectorInputError | undefined {
  if (byteLength <= MAX_BATCH_BYTES) return undefined;
  return route === 'batch'
    ? new CollectorInputError(413, 'batch_too_large', `batch body is ${byteLength} bytes; the limit is ${MAX_BATCH_BYTES} bytes`)
    : new CollectorInputError(413, 'message_too_large', `message body is ${byteLength} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes`);
}

/** Like {@link checkBodySize} but throws the error. */
export function assertBodySize(byteLength: number, route: IngestRoute): void {
  const error = checkBodySize(byteLength, route);
  if (error) throw error;
}

/**
 * Accepted request media types: `application/json`, any `application/*+json`, and
 * `text/plain` (browsers' `navigator.sendBeacon` and CORS "simple requests" send JSON as
 * text/plain). A missing Content-Type is accepted and read as JSON (some HTTP clients omit
 * it). A `charset` other than UTF-8 is refused. Anything else → 415 `unsupported_media_type`.
 */
export function checkContentType(contentType: string | undefined): CollectorInputError | undefined {
  if (contentType === undefined || contentType.trim() === '') return undefined;
  const [rawType = '', ...params] = contentType.split(';');
  const type = rawType.trim().toLowerCase();
  const okType = type === 'application/json' || type === 'text/plain' || /^application\/[\w.+-]+\+json$/.test(type);
  if (!okType) {
    return new CollectorInputError(415, 'unsupported_media_type', `Content-Type ${type || '(empty)'} is not supported; send application/json or text/plain`);
  }
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    const name = param.slice(0, eq).trim().toLowerCase();
    const value = param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') {
      return new CollectorInputError(415, 'unsupported_media_type', `charset ${value} is not supported; send UTF-8`);
    }
  }
  return undefined;
}
