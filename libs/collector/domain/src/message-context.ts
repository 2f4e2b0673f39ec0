/** The checks of a message's `context` (see message.ts for the rules). */
import { joinPath } from './errors';
import { MAX_EXTERNAL_IDS, MAX_NAME_LENGTH } from './limits';
import { type Issues, issue, readId } from './message-fields';
import { type JsonObject, type JsonValue, isPlainObject } from './sanitize';

export function validateContext(context: JsonObject, issues: Issues): void {
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

export function fillFromRequest(context: JsonObject, key: 'ip' | 'userAgent', value: string | undefined): void {
  if (value === undefined || value === '') return;
  const current = context[key];
  if (current === undefined || current === null || current === '') context[key] = value;
}
