/**
 * The snippet a site pastes into every page (README "Tracking websites"): a queue stub
 * `window.mosaic` whose methods record calls (each returns a promise settled once mosaic.js has
 * run it), an async `<script>` for `<host>/mosaic.js`, and the `load` call.
 */
import type { TrackerOptions } from './types';

/** The snippet's code, with `HOST`, `WRITE_KEY` and `{}` (the options) to replace. */
export const SNIPPET_TEMPLATE =
  '!function(w,d,h,k,o){var m=w.mosaic=w.mosaic||[];if(m.VERSION||m.snippet)return;m.snippet=1;' +
  "'load page track identify alias reset ready consent decide flush'.split(' ').forEach(function(n){m[n]=function(){var a=[n].concat([].slice.call(arguments));" +
  'return new Promise(function(r,j){a.r=r;a.j=j;m.push(a)})}});' +
  "var s=d.createElement('script');s.async=!0;s.src=h+'/mosaic.js';(d.head||d.documentElement).appendChild(s);" +
  "m.load(k,o)}(window,document,'HOST','WRITE_KEY',{});";

/** JSON safe to put inside a `<script>` element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The `<script>` element for a site: the collector's base URL, a write key and options. */
export function snippet(host: string, writeKey: string, options: TrackerOptions = {}): string {
  const code = SNIPPET_TEMPLATE.replace("'HOST'", scriptJson(host.replace(/\/+$/, '')))
    .replace("'WRITE_KEY'", scriptJson(writeKey))
    .replace('{});', `${scriptJson(options)});`);
  return `<script>${code}</script>`;
}
