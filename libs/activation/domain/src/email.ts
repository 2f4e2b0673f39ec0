/**
 * An email destination's message, rendered: subject and recipient as plain single lines (no
 * header injection), the HTML body HTML-escaped and small enough for the collector's link
 * tracking, the recipient parsed into exactly one mailbox.
 */
import { parseMailbox, type EmailDestination, type Mailbox } from './destinations';
import { RenderBudget, renderTemplate, TemplateError, type TemplateContext } from './render';

/** A rendered email, ready to send. */
export interface RenderedEmail {
  /** One header line: no CR/LF. */
  subject: string;
  html: string;
  /**
   * The one recipient. Handed to nodemailer as `{name, address}`, which encodes the name and
   * never parses it again: a name cannot add recipients.
   */
  to: Mailbox;
}

/** A template that does not render, or a recipient that is not an address: a permanent failure. */
export class EmailRenderError extends Error {
  override readonly name = 'EmailRenderError';
}

/**
 * The largest rendered HTML body, in UTF-8 bytes of its JSON encoding (how it travels to the
 * collector's link tracking: `"`, `\` and line breaks count 2). The collector reads at most
 * 500 KiB (512,000 bytes) a request (its MAX_BATCH_BYTES, on every route); 20 KiB are left for
 * the rest of the request (source, recipient, campaign, email id). Checked whether or not
 * tracking is on, so turning it on does not make an email too large.
 */
export const MAX_EMAIL_HTML_BYTES = 480 * 1024;

/** A header value on one line: CR/LF (and the whitespace around them) become one space; trimmed. */
export function headerLine(value: string): string {
  return value.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** The Message-ID of a delivery's email: the same on every attempt, so a resend is recognisably the same message. */
export function messageIdFor(deliveryId: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)$/.exec(parseMailbox(from)?.address ?? '')?.[1] ?? 'mosaic.invalid';
  const local = deliveryId.replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, '_');
  return `<${local}@${domain}>`;
}

function recipient(to: string): Mailbox {
  if (to === '') throw new EmailRenderError('to: rendered empty (the profile has no address for this template)');
  const mailbox = parseMailbox(to);
  if (!mailbox) throw new EmailRenderError(`to: rendered "${to.slice(0, 200)}", which is not exactly one email address`);
  return mailbox;
}

function checkHtmlSize(html: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(html), 'utf8');
  if (bytes > MAX_EMAIL_HTML_BYTES)
    throw new EmailRenderError(
      `html: rendered ${bytes} bytes (as JSON); an email's HTML is at most ${MAX_EMAIL_HTML_BYTES} bytes (the collector's link tracking limit)`,
    );
}

/**
 * Renders subject (not escaped, one line), HTML body (escaped) and recipient (not escaped, one
 * line, exactly one mailbox) with the template context, all three from one render budget.
 * Throws an EmailRenderError.
 */
export function renderEmail(dest: Pick<EmailDestination, 'subject' | 'html' | 'to'>, context: TemplateContext): RenderedEmail {
  const budget = new RenderBudget();
  const render = (field: string, template: string, escape: boolean): string => {
    try {
      return renderTemplate(template, context, { escape, budget });
    } catch (err) {
      throw new EmailRenderError(`${field}: ${err instanceof TemplateError ? err.message : String(err)}`);
    }
  };
  const subject = headerLine(render('subject', dest.subject, false));
  const html = render('html', dest.html, true);
  checkHtmlSize(html);
  const to = recipient(headerLine(render('to', dest.to, false)));
  return { subject, html, to };
}
