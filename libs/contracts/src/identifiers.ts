/**
 * Values SDKs and sites send in `userId` / `anonymousId` when they have no identifier at all
 * ("anonymous", "null", "0", …). Identity blocks them by default (its rules can block more), and
 * the collector does not count them as the identifier a message needs, so what it accepts
 * identity can resolve.
 */
export const PLACEHOLDER_IDENTIFIER_VALUES: readonly string[] = Object.freeze([
  '',
  'anonymous',
  'null',
  'undefined',
  '0',
  '-1',
  'nan',
  'none',
  'unknown',
  'guest',
]);

const PLACEHOLDERS: ReadonlySet<string> = new Set(PLACEHOLDER_IDENTIFIER_VALUES);

/** Whether `value`, trimmed and lower-cased (as identity compares blocked values), is a placeholder. */
export function isPlaceholderIdentifier(value: string): boolean {
  return PLACEHOLDERS.has(value.trim().toLowerCase());
}
