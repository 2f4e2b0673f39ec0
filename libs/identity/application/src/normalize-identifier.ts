import { isValidIdentifierType, normalizeEmail, normalizePhone, type Identifier } from '@mosaic/identity-domain';

export type NormalizeIdentifierResult = { ok: true; identifier: Identifier } | { ok: false; message: string };

export const UNKNOWN_IDENTIFIER_TYPE = 'unknown identifier type (userId, email, phone, anonymousId, external:<name>)';

/** Normalises an identifier given by an admin the way extraction does (email lower-cased, phone to E.164, others trimmed). */
export function normalizeIdentifier(type: unknown, value: unknown): NormalizeIdentifierResult {
  if (typeof type !== 'string' || !isValidIdentifierType(type)) return { ok: false, message: UNKNOWN_IDENTIFIER_TYPE };
  if (typeof value !== 'string' || value.trim() === '') return { ok: false, message: 'must be a non-empty string' };
  if (type === 'email') {
    const r = normalizeEmail(value);
    return r.ok ? { ok: true, identifier: { type, value: r.value } } : { ok: false, message: r.reason };
  }
  if (type === 'phone') {
    const r = normalizePhone(value);
    return r.ok ? { ok: true, identifier: { type, value: r.value } } : { ok: false, message: r.reason };
  }
  return { ok: true, identifier: { type, value: value.trim() } };
}
