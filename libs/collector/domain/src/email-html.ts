/**
 * Rewrites an HTML email for one recipient: every tracked link goes through the click
 * endpoint (`<baseUrl>/v1/e/c/<token>`, the token carrying the original URL) and an open
 * pixel (`<baseUrl>/v1/e/o/<token>.gif`) is added before `</body>` (or at the end).
 *
 * Which links are rewritten: `<a>` start tags (any case) whose first `href` attribute is an
 * absolute http/https URL (after HTML entity decoding, e.g. `&amp;` → `&`). Left alone:
 * `mailto:`, `tel:`, `#fragment`, relative and `javascript:` links, template placeholders
 * that are not URLs yet (render templates first, then rewrite), links marked
 * `data-mosaic-notrack` (e.g. unsubscribe links that must keep working without the
 * collector), and links already pointing at `<baseUrl>/v1/e/` (no double wrapping).
 * Everything else in the document is kept byte for byte, including Outlook conditional
 * comments (links inside them are rewritten: Outlook shows them).
 *
 * Pure: no I/O; the signer's clock gives the issue time.
 */
import { EmailTokenSigner, parseRecipient, type EmailRecipient } from './email-token';
import { MAX_ID_LENGTH, MAX_NAME_LENGTH } from './limits';
import { isPlainObject } from './sanitize';

export interface RewriteEmailOptions {
  recipient: EmailRecipient;
  /** The source the opens and clicks are recorded for. */
  sourceId: string;
  campaign: string;
  /** The id of this email send. */
  emailId: string;
  /** Public base URL of the collector, e.g. `https://t.example.com`. */
  baseUrl: string;
  signer: EmailTokenSigner;
  /** How long the links and the pixel keep working. */
  expiresInDays: number;
}

export interface RewriteEmailResult {
  html: string;
  /** Links rewritten. */
  links: number;
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Decodes the character references HTML allows in attribute values (named basics, decimal, hex). */
export function decodeHtmlAttribute(value: string): string {
  return value.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,6});?/g, (match, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : match;
    }
    return NAMED_ENTITIES[ref.toLowerCase()] ?? match;
  });
}

interface Attribute {
  name: string;
  /** Offsets of the value in the document, quotes excluded. */
  valueStart: number;
  valueEnd: number;
  quoted: boolean;
}

/** Parses the attributes of a start tag beginning at `pos` (just after the tag name). */
function parseAttributes(html: string, pos: number): { attrs: Attribute[]; end: number } {
  const attrs: Attribute[] = [];
  let i = pos;
  const n = html.length;
  const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
  while (i < n) {
    while (i < n && (isSpace(html[i]) || html[i] === '/')) i++;
    if (i >= n || html[i] === '>') break;
    const nameStart = i;
    while (i < n && !isSpace(html[i]) && html[i] !== '>' && html[i] !== '=' && html[i] !== '/') i++;
    if (i === nameStart) i++; // a stray character: skip it
    const name = html.slice(nameStart, i).toLowerCase();
    while (i < n && isSpace(html[i])) i++;
    if (html[i] !== '=') {
      attrs.push({ name, valueStart: i, valueEnd: i, quoted: false });
      continue;
    }
    i++;
    while (i < n && isSpace(html[i])) i++;
    const q = html[i];
    if (q === '"' || q === "'") {
      const close = html.indexOf(q, i + 1);
      const valueEnd = close < 0 ? n : close;
      attrs.push({ name, valueStart: i + 1, valueEnd, quoted: true });
      i = close < 0 ? n : close + 1;
    } else {
      const valueStart = i;
      while (i < n && !isSpace(html[i]) && html[i] !== '>') i++;
      attrs.push({ name, valueStart, valueEnd: i, quoted: false });
    }
  }
  return { attrs, end: i };
}

