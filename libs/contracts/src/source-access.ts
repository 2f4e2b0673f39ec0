/**
 * The formats `mosaic.sources` carries, defined once for its producer (the collector) and its
 * readers (the collector, activation): how keys are digested and what an allowed origin is.
 */
import { createHash } from 'node:crypto';

/** How many origins a source may allow. */
export const MAX_ALLOWED_ORIGINS = 100;

/** Hex SHA-256 of a write or server key (UTF-8): what is stored and published instead of the key. */
export function keyDigest(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * An allowed origin as browsers send it in `Origin` (`https://shop.example.com`,
 * `http://127.0.0.1:8091`): scheme and host lower-cased, the scheme's default port dropped.
 * Anything else (a path, a wildcard, credentials, another scheme) is an error naming it.
 */
export function exactOrigin(text: string): { ok: true; origin: string } | { ok: false; error: string } {
  const bad = (why: string) => ({ ok: false as const, error: `${JSON.stringify(text)} is not an origin: ${why} (write it as https://shop.example.com)` });
  if (typeof text !== 'string' || text.length === 0 || text.length > 300) return bad('must be a string of 1–300 characters');
  if (text.includes('*')) return bad('wildcards are not allowed, list every origin');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return bad('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return bad('the scheme must be http or https');
  if (url.username || url.password) return bad('no credentials');
  if (!/^[a-z]+:\/\/[^/?#]+\/?$/i.test(text)) return bad('no path, query or fragment');
  return { ok: true, origin: url.origin };
}

/**
 * A source's `allowedOrigins` as given to the admin API: an array of exact origins, normalised
 * and de-duplicated, or the errors naming each bad entry (`allowedOrigins[1]: …`).
 */
export function parseAllowedOrigins(value: unknown): { ok: true; origins: string[] } | { ok: false; errors: string[] } {
  if (!Array.isArray(value)) return { ok: false, errors: ['allowedOrigins: must be an array of origins like "https://shop.example.com"'] };
  if (value.length > MAX_ALLOWED_ORIGINS) return { ok: false, errors: [`allowedOrigins: at most ${MAX_ALLOWED_ORIGINS} origins`] };
  const errors: string[] = [];
  const origins: string[] = [];
  value.forEach((v: unknown, i) => {
    const r = typeof v === 'string' ? exactOrigin(v) : { ok: false as const, error: 'must be a string' };
    if (r.ok) {
      if (!origins.includes(r.origin)) origins.push(r.origin);
    } else errors.push(`allowedOrigins[${i}]: ${r.error}`);
  });
  return errors.length ? { ok: false, errors } : { ok: true, origins };
}
