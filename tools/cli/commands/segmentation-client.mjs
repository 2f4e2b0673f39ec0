// The segmentation service's admin API as `mosaic segments` uses it.
import { FatalError, adminApiClient, errorText } from './shared.mjs';

/** The segmentation admin API (Bearer admin token); `what` names the step in errors. */
export function segmentationClient(opts) {
  return adminApiClient(opts, {
    option: 'segmentation',
    envVar: 'MOSAIC_SEGMENTATION_URL',
    defaultUrl: 'http://127.0.0.1:8083',
    who: 'the segmentation service',
  });
}

export const segPath = (key) => `/v1/segments/${encodeURIComponent(key)}`;

export async function listSegments(api) {
  const r = await api.call('GET', '/v1/segments', undefined, 'listing segments');
  if (r.status !== 200 || !Array.isArray(r.json?.segments)) throw new FatalError(`listing segments (GET /v1/segments) failed: ${errorText(r)}`);
  return r.json.segments;
}
