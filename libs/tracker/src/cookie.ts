/**
 * The anonymous-id cookie: first party, rolling expiry (re-set on every visit), `SameSite=Lax`,
 * `Secure` on https, optionally on a parent domain. Pure string functions.
 */

export const DAY_MS = 86_400_000;

export interface CookieAttributes {
  /** Seconds until it expires; 0 or less deletes the cookie. */
  maxAge: number;
  domain?: string;
  secure?: boolean;
}

/** The `document.cookie` assignment that sets (or, with maxAge ≤ 0, deletes) a cookie. */
export function serializeCookie(name: string, value: string, a: CookieAttributes): string {
  let s = `${name}=${encodeURIComponent(value)}; Path=/; Max-Age=${Math.max(0, Math.floor(a.maxAge))}; SameSite=Lax`;
  if (a.maxAge <= 0) s += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  if (a.domain) s += `; Domain=${a.domain}`;
  if (a.secure) s += '; Secure';
  return s;
}

/** A cookie's value from a `document.cookie` string (undefined when absent or empty). */
export function readCookie(cookies: string, name: string): string | undefined {
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim()) || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** When a cookie set now with `days` of rolling life expires. */
export function cookieExpiry(now: number, days: number): number {
  return now + days * DAY_MS;
}

/**
 * Domains to try for `cookieDomain: 'auto'`, widest first: `shop.example.co.uk` →
 * `co.uk`, `example.co.uk`, `shop.example.co.uk`. The browser refuses public suffixes, so the
 * first that sticks is the registrable domain. None for IP addresses and single labels
 * (`localhost`), where only a host-only cookie works.
 */
export function domainCandidates(hostname: string): string[] {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (!h || h.indexOf('.') < 0 || /^[\d.]+$/.test(h) || h.indexOf(':') >= 0) return [];
  const labels = h.split('.');
  const out: string[] = [];
  for (let i = labels.length - 2; i >= 0; i--) out.push(labels.slice(i).join('.'));
  return out;
}

/** Normalises a configured cookie domain: `.example.com` → `example.com`; '' stays ''. */
export function normalizeDomain(d: string | undefined): string {
  return (d || '').trim().toLowerCase().replace(/^\./, '');
}

/** Whether `hostname` may set a cookie for `domain` (itself or a parent). */
export function domainMatches(hostname: string, domain: string): boolean {
  const h = hostname.toLowerCase();
  return h === domain || h.slice(-(domain.length + 1)) === `.${domain}`;
}
