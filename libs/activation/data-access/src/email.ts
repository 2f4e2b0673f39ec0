/**
 * Email destinations: renders the destination's Liquid templates with the profile (subject and
 * recipient as plain single lines, the HTML body HTML-escaped), has the collector rewrite the
 * links and add the open pixel (signed email tracking, so opens and clicks come back into the
 * same profile), and sends over SMTP through a pooled nodemailer transport per destination.
 *
 * Outcomes: accepted by the server → delivered; SMTP 4xx (and 503), connection errors and
 * timeouts, an unreachable or failing collector → retry; SMTP 5xx, a template that does not
 * render, a recipient that is not an address, a collector that refuses the request, an SMTP
 * host or resolved address the outbound policy refuses (`blocked`) → fail.
 */
import { createTransport } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { GetSocketCallback } from 'nodemailer/lib/mailer';
import type { SegmentMembershipChange } from '@mosaic/contracts';
import {
  classifyResponse,
  isMailbox,
  renderTemplate,
  templateContext,
  TemplateError,
  type EmailDestination,
  type MembershipPayload,
  type SmtpConfig,
  type TemplateContext,
} from '@mosaic/activation-domain';
import type { DeliveryAttempt, DeliveryDocument } from './documents';
import { isOutboundBlocked, OutboundGuard } from './outbound';

/** What one email attempt came to (the dispatcher records it). */
export interface EmailSendResult {
  outcome: DeliveryAttempt['outcome'];
  /** The SMTP reply code (`250`, `451`, `550`), or `timeout` / `network` / `blocked` / `render` / `collector-<status>` / `error`. */
  status: string;
  error?: string;
}

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

/** The logger the sender writes to (pino's shape). */
export interface EmailLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface EmailSenderOptions {
  /** The collector's email tracking (`POST {url}/v1/email/rewrite`); no rewriting without a `sourceId`. */
  collector?: { url: string; adminToken: string; sourceId?: string };
  logger?: EmailLogger;
  /** Connection, greeting and socket timeouts of SMTP, and the collector call's timeout (default 10 000 ms). */
  timeoutMs?: number;
  /** SMTP connections per destination at most (default 4, the dispatcher's slots per destination). */
  maxConnections?: number;
  /** Where SMTP may connect (default: public addresses only). */
  outbound?: OutboundGuard;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_ERROR_LENGTH = 500;
const MAX_CAMPAIGN_LENGTH = 512;
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

/** The error properties nodemailer sets. */
interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

function short(s: string): string {
  return s.length > MAX_ERROR_LENGTH ? `${s.slice(0, MAX_ERROR_LENGTH)}…` : s;
}

/** What a failed SMTP send means: 4xx (and 503) and connection problems retry; 5xx and refused configuration fail. */
export function classifySmtpError(err: unknown): EmailSendResult {
  const e = (err ?? {}) as SmtpError;
  const text = short(String(e.response ?? e.message ?? err));
  if (isOutboundBlocked(err)) return { outcome: 'fail', status: 'blocked', error: text };
  if (typeof e.responseCode === 'number') {
    const permanent = e.responseCode >= 500 && e.responseCode !== 503; // 503: bad sequence; a new session may pass
    return { outcome: permanent ? 'fail' : 'retry', status: String(e.responseCode), error: text };
  }
  if (e.code === 'ETIMEDOUT') return { outcome: 'retry', status: 'timeout', error: text };
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH' || e.code === 'ECONFIG' || e.code === 'EENVELOPE') return { outcome: 'fail', status: 'error', error: text };
  return { outcome: 'retry', status: 'network', error: `${e.code ? `${e.code}: ` : ''}${text}` };
}

interface Pool {
  key: string;
  transport: Mail;
}

/** Renders, rewrites for tracking and sends the email of one delivery; never throws. */
export class EmailSender {
  private readonly pools = new Map<string, Pool>();
  private readonly timeoutMs: number;
  private readonly outbound: OutboundGuard;
  private warnedNoTracking = false;

  constructor(private readonly opts: EmailSenderOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.outbound = opts.outbound ?? new OutboundGuard();
  }

