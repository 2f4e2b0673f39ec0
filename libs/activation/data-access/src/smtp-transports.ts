/**
 * SMTP through a pooled nodemailer transport per email destination, re-created when its SMTP
 * settings change. Sockets are connected only to addresses the outbound guard checked.
 */
import { createTransport } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { GetSocketCallback } from 'nodemailer/lib/mailer';
import type { EmailDestination, Mailbox, SmtpConfig } from '@mosaic/activation-domain';
import type { DeliveryAttempt } from './documents';
import { isOutboundBlocked, OutboundGuard } from './outbound';

/** What one email attempt came to (the dispatcher records it). */
export interface EmailSendResult {
  outcome: DeliveryAttempt['outcome'];
  /** The SMTP reply code (`250`, `451`, `550`), or `timeout` / `network` / `blocked` / `render` / `collector-<status>` / `error`. */
  status: string;
  error?: string;
}

/** One message as the transport sends it. */
export interface OutgoingMail {
  from: string;
  /** Exactly one recipient, its name never parsed again (a name with commas adds no recipients). */
  to: Mailbox;
  subject: string;
  html: string;
  messageId: string;
  headers: Record<string, string>;
}

export interface SmtpTransportsOptions {
  /** Connection, greeting, socket and DNS timeouts. */
  timeoutMs: number;
  /** SMTP connections per destination at most. */
  maxConnections: number;
  outbound: OutboundGuard;
}

const MAX_ERROR_LENGTH = 500;

/** An error text cut to a length a delivery log keeps. */
export function shortError(s: string): string {
  return s.length > MAX_ERROR_LENGTH ? `${s.slice(0, MAX_ERROR_LENGTH)}…` : s;
}

/** The error properties nodemailer sets. */
interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/** What a failed SMTP send means: 4xx (and 503) and connection problems retry; 5xx and refused configuration fail. */
export function classifySmtpError(err: unknown): EmailSendResult {
  const e = (err ?? {}) as SmtpError;
  const text = shortError(String(e.response ?? e.message ?? err));
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

export class SmtpTransports {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly opts: SmtpTransportsOptions) {}

  /** Sends one message over the destination's pool; the SMTP reply code. Throws nodemailer's errors. */
  async send(dest: EmailDestination, mail: OutgoingMail): Promise<string> {
    const info = await this.transport(dest).sendMail({ ...mail, disableFileAccess: true, disableUrlAccess: true });
    return /^(\d{3})/.exec(String((info as { response?: string }).response ?? ''))?.[1] ?? '250';
  }

  /** Closes every pooled SMTP connection (shutdown). */
  close(): void {
    for (const p of this.pools.values()) p.transport.close();
    this.pools.clear();
  }

  private transport(dest: EmailDestination): Mail {
    const key = JSON.stringify(smtpSettings(dest.smtp));
    const held = this.pools.get(dest.id);
    if (held?.key === key) return held.transport;
    held?.transport.close();
    const s = dest.smtp;
    const timeoutMs = this.opts.timeoutMs;
    const transport = createTransport({
      pool: true,
      host: s.host,
      port: s.port,
      secure: s.secure ?? false,
      ...(s.user !== undefined ? { auth: { user: s.user, pass: s.password ?? '' } } : {}),
      maxConnections: this.opts.maxConnections,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      dnsTimeout: timeoutMs,
      // The socket is ours: connected only to addresses the outbound guard checked (TLS and
      // STARTTLS still verify the certificate against the host name).
      getSocket: (_options: unknown, callback: GetSocketCallback) => {
        this.opts.outbound.connect(s.host, s.port, timeoutMs).then(
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
