/**
 * Errors of the collector's input handling.
 *
 * Two shapes:
 * - {@link ValidationIssue}: one problem with one field of one message (`path` is relative to
 *   the message, e.g. `properties.items[2].price`). Batch rejections list these.
 * - {@link CollectorInputError}: a whole request is refused. It carries the HTTP status the
 *   HTTP layer answers with (400 bad input, 413 too large, 415 unsupported media type).
 */

/** Every error code this library produces. The HTTP layer may return them verbatim. */
export type CollectorErrorCode =
  /** The request body is empty or only whitespace. */
  | 'empty_body'
  /** The body is not valid JSON (the message gives the position). */
  | 'malformed_json'
  /**
   * A `__proto__` key (anywhere in a body), a `constructor` key holding a `prototype` key
   * (anywhere in a body), or any `__proto__`/`constructor`/`prototype` key or event name
   * inside a message's free-form objects.
   */
  | 'prototype_pollution'
  /** An array directly inside an array (FerretDB cannot store it). */
  | 'nested_array'
  /** A string or key that is not well-formed Unicode (an unpaired UTF-16 surrogate). */
  | 'invalid_string'
  /** Objects/arrays nested deeper than allowed. */
  | 'too_deep'
  /** One message is larger than MAX_MESSAGE_BYTES. */
  | 'message_too_large'
  /** The request body is larger than MAX_BATCH_BYTES. */
  | 'batch_too_large'
  /** Content-Type is neither JSON nor text/plain (sendBeacon). */
  | 'unsupported_media_type'
  /** The body (or a batch item) is not a JSON object. */
  | 'invalid_body'
  /** `batch` is missing or not an array. */
  | 'invalid_batch'
  /** `batch` is an empty array. */
  | 'empty_batch'
  /** A required field is missing. */
  | 'required'
  /** A field has the wrong JSON type. */
  | 'invalid_type'
  /** A field has the right type but a value that is not allowed (empty string, unknown type). */
  | 'invalid_value'
  /** A string is longer than its cap (see limits.ts). */
  | 'too_long'
  /** An array has more entries than its cap. */
  | 'too_many'
  /** A date is not an ISO-8601 date, or is outside the accepted range (see time.ts). */
  | 'invalid_date';

/** One problem with one field of one message. */
export interface ValidationIssue {
  /** JSON path relative to the message (`''` means the message itself). */
  path: string;
  code: CollectorErrorCode;
  /** Human-readable, names the field, e.g. `"event must be a non-empty string"`. */
  message: string;
}

/** HTTP statuses this library asks for. */
export type CollectorInputStatus = 400 | 413 | 415;

/** A request the collector refuses; `status` is the HTTP status to answer with. */
export class CollectorInputError extends Error {
  override readonly name: string = 'CollectorInputError';
  readonly status: CollectorInputStatus;
  readonly code: CollectorErrorCode;
  /** JSON path of the offending value, when there is one (absent, not undefined, otherwise). */
  declare readonly path?: string;

  constructor(status: CollectorInputStatus, code: CollectorErrorCode, message: string, path?: string) {
    super(message);
    this.status = status;
    this.code = code;
    if (path !== undefined) this.path = path;
  }

  /** The issue as it appears in a validation result or a batch rejection. */
  toIssue(): ValidationIssue {
    return { path: this.path ?? '', code: this.code, message: this.message };
  }

  /** A JSON-friendly body for the HTTP response. */
  toJSON(): { code: CollectorErrorCode; message: string; path?: string } {
    return this.path === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, path: this.path };
  }
}

/** The HTTP status for an issue: 413 for size problems, 400 otherwise. */
export function statusForCode(code: CollectorErrorCode): CollectorInputStatus {
  switch (code) {
    case 'message_too_large':
    case 'batch_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    default:
      return 400;
  }
}

/** Turns a validation issue into a request-level error (for the single-message endpoints). */
export function toInputError(issue: ValidationIssue): CollectorInputError {
  return new CollectorInputError(statusForCode(issue.code), issue.code, issue.message, issue.path);
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Appends an object key or array index to a JSON path: `a.b`, `a[0]`, `a["x.y"]`.
 * The root is the empty string.
 */
export function joinPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (IDENTIFIER.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}