  /** Sends the email of `delivery` to the profile (the dispatcher's `sendEmail`). */
  readonly send = async (dest: EmailDestination, delivery: DeliveryDocument, payload: MembershipPayload): Promise<EmailSendResult> => {
    let rendered: RenderedEmail;
    try {
      const change = JSON.parse(delivery.membership) as SegmentMembershipChange;
      // The membership change carries the main identifiers: a profile whose profiles.changes has
      // not arrived yet (another topic) or that has no email trait still has its address.
      const known = payload.data.profile ?? { traits: {}, computed: {} };
      const email = change.identifiers.email;
      const profile = email && known.traits['email'] === undefined ? { ...known, traits: { email, ...known.traits } } : known;
      rendered = renderEmail(dest, templateContext(change, profile));
    } catch (err) {
      return { outcome: 'fail', status: 'render', error: short(err instanceof Error ? err.message : String(err)) };
    }
    const email = rendered;
    const rewritten = await this.track(email, dest, delivery, payload);
    if ('outcome' in rewritten) return rewritten;
    try {
      const info = await this.transport(dest).sendMail({
        from: dest.from,
        to: email.to,
        subject: email.subject,
        html: rewritten.html,
        messageId: messageIdFor(delivery._id, dest.from),
        headers: { 'X-Mosaic-Delivery': delivery._id },
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      const code = /^(\d{3})/.exec(String((info as { response?: string }).response ?? ''))?.[1] ?? '250';
      return { outcome: 'delivered', status: code };
    } catch (err) {
      return classifySmtpError(err);
    }
  };

  /** Closes every pooled SMTP connection (shutdown). */
  async close(): Promise<void> {
    for (const p of this.pools.values()) p.transport.close();
    this.pools.clear();
  }

  /** The rewritten HTML, or the failed attempt's result. */
  private async track(email: RenderedEmail, dest: EmailDestination, delivery: DeliveryDocument, payload: MembershipPayload): Promise<{ html: string } | EmailSendResult> {
    const collector = this.opts.collector;
    if (!collector?.url || !collector.sourceId) {
      if (!this.warnedNoTracking) {
        this.warnedNoTracking = true;
        this.opts.logger?.warn({ collectorUrl: collector?.url }, 'email link tracking is off (no ACTIVATION_EMAIL_SOURCE_ID): emails are sent without rewritten links or an open pixel');
      }
      return { html: email.html };
    }
    const userId = payload.data.identifiers.userId;
    const body = {
      html: email.html,
      sourceId: collector.sourceId,
      recipient: { ...(userId ? { userId } : {}), email: email.address },
      campaign: dest.name.trim() !== '' && dest.name.length <= MAX_CAMPAIGN_LENGTH ? dest.name : dest.id,
      emailId: delivery._id,
    };
    let res: Response;
    try {
      res = await fetch(`${collector.url.replace(/\/+$/, '')}/v1/email/rewrite`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${collector.adminToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const timeout = e.name === 'TimeoutError' || e.name === 'AbortError';
      return { outcome: 'retry', status: timeout ? 'collector-timeout' : 'collector-network', error: `link tracking: ${timeout ? `no answer within ${this.timeoutMs} ms` : (e.cause?.code ?? e.message)}` };
    }
    const text = await res.text().catch(() => '');
    if (res.status !== 200) {
      const outcome = classifyResponse(res.status) === 'retry' ? 'retry' : 'fail';
      return { outcome, status: `collector-${res.status}`, error: short(`link tracking refused: ${text}`) };
    }
    try {
      const answer = JSON.parse(text) as { html?: unknown };
      if (typeof answer.html !== 'string') throw new Error('no html in the answer');
      return { html: answer.html };
    } catch (err) {
      return { outcome: 'retry', status: 'collector-200', error: `link tracking: unreadable answer (${err instanceof Error ? err.message : String(err)})` };
    }
  }

  /** The destination's pooled transport, re-created when its SMTP settings changed. */
  private transport(dest: EmailDestination): Mail {
    const key = JSON.stringify(smtpSettings(dest.smtp));
    const held = this.pools.get(dest.id);
    if (held?.key === key) return held.transport;
    held?.transport.close();
    const s = dest.smtp;
    const transport = createTransport({
      pool: true,
      host: s.host,
      port: s.port,
      secure: s.secure ?? false,
      ...(s.user !== undefined ? { auth: { user: s.user, pass: s.password ?? '' } } : {}),
      maxConnections: this.opts.maxConnections ?? 4,
      connectionTimeout: this.timeoutMs,
      greetingTimeout: this.timeoutMs,
      socketTimeout: this.timeoutMs,
      dnsTimeout: this.timeoutMs,
      // The socket is ours: connected only to addresses the outbound guard checked (TLS and
      // STARTTLS still verify the certificate against the host name).
      getSocket: (_options: unknown, callback: GetSocketCallback) => {
        this.outbound.connect(s.host, s.port, this.timeoutMs).then(
          (connection) => callback(null, { connection }),
          (err: Error) => callback(err),
        );
      },
    }) as unknown as Mail;
    this.pools.set(dest.id, { key, transport });
    return transport;
  }
}

function smtpSettings(s: SmtpConfig): unknown[] {
  return [s.host, s.port, s.secure ?? false, s.user ?? null, s.password ?? null];
}
