/** Builds mosaic.js (see bundle.js). Node only; needs @swc/core (a dev dependency). */
export interface TrackerBundle {
  code: string;
  bytes: number;
  gzipBytes: number;
  /** Strong ETag of the code (quoted). */
  etag: string;
  /** Source modules in bundle order, relative to src/. */
  modules: string[];
}
export function buildTracker(options?: { minify?: boolean }): TrackerBundle;
