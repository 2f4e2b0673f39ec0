/** The tracker snippet of README.md ("Tracking websites"): loads `<collector>/mosaic.js` with a source's write key. */
export function trackerSnippet(collectorUrl: string, writeKey: string): string {
  const host = JSON.stringify(collectorUrl.replace(/\/+$/, '')).slice(1, -1).replace(/'/g, "\\'");
  const key = JSON.stringify(writeKey).slice(1, -1).replace(/'/g, "\\'");
  return [
    '<script>',
    "!function(w,d,h,k,o){var m=w.mosaic=w.mosaic||[];if(m.VERSION||m.snippet)return;m.snippet=1;'load page track identify alias reset ready consent decide flush'.split(' ').forEach(function(n){m[n]=function(){var a=[n].concat([].slice.call(arguments));return new Promise(function(r,j){a.r=r;a.j=j;m.push(a)})}});var s=d.createElement('script');s.async=!0;s.src=h+'/mosaic.js';(d.head||d.documentElement).appendChild(s);m.load(k,o)}" +
      `(window,document,'${host}','${key}',{});`,
    '</script>',
  ].join('\n');
}

/**
 * The snippet's collector: its public URL when the console was told it (`COLLECTOR_PUBLIC_URL`,
 * in the session's settings), else a guess: this host, port 8080 (the default `COLLECTOR_PORT`).
 */
export function defaultCollectorUrl(collectorPublicUrl: string | null | undefined): string {
  return collectorPublicUrl ?? `${window.location.protocol}//${window.location.hostname}:8080`;
}