/** Rewrites links and adds the open pixel (see the file comment). */
export function rewriteEmailHtml(html: string, opts: RewriteEmailOptions): RewriteEmailResult {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const ttlSeconds = Math.round(opts.expiresInDays * 86_400);
  const common = { sourceId: opts.sourceId, recipient: opts.recipient, campaign: opts.campaign, emailId: opts.emailId, ttlSeconds };
  const ownPrefix = `${base}/v1/e/`.toLowerCase();
  const out: string[] = [];
  let last = 0;
  let links = 0;
  const tag = /<a(?=[\s/>])/gi;
  let m: RegExpExecArray | null;
  while ((m = tag.exec(html)) !== null) {
    const { attrs, end } = parseAttributes(html, m.index + 2);
    tag.lastIndex = Math.max(end, m.index + 2);
    if (attrs.some((a) => a.name === 'data-mosaic-notrack')) continue;
    const href = attrs.find((a) => a.name === 'href');
    if (!href) continue;
    const url = decodeHtmlAttribute(html.slice(href.valueStart, href.valueEnd)).trim();
    if (!/^https?:\/\//i.test(url) || url.toLowerCase().startsWith(ownPrefix)) continue;
    let token: string;
    try {
      token = opts.signer.issue({ ...common, kind: 'click', url });
    } catch {
      continue; // not a trackable URL after all (e.g. no host): leave it as it is
    }
    const tracked = `${base}/v1/e/c/${token}`;
    out.push(html.slice(last, href.valueStart), href.quoted ? tracked : `"${tracked}"`);
    last = href.valueEnd;
    links++;
  }
  out.push(html.slice(last));
  const rewritten = out.join('');
  const pixelToken = opts.signer.issue({ ...common, kind: 'open' });
  const pixel = `<img src="${base}/v1/e/o/${pixelToken}.gif" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px" />`;
  const bodyClose = rewritten.toLowerCase().lastIndexOf('</body');
  const withPixel = bodyClose < 0 ? `${rewritten}${pixel}` : `${rewritten.slice(0, bodyClose)}${pixel}${rewritten.slice(bodyClose)}`;
  return { html: withPixel, links };
}

export interface RewriteRequest {
  html: string;
  sourceId: string;
  recipient: EmailRecipient;
  campaign: string;
  emailId: string;
  expiresInDays?: number;
}

/** Longest token lifetime a request may ask for. */
export const MAX_EMAIL_TOKEN_DAYS = 3650;

/**
 * Validates the body of `POST /v1/email/rewrite`:
 * `{html, sourceId, recipient: {userId?, email?, anonymousId?}, campaign, emailId, expiresInDays?}`.
 */
export function validateRewriteRequest(body: unknown): { ok: true; value: RewriteRequest } | { ok: false; problems: string[] } {
  if (!isPlainObject(body)) return { ok: false, problems: ['body must be a JSON object'] };
  const problems: string[] = [];
  const str = (field: string, max: number): string | undefined => {
    const v = body[field];
    if (typeof v !== 'string' || v.trim() === '') {
      problems.push(`${field} must be a non-empty string`);
      return undefined;
    }
    if (v.length > max) {
      problems.push(`${field} must be at most ${max} characters`);
      return undefined;
    }
    return v;
  };
  const html = str('html', Number.MAX_SAFE_INTEGER);
  const sourceId = str('sourceId', MAX_ID_LENGTH);
  const campaign = str('campaign', MAX_NAME_LENGTH);
  const emailId = str('emailId', MAX_ID_LENGTH);
  const recipient = parseRecipient(body['recipient']);
  if (!recipient.ok) problems.push(...recipient.problems);
  const days = body['expiresInDays'];
  // Whole days: a fraction such as 0.000001 rounds to a zero-second lifetime no token can have.
  if (days !== undefined && days !== null && !(Number.isInteger(days) && (days as number) >= 1 && (days as number) <= MAX_EMAIL_TOKEN_DAYS)) {
    problems.push(`expiresInDays must be a whole number of days from 1 to ${MAX_EMAIL_TOKEN_DAYS}`);
  }
  if (problems.length || !recipient.ok || html === undefined || sourceId === undefined || campaign === undefined || emailId === undefined) {
    return { ok: false, problems };
  }
  const value: RewriteRequest = { html, sourceId, recipient: recipient.recipient, campaign, emailId };
  if (typeof days === 'number') value.expiresInDays = days;
  return { ok: true, value };
}
