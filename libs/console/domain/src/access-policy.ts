/**
 * Who may forward what through the console's proxy (`/api/svc/:service/<path>`). The server
 * enforces it on every request; the single-page app only hides what a role cannot do.
 *
 * - viewer: reads (GET, HEAD), plus POSTs that change nothing (segment preview, validate; experience preview).
 * - editor: everything but the admin-only routes.
 * - admin: everything.
 *
 * Paths are canonical (`canonicalPath`), so exact comparisons are safe.
 */
import type { Role } from './roles';

export const PROXIED_SERVICES = ['collector', 'identity', 'enrichment', 'segmentation', 'activation'] as const;
export type ProxiedService = (typeof PROXIED_SERVICES)[number];

export function isProxiedService(value: string): value is ProxiedService {
  return (PROXIED_SERVICES as readonly string[]).includes(value);
}

interface RouteRule {
  service: ProxiedService;
  /** Which methods the rule covers. */
  methods: (method: string) => boolean;
  path: (path: string) => boolean;
}

const isRead = (method: string): boolean => method === 'GET' || method === 'HEAD';
const only = (expected: string) => (method: string) => method === expected;
const exactly = (expected: string) => (path: string) => path === expected;
const under = (prefix: string) => (path: string) => path === prefix || path.startsWith(`${prefix}/`);

/** POSTs that only read: a viewer may send them. */
const READ_ONLY_POSTS: readonly RouteRule[] = [
  { service: 'segmentation', methods: only('POST'), path: exactly('/v1/segments/preview') },
  { service: 'segmentation', methods: only('POST'), path: exactly('/v1/segments/validate') },
  { service: 'activation', methods: only('POST'), path: exactly('/v1/experiences/preview') },
];

/** Routes only an admin may use: source credentials, identity merge rules, destination secrets. */
const ADMIN_ONLY: readonly RouteRule[] = [
  { service: 'collector', methods: (m) => !isRead(m), path: under('/v1/sources') },
  { service: 'identity', methods: only('PUT'), path: exactly('/v1/rules') },
  { service: 'activation', methods: isRead, path: (p) => /^\/v1\/destinations\/[^/]+\/secret$/.test(p) },
];

const matches = (rules: readonly RouteRule[], service: ProxiedService, method: string, path: string): boolean =>
  rules.some((r) => r.service === service && r.methods(method) && r.path(path));

/** Whether `role` may send `method path` to `service` (path canonical, method upper case). */
export function mayForward(role: Role, service: ProxiedService, method: string, path: string): boolean {
  const m = method.toUpperCase();
  if (role === 'admin') return true;
  if (matches(ADMIN_ONLY, service, m, path)) return false;
  if (role === 'editor') return true;
  return isRead(m) || matches(READ_ONLY_POSTS, service, m, path);
}

/** The 403 message: who was refused what. */
export function refusalMessage(role: Role, service: ProxiedService, method: string, path: string): string {
  return `role ${role} may not ${method.toUpperCase()} ${path} on ${service}`;
}
