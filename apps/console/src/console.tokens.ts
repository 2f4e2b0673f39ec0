/** Injection tokens of the console's wiring (classes are their own tokens). */
export const COOKIE_OPTIONS = Symbol.for('console.cookie');
export const WEB_DIR = Symbol.for('console.web-dir');
/** The sign-in throttle (`SignInThrottle | null`: null when `CONSOLE_SIGNIN_MAX_FAILURES` is 0). */
export const SIGN_IN_THROTTLE = Symbol.for('console.sign-in-throttle');
/** The topics a dead letter may be replayed to (`ReadonlySet<string>`, with the prefix). */
export const REPLAYABLE_TOPICS = Symbol.for('console.replayable-topics');
/** What the single-page app is told about the deployment (`SpaSettings`, console.config.ts). */
export const SPA_SETTINGS = Symbol.for('console.spa-settings');

export interface CookieOptions {
  secure: boolean;
  ttlHours: number;
}
