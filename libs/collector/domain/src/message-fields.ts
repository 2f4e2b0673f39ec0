/**
 * Readers of one message's fields (see message.ts for the rules): each returns the field's
 * value when it is usable, else undefined after appending the reason to `issues`.
 */
import { type CollectorErrorCode, CollectorInputError, type ValidationIssue } from './errors';
import { MAX_ID_LENGTH, MAX_NAME_LENGTH } from './limits';
import { FORBIDDEN_KEYS, type JsonObject, type SanitizeMode, forbiddenKeyError, sanitizeObject, unstorableStringError } from './sanitize';
import { isEventTimeInRange, parseIsoDate } from './time';

/** Issues found so far; the readers append to it, in the order of the fields. */
export type Issues = ValidationIssue[];

export function issue(path: string, code: CollectorErrorCode, message: string): ValidationIssue {
  return { path, code, message };
}

/** Absent = undefined, null, or a string that is empty or only whitespace. */
function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/** An identifier: string, or finite number converted to a string. */
export function readId(message: Record<string, unknown>, field: string, issues: Issues, path = field): string | undefined {
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
export function readText(message: Record<string, unknown>, field: string, issues: Issues): string | undefined {
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
export function readEvent(message: Record<string, unknown>, issues: Issues): string | undefined {
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

export function readObject(value: unknown, path: string, mode: SanitizeMode, issues: Issues): JsonObject | undefined {
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

/** Why the (present) `value` of the date `field` is refused, or undefined when it is fine. */
export function dateIssue(value: unknown, field: string): ValidationIssue | undefined {
  const ms = parseIsoDate(value);
  if (ms === undefined) return issue(field, 'invalid_date', `${field} must be an ISO-8601 date`);
  if (!isEventTimeInRange(ms)) return issue(field, 'invalid_date', `${field} must be between 1970-01-01 and 9999-12-31 (UTC)`);
  return undefined;
}

/**
 * The date `field` as epoch milliseconds (undefined when absent, or refused with an issue). Only
 * the instant is kept: the event carries it in canonical form (see message.ts), never the text
 * as sent, which may be a form (`2026-01-01t10:00:00Z`, no zone) that later stages read otherwise.
 */
export function readDate(message: Record<string, unknown>, field: string, issues: Issues): number | undefined {
  const value = message[field];
  if (value === undefined || value === null) return undefined;
  const problem = dateIssue(value, field);
  if (problem) {
    issues.push(problem);
    return undefined;
  }
  return parseIsoDate(value);
}

/** The skew-corrected time lands before 1970 when sentAt and the client time are decades apart. */
export function correctedTimeIssue(field: 'timestamp' | 'originalTimestamp'): ValidationIssue {
  const message = `${field} corrected for clock skew (receivedAt − (sentAt − ${field})) falls before 1970: sentAt and ${field} are too far apart`;
  return issue(field, 'invalid_date', message);
}
