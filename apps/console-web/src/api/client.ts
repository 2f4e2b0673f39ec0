// The one way the SPA talks to its backend (docs/console.md): same origin, the session cookie,
// `X-CSRF-Token` on every non-GET request. Any 401 (except signing in) signs the user out.

export interface ErrorDetail {
  path: string;
  message: string;
}

/** An error answer of the console or of a service behind it: `{error: {status, code, message, details?}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
let onUnauthorized: () => void = () => undefined;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called on any 401 answer (the session ended): the app sends the user to /login. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
  /** Do not treat a 401 as the end of the session (sign-in answers 401 for bad credentials). */
  allowUnauthorized?: boolean;
  signal?: AbortSignal;
}

function errorDetails(raw: unknown): ErrorDetail[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((d): d is { path?: unknown; message?: unknown } => typeof d === 'object' && d !== null)
    .map((d) => ({ path: typeof d.path === 'string' ? d.path : '', message: typeof d.message === 'string' ? d.message : JSON.stringify(d) }));
}

function toApiError(status: number, body: unknown): ApiError {
  const err = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (err && typeof err === 'object') {
    return new ApiError(status, String(err.code ?? 'error'), String(err.message ?? `HTTP ${status}`), errorDetails(err.details));
  }
  return new ApiError(status, 'error', `HTTP ${status}`);
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `path` is under `/api` (e.g. `/session`, `/svc/identity/v1/profiles/p_1`). */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(`/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  const body = await readBody(res);
  if (res.ok) return body as T;
  if (res.status === 401 && !options.allowUnauthorized) onUnauthorized();
  throw toApiError(res.status, body);
}

/** A service's API through the console's proxy: `svc('identity', '/v1/profiles/p_1')`. */
export function svc<T>(service: 'collector' | 'identity' | 'enrichment' | 'segmentation' | 'activation', path: string, options?: RequestOptions): Promise<T> {
  return api<T>(`/svc/${service}${path}`, options);
}

/** A path segment, URL-encoded. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A fresh Idempotency-Key (identity's split: 1–128 of A-Z a-z 0-9 . _ : -). */
export function idempotencyKey(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return `console-${c.randomUUID()}`;
  return `console-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
