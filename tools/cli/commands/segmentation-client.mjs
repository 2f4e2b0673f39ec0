// The segmentation service's admin API as `mosaic segments` uses it.
import { FatalError, UsageError, adminToken, errorText, request } from './shared.mjs';

/** The segmentation admin API (Bearer admin token); `what` names the step in errors. */
export function segmentationClient(opts) {
  const base = (opts.segmentation ?? process.env.MOSAIC_SEGMENTATION_URL ?? 'http://127.0.0.1:8083').replace(/\/+$/, '');
  try {
    new URL(base);
  } catch {
    throw new UsageError(`--segmentation must be a URL, got "${base}"`);
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
    if (r.status === 401 || r.status === 403)
      throw new FatalError(`the segmentation service refused the admin token (${r.status}); pass --token or set MOSAIC_ADMIN_TOKEN`);
    return r;
  };
  return { base, call };
}

export const segPath = (key) => `/v1/segments/${encodeURIComponent(key)}`;

export async function listSegments(api) {
  const r = await api.call('GET', '/v1/segments', undefined, 'listing segments');
  if (r.status !== 200 || !Array.isArray(r.json?.segments)) throw new FatalError(`listing segments (GET /v1/segments) failed: ${errorText(r)}`);
  return r.json.segments;
}
