/**
 * Identifier values: keys, type names and the two normalisers (email, phone).
 *
 * An identifier is a `{type, value}` pair (`Identifier` of `@mosaic/contracts`). Types are
 * `anonymousId`, `userId`, `email`, `phone` and `external:<name>` for named external ids
 * (`context.externalIds[].type`, lower-cased). The graph stores one document per
 * identifier under its key `<type>:<value>` (see `identifierKey`).
 */
import type { Identifier } from '@mosaic/contracts';

export type { Identifier };

/** The built-in identifier types. External ids are `external:<name>`. */
export const CORE_IDENTIFIER_TYPES = Object.freeze(['userId', 'email', 'phone', 'anonymousId'] as const);
export type CoreIdentifierType = (typeof CORE_IDENTIFIER_TYPES)[number];

export const EXTERNAL_PREFIX = 'external:';
/** `Identifier.type` is at most 64 characters (contracts), so an external name is at most 55. */
export const MAX_EXTERNAL_NAME_LENGTH = 64 - EXTERNAL_PREFIX.length;
/** `Identifier.value` is at most 512 characters (contracts). */
export const MAX_IDENTIFIER_VALUE_LENGTH = 512;
/** RFC 5321: an address is at most 254 characters. */
export const MAX_EMAIL_LENGTH = 254;

/** External-id names: lower-case letters, digits, `_`, `-` and `.` (Segment uses `android.id`). */
const EXTERNAL_NAME = /^[a-z0-9][a-z0-9_.-]*$/;

/** The graph key of an identifier: `<type>:<value>` (the `_id` of its identity document). */
export function identifierKey(id: Identifier): string {
  return `${id.type}:${id.value}`;
}

export function isExternalType(type: string): boolean {
  return type.startsWith(EXTERNAL_PREFIX);
}

/** True for `userId`, `email`, `phone`, `anonymousId` and well-formed `external:<name>`. */
export function isValidIdentifierType(type: string): boolean {
  if ((CORE_IDENTIFIER_TYPES as readonly string[]).includes(type)) return true;
  if (!isExternalType(type)) return false;
  const name = type.slice(EXTERNAL_PREFIX.length);
  return name.length > 0 && name.length <= MAX_EXTERNAL_NAME_LENGTH && EXTERNAL_NAME.test(name);
}

/** `external:<name>` for an `externalIds[].type` (trimmed, lower-cased), or undefined when the name is unusable. */
export function externalType(name: string): string | undefined {
  const type = `${EXTERNAL_PREFIX}${name.trim().toLowerCase()}`;
  return isValidIdentifierType(type) ? type : undefined;
}

/** Compares identifiers by type then value (code-unit order): the canonical order of lists. */
export function compareIdentifiers(a: Identifier, b: Identifier): number {
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  return 0;
}

/** Sorted, de-duplicated copy (plain `{type, value}` objects). */
export function canonicalIdentifiers(ids: Iterable<Identifier>): Identifier[] {
  const byKey = new Map<string, Identifier>();
  for (const id of ids) byKey.set(identifierKey(id), { type: id.type, value: id.value });
  return [...byKey.values()].sort(compareIdentifiers);
}

export type NormalizeResult = { ok: true; value: string } | { ok: false; reason: string };

/**
 * Email: trimmed, lower-cased; exactly one `@` with a non-empty local part and domain; no
 * whitespace inside; at most 254 characters. Nothing else is checked (no DNS, no TLD list):
 * the identity only has to be stable, not deliverable.
 */
export function normalizeEmail(raw: string): NormalizeResult {
  const value = raw.trim().toLowerCase();
  if (value === '') return { ok: false, reason: 'email is empty' };
  if (value.length > MAX_EMAIL_LENGTH) return { ok: false, reason: `email is longer than ${MAX_EMAIL_LENGTH} characters` };
  if (/\s/.test(value)) return { ok: false, reason: 'email contains whitespace' };
  const parts = value.split('@');
  if (parts.length !== 2) return { ok: false, reason: 'email must contain exactly one @' };
  const [local, domain] = parts as [string, string];
  if (local === '') return { ok: false, reason: 'email has an empty local part' };
  if (domain === '') return { ok: false, reason: 'email has an empty domain' };
  return { ok: true, value };
}

/**
 * Phone to E.164 with a deliberately small normaliser (no numbering-plan data):
 * - strip whitespace, `-`, `.`, `(` and `)`;
 * - a leading `00` becomes `+` (international call prefix used in most of the world);
 * - then it must be `+` followed by 8 to 15 digits, the first not `0`.
 * National numbers (no `+`/`00`) are refused rather than guessed: without knowing the
 * country, `0612345678` could be anyone's. The reason says why.
 */
export function normalizePhone(raw: string): NormalizeResult {
  const stripped = raw.replace(/[\s\-.()]/g, '');
  if (stripped === '') return { ok: false, reason: 'phone is empty' };
  const international = stripped.startsWith('00') ? `+${stripped.slice(2)}` : stripped;
  if (!international.startsWith('+')) {
    return { ok: false, reason: 'phone has no international prefix (+ or 00): national numbers are ambiguous' };
  }
  const digits = international.slice(1);
  if (!/^\d+$/.test(digits)) return { ok: false, reason: 'phone contains characters other than digits and separators' };
  if (digits.length < 8 || digits.length > 15) {
    return { ok: false, reason: `phone must have 8 to 15 digits after the +, got ${digits.length}` };
  }
  if (digits.startsWith('0')) return { ok: false, reason: 'phone country code cannot start with 0' };
  return { ok: true, value: `+${digits}` };
}
