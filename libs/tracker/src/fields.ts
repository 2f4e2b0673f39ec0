/**
 * Which form fields may feed an `identify`: only fields the site marks with
 * `data-mosaic-identify="<trait>"` (or `"userId"`), and never a password, card, bank or hidden
 * field, whatever the marking says. Pure functions over a plain description of each field.
 */
import type { Props } from './types';
import { truncate } from './util';

export interface FieldInfo {
  /** `<input type>` (lower case), or `select`/`textarea`. */
  type: string;
  name: string;
  id: string;
  /** The `autocomplete` attribute. */
  autocomplete: string;
  /** The `data-mosaic-identify` attribute ('' when absent). */
  identify: string;
  value: string;
  /** For checkboxes. */
  checked?: boolean;
}

const SENSITIVE_TYPES = /^(password|hidden|file)$/;
const SENSITIVE_AUTOCOMPLETE = /(^|\s)(cc-|current-password|new-password|one-time-code)/;
const SENSITIVE_NAME = /pass|pwd|card|cc-?(num|number|csc|exp)|cvv|cvc|csc|iban|bic|swift|account.?num|ssn|social.?sec|tax.?id|secret|token|pin$/i;
/** 13 to 19 digits, optionally grouped: looks like a card number, so it is never sent. */
const CARD_LIKE = /^(?:\d[ -]?){12,18}\d$/;

/** True for fields that must never be read: passwords, cards, bank details, hidden and file inputs. */
export function isSensitiveField(f: Pick<FieldInfo, 'type' | 'name' | 'id' | 'autocomplete'>): boolean {
  return SENSITIVE_TYPES.test(f.type) || SENSITIVE_AUTOCOMPLETE.test(f.autocomplete.toLowerCase()) || SENSITIVE_NAME.test(f.name) || SENSITIVE_NAME.test(f.id);
}

/** The traits (and userId) that the marked, non-sensitive fields of a submitted form carry. */
export function identifyFromFields(fields: readonly FieldInfo[]): { userId?: string; traits: Props } | undefined {
  const traits: Props = {};
  let userId: string | undefined;
  let any = false;
  for (const f of fields) {
    const key = f.identify.trim();
    if (!key || isSensitiveField(f) || /^(__proto__|constructor|prototype)$/.test(key)) continue;
    if (f.type === 'checkbox') {
      traits[key] = !!f.checked;
      any = true;
      continue;
    }
    if ((f.type === 'radio' && !f.checked) || f.type === 'submit' || f.type === 'button') continue;
    const value = truncate(f.value.trim(), 256);
    if (!value || CARD_LIKE.test(value)) continue;
    if (key === 'userId') userId = value;
    else traits[key] = key === 'email' ? value.toLowerCase() : value;
    any = true;
  }
  return any ? { userId, traits } : undefined;
}
