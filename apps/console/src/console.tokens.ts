/** Injection tokens of the console's wiring (classes are their own tokens). */
export const COOKIE_OPTIONS = Symbol.for('console.cookie');
export const WEB_DIR = Symbol.for('console.web-dir');

export interface CookieOptions {
  secure: boolean;
  ttlHours: number;
}
