/**
 * Which console API requests must carry `X-CSRF-Token` (the session's token): every one that
 * may change something, except signing in (there is no session yet). A cross-site form or
 * `fetch` cannot read the token, so it cannot send it; SameSite=Strict on the cookie is the
 * first line, this the second.
 */
export function requiresCsrfToken(method: string, path: string): boolean {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD') return false;
  return !(m === 'POST' && path === '/api/session');
}
