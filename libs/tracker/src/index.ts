/**
 * @mosaic/tracker — the browser tracker (mosaic.js, built from browser.ts by ../bundle.js and
 * served by the collector). This entry point is what Node code and unit tests may import: the
 * snippet and the pure parts. The browser bundle never imports it.
 */
export * from './types';
export * from './util';
export * from './campaign';
export * from './cookie';
export * from './fields';
export * from './page';
export * from './outbox';
export * from './video';
export * from './snippet';
export { VERSION as TRACKER_VERSION } from './tracker';
