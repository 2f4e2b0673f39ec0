import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { SNIPPET_TEMPLATE, scriptJson, snippet } from './snippet';

const root = join(__dirname, '..', '..', '..');

type Call = unknown[] & { r?: (v: unknown) => void; j?: (e: unknown) => void };

/** Runs a snippet's code against a fake window/document; answers what it did. */
function runSnippet(html: string) {
  const code = html.replace(/^<script>/, '').replace(/<\/script>$/, '');
  const appended: { async: boolean; src: string }[] = [];
  const window: { mosaic?: Call[] & Record<string, unknown> } = {};
  const document = {
    createElement: (tag: string) => {
      expect(tag).toBe('script');
      return { async: false, src: '' };
    },
    head: { appendChild: (el: { async: boolean; src: string }) => appended.push(el) },
  };
  runInNewContext(code, { window, document, Promise });
  return { window, appended };
}

describe('the snippet', () => {
  it('defines a queue stub, loads mosaic.js asynchronously from the host, and queues load first', () => {
    const html = snippet('https://collect.example.com/', 'wk_123', { requireConsent: true });
    expect(html.startsWith('<script>') && html.endsWith('</script>')).toBe(true);
    const { window, appended } = runSnippet(html);
    expect(appended).toEqual([{ async: true, src: 'https://collect.example.com/mosaic.js' }]);
    const m = window.mosaic!;
    expect(Array.isArray(m)).toBe(true);
    expect(m[0]!.slice()).toEqual(['load', 'wk_123', { requireConsent: true }]);
    for (const name of ['page', 'track', 'identify', 'alias', 'reset', 'ready', 'consent', 'decide', 'flush']) expect(typeof m[name]).toBe('function');
  });

  it('records calls made before mosaic.js runs, each with a promise it will settle', async () => {
    const { window } = runSnippet(snippet('https://c.example', 'k'));
    const m = window.mosaic!;
    const tracked = (m['track'] as (...a: unknown[]) => Promise<unknown>)('Product Viewed', { sku: 'CM-900' });
    const decided = (m['decide'] as (...a: unknown[]) => Promise<unknown>)({ slots: ['home-banner'] });
    expect(m.map((c) => c[0])).toEqual(['load', 'track', 'decide']);
    const [, track, decide] = m;
    expect(track!.slice(1)).toEqual(['Product Viewed', { sku: 'CM-900' }]);
    // mosaic.js settles them when it replays the queue.
    track!.r!(undefined);
    decide!.j!(new Error('no service'));
    await expect(tracked).resolves.toBeUndefined();
    await expect(decided).rejects.toThrow('no service');
  });

  it('does nothing when run twice on a page', () => {
    const { window, appended } = runSnippet(snippet('https://c.example', 'k'));
    runInNewContext(snippet('https://c.example', 'k').slice(8, -9), {
      window,
      document: { createElement: () => ({}), head: { appendChild: (e: unknown) => appended.push(e as never) } },
      Promise,
    });
    expect(appended).toHaveLength(1);
    expect(window.mosaic!.filter((c) => c[0] === 'load')).toHaveLength(1);
  });

  it('escapes its values so that they cannot close the script element', () => {
    const html = snippet('https://c.example', '</script><script>alert(1)</script>', { apiHost: '\u2028' });
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    expect(scriptJson('<&>\u2028')).toBe('"\\u003c\\u0026\\u003e\\u2028"');
  });

  it('is the same in the README and in the demo shop', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain(SNIPPET_TEMPLATE.replace("'HOST'", "'https://collect.example.com'").replace("'WRITE_KEY'", "'YOUR_WRITE_KEY'"));
    expect(readFileSync(join(root, 'apps', 'demo-shop', 'src', 'pages.ts'), 'utf8')).toContain(`"${SNIPPET_TEMPLATE}"`);
  });
});
