// What the commands of `npm run mosaic` share: the errors that decide the exit code, the admin
// token, HTTP requests to the services, and small async helpers.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Bad usage: the message and exit code 2. */
export class UsageError extends Error {}
/** The command could not be done (authentication, unreachable service...): exit code 2. */
export class FatalError extends Error {}

export function positiveInt(value, name, def) {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

export function adminToken(opts) {
  if (opts.token) return opts.token;
  if (process.env.MOSAIC_ADMIN_TOKEN) return process.env.MOSAIC_ADMIN_TOKEN;
  const file = join(root, '.mosaic', 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  return undefined;
}

export async function request(url, init, what) {
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new FatalError(`${what}: cannot reach ${new URL(url).origin} (${err.cause?.code ?? err.message})`);
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/**
 * A client of one Mosaic admin API with the admin token: `option` names the CLI flag (and
 * `envVar` the variable) that overrides `defaultUrl`; `who` names the server in errors.
 */
export function adminApiClient(opts, { option, envVar, defaultUrl, who }) {
  const base = (opts[option] ?? process.env[envVar] ?? defaultUrl).replace(/\/+$/, '');
  try {
    new URL(base);
  } catch {
    throw new UsageError(`--${option} must be a URL, got "${base}"`);
  }
  const token = adminToken(opts);
  if (!token) throw new UsageError('no admin token: pass --token, set MOSAIC_ADMIN_TOKEN, or run `npm start` (which writes .mosaic/admin-token)');
  const call = async (method, path, body, what) => {
    const init = { method, headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const r = await request(`${base}${path}`, init, what);
    if (r.status === 401 || r.status === 403) throw new FatalError(`${who} refused the admin token (${r.status}); pass --token or set MOSAIC_ADMIN_TOKEN`);
    return r;
  };
  return { base, call };
}

export const errorText = (r) => r.json?.error?.message ?? (r.text || `HTTP ${r.status}`).slice(0, 300);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `limit` in flight; results in item order. */
export async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
