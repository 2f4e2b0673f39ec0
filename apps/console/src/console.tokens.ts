/** Injection tokens of the console's wiring (classes are their own tokens). */
export const COOKIE_OPTIONS = Symbol.for('console.cookie');
export const WEB_DIR = Symbol.for('console.web-dir');
/** The topics a dead letter may be replayed to (`ReadonlySet<string>`, with the prefix). */
export const REPLAYABLE_TOPICS = Symbol.for('console.replayable-topics');

export interface CookieOptions {
  secure: boolean;
  ttlHours: number;
}
