/**
 * Experiences: what the real-time decision API (`POST /v1/decide`) shows in a slot of a page.
 * An experience (admin API) has, for one slot, ordered rules over segment membership, traits
 * and computed attributes, each with content (HTML, text or JSON with Liquid placeholders), a
 * default, and an optional holdout percentage. Rules are data — a fixed set of comparison
 * operators evaluated here — never expressions: nothing a client sends is evaluated.
 *
 * The shapes and bounds of an experience (./experience-types.ts), the validation of untrusted
 * experience JSON (./experience-validation.ts) and the decisions for a visitor
 * (./experience-decisions.ts).
 */
export * from './experience-types';
export * from './experience-validation';
export * from './experience-decisions';
