/**
 * The path a proxied request names, in one canonical form that both the access policy and the
 * forwarded request use: percent-decoded and re-encoded segment by segment, empty segments
 * dropped. So `/v1/%73ources` or `/v1//sources/` is judged and forwarded as `/v1/sources`,
 * and no spelling reaches a route the policy did not see. `.` and `..` segments are refused:
 * the upstream would resolve them differently from the policy.
 */
export type CanonicalPath = { ok: true; path: string } | { ok: false; reason: string };

export function canonicalPath(raw: string): CanonicalPath {
  const segments: string[] = [];
  for (const segment of raw.split('/')) {
    if (segment === '') continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return { ok: false, reason: `malformed percent-encoding in "${segment}"` };
    }
    if (decoded === '.' || decoded === '..') return { ok: false, reason: 'the path may not contain "." or ".." segments' };
    if (decoded.includes('/') || decoded.includes('\\')) return { ok: false, reason: 'the path may not contain encoded slashes' };
    segments.push(encodeURIComponent(decoded));
  }
  return { ok: true, path: `/${segments.join('/')}` };
}
