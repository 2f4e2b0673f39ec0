import { EmailTokenSigner } from './email-token';
import { decodeHtmlAttribute, rewriteEmailHtml, validateRewriteRequest, type RewriteEmailOptions } from './email-html';

const signer = new EmailTokenSigner([{ kid: 'k1', secret: 's'.repeat(32) }], () => Date.UTC(2026, 0, 1));
const opts: RewriteEmailOptions = {
  recipient: { userId: 'u-1', email: 'ada@example.com' },
  sourceId: 'src_1',
  campaign: 'spring',
  emailId: 'send-1',
  baseUrl: 'https://t.example.com/',
  signer,
  expiresInDays: 30,
};

/** The destination URL behind a rewritten href. */
function target(href: string): string | undefined {
  const m = /^https:\/\/t\.example\.com\/v1\/e\/c\/(.+)$/.exec(href);
  if (!m) return undefined;
  const r = signer.verify(m[1]!, 'click');
  return r.ok ? r.claims.url : undefined;
}
const hrefs = (html: string): string[] => [...html.matchAll(/href=("([^"]*)"|'([^']*)'|([^\s>]+))/gi)].map((m) => m[2] ?? m[3] ?? m[4] ?? '');

describe('rewriteEmailHtml', () => {
  it('rewrites every http(s) link, leaves the others alone, and adds the pixel before </body>', () => {
    const html = [
      '<html><body>',
      '<a href="https://shop.example.com/sale?a=1&amp;b=2" class="btn">Sale</a>',
      "<A HREF='http://blog.example.com/post'>Blog</A>",
      '<a class=x href=https://x.example/unquoted>U</a>',
      '<a href="mailto:help@example.com">Mail</a>',
      '<a href="tel:+4930123">Call</a>',
      '<a href="#top">Top</a>',
      '<a href="/relative">Rel</a>',
      '<a href="javascript:alert(1)">JS</a>',
      '<a data-mosaic-notrack href="https://example.com/unsubscribe">Unsubscribe</a>',
      '<a href="https://t.example.com/v1/e/c/already">Already tracked</a>',
      '<a name="anchor">No href</a>',
      '<abbr href="https://not-a-link.example/">abbr</abbr>',
      '<!--[if mso]><a href="https://outlook.example.com/">Outlook</a><![endif]-->',
      '</body></html>',
    ].join('\n');
    const { html: out, links } = rewriteEmailHtml(html, opts);
    expect(links).toBe(4);
    const all = hrefs(out);
    expect(target(all[0]!)).toBe('https://shop.example.com/sale?a=1&b=2');
    expect(target(all[1]!)).toBe('http://blog.example.com/post');
    expect(target(all[2]!)).toBe('https://x.example/unquoted');
    expect(all.slice(3, 10)).toEqual([
      'mailto:help@example.com',
      'tel:+4930123',
      '#top',
      '/relative',
      'javascript:alert(1)',
      'https://example.com/unsubscribe',
      'https://t.example.com/v1/e/c/already',
    ]);
    expect(all[10]).toBe('https://not-a-link.example/'); // <abbr> is not a link
    expect(target(all[11]!)).toBe('https://outlook.example.com/');
    // everything but the hrefs is kept byte for byte
    expect(out).toContain(' class="btn">Sale</a>');
    expect(out).toContain("<A HREF='https://t.example.com/v1/e/c/");
    expect(out).toContain('<a class=x href="https://t.example.com/v1/e/c/');
    // the pixel, once, just before </body>
    const pixel = /<img src="https:\/\/t\.example\.com\/v1\/e\/o\/([^"]+)\.gif" width="1" height="1" alt="" [^>]*\/><\/body>/.exec(out);
    expect(pixel).not.toBeNull();
    const claims = signer.verify(pixel![1]!, 'open');
    expect(claims.ok && claims.claims).toMatchObject({
      kind: 'open',
      sourceId: 'src_1',
      campaign: 'spring',
      emailId: 'send-1',
      recipient: { userId: 'u-1', email: 'ada@example.com' },
    });
    expect(out.match(/\/v1\/e\/o\//g)).toHaveLength(1);
  });

  it('tokens expire after expiresInDays', () => {
    const { html } = rewriteEmailHtml('<a href="https://x.example/">x</a>', opts);
    const token = /\/v1\/e\/c\/([^"]+)"/.exec(html)![1]!;
    const r = signer.verify(token, 'click');
    expect(r.ok && r.claims.expiresAt - r.claims.issuedAt).toBe(30 * 86_400);
  });

  it('appends the pixel when there is no </body>, and handles edge cases without throwing', () => {
    const { html, links } = rewriteEmailHtml('Hello <a href="https://x.example/">x</a>', opts);
    expect(links).toBe(1);
    expect(html).toMatch(/<img src="https:\/\/t\.example\.com\/v1\/e\/o\/[^"]+\.gif"[^>]*\/>$/);
    expect(rewriteEmailHtml('', opts).links).toBe(0);
    expect(rewriteEmailHtml('<a href="https://x.example/', opts).links).toBe(1); // unterminated quote
    expect(rewriteEmailHtml('<a', opts).links).toBe(0);
    expect(rewriteEmailHtml('<a href>', opts).links).toBe(0);
    expect(rewriteEmailHtml('<a href="https://">', opts).links).toBe(0);
  });

  it('uses the first href, as browsers do, and keeps later attributes', () => {
    const { html } = rewriteEmailHtml('<a href="https://first.example/" href="https://second.example/" title="t">x</a>', opts);
    expect(target(hrefs(html)[0]!)).toBe('https://first.example/');
    expect(html).toContain('href="https://second.example/" title="t">x</a>');
  });
});

describe('decodeHtmlAttribute', () => {
  it('decodes named and numeric references and leaves unknown ones', () => {
    expect(decodeHtmlAttribute('a&amp;b&#38;c&#x26;d&quot;&lt;&gt;&unknown;&#0;')).toBe('a&b&c&d"<>&unknown;&#0;');
  });
});

describe('validateRewriteRequest', () => {
  it('accepts a complete body and names every problem of a bad one', () => {
    const ok = validateRewriteRequest({ html: '<p>x</p>', sourceId: 'src_1', recipient: { email: 'A@B.co' }, campaign: 'c', emailId: 'e', expiresInDays: 7 });
    expect(ok).toEqual({
      ok: true,
      value: { html: '<p>x</p>', sourceId: 'src_1', recipient: { email: 'a@b.co' }, campaign: 'c', emailId: 'e', expiresInDays: 7 },
    });
    const bad = validateRewriteRequest({ html: '', recipient: {}, campaign: 3, expiresInDays: -1 });
    expect(bad.ok).toBe(false);
    const text = bad.ok ? '' : bad.problems.join('\n');
    for (const field of ['html', 'sourceId', 'campaign', 'emailId', 'recipient', 'expiresInDays']) expect(text).toContain(field);
    expect(validateRewriteRequest([]).ok).toBe(false);
  });

  it.each([0.000001, 0.5, 1.5, 0, 3651, '7', Number.NaN])('refuses expiresInDays %p (whole days from 1 to 3650)', (days) => {
    const result = validateRewriteRequest({ html: '<p>x</p>', sourceId: 's', recipient: { userId: 'u' }, campaign: 'c', emailId: 'e', expiresInDays: days });
    expect(result).toEqual({ ok: false, problems: [expect.stringMatching(/^expiresInDays .*1 to 3650/)] });
  });

  it('accepts expiresInDays 1 and 3650, and every accepted value signs tokens', () => {
    for (const days of [1, 3650]) {
      const result = validateRewriteRequest({
        html: '<a href="https://x.test/">x</a>',
        sourceId: 's',
        recipient: { userId: 'u' },
        campaign: 'c',
        emailId: 'e',
        expiresInDays: days,
      });
      expect(result.ok).toBe(true);
      if (result.ok) expect(() => rewriteEmailHtml(result.value.html, { ...opts, expiresInDays: days })).not.toThrow();
    }
  });
});
