/**
 * An email destination's message, rendered: subject and recipient as plain single lines (no
 * header injection), the HTML body HTML-escaped, the recipient checked to be an address.
 */
import { isMailbox, type EmailDestination } from './destinations';
import { renderTemplate, TemplateError, type TemplateContext } from './render';

/** A rendered email, ready to send. */
export interface RenderedEmail {
  /** One header line: no CR/LF. */
  subject: string;
  html: string;
  /** The rendered `to`: `addr@domain` or `Name <addr@domain>`. */
  to: string;
  /** The bare address of `to`. */
  address: string;
}

/** A template that does not render, or a recipient that is not an address: a permanent failure. */
export class EmailRenderError extends Error {
  override readonly name = 'EmailRenderError';
}

const NAMED_ADDRESS_RE = /^([^<>\r\n]*)<([^<>]+)>$/;

/** A header value on one line: CR/LF (and the whitespace around them) become one space; trimmed. */
export function headerLine(value: string): string {
  return value.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** The bare address of `addr@domain` or `Name <addr@domain>`. */
export function bareAddress(mailbox: string): string {
  const named = NAMED_ADDRESS_RE.exec(mailbox.trim());
  return (named ? (named[2] as string) : mailbox).trim();
}

/** The Message-ID of a delivery's email: the same on every attempt, so a resend is recognisably the same message. */
export function messageIdFor(deliveryId: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)$/.exec(bareAddress(from))?.[1] ?? 'mosaic.invalid';
  const local = deliveryId.replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, '_');
  return `<${local}@${domain}>`;
}

/**
 * Renders subject (not escaped, one line), HTML body (escaped) and recipient (not escaped, one
 * line, must be an address) with the template context. Throws an EmailRenderError.
 */
export function renderEmail(dest: Pick<EmailDestination, 'subject' | 'html' | 'to'>, context: TemplateContext): RenderedEmail {
  const render = (field: string, template: string, escape: boolean): string => {
    try {
      return renderTemplate(template, context, { escape });
    } catch (err) {
      throw new EmailRenderError(`${field}: ${err instanceof TemplateError ? err.message : String(err)}`);
    }
  };
  const subject = headerLine(render('subject', dest.subject, false));
  const html = render('html', dest.html, true);
  const to = headerLine(render('to', dest.to, false));
  if (to === '') throw new EmailRenderError('to: rendered empty (the profile has no address for this template)');
  if (!isMailbox(to)) throw new EmailRenderError(`to: rendered "${to.slice(0, 200)}", which is not an email address`);
  return { subject, html, to, address: bareAddress(to) };
}
